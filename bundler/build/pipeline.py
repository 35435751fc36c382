"""`lambundle bundle`: the build, step by step.

Load the project, lock and install its dependencies for the target
(bundler.build.dependencies), compile bytecode for the paths the strategy chose
(bundler.build.bytecode), ask the strategy for a plan, check Lambda's limits on the plan,
then execute it (bundler.build.executor): write the archives into a temporary directory
next to the output, check the zipped size, verify the bundle starts in the sandbox
(bundler.build.verify), and only then replace the previous output. A failure or Ctrl-C at
any point leaves the previous bundle as it was.

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
import time
from pathlib import Path
from typing import Any

import strategies
from bundler.build import bytecode as bc
from bundler.build import docker as dk
from bundler.build.bytecode import Bytecode, Compiler
from bundler.build.dependencies import Dependencies, install_dependencies
from bundler.build.embed import EmbeddedPython
from bundler.build.executor import Verifier, check_out, check_plan, execute
from bundler.build.files import DEFAULT_OUT_DIR, Files, gather
from bundler.build.verify import choose_verifier
from bundler.bundle import limits
from bundler.bundle.manifest import Manifest
from bundler.bundle.plan import PlanInputs
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import UsageError
from bundler.core.interpreters import Interpreter
from bundler.core.progress import Report, Timings, quiet
from bundler.core.target import Target
from bundler.sources.project import Project, load_project


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
    # Seconds per step (bundler.core.progress.Timings), and "total".
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "manifest": self.manifest.to_json(),
            "warnings": list(self.warnings),
            "verified": self.verified,
            "embedded_python": self.embedded.to_json() if self.embedded else None,
            "timings": dict(self.timings),
        }


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
    started = time.perf_counter()
    steps = Timings()
    strategy = strategies.get(options.strategy)
    target = options.target
    if options.embed_python is not None:
        from bundler.build import embed

        embed.check_allowed(target, strategy.name)
    out = (options.out or default_out(options.src, strategy.name)).absolute()
    check_out(out)
    cache = cache or Cache(report=report)
    runner: dk.DockerRunner | None = None
    if options.docker:
        runner = docker_runner or dk.SubprocessDockerRunner()

    with steps.step("load"):
        project, handler = _load(options, cache, report)
    embedded = _embed(options, cache, report)
    warnings: list[str] = []
    if embedded is not None and (glibc := embedded.glibc_warning(target)):
        warnings.append(glibc)
    if runner is not None:
        report(f"building the Docker image {dk.image_tag(target)}")
        dk.ensure_image(runner, target, dk.BUILD_CONTEXT)
    interp, mode, compiler = _compiler(options, runner, embedded)
    if mode.reason and options.bytecode:
        warnings.append(mode.reason)
    # Chosen before the dependencies: the sandbox's verifier prepares while they install.
    verifier, not_verified = _verifier(options, interp, runner, verifier, cache)
    warnings += not_verified

    deps = install_dependencies(
        project,
        target,
        resolver=options.resolver,
        cache=cache,
        report=report,
        runner=runner,
        timings=steps,
    )
    with steps.step("gather"):
        python = embedded.entries if embedded else ()
        files = gather(project, deps.site, python, slim=options.slim, report=report)
    if compiler is not None:
        report(f"compiling bytecode with Python {mode.interpreter}")
        deps_dir = strategy.deps_dir(target)
        with steps.step("compile"):
            files, not_compiled = _compile(files, deps_dir, target, compiler, cache, report)
        warnings += not_compiled
    plan = strategy.plan(_plan_inputs(target, handler, files, deps))
    check_plan(plan)

    written = time.perf_counter()
    verifying = steps.steps.get("verify", 0.0)
    result = execute(
        plan, out, cache=cache, bytecode=mode, verifier=_timed(verifier, steps), report=report
    )
    # Writing the archives (and the manifest, and putting the output in place): the rest.
    verified_in = steps.steps.get("verify", 0.0) - verifying
    steps.add("deflate", time.perf_counter() - written - verified_in)
    warnings += _upload_warnings(result)
    steps.add("total", time.perf_counter() - started)
    return BuildResult(
        out,
        result,
        tuple(warnings),
        verified=verifier is not None,
        embedded=embedded,
        timings=steps.to_json(),
    )


def _load(options: BuildOptions, cache: Cache, report: Report) -> tuple[Project, str]:
    """The project and its handler."""
    report(f"loading {options.src}")
    project = load_project(
        options.src, options.handler, cache=cache, report=report, resolver=options.resolver
    )
    if project.handler is None:  # load_project requires one; keep mypy and a future caller honest
        msg = f"No handler for {options.src}; pass --handler module.function."
        raise UsageError(msg)
    return project, project.handler


def _embed(options: BuildOptions, cache: Cache, report: Report) -> EmbeddedPython | None:
    if options.embed_python is None:
        return None
    from bundler.build import embed

    report(f"embedding Python from {options.embed_python}")
    return embed.embed(options.embed_python, options.target, cache)


def _compiler(
    options: BuildOptions, runner: dk.DockerRunner | None, embedded: EmbeddedPython | None
) -> tuple[Interpreter | None, Bytecode, Compiler | None]:
    """The local interpreter that compiles (if any), the manifest's bytecode field, and
    what compiles (None: no bytecode)."""
    target = options.target
    if runner is not None:
        # Lambda's own interpreter compiles, so no local Python of the target is needed.
        if not options.bytecode:
            return None, Bytecode("none", reason="--no-bytecode"), None
        mode = Bytecode(bc.MODE, interpreter=f"{target.python} ({dk.image_tag(target)})")
        return None, mode, dk.compiler(runner, target)
    # An embedded interpreter is one of the target's version: it can compile.
    explicit = options.interpreter or (embedded.executable if embedded else None)
    interp, mode = bc.choose(target.python, explicit, options.bytecode)
    return interp, mode, bc.local_compiler(interp) if interp is not None else None


def _compile(
    files: Files,
    deps_dir: str,
    target: Target,
    compiler: Compiler,
    cache: Cache,
    report: Report,
) -> tuple[Files, list[str]]:
    """`files` with their pyc, and a warning when some of the function's do not compile."""
    files, failed_code, failed = bc.add_pyc(files, deps_dir, compiler, cache)
    warnings = []
    if failed_code:
        warnings.append(
            f"{len(failed_code)} file(s) of the function do not compile for Python "
            f"{target.python} and ship as source only: {', '.join(failed_code[:5])}"
        )
    if failed:
        report(f"{len(failed)} dependency files do not compile; shipped as source")
    return files, warnings


def _plan_inputs(target: Target, handler: str, files: Files, deps: Dependencies) -> PlanInputs:
    return PlanInputs(
        target=target,
        handler=handler,
        code=files.code,
        deps=files.deps,
        runtime=(*files.runtime, *files.python),
        lock_text=deps.lock_text,
        lock_sha256=deps.lock_sha256,
        distributions=deps.distributions,
    )


def _verifier(
    options: BuildOptions,
    interp: Interpreter | None,
    runner: dk.DockerRunner | None,
    verifier: Verifier | None,
    cache: Cache,
) -> tuple[Verifier | None, list[str]]:
    """The verifier `execute` runs (None: none), and why not when it could not choose one."""
    # Verifying needs a Python of the target version even when nothing was compiled.
    local = interp
    if local is None and (not options.bytecode or runner is not None):
        local = interpreters.find(options.target.python, options.interpreter)
    chosen, why_not = choose_verifier(options.target, options.verify, local, verifier, cache)
    return chosen, [why_not] if why_not else []


def _timed(verifier: Verifier | None, steps: Timings) -> Verifier | None:
    """`verifier`, its time counted as the step "verify"."""
    if verifier is None:
        return None

    def verify(bundle_dir: Path) -> None:
        with steps.step("verify"):
            verifier(bundle_dir)

    return verify


def _upload_warnings(result: Manifest) -> list[str]:
    return limits.through_s3((a.file, a.size) for a in (result.function, *result.layers))
