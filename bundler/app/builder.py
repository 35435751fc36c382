"""`lambundle bundle template.yaml`: every Python function of an application built, in
parallel, into one application directory.

1. The template is read and every function checked (bundler.app.application), and each
   function's source loaded with its handler: a bad template, a missing CodeUri, an
   unsupported runtime or a handler that does not exist fails here, naming the function,
   before anything is built.
2. The functions are built with the one-function build (bundler.build.pipeline), at most
   as many at once as the machine has cores. Functions with the same requirements build
   one after the other, so the second takes the first's lock, installed tree, bytecode
   and layer zip from the cache instead of making them again beside it.
3. Identical layers are kept once (bundler.app.sharing), Lambda's layer count is checked
   with the template's own layers, the deployable template (bundler.app.output) and
   `app.json` are written.

All of it happens in a temporary directory beside the output, which replaces the previous
output only when everything succeeded: a failure, Ctrl-C, SIGTERM or SIGHUP leaves it as
it was (the builds already running finish first, into the directory that is then removed);
two builds of one output take turns, as two of one bundle do.

The application directory (docs/layout.md):

    out/
      template.yaml            deployable (template.json for a JSON input)
      app.json                 functions, shared layers, bytes saved
      layers/<name>-<sha256:12>.zip
      <LogicalId>/             a complete bundle directory per function
        bundle.json  function.zip  layer-N-<name>.zip (hard links into layers/)
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import sysconfig
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.app import document, output, sharing
from bundler.app.application import Application, Function, Skipped, read_application
from bundler.aws.publish import DEFAULT_LAYER_PREFIX
from bundler.build.executor import Verifier, replacing
from bundler.build.pipeline import BuildOptions, BuildResult, bundle
from bundler.build.verify import sandbox_verifier
from bundler.bundle import limits
from bundler.bundle.manifest import Manifest
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, LimitError, UsageError
from bundler.core.progress import Report, quiet
from bundler.sources.project import load_project

APP_MANIFEST = "app.json"
SCHEMA = 1
OUT_DIR = ".lambundle"


class FunctionFailed(BundlerError):
    """One function of an application failed: its error, named by its logical id."""

    def __init__(self, logical_id: str, cause: BundlerError) -> None:
        super().__init__(f"Function {logical_id}: {cause}")
        self.exit_code = cause.exit_code
        self.logical_id = logical_id


@dataclasses.dataclass(frozen=True)
class AppOptions:
    template: Path
    strategy: str  # the default; a function's Metadata may choose another
    out: Path | None = None
    bytecode: bool = True
    slim: bool = False
    verify: bool | None = None
    interpreter: Path | None = None
    resolver: str = "auto"
    docker: bool = False
    jobs: int = 0  # 0: as many as the machine has cores
    layer_prefix: str = DEFAULT_LAYER_PREFIX


@dataclasses.dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    bundle: str  # the bundle directory, relative to the application directory
    manifest: Manifest
    seconds: float
    verified: bool
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class AppResult:
    out: Path
    template: Path
    functions: tuple[BuiltFunction, ...]
    layers: tuple[sharing.SharedLayer, ...]
    skipped: tuple[Skipped, ...]
    sizes: sharing.Sizes

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{fn.logical_id}: {w}" for fn in self.functions for w in fn.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "lambundle", "version": __version__},
            "out": str(self.out),
            "template": self.template.name,
            "functions": {
                fn.logical_id: {
                    "bundle": fn.bundle,
                    "strategy": fn.manifest.strategy,
                    "handler": fn.manifest.handler,
                    "runtime": fn.manifest.target.runtime,
                    "arch": fn.manifest.target.arch,
                    "function": {
                        "file": f"{fn.bundle}/{fn.manifest.function.file}",
                        "size": fn.manifest.function.size,
                    },
                    "layers": [self.layer_file(layer.sha256) for layer in fn.manifest.layers],
                    "seconds": round(fn.seconds, 3),
                    "verified": fn.verified,
                }
                for fn in self.functions
            },
            "layers": [layer.to_json() for layer in self.layers],
            "skipped": {s.logical_id: s.reason for s in self.skipped},
            "bytes": self.sizes.to_json(),
        }

    def layer_file(self, sha256: str) -> str:
        """The shared file (relative to the application directory) of the layer `sha256`."""
        return next(layer.file for layer in self.layers if layer.sha256 == sha256)


def default_out(template: Path, strategy: str) -> Path:
    """`.lambundle/<template stem>-<strategy>` beside the template."""
    return template.parent / OUT_DIR / f"{template.stem}-{strategy}"


def build_application(
    options: AppOptions,
    *,
    cache: Cache | None = None,
    report: Report = quiet,
    verifier: Verifier | None = None,
) -> AppResult:
    """Build every Python function of `options.template`; see the module docstring."""
    app = read_application(options.template, options.strategy)
    out = (options.out or default_out(app.path, options.strategy)).absolute()
    _check_out(out, app)
    cache = cache or Cache()
    groups = _preflight(app, cache, report, options.resolver)
    report(
        f"{len(app.functions)} Python function(s) of {app.path.name} to build, "
        f"{len(app.skipped)} function(s) left alone"
    )
    for skipped in app.skipped:
        report(f"[{skipped.logical_id}] left alone: {skipped.reason}")
    with replacing(out, "the application", report) as tmp:
        built = _build_all(app, groups, options, tmp, cache, report, verifier)
        result = _assemble(app, built, options, tmp, out, report)
    return dataclasses.replace(result, out=out, template=out / result.template.name)


def _check_out(out: Path, app: Application) -> None:
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is a file, not a directory; pass a directory path."
        raise UsageError(msg)
    if out.is_dir() and any(out.iterdir()) and not (out / APP_MANIFEST).is_file():
        msg = (
            f"--out {out} is a non-empty directory without {APP_MANIFEST}; refusing to replace "
            "what is not a lambundle application. Pass an empty or new directory."
        )
        raise UsageError(msg)
    for fn in app.functions:
        inside = fn.source.is_dir() and out.is_relative_to(fn.source)
        if inside and OUT_DIR not in out.relative_to(fn.source).parts:
            msg = (
                f"--out {out} is inside the source of {fn.logical_id} ({fn.source}), whose "
                f"next build would ship it; pass a directory outside it, or under {OUT_DIR}/."
            )
            raise UsageError(msg)


def _preflight(
    app: Application, cache: Cache, report: Report, resolver: str
) -> list[list[Function]]:
    """Each function's source and handler checked; the functions grouped by what they
    install, the groups largest first (they take longest)."""
    groups: dict[tuple[Any, ...], list[Function]] = {}
    for fn in app.functions:
        try:
            project = load_project(
                fn.source, fn.handler, cache=cache, report=_prefixed(report, fn),
                resolver=resolver,
            )  # fmt: skip
        except BundlerError as exc:
            raise FunctionFailed(fn.logical_id, exc) from None
        locks = tuple(
            (name, (project.root / name).read_bytes())
            for name in ("uv.lock", "poetry.lock", "Pipfile.lock")
            if (project.root / name).is_file()
        )
        key = (project.requirements, locks, fn.target) if project.requirements else (fn.logical_id,)
        groups.setdefault(key, []).append(fn)
    return sorted(groups.values(), key=len, reverse=True)


def _build_all(
    app: Application,
    groups: Sequence[Sequence[Function]],
    options: AppOptions,
    tmp: Path,
    cache: Cache,
    report: Report,
    verifier: Verifier | None,
) -> dict[str, BuiltFunction]:
    """Every function built into `tmp/<LogicalId>`, groups in parallel; the first failure
    stops what has not started and is raised once the running builds end."""
    jobs = options.jobs or _cores()
    # sysconfig fills its variables on first use without a lock: two builds asking at
    # once (finding uv, pip's paths) could read a half-filled table. Fill it here, once.
    sysconfig.get_config_vars()
    total = len(app.functions)
    done: dict[str, BuiltFunction] = {}
    lock = threading.Lock()

    def build_group(group: Sequence[Function]) -> None:
        for fn in group:
            if stop.is_set():
                return
            started = time.perf_counter()
            serial = _serial_verifier(fn, options, verifier, verify_lock)
            result = _build_one(fn, options, tmp, cache, _prefixed(report, fn), serial)
            built = BuiltFunction(
                fn.logical_id, fn.logical_id, result.manifest, time.perf_counter() - started,
                result.verified, result.warnings,
            )  # fmt: skip
            with lock:
                done[fn.logical_id] = built
                report(f"[{fn.logical_id}] built ({len(done)}/{total}, {built.seconds:.2f} s)")

    # One sandbox start at a time: two verifies at once on a machine's few cores are not
    # faster than one after the other.
    verify_lock = threading.Lock()
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(jobs, len(groups)))) as pool:
        futures = [pool.submit(build_group, group) for group in groups]
        try:
            for future in concurrent.futures.as_completed(futures):
                error = future.exception()
                if error is not None:
                    stop.set()
                    for other in futures:
                        other.cancel()
                    raise error
        except BaseException:
            stop.set()
            for other in futures:
                other.cancel()
            raise
    return {fn.logical_id: done[fn.logical_id] for fn in app.functions}


def _cores() -> int:
    """The CPUs this process may run on (a container's or `taskset`'s share) where the
    system says (Linux), else the machine's."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _build_one(
    fn: Function,
    options: AppOptions,
    tmp: Path,
    cache: Cache,
    report: Report,
    verifier: Verifier | None,
) -> BuildResult:
    build = BuildOptions(
        src=fn.source,
        strategy=fn.strategy,
        target=fn.target,
        out=tmp / fn.logical_id,
        handler=fn.handler,
        bytecode=options.bytecode and fn.bytecode,
        slim=options.slim or fn.slim,
        verify=options.verify,
        interpreter=options.interpreter,
        resolver=options.resolver,
        docker=options.docker,
    )
    try:
        return bundle(build, cache=cache, report=report, verifier=verifier)
    except BundlerError as exc:
        raise FunctionFailed(fn.logical_id, exc) from None


def _serial_verifier(
    fn: Function, options: AppOptions, verifier: Verifier | None, lock: threading.Lock
) -> Verifier:
    """The verifier the build would choose, run under `lock`; the build still decides
    whether to verify at all (`--verify/--no-verify`, a Python of the target, the arch)."""
    inner = verifier or sandbox_verifier(interpreters.find(fn.target.python, options.interpreter))

    def verify(bundle_dir: Path) -> None:
        with lock:
            inner(bundle_dir)

    return verify


def _prefixed(report: Report, fn: Function) -> Report:
    return lambda message: report(f"[{fn.logical_id}] {message}")


def _assemble(
    app: Application,
    built: dict[str, BuiltFunction],
    options: AppOptions,
    tmp: Path,
    out: Path,
    report: Report,
) -> AppResult:
    """Shared layers, the layer-count check, the template and app.json, in `tmp`."""
    for fn in app.functions:
        _check_layer_count(fn, built[fn.logical_id].manifest)
    manifests = [(fn.logical_id, built[fn.logical_id].manifest) for fn in app.functions]
    layers = sharing.share_layers(tmp, manifests)
    sizes = sharing.sizes([m for _, m in manifests], layers)
    report(
        f"{len(layers)} distinct layer(s) for {len(manifests)} function(s): "
        f"{sizes.shared:,} bytes to upload instead of {sizes.separate:,} ({sizes.saved:,} saved)"
    )
    template = output.output_template(
        app,
        {fid: (f"{fid}/{m.function.file}", m) for fid, m in manifests},
        layers,
        out,
        layer_prefix=options.layer_prefix,
    )
    name = "template.json" if app.is_json else "template.yaml"
    (tmp / name).write_text(document.dumps(template, as_json=app.is_json), encoding="utf-8")
    result = AppResult(
        out=tmp,
        template=tmp / name,
        functions=tuple(built[fn.logical_id] for fn in app.functions),
        layers=tuple(layers),
        skipped=app.skipped,
        sizes=sizes,
    )
    manifest = {**result.to_json(), "out": None, "source": str(app.path)}
    (tmp / APP_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result


def _check_layer_count(fn: Function, manifest: Manifest) -> None:
    count = len(manifest.layers) + len(fn.layers)
    if count > limits.MAX_LAYERS:
        msg = (
            f"Function {fn.logical_id} would have {count} layers, {len(manifest.layers)} of "
            f"its {manifest.strategy} bundle and {len(fn.layers)} of the template's own; "
            f"Lambda allows {limits.MAX_LAYERS}. Use --strategy vendored or fat-layer for it "
            "(Metadata: lambundle: strategy), or drop one of its layers."
        )
        raise LimitError(msg)

