"""`lambundle bundle`: the orchestrator, and the one executor that writes bundles.

Load the project, lock and install its dependencies for the target, compile bytecode for
the paths the strategy chose, ask the strategy for a plan, check Lambda's limits on the
plan, then execute it: write the archives into a temporary directory next to the output,
check the zipped size, verify the bundle starts in the sandbox, and only then replace the
previous output. A failure or Ctrl-C at any point leaves the previous bundle as it was.

Everything expensive is cached by content (bundler.core.cache): the installed tree by lock,
its pyc by tree and location and, below that, by each top-level package's sources, each
archive by its entries; so an unchanged rebuild only copies cached zips, and a changed
requirement recompiles its own package only.

`docker=True` (`--docker`) locks allowing sdists where the target has no wheel, builds
those in Lambda's build image (bundler.build.docker) and compiles all bytecode there, with
Lambda's own interpreter. `embed_python` (`--embed-python`) adds a CPython installation
to a provided.al2023 fat layer (bundler.build.embed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import strategies
from bundler.build import bytecode as bc
from bundler.build import docker as dk
from bundler.build.bytecode import Bytecode
from bundler.build.embed import EmbeddedPython
from bundler.build.slim import TEST_DIRS
from bundler.build.slim import slim as slim_entries
from bundler.bundle import limits, manifest
from bundler.bundle.archive import ZipEntry, entries_from_tree, write_zip
from bundler.bundle.layer import RUNTIME_PACKAGE, runtime_entries
from bundler.bundle.manifest import Manifest
from bundler.bundle.plan import OPT_ROOT, TASK_ROOT, Dist, Plan, PlanInputs, entry_size
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, SandboxError, UsageError
from bundler.core.interpreters import Interpreter
from bundler.core.progress import Report, quiet
from bundler.core.target import Target, host_arch
from bundler.sources.lock import Lock, Pin
from bundler.sources.project import Project, load_project
from bundler.sources.wheels import Distribution

# A verifier starts the bundle directory and raises if the handler does not import.
Verifier = Callable[[Path], None]

DEFAULT_OUT_DIR = ".lambundle"
# Bump when the layout of cached trees or the compile step changes.
_CACHE_VERSION = "build-v2"


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    src: Path
    strategy: str
    target: Target = dataclasses.field(default_factory=Target)
    out: Path | None = None
    handler: str | None = None
    bytecode: bool = True
    slim: bool = False
    verify: bool | None = None  # None: verify when it can (matching interpreter, host arch)
    interpreter: Path | None = None
    resolver: str = "auto"
    docker: bool = False
    embed_python: Path | None = None


@dataclasses.dataclass(frozen=True)
class BuildResult:
    out: Path
    manifest: Manifest
    warnings: tuple[str, ...] = ()
    verified: bool = False
    embedded: EmbeddedPython | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "manifest": self.manifest.to_json(),
            "warnings": list(self.warnings),
            "verified": self.verified,
            "embedded_python": self.embedded.to_json() if self.embedded else None,
        }


@dataclasses.dataclass(frozen=True)
class Compiler:
    """What compiles bytecode: a local interpreter or Lambda's, in Docker.

    `ident` goes into the cache key of compiled trees; `compile` has the contract of
    `bundler.build.bytecode.compile_entries` with the pyc tree at `dest / "tree"`.
    """

    ident: tuple[str, ...]
    compile: Callable[[tuple[ZipEntry, ...], str, Path], list[str]]


def local_compiler(interp: Interpreter) -> Compiler:
    return Compiler(
        (str(interp.path), interp.version),
        lambda py, ddir, dest: bc.compile_entries(py, ddir, dest / "tree", interp),
    )


def docker_compiler(runner: dk.DockerRunner, target: Target) -> Compiler:
    return Compiler(
        ("docker", dk.image_tag(target)),
        lambda py, ddir, dest: dk.compile_entries(runner, target, py, ddir, dest),
    )


def default_out(src: Path, strategy: str) -> Path:
    """`SRC/.lambundle/<strategy>`; for a script, `.lambundle/<stem>-<strategy>` beside it."""
    if src.is_file():
        return src.parent / DEFAULT_OUT_DIR / f"{src.stem}-{strategy}"
    return src / DEFAULT_OUT_DIR / strategy


def bundle(
    options: BuildOptions,
    *,
    cache: Cache | None = None,
    report: Report = quiet,
    verifier: Verifier | None = None,
    docker_runner: dk.DockerRunner | None = None,
) -> BuildResult:
    """Build `options.src` into a bundle directory; see the module docstring.

    `docker_runner` runs the `docker` commands of `options.docker` (default: the docker
    client on PATH); tests pass one that plays the container.
    """
    strategy = strategies.get(options.strategy)
    target = options.target
    if options.embed_python is not None:
        from bundler.build import embed

        embed.check_allowed(target, strategy.name)
    out = (options.out or default_out(options.src, strategy.name)).absolute()
    check_out(out)
    cache = cache or Cache()
    warnings: list[str] = []
    runner: dk.DockerRunner | None = None
    if options.docker:
        runner = docker_runner or dk.SubprocessDockerRunner()

    report(f"loading {options.src}")
    project = load_project(options.src, options.handler, cache=cache)
    handler = project.handler
    if handler is None:  # load_project requires one; keep mypy and a future caller honest
        msg = f"No handler for {options.src}; pass --handler module.function."
        raise UsageError(msg)

    embedded: EmbeddedPython | None = None
    if options.embed_python is not None:
        from bundler.build import embed

        report(f"embedding Python from {options.embed_python}")
        embedded = embed.embed(options.embed_python, target, cache)
        if glibc := embedded.glibc_warning(target):
            warnings.append(glibc)

    if runner is not None:
        report(f"building the Docker image {dk.image_tag(target)}")
        dk.ensure_image(runner, target, dk.BUILD_CONTEXT)

    compiler: Compiler | None = None
    if runner is not None:
        # Lambda's own interpreter compiles, so no local Python of the target is needed.
        interp = None
        if options.bytecode:
            compiler = docker_compiler(runner, target)
            mode = Bytecode(bc.MODE, interpreter=f"{target.python} ({dk.image_tag(target)})")
        else:
            mode = Bytecode("none", reason="--no-bytecode")
    else:
        # An embedded interpreter is one of the target's version: it can compile.
        explicit = options.interpreter or (embedded.executable if embedded else None)
        interp, mode = bc.choose(target.python, explicit, options.bytecode)
        if mode.reason and options.bytecode:
            warnings.append(mode.reason)
        compiler = local_compiler(interp) if interp is not None else None

    lock_text, lock_sha, site, dists = _dependencies(project, options, cache, report, runner)

    deps: tuple[ZipEntry, ...] = ()
    if site is not None:
        deps = tuple(e for e in entries_from_tree(site) if not _is_bytecode(e.arcname))
        if options.slim:
            deps, dropped = slim_entries(deps)
            report(f"--slim: left out {dropped} files")
    code = code_entries(project)
    runtime = tuple(runtime_entries())
    python_files: tuple[ZipEntry, ...] = embedded.entries if embedded else ()

    if compiler is not None:
        report(f"compiling bytecode with Python {mode.interpreter}")
        deps_dir = strategy.deps_dir(target)
        # Distributions' own test suites (pkg/tests/, what --slim leaves out) are never
        # imported by a function: they ship as source, without pyc. For pandas that is
        # 1,400 of 1,900 modules, 31 MB of bytecode and most of the compile time.
        suites = tuple(e for e in deps if _in_test_suite(e.arcname))
        deps, failed = _with_pyc(
            tuple(e for e in deps if not _in_test_suite(e.arcname)), deps_dir, compiler, cache
        )
        deps = (*deps, *suites)
        code, failed_code = _with_pyc(code, TASK_ROOT, compiler, cache)
        # Only the runtime package is imported; start.py runs as a script.
        package = tuple(e for e in runtime if e.arcname.startswith(RUNTIME_PACKAGE + "/"))
        runtime = (*runtime, *_pyc_for(package, OPT_ROOT, compiler, cache)[0])
        # The embedded standard library, for its place under /opt: the installation's own
        # pyc were timestamp-checked and are not shipped (bundler.build.embed).
        python_files = (*python_files, *_pyc_for(python_files, OPT_ROOT, compiler, cache)[0])
        if failed_code:
            warnings.append(
                f"{len(failed_code)} file(s) of the function do not compile for Python "
                f"{target.python} and ship as source only: {', '.join(failed_code[:5])}"
            )
        if failed:
            report(f"{len(failed)} dependency files do not compile; shipped as source")

    inputs = PlanInputs(
        target=target,
        handler=handler,
        code=code,
        deps=deps,
        runtime=(*runtime, *python_files),
        lock_text=lock_text,
        lock_sha256=lock_sha,
        distributions=dists,
    )
    plan = strategy.plan(inputs)
    check_plan(plan)

    # Verifying needs a Python of the target version even when nothing was compiled.
    local = interp
    if local is None and (not options.bytecode or runner is not None):
        local = interpreters.find(target.python, options.interpreter)
    verify = options.verify
    if verify is None:
        verify = local is not None and target.arch == host_arch()
        if not verify:
            why = (
                f"the target is {target.arch} and this machine {host_arch()}"
                if local is not None
                else f"no Python {target.python} to run it"
            )
            warnings.append(f"not verified in the sandbox: {why}")
    if verify and verifier is None:
        verifier = sandbox_verifier(local)
    result_manifest = execute(
        plan,
        out,
        cache=cache,
        bytecode=mode,
        verifier=verifier if verify else None,
        report=report,
    )
    warnings += [
        f"{layer.file} is {layer.size:,} bytes zipped, over the {limits.MAX_ZIPPED:,} of a "
        "direct upload: publish it through S3."
        for layer in result_manifest.layers
        if layer.size > limits.MAX_ZIPPED
    ]
    return BuildResult(
        out, result_manifest, tuple(warnings), verified=bool(verify), embedded=embedded
    )


# -- inputs -------------------------------------------------------------------------------


def code_entries(project: Project) -> tuple[ZipEntry, ...]:
    """The function's own files, relative to the task root; host bytecode left out."""
    out = []
    for rel in project.code:
        name = PurePosixPath(rel.as_posix())
        if name.parts[0] == DEFAULT_OUT_DIR or _is_bytecode(str(name)):
            continue
        path = project.root / rel
        out.append(ZipEntry(str(name), source=path, executable=os.access(path, os.X_OK)))
    return tuple(out)


def _in_test_suite(arcname: str) -> bool:
    """A file inside a distribution's test package (`pkg/tests/...`), by --slim's rule."""
    parts = arcname.split("/")  # arcnames are "/"-separated and relative
    return any(part in TEST_DIRS for part in parts[1:-1]) and not parts[0].endswith(
        (".dist-info", ".data")
    )


def _is_bytecode(arcname: str) -> bool:
    # pyc from the host (pip compiles while installing) are for the wrong interpreter or
    # timestamp-based; ours replace them.
    return arcname.endswith((".pyc", ".pyo")) or "/__pycache__/" in f"/{arcname}"


def _dependencies(
    project: Project,
    options: BuildOptions,
    cache: Cache,
    report: Report,
    runner: dk.DockerRunner | None = None,
) -> tuple[str | None, str | None, Path | None, tuple[Dist, ...]]:
    """(lock text, lock sha256, installed tree, distributions); all None/() without deps.

    With a Docker `runner`, the lock may pin sdists, and what has no wheel for the target
    is built in the image.
    """
    if not project.requirements and not project.local_wheels:
        return None, None, None, ()
    from bundler.sources.locking import lock_project
    from bundler.sources.wheels import install

    target = options.target
    report("locking dependencies")
    lock = lock_project(
        project,
        target,
        resolver=options.resolver,
        cache=cache,
        report=report,
        allow_sdist=runner is not None,
    )
    wheel_parts: list[str | bytes] = []
    for wheel in project.local_wheels:
        wheel_parts += [wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest()]
    key = Cache.key(
        _CACHE_VERSION,
        "site",
        lock.sha256,
        target.python,
        target.arch,
        "{}.{}".format(*target.glibc),
        *wheel_parts,
    )
    entry = cache.dir("site", key)
    if entry is None:
        report("installing dependencies")

        def build(tmp: Path) -> None:
            if runner is not None:
                installed = _install_with_docker(
                    lock, project, target, tmp / "site", cache, runner, report
                )
            else:
                installed = install(
                    lock,
                    target,
                    tmp / "site",
                    cache=cache,
                    local_wheels=project.local_wheels,
                    report=report,
                )
            dists = [{"name": d.name, "version": d.version, "size": int(d.size)} for d in installed]
            (tmp / "dists.json").write_text(json.dumps(dists, sort_keys=True), encoding="utf-8")

        entry = cache.put_dir("site", key, build)
    raw = json.loads((entry / "dists.json").read_text(encoding="utf-8"))
    dists = tuple(
        sorted(
            (Dist(d["name"], d["version"], d["size"]) for d in raw), key=lambda d: d.name.lower()
        )
    )
    return lock.text, lock.sha256, entry / "site", dists


def _install_with_docker(
    lock: Lock,
    project: Project,
    target: Target,
    dest: Path,
    cache: Cache,
    runner: dk.DockerRunner,
    report: Report,
) -> list[Distribution]:
    """Install the lock like `bundler.sources.wheels.install`, building wheel-less pins in Docker.

    Wheels that exist for the target are downloaded and verified as always; a pin pip
    finds no fitting wheel for is built from its hash-pinned sdist in the image.
    """
    from packaging.utils import canonicalize_name

    from bundler.sources.wheels import (
        NoWheelError,
        describe,
        fetch,
        install_wheel,
        install_wheels,
        wheel_rank,
    )

    pins: dict[str, Pin] = {canonicalize_name(p.name): p for p in lock.pins}
    to_build: set[str] = set()
    # One pip run finds the first wheel-less pin; each further run skips the ones found.
    while True:
        try:
            wheels = fetch(
                [p for n, p in pins.items() if n not in to_build], target, cache=cache,
                report=report,
            )  # fmt: skip
            break
        except NoWheelError as exc:
            if exc.name in to_build or exc.name not in pins:
                raise
            to_build.add(exc.name)
    if to_build:
        report(f"building {', '.join(sorted(to_build))} from source in Docker")
        wheels.update(
            dk.wheels_for(runner, target, [pins[n] for n in sorted(to_build)], cache, report)
        )
    dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(pins):
        report(f"Installing {pins[name].name} {pins[name].version} ({wheels[name].name})")
    installed = install_wheels([wheels[name] for name in sorted(pins)], dest, cache)
    for wheel in project.local_wheels:
        if wheel_rank(wheel.name, target) is None:
            msg = f"The function's own wheel {wheel.name} does not fit {describe(target)}."
            raise BundlerError(msg)
        installed.append(install_wheel(Path(wheel), dest))
    return sorted(installed, key=lambda d: canonicalize_name(d.name))


def _content_id(entry: ZipEntry, cache: Cache) -> str:
    """What identifies an entry's bytes: cache entries never change, so their path does."""
    if entry.data is not None:
        return "d:" + hashlib.sha256(entry.data).hexdigest()
    assert entry.source is not None
    if entry.source.is_relative_to(cache.root):
        return f"p:{entry.source}"
    return "h:" + hashlib.sha256(entry.source.read_bytes()).hexdigest()


def _entries_key(entries: Sequence[ZipEntry], cache: Cache, *parts: str) -> str:
    items: list[str] = [_CACHE_VERSION, *parts]
    for e in sorted(entries, key=lambda e: e.arcname):
        items += [e.arcname, "x" if e.executable else "-", _content_id(e, cache)]
    return Cache.key(*items)


def _pyc_for(
    entries: tuple[ZipEntry, ...], ddir: str, compiler: Compiler, cache: Cache
) -> tuple[list[ZipEntry], list[str]]:
    """pyc entries for `entries` compiled for `ddir`, from the cache when unchanged.

    Two levels: the whole set by its entries (paths inside the cache are ids, so an
    unchanged rebuild hashes nothing), then, on a miss, each top-level package by the
    sha256 of its sources, so a changed requirement recompiles its own package and
    nothing else (bumping requests next to pandas does not recompile pandas).
    """
    py = tuple(e for e in entries if e.arcname.endswith(".py") and e.source is not None)
    ident = ("pyc", ddir, *compiler.ident)
    key = _entries_key(py, cache, *ident)
    entry = cache.dir("pyc", key)
    groups = _read_groups(entry, cache) if entry is not None else None
    if groups is None:
        if entry is not None:
            cache.remove("pyc", key)  # a package it names was removed from the cache
        entry = cache.put_dir(
            "pyc", key, lambda tmp: _compile_packages(py, ident, compiler, cache, tmp)
        )
        groups = _read_groups(entry, cache)
        assert groups is not None, "a fresh entry names packages that exist"
    pyc: list[ZipEntry] = []
    failed: list[str] = []
    for package in groups:
        pyc += bc.pyc_entries(package / "tree")
        failed += json.loads((package / "failed.json").read_text(encoding="utf-8"))
    return pyc, sorted(failed)


def _package_of(arcname: str) -> str:
    """The top-level package (or module file) an entry belongs to."""
    return arcname.split("/", 1)[0]


def _take_package(compiled: Path, name: str, tree: Path) -> None:
    """Move package `name`'s pyc from the tree of a compile run into its own `tree`."""
    tree.mkdir()
    if name.endswith(".py"):  # a lone module: its pyc is in the top-level __pycache__
        stem = name[: -len(".py")]
        for pyc in sorted((compiled / "__pycache__").glob(f"{stem}.*.pyc")):
            if pyc.name.count(".") == stem.count(".") + 2:  # stem.<tag>.pyc, not stem.x.<tag>
                (tree / "__pycache__").mkdir(exist_ok=True)
                pyc.rename(tree / "__pycache__" / pyc.name)
    elif (compiled / name).is_dir():
        (compiled / name).rename(tree / name)


def _read_groups(entry: Path, cache: Cache) -> list[Path] | None:
    """The package entries a set's entry names, or None if one is gone (or the entry is
    not one this version wrote)."""
    try:
        keys = json.loads((entry / "packages.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = [cache.dir("pyc-package", k) for k in keys]
    return None if any(p is None for p in found) else [p for p in found if p is not None]


def _compile_packages(
    py: tuple[ZipEntry, ...], ident: tuple[str, ...], compiler: Compiler, cache: Cache, tmp: Path
) -> None:
    """Compile the packages of `py` not yet cached, in one run; record the set's packages."""
    by_package: dict[str, list[ZipEntry]] = {}
    for e in py:
        by_package.setdefault(_package_of(e.arcname), []).append(e)
    keys: dict[str, str] = {}
    for name, members in sorted(by_package.items()):
        items = [_CACHE_VERSION, *ident]
        for e in sorted(members, key=lambda e: e.arcname):
            assert e.source is not None
            items += [e.arcname, hashlib.sha256(e.source.read_bytes()).hexdigest()]
        keys[name] = Cache.key(*items)
    missing = [n for n in sorted(keys) if cache.dir("pyc-package", keys[n]) is None]
    if missing:
        work = tmp / "compiled"
        todo = tuple(e for n in missing for e in by_package[n])
        failed = compiler.compile(todo, ident[1], work)
        for name in missing:

            def build(dest: Path, name: str = name) -> None:
                _take_package(work / "tree", name, dest / "tree")
                mine = [f for f in failed if _package_of(f) == name]
                (dest / "failed.json").write_text(json.dumps(mine), encoding="utf-8")

            cache.put_dir("pyc-package", keys[name], build)
        shutil.rmtree(work, ignore_errors=True)
    (tmp / "packages.json").write_text(
        json.dumps([keys[n] for n in sorted(keys)]), encoding="utf-8"
    )


def _with_pyc(
    entries: tuple[ZipEntry, ...], ddir: str, compiler: Compiler, cache: Cache
) -> tuple[tuple[ZipEntry, ...], list[str]]:
    pyc, failed = _pyc_for(entries, ddir, compiler, cache)
    return (*entries, *pyc), failed


# -- checks -------------------------------------------------------------------------------


def unzipped_size(entries: Sequence[ZipEntry]) -> int:
    """Bytes the entries take once extracted; a later entry of the same name wins."""
    by_name = {e.arcname: e for e in entries}
    return sum(entry_size(e) for e in by_name.values())


def check_plan(plan: Plan) -> None:
    """Lambda's unzipped-size and layer-count limits, before anything is written."""
    found = limits.checks(
        unzipped_size(plan.function.entries),
        [unzipped_size(layer.entries) for layer in plan.layers],
    )
    limits.enforce(found, [(d.name, d.version, d.size) for d in plan.distributions])


def check_out(out: Path) -> None:
    """Refuse an --out that is a file, unwritable, or a directory that is not a bundle."""
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is a file, not a directory; pass a directory path."
        raise UsageError(msg)
    if out.is_dir() and any(out.iterdir()) and not (out / manifest.MANIFEST_NAME).is_file():
        msg = (
            f"--out {out} is a non-empty directory without {manifest.MANIFEST_NAME}; "
            "refusing to replace what is not a lambundle bundle. Pass an empty or new directory."
        )
        raise UsageError(msg)
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        msg = f"--out {out}: {parent} is not writable; pass a directory you can write to."
        raise UsageError(msg)


# -- the executor -------------------------------------------------------------------------


def execute(
    plan: Plan,
    out: Path,
    *,
    cache: Cache,
    bytecode: Bytecode,
    verifier: Verifier | None = None,
    report: Report = quiet,
) -> Manifest:
    """Write the plan's archives and manifest, verify, and replace `out` with the result."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        msg = f"Cannot create the output directory next to {out} ({exc}); pass another --out."
        raise UsageError(msg) from None
    try:
        described = []
        for artifact in plan.artifacts:
            report(f"writing {artifact.file}")
            _write_cached(artifact.entries, tmp / artifact.file, cache)
            described.append(
                manifest.describe_artifact(
                    artifact.name, tmp / artifact.file, unzipped_size(artifact.entries)
                )
            )
        function = described[0] if plan.artifacts[0].kind == "function" else None
        assert function is not None, "the function comes first in every plan"
        limits.enforce(
            limits.checks(
                function.unzipped_size,
                [a.unzipped_size for a in described[1:]],
                function_zipped=function.size,
            ),
            [(d.name, d.version, d.size) for d in plan.distributions],
        )
        result = Manifest(
            strategy=plan.strategy,
            target=plan.target,
            handler=plan.handler,
            function=function,
            layers=tuple(described[1:]),
            sys_path=plan.sys_path,
            environment=dict(plan.environment),
            lock_sha256=plan.lock_sha256,
            distributions=tuple((d.name, d.version) for d in plan.distributions),
            bytecode=bytecode.to_json(),
        )
        manifest.write(tmp, result)
        if verifier is not None:
            report("verifying: starting the bundle in the sandbox")
            verifier(tmp)
        _replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        msg = f"Writing the bundle next to {out} failed ({exc}); the previous output is unchanged."
        raise BundlerError(msg) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def _write_cached(entries: Sequence[ZipEntry], dest: Path, cache: Cache) -> None:
    key = _entries_key(entries, cache, "zip")
    entry = cache.dir("zip", key)
    if entry is None:
        members = CachedMembers(cache)
        entry = cache.put_dir(
            "zip", key, lambda tmp: write_zip(tmp / "archive.zip", entries, members)
        )
    shutil.copyfile(entry / "archive.zip", dest)


class CachedMembers:
    """`archive.MemberStore` in lambundle's cache: each large member deflated once, for
    every strategy's zip and every rebuild that ships it again."""

    KIND = "deflated"

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def get(self, key: str) -> bytes | None:
        entry = self.cache.dir(self.KIND, key)
        if entry is None:
            return None
        try:
            return (entry / "member").read_bytes()
        except OSError:
            return None

    def put(self, key: str, deflated: bytes) -> None:
        def write(tmp: Path) -> None:
            (tmp / "member").write_bytes(deflated)

        self.cache.remove(self.KIND, key)  # a damaged one is replaced, not kept
        self.cache.put_dir(self.KIND, key, write)


def _replace(new: Path, out: Path) -> None:
    """Move `new` to `out`; the previous `out` survives until the new one is in place."""
    old = None
    if out.exists():
        # rename(2) may replace an empty directory: a fresh unique name, never a stale one.
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- verify -------------------------------------------------------------------------------


def sandbox_verifier(interpreter: Interpreter | None = None, timeout_s: float = 60.0) -> Verifier:
    """Start the bundle in the sandbox and invoke it once: an init error fails the build.

    An error the handler raises for the empty test event is not a failed build: the
    handler imported, which is what --verify proves.
    """

    def verify(bundle_dir: Path) -> None:
        from bundler.sandbox.sandbox import Sandbox

        try:
            with Sandbox(
                bundle_dir,
                timeout_s=timeout_s,
                interpreter=interpreter.path if interpreter else None,
            ) as sb:
                result = sb.invoke(b"{}")
        except BundlerError as exc:
            msg = f"--verify: the bundle did not start in the sandbox: {exc}"
            raise SandboxError(msg) from None
        if result.init_error:
            error = result.error or {}
            what = f"{error.get('errorType', '')}: {error.get('errorMessage', '')}".strip(": ")
            # The function's own output, without the platform's START/END/REPORT lines.
            lines = [
                line
                for line in result.logs.strip().splitlines()
                if not line.startswith(("START ", "END ", "REPORT ", "INIT_REPORT "))
                and "LAMBDA_WARNING" not in line
            ]
            logs = "\n".join(lines[-10:])
            msg = (
                f"--verify: the handler failed to initialise in the sandbox: {what}\n{logs}\n"
                "Nothing was written to the output. Fix the error, or pass --no-verify."
            )
            raise BundlerError(msg)

    return verify
