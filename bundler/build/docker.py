"""The `--docker` path: build sdists and compile bytecode inside a Lambda-matching image.

The image is built from the repository's Dockerfile (AWS's Lambda Python base image plus
lambundle), so the interpreter, glibc and architecture are exactly Lambda's. Everything
goes through one `DockerRunner`, so the commands are tested with a fake runner on machines
without a Docker engine.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bundler.build.bytecode import Compiler
from bundler.bundle.archive import ZipEntry
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, UsageError, output_tail
from bundler.core.progress import Report, quiet
from bundler.core.target import Target
from bundler.sources.lock import Pin, pin_lines

# Where the Dockerfile lives: the repository (or source tree) lambundle runs from.
BUILD_CONTEXT = Path(__file__).resolve().parents[2]

# Runs inside the image, stdlib only; the job file names sources under /src, pyc go to
# /out. Like bundler.build.bytecode's compiler: unchecked-hash, the in-Lambda source path.
_COMPILER = r"""
import importlib.util, json, os, py_compile, sys
job = json.load(open(sys.argv[1]))
failed = []
for rel in job["files"]:
    cfile = importlib.util.cache_from_source(os.path.join("/out/tree", rel))
    try:
        py_compile.compile("/src/" + rel, cfile=cfile, dfile=job["ddir"] + "/" + rel,
                           doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except (py_compile.PyCompileError, SyntaxError, ValueError, UnicodeDecodeError):
        failed.append(rel)
json.dump(failed, open("/out/failed.json", "w"))
"""


class DockerError(BundlerError):
    """A docker command failed or Docker is not usable here."""


@dataclasses.dataclass(frozen=True)
class Mount:
    host: Path
    container: str
    read_only: bool = True


class DockerRunner(Protocol):
    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]: ...


class SubprocessDockerRunner:
    """Runs the real `docker` client."""

    def __init__(self, docker: str | None = None) -> None:
        found = docker or shutil.which("docker")
        if not found:
            msg = (
                "--docker needs the docker client on PATH and a running Docker engine; "
                "install Docker, or build without --docker."
            )
            raise UsageError(msg)
        self.docker = found

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.docker, *argv], capture_output=True, text=True, check=False)


def image_tag(target: Target) -> str:
    return f"lambundle-build:{target.python}-{target.arch}"


def platform(target: Target) -> str:
    return "linux/arm64" if target.arch == "arm64" else "linux/amd64"


def build_image_argv(target: Target, context: Path) -> list[str]:
    return [
        "build",
        "--platform",
        platform(target),
        "--build-arg",
        f"PYTHON={target.python}",
        "-t",
        image_tag(target),
        str(context),
    ]


def run_argv(
    target: Target,
    mounts: Sequence[Mount],
    command: Sequence[str],
    env: Sequence[tuple[str, str]] = (),
    workdir: str | None = None,
) -> list[str]:
    argv = ["run", "--rm", "--platform", platform(target), "--network", "host"]
    if workdir is not None:
        argv += ["-w", workdir]
    if hasattr(os, "getuid"):
        # Files written to the mounts belong to the user, not root, so the cache and the
        # output stay removable; HOME for pip, which the image's root home is not.
        argv += ["--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp"]
    for m in mounts:
        argv += ["-v", f"{m.host}:{m.container}:{'ro' if m.read_only else 'rw'}"]
    for key, value in env:
        argv += ["-e", f"{key}={value}"]
    return [*argv, image_tag(target), *command]


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        tail = output_tail(result, 15)
        msg = f"{what} failed in Docker (exit {result.returncode}):\n{tail}"
        raise DockerError(msg)


def ensure_image(runner: DockerRunner, target: Target, context: Path) -> None:
    """Build the Lambda-matching image for `target` from the Dockerfile in `context`."""
    if not (context / "Dockerfile").is_file():
        msg = f"No Dockerfile in {context}; --docker needs lambundle's Dockerfile."
        raise UsageError(msg)
    _check(runner.run(build_image_argv(target, context)), f"Building {image_tag(target)}")


# The resolvers as the image has them: lambundle installed with its dependencies.
_IMAGE_RESOLVERS = {
    "uv": ["python", "-m", "uv"],
    "pip-tools": ["python", "-m", "piptools", "compile"],
}
# The index configuration the resolver on this machine would use, handed to the image's.
_INDEX_ENV = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
    "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_FIND_LINKS",
    "UV_NO_INDEX",
)


@dataclasses.dataclass(frozen=True)
class ImageResolver:
    """`bundler.sources.resolver.ImageRunner` over a Docker runner: a lock that may pin
    sdists is resolved in the image, because uv and pip-compile build an sdist's metadata
    to read its dependencies, running its `setup.py` or build backend (as `pip wheel` does
    when `build_wheels` builds it, in the image too)."""

    runner: DockerRunner
    target: Target

    def run_resolver(
        self, resolver: str, arguments: Sequence[str], workdir: Path
    ) -> subprocess.CompletedProcess[str]:
        mounts = [Mount(workdir, "/resolve", read_only=False)]
        env = [(k, os.environ[k]) for k in _INDEX_ENV if k in os.environ]
        command = [*_IMAGE_RESOLVERS[resolver], *arguments]
        return self.runner.run(run_argv(self.target, mounts, command, env, workdir="/resolve"))


def build_wheels(
    runner: DockerRunner,
    target: Target,
    requirements: Path,
    out_dir: Path,
    build_constraints: Path | None = None,
) -> list[Path]:
    """Build wheels for the hash-pinned `requirements` (sdists included) with Lambda's Python.

    `--require-hashes` holds inside the image too: an sdist is verified against the lock
    before it is built. `build_constraints` (next to `requirements`) pins the isolated
    build's own dependencies with hashes, which pip then checks as well.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    mounts = [
        Mount(requirements.parent, "/lock"),
        Mount(out_dir, "/out", read_only=False),
    ]
    # --no-cache-dir: a wheel pip built earlier would skip the build, and with it the
    # hash check of its build dependencies.
    command = [
        "python", "-m", "pip", "wheel", "--no-deps", "--require-hashes", "--no-cache-dir",
        "-r", f"/lock/{requirements.name}", "-w", "/out",
    ]  # fmt: skip
    if build_constraints is not None:
        command += ["--build-constraint", f"/lock/{build_constraints.name}"]
    _check(runner.run(run_argv(target, mounts, command)), "Building wheels")
    return sorted(out_dir.glob("*.whl"))


def compile_entries(
    runner: DockerRunner, target: Target, entries: Sequence[ZipEntry], ddir: str, dest: Path
) -> list[str]:
    """Compile the `.py` entries with Lambda's interpreter into a pyc tree at `dest/tree`.

    Same contract as `bundler.build.bytecode.compile_entries`: arcnames are relative to `ddir`
    (their directory inside Lambda), the pyc are unchecked-hash and name the in-Lambda
    source path, and the arcnames that do not compile come back (they ship as source).
    The sources are staged in `dest/src`, which is removed afterwards.
    """
    files = sorted(e.arcname for e in entries if e.arcname.endswith(".py"))
    (dest / "tree").mkdir(parents=True, exist_ok=True)
    if not files:
        return []
    src = dest / "src"
    for entry in entries:
        if entry.arcname.endswith(".py"):
            path = src / entry.arcname
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(entry.read())
    (dest / "job.json").write_text(json.dumps({"files": files, "ddir": ddir.rstrip("/")}))
    mounts = [Mount(src, "/src"), Mount(dest, "/out", read_only=False)]
    command = ["python", "-I", "-c", _COMPILER, "/out/job.json"]
    # A fixed hash seed: marshal writes frozensets in an order that depends on it.
    result = runner.run(run_argv(target, mounts, command, env=[("PYTHONHASHSEED", "0")]))
    _check(result, "Compiling bytecode")
    try:
        failed: list[str] = json.loads((dest / "failed.json").read_text())
    except (OSError, ValueError) as exc:
        msg = f"Compiling bytecode in Docker left no readable result ({exc})."
        raise DockerError(msg) from None
    shutil.rmtree(src)
    for name in ("job.json", "failed.json"):
        (dest / name).unlink()
    return failed


def compiler(runner: DockerRunner, target: Target) -> Compiler:
    """`compile_entries` in the image, as the build's bytecode compiler."""
    return Compiler(
        ("docker", image_tag(target)),
        lambda py, ddir, dest: compile_entries(runner, target, py, ddir, dest),
    )


def build_constraints(pin: Pin, target: Target, cache: Cache, report: Report) -> tuple[Pin, ...]:
    """The hash-pinned build dependencies of `pin`'s sdist for `target`: its
    `[build-system] requires` (read from the sdist, fetched by hash), locked like any
    requirements, wheels only. pip checks them by hash when it builds (bundler.sources.sdists)."""
    from bundler.sources.locking import lock_project
    from bundler.sources.project import Project
    from bundler.sources.sdists import build_requirements, fetch_sdist

    requires = build_requirements(fetch_sdist(pin, cache))
    report(f"locking the build dependencies of {pin.name} {pin.version}: {', '.join(requires)}")
    with tempfile.TemporaryDirectory(prefix="lambundle-build-deps-") as root:
        project = Project(
            name=f"{pin.name}-build", root=Path(root), code=(), requirements=tuple(requires),
            local_wheels=(), handler=None, is_script=False,
        )  # fmt: skip
        return lock_project(project, target, cache=cache, report=report).pins


def wheels_for(
    runner: DockerRunner,
    target: Target,
    pins: Sequence[Pin],
    cache: Cache,
    report: Report = quiet,
) -> dict[str, Path]:
    """Wheels built in the image from the sdists of `pins`, by canonical name; cached.

    The sdists are verified against the lock's hashes inside the container
    (`--require-hashes`), and so are their builds' own dependencies, locked here
    (`build_constraints`); each wheel built must carry the pin's name and version and fit
    the target, or nothing is cached.
    """
    from packaging.utils import canonicalize_name, parse_wheel_filename

    if not pins:
        return {}
    ordered = sorted(pins, key=lambda p: canonicalize_name(p.name))
    constraints = {p.name: build_constraints(p, target, cache, report) for p in ordered}
    major, minor = target.glibc
    parts: list[str | bytes] = ["docker-wheels-v2", image_tag(target), f"{major}.{minor}"]
    for pin in ordered:
        parts += [canonicalize_name(pin.name), pin.version, *pin.hashes]
        parts += [pin_lines(constraints[pin.name])]
    key = Cache.key(*parts)

    def build(tmp: Path) -> None:
        built = _build_each(runner, target, ordered, constraints, tmp)
        _check_built(built, pins, target)

    entry = cache.dir("docker-wheels", key) or cache.put_dir("docker-wheels", key, build)
    out: dict[str, Path] = {}
    for wheel in sorted((entry / "wheels").glob("*.whl")):
        out[canonicalize_name(parse_wheel_filename(wheel.name)[0])] = wheel
    return out


def _build_each(
    runner: DockerRunner,
    target: Target,
    ordered: Sequence[Pin],
    constraints: dict[str, tuple[Pin, ...]],
    tmp: Path,
) -> list[Path]:
    """Build the wheel of each pin into `tmp/wheels`, one run each; every wheel built."""
    from packaging.utils import canonicalize_name

    lock_dir = tmp / "lock"
    lock_dir.mkdir()
    built: list[Path] = []
    for pin in ordered:  # one build each: two sdists may need different build deps
        name = canonicalize_name(pin.name)
        (lock_dir / f"{name}.txt").write_text(pin_lines([pin]))
        (lock_dir / f"{name}-build.txt").write_text(pin_lines(constraints[pin.name]))
        # Each call lists every wheel in the directory so far; the last one, all.
        built = build_wheels(
            runner, target, lock_dir / f"{name}.txt", tmp / "wheels",
            lock_dir / f"{name}-build.txt",
        )  # fmt: skip
    shutil.rmtree(lock_dir)
    return built


def _check_built(built: Sequence[Path], pins: Sequence[Pin], target: Target) -> None:
    """Refuse a build without a wheel of each pin's name and version that fits the target."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    from bundler.sources.wheels import describe, wheel_rank

    names = {}
    for wheel in built:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        names[canonicalize_name(name)] = (str(version), wheel)
    for pin in pins:
        got = names.get(canonicalize_name(pin.name))
        if got is None or got[0] != pin.version:
            msg = (
                f"Docker built no wheel of {pin.name}=={pin.version} "
                f"(got {sorted(w.name for w in built)}); see the build output above."
            )
            raise DockerError(msg)
        if wheel_rank(got[1].name, target) is None:
            msg = (
                f"Docker built {got[1].name}, which does not fit {describe(target)}; "
                "the image's platform does not match the target."
            )
            raise DockerError(msg)
