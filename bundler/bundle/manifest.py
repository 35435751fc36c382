"""`bundle.json`, the manifest of a bundle directory, and the loader's path files.

A bundle directory holds `function.zip`, the layer zips in Lambda's order and
`bundle.json`. Inside Lambda, each artifact also carries the sys.path entries it needs,
so the runtime needs no configuration: a layer writes `lambundle/paths/<name>.json`
(relative to /opt), the function writes `.lambundle/paths.json` (relative to
LAMBDA_TASK_ROOT). See docs/layout.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.bundle.archive import check_members
from bundler.core.cache import file_sha256
from bundler.core.errors import BundleError
from bundler.core.target import Target

MANIFEST_NAME = "bundle.json"
# Where `lambundle bundle` puts a function's bundles: SRC/.lambundle/<strategy>, or
# .lambundle/<stem>-<strategy> beside a script.
BUNDLES_DIR = ".lambundle"
SCHEMA = 1
FUNCTION_PATHS = ".lambundle/paths.json"
LAYER_PATHS_DIR = "lambundle/paths"


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One zip of the bundle: the function, or a layer (in the order Lambda merges them)."""

    name: str
    file: str
    sha256: str
    size: int
    unzipped_size: int


@dataclasses.dataclass(frozen=True)
class Manifest:
    strategy: str
    target: Target
    handler: str
    function: Artifact
    layers: tuple[Artifact, ...] = ()
    sys_path: tuple[str, ...] = ()
    environment: dict[str, str] = dataclasses.field(default_factory=dict)
    lock_sha256: str | None = None
    distributions: tuple[tuple[str, str], ...] = ()
    bytecode: dict[str, str] = dataclasses.field(default_factory=lambda: {"mode": "none"})
    tool_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "lambundle", "version": self.tool_version},
            "strategy": self.strategy,
            "target": {
                "python": self.target.python,
                "arch": self.target.arch,
                "runtime": self.target.runtime,
                "glibc": "{}.{}".format(*self.target.glibc),
            },
            "handler": self.handler,
            "function": dataclasses.asdict(self.function),
            "layers": [dataclasses.asdict(layer) for layer in self.layers],
            "sys_path": list(self.sys_path),
            "environment": dict(sorted(self.environment.items())),
            "lock_sha256": self.lock_sha256,
            "distributions": [{"name": n, "version": v} for n, v in self.distributions],
            "bytecode": self.bytecode,
        }


def describe_artifact(name: str, path: Path, unzipped_size: int) -> Artifact:
    data = path.read_bytes()
    return Artifact(
        name=name,
        file=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        unzipped_size=unzipped_size,
    )


def write(bundle_dir: Path, manifest: Manifest) -> None:
    text = json.dumps(manifest.to_json(), indent=2, sort_keys=False) + "\n"
    (bundle_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")


def find(path: Path) -> Path:
    """The bundle directory `path` names: `path` itself when it is one (or is not there;
    `load` says what is wrong), else the only bundle `lambundle bundle` wrote for the
    function directory or script `path`. Several are an error that lists them."""
    if (path / MANIFEST_NAME).is_file() or not path.exists():
        return path
    if path.is_dir():
        candidates = (path / BUNDLES_DIR).glob("*")
    elif path.suffix == ".py":
        candidates = (path.parent / BUNDLES_DIR).glob(f"{path.stem}-*")
    else:
        return path
    found = sorted(d for d in candidates if (d / MANIFEST_NAME).is_file())
    if len(found) > 1:
        listed = "\n".join(f"  {d}" for d in found)
        msg = f"{path} has {len(found)} bundles; pass the one you mean as BUNDLE:\n{listed}"
        raise BundleError(msg)
    return found[0] if found else path


def load(bundle_dir: Path) -> Manifest:
    """Read and validate `bundle_dir/bundle.json`; every artifact it names must exist."""
    path = bundle_dir / MANIFEST_NAME
    if not bundle_dir.is_dir():
        msg = f"{bundle_dir} is not a bundle directory; build one with `lambundle bundle SRC`."
        raise BundleError(msg)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{bundle_dir} has no {MANIFEST_NAME}; build it with `lambundle bundle SRC`."
        raise BundleError(msg) from None
    except (OSError, ValueError) as exc:
        msg = f"{path} is not valid JSON ({exc}); rebuild the bundle."
        raise BundleError(msg) from None
    try:
        manifest = _from_json(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"{path} is malformed ({type(exc).__name__}: {exc}); rebuild the bundle."
        raise BundleError(msg) from None
    for artifact in (manifest.function, *manifest.layers):
        if not (bundle_dir / artifact.file).is_file():
            msg = (
                f"{bundle_dir} is missing {artifact.file}, which {MANIFEST_NAME} lists; "
                "rebuild the bundle."
            )
            raise BundleError(msg)
    return manifest


def load_checked(bundle_dir: Path) -> Manifest:
    """`load`, then every zip checked against what the manifest records of it (size,
    sha256, unzipped size) and for members no build writes, before anything reads it.

    A bundle directory is untrusted input (DESIGN.md, decisions of 2026-12-04): a zip
    swapped under an old bundle.json must be refused, not run, inspected or published.
    Every reader of a bundle (`invoke`, `serve`, `inspect`, `publish`, the sandbox) calls
    this; the sandbox's extractor then stops at each artifact's unzipped size.
    """
    found = load(bundle_dir)
    for artifact in (found.function, *found.layers):
        check_artifact(bundle_dir, artifact)
    return found


def check_artifact(bundle_dir: Path, artifact: Artifact) -> None:
    """Refuse `artifact`'s zip unless it is the one the manifest describes."""
    path = bundle_dir / artifact.file
    rebuild = "rebuild the bundle with `lambundle bundle SRC`"
    try:
        size, digest = path.stat().st_size, file_sha256(path)
    except OSError as exc:
        msg = f"Cannot read {path} ({exc.strerror}); {rebuild}."
        raise BundleError(msg) from None
    if size != artifact.size:
        msg = (
            f"{path} is {size:,} bytes, but {MANIFEST_NAME} records {artifact.size:,}: it is "
            f"not the zip this bundle was built with; {rebuild}."
        )
        raise BundleError(msg)
    if digest != artifact.sha256:
        msg = (
            f"{path} does not match the sha256 {MANIFEST_NAME} records for it: it is not the "
            f"zip this bundle was built with; {rebuild}."
        )
        raise BundleError(msg)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        msg = f"{path} is not a readable zip archive ({exc}); {rebuild}."
        raise BundleError(msg) from None
    check_members(path, infos, artifact.unzipped_size)
    declared = sum(i.file_size for i in infos)
    if declared != artifact.unzipped_size:
        msg = (
            f"{path} holds {declared:,} bytes unzipped, but {MANIFEST_NAME} records "
            f"{artifact.unzipped_size:,}; {rebuild}."
        )
        raise BundleError(msg)


def _artifact(raw: dict[str, Any]) -> Artifact:
    return Artifact(
        name=str(raw["name"]),
        file=str(raw["file"]),
        sha256=str(raw["sha256"]),
        size=int(raw["size"]),
        unzipped_size=int(raw["unzipped_size"]),
    )


def _from_json(raw: dict[str, Any]) -> Manifest:
    if raw.get("schema") != SCHEMA:
        msg = f"unsupported schema {raw.get('schema')!r} (this lambundle reads {SCHEMA})"
        raise ValueError(msg)
    target = raw["target"]
    for art in (raw["function"], *raw["layers"]):
        if Path(art["file"]).name != art["file"]:
            msg = f"artifact file {art['file']!r} must be a plain file name"
            raise ValueError(msg)
    return Manifest(
        strategy=str(raw["strategy"]),
        target=Target(target["python"], target["arch"], target["runtime"]),
        handler=str(raw["handler"]),
        function=_artifact(raw["function"]),
        layers=tuple(_artifact(layer) for layer in raw["layers"]),
        sys_path=tuple(str(p) for p in raw.get("sys_path", ())),
        environment={str(k): str(v) for k, v in raw.get("environment", {}).items()},
        lock_sha256=raw.get("lock_sha256"),
        distributions=tuple((d["name"], d["version"]) for d in raw.get("distributions", ())),
        bytecode=dict(raw.get("bytecode", {"mode": "none"})),
        tool_version=str(raw["tool"]["version"]),
    )
