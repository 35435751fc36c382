"""`lambundle inspect BUNDLE`: what a bundle holds, measured against Lambda's limits.

Reads the manifest and the archives themselves (not only what the manifest claims): the
sizes against every limit, the largest distributions (files attributed through each
`*.dist-info/RECORD`), the sys.path the loader will build from the paths files the
archives carry (docs/layout.md, "The loader"), and which of the handler's imports the
function takes from AWS's managed runtime (boto3 and the like, bundler.bundle.runtimes)
because the bundle does not ship them.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from bundler.bundle import distributions, limits, manifest
from bundler.bundle.layer import LOCKS_DIR
from bundler.bundle.manifest import FUNCTION_PATHS, LAYER_PATHS_DIR, Manifest
from bundler.bundle.plan import OPT_ROOT, TASK_ROOT
from bundler.bundle.runtimes import managed_runtime
from bundler.core.errors import BundleError


@dataclasses.dataclass(frozen=True)
class DistSize:
    name: str
    version: str
    size: int
    artifact: str


@dataclasses.dataclass(frozen=True)
class Inspection:
    bundle: Path
    manifest: Manifest
    checks: tuple[limits.Check, ...]
    largest: tuple[DistSize, ...]
    loader_sys_path: tuple[str, ...]
    upload_warnings: tuple[str, ...] = ()  # zips to upload through S3
    locks: tuple[str, ...] = ()  # hash-pinned locks the layers carry, as /opt paths
    # The handler's top-level imports the bundle does not ship and the runtime provides.
    runtime_imports: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether Lambda takes the bundle (through S3 when a zip is over 50 MB)."""
        return limits.within(self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.bundle),
            "manifest": self.manifest.to_json(),
            "limits": [c.to_json() for c in self.checks],
            "ok": self.ok,
            "largest_distributions": [dataclasses.asdict(d) for d in self.largest],
            "loader_sys_path": list(self.loader_sys_path),
            "warnings": list(self.upload_warnings),
            "locks": list(self.locks),
            "runtime_imports": list(self.runtime_imports),
        }


def inspect(bundle_dir: Path, top: int = 10) -> Inspection:
    """Measure `bundle_dir`; raises BundleError when it is not a readable bundle, or its
    zips are not the ones its manifest describes."""
    found = manifest.load_checked(bundle_dir)
    artifacts = (found.function, *found.layers)
    dists: list[DistSize] = []
    layer_paths: dict[str, list[str]] = {}
    function_paths: list[str] = []
    locks: list[str] = []
    members: set[str] = set()  # every file as the function sees it: /var/task/..., /opt/...
    handler_imports: set[str] = set()
    for artifact in artifacts:
        path = bundle_dir / artifact.file
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
                dists += _distributions(zf, infos, artifact.file)
                root = TASK_ROOT if artifact is found.function else OPT_ROOT
                members.update(f"{root}/{info.filename}" for info in infos)
                if artifact is found.function:
                    function_paths = _paths(zf, FUNCTION_PATHS)
                    handler_imports = _handler_imports(zf, found.handler)
                else:
                    for info in infos:
                        name = PurePosixPath(info.filename)
                        if str(name.parent) == LOCKS_DIR:
                            locks.append(f"{OPT_ROOT}/{info.filename}")
                        if str(name.parent) == LAYER_PATHS_DIR and name.suffix == ".json":
                            # A later layer's file of the same name replaces an earlier one.
                            layer_paths[name.stem] = _paths(zf, info.filename)
        except (OSError, zipfile.BadZipFile) as exc:
            msg = f"{path} is not a readable zip ({exc}); rebuild the bundle."
            raise BundleError(msg) from None
    checks = limits.checks(
        found.function.unzipped_size,
        [layer.unzipped_size for layer in found.layers],
        function_zipped=found.function.size,
    )
    warnings = tuple(limits.through_s3((a.file, a.size) for a in artifacts))
    sys_path = [TASK_ROOT, *(f"{TASK_ROOT}/{p}" for p in function_paths)]
    for layer_name in sorted(layer_paths):
        sys_path += [f"{OPT_ROOT}/{p}" for p in layer_paths[layer_name]]
    if not function_paths and not layer_paths:
        site = f"{OPT_ROOT}/{found.target.site_packages}"
        sys_path += [site, f"{OPT_ROOT}/python"]
    largest = sorted(dists, key=lambda d: (-d.size, d.name))[:top]
    runtime_imports: tuple[str, ...] = ()
    if found.target.managed:
        shipped = _top_level_names(members, sys_path)
        provided = managed_runtime(found.target.python).modules
        runtime_imports = tuple(sorted((handler_imports & provided) - shipped))
    return Inspection(
        bundle=bundle_dir,
        manifest=found,
        checks=tuple(checks),
        largest=tuple(largest),
        loader_sys_path=tuple(dict.fromkeys(sys_path)),
        upload_warnings=warnings,
        locks=tuple(sorted(set(locks))),
        runtime_imports=runtime_imports,
    )


def _handler_imports(zf: zipfile.ZipFile, handler: str) -> set[str]:
    """The top-level names the handler's module imports at its top level (read with ast,
    never run); empty when the module is not a file of the function zip."""
    if handler.endswith(".py"):  # script.py: the file itself
        candidates = [handler]
    else:
        module = handler.rsplit(":", 1)[0] if ":" in handler else handler.rpartition(".")[0]
        stem = module.replace(".", "/")
        candidates = [f"{stem}.py", f"{stem}/__init__.py"]
    for name in candidates:
        try:
            source = zf.read(name)
        except KeyError:
            continue
        try:
            tree = ast.parse(source, filename=name)
        except (SyntaxError, ValueError):
            return set()
        return _module_level_imports(tree.body)
    return set()


def _module_level_imports(body: list[ast.stmt]) -> set[str]:
    """Imports run when the module is imported: its body and the blocks in it (if, try,
    with), not function or class bodies."""
    found: set[str] = set()
    for node in body:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    found |= _module_level_imports(
                        [b for b in block if isinstance(b, ast.stmt)]
                        + [s for h in block if isinstance(h, ast.ExceptHandler) for s in h.body]
                    )
    return found


def _top_level_names(members: set[str], sys_path: list[str]) -> set[str]:
    """The top-level module and package names the bundle's sys.path directories hold."""
    names: set[str] = set()
    for directory in sys_path:
        prefix = directory.rstrip("/") + "/"
        for member in members:
            if not member.startswith(prefix):
                continue
            first, _, rest = member[len(prefix) :].partition("/")
            if rest:  # a package (or a namespace package's directory)
                names.add(first)
            elif first.endswith((".py", ".so", ".pyc")):
                names.add(first.split(".")[0])
    return names


def _paths(zf: zipfile.ZipFile, member: str) -> list[str]:
    try:
        raw = json.loads(zf.read(member))
    except KeyError:
        return []
    except ValueError as exc:
        msg = f"{member} in {zf.filename} is not valid JSON ({exc}); rebuild the bundle."
        raise BundleError(msg) from None
    return [str(p) for p in raw.get("sys_path", [])]


def _distributions(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], artifact: str
) -> list[DistSize]:
    """Bytes per distribution: every file under a top-level name its RECORD lists."""
    found = distributions.sizes(((i.filename, i.file_size) for i in infos), zf.read)
    return [DistSize(n, v, s, artifact) for (n, v), s in found.items()]
