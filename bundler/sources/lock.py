"""Hash-pinned locks for the target, made by pip-tools or uv behind one interface.

A lock is a requirements file in pip-compile's format: `name==version` with every
`--hash=sha256:...` the index lists for that release, so any install of it can run with
`--require-hashes`. It is resolved for the target (CPython minor, architecture, Lambda's
glibc ceiling), never the host, and cached by its inputs (requirements, target, resolver):
the same inputs give back the same lock without running a resolver.

uv is the default when installed (measured ~6x faster here on requests+pydantic+numpy),
pip-tools otherwise; `resolver="pip-tools"|"uv"` chooses explicitly. A project that has its
own uv.lock or poetry.lock (bundler.sources.poetry) is not resolved at all: the lock is that file's
pins for the target.

One difference to know: pip-compile evaluates environment markers (`python_version`,
`platform_machine`) for the interpreter that runs it, while uv evaluates them for the
target. lambundle decides the markers of the top-level requirements for the target
itself, and for a target Python other than the host's runs pip-compile with an interpreter
of the target's version when there is one (pip-tools installed once into a venv of it, in
the cache), so that a dependency's own markers (aiohttp's `async-timeout; python_version <
"3.11"`) are decided for the target too. Markers on the machine (`platform_machine`) still
follow the host under pip-tools, and the lock says so in a note.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from bundler.core.cache import Cache
from bundler.core.errors import LockError, ProjectError, UsageError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources.project import Project, parse_requirements_file

RESOLVERS = ("auto", "uv", "pip-tools")
LOCK_FILE = "requirements.txt"

# uv accepts only these manylinux levels in --python-platform; we take the highest one
# that does not exceed the target's glibc (so 2.26 resolves as 2.17: wheels tagged
# 2_18..2_26 are rare, and choosing a lower level is safe, never too new).
_UV_GLIBC_LEVELS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)


@dataclasses.dataclass(frozen=True)
class Pin:
    """One locked distribution with every hash the lock allows for it."""

    name: str
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>", sorted


@dataclasses.dataclass(frozen=True)
class Lock:
    """A hash-pinned lock: its text (pip-compile's format) and the pins parsed from it."""

    text: str
    pins: tuple[Pin, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @classmethod
    def from_text(cls, text: str, source: str = "lock") -> Lock:
        return cls(text=text, pins=parse_lock(text, source))


def parse_lock(text: str, source: str = "lock") -> tuple[Pin, ...]:
    """Pins of a `--generate-hashes` requirements file; every line must be pinned and hashed."""
    pins: list[Pin] = []
    for lineno, requirement, options in requirement_lines(text):
        if requirement.startswith("-"):
            continue
        hashes = sorted(
            o.split("=", 1)[1].strip() for o in options if o.startswith("--hash=")
        )
        try:
            req = Requirement(requirement)
        except InvalidRequirement as exc:
            msg = f"{source}: line {lineno}: {requirement!r} is not a requirement ({exc})."
            raise LockError(msg) from None
        exact = [s for s in req.specifier if s.operator in ("==", "===")]
        if len(exact) != 1 or "*" in exact[0].version:
            msg = f"{source}: {requirement!r} is not pinned to one version (name==version)."
            raise LockError(msg)
        if not hashes:
            msg = f"{source}: {requirement!r} has no --hash; re-create the lock with hashes."
            raise LockError(msg)
        pins.append(Pin(name=req.name, version=exact[0].version, hashes=tuple(hashes)))
    return tuple(pins)


def requirement_lines(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, requirement, its `--options`) of each logical line of a requirements
    file: continuations joined, comments and blank lines dropped."""
    logical = re.sub(r"\\\s*\n", " ", text)
    for lineno, raw in enumerate(logical.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            requirement, *options = re.split(r"\s+(?=--)", line)
            yield lineno, requirement, options


# -- the resolver interface ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Resolver:
    """A resolver command: how to find it and how to ask it for a lock.

    `markers_python`: the Python version whose markers pip-compile decides, when it runs
    under an interpreter other than the host's (part of the lock's cache key).
    """

    name: str
    executable: list[str]
    markers_python: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}@{self.markers_python}" if self.markers_python else self.name

    def version(self) -> str:
        proc = subprocess.run(
            [*self.executable, "--version"], capture_output=True, text=True, check=False
        )
        # "uv 0.13.9 (x86_64-unknown-linux-gnu)", "pip-compile, version 7.6.2"
        match = re.search(r"\d+\.\d+[\w.]*", proc.stdout)
        return match.group(0) if match else "unknown"

    def command(
        self, infile: str, outfile: str, target: Target, allow_sdist: bool = False
    ) -> list[str]:
        # --docker builds what has no wheel for the target from its sdist, so the lock may
        # pin sdists (their hashes are listed like any wheel's); otherwise wheels only.
        binary = [] if allow_sdist else ["--only-binary", ":all:"]
        if self.name == "uv":
            return [
                *self.executable, "pip", "compile", infile, "--output-file", outfile,
                "--generate-hashes", "--no-header", "--quiet", *binary,
                "--python-version", target.python,
                "--python-platform", uv_platform(target),
                # Wheels only, so no interpreter of the target version is needed; without
                # this uv tries to download one (slow, and fails offline).
                "--no-python-downloads",
            ]  # fmt: skip
        from bundler.sources.wheels import platform_tags

        pip_args = [*(["--only-binary=:all:"] if not allow_sdist else []),
                    "--python-version", target.python,
                    "--implementation", "cp", "--abi", target.cp_tag]  # fmt: skip
        for tag in platform_tags(target):
            pip_args += ["--platform", tag]
        return [
            *self.executable, infile, "--output-file", outfile, "--generate-hashes",
            "--no-header", "--quiet", "--allow-unsafe", "--strip-extras",
            "--no-emit-index-url", "--no-emit-find-links", "--no-emit-trusted-host",
            "--pip-args", shlex.join(pip_args),
        ]  # fmt: skip


def find_resolver(name: str = "auto") -> Resolver:
    """The resolver called `name`; "auto" is uv when installed, else pip-tools."""
    if name not in RESOLVERS:
        msg = f"Unknown resolver {name!r}; choose one of {', '.join(RESOLVERS)}."
        raise UsageError(msg)
    if name in ("auto", "uv"):
        uv = _find_uv()
        if uv is not None:
            return Resolver("uv", [uv])
        if name == "uv":
            msg = "uv is not installed; install it (pip install uv) or use --resolver pip-tools."
            raise UsageError(msg)
    compile_exe = Path(sys.executable).with_name("pip-compile")
    if compile_exe.exists():
        return Resolver("pip-tools", [str(compile_exe)])
    found = shutil.which("pip-compile")
    if found:
        return Resolver("pip-tools", [found])
    msg = "pip-tools is not installed; install it (pip install pip-tools) or use --resolver uv."
    raise UsageError(msg)


def _find_uv() -> str | None:
    try:
        import uv  # type: ignore[import-not-found,unused-ignore]

        path: str = uv.find_uv_bin()
        return path
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def uv_platform(target: Target) -> str:
    """uv's `--python-platform` value for the target's machine and glibc ceiling."""
    ceiling = target.glibc[1]
    level = max(m for m in _UV_GLIBC_LEVELS if m <= ceiling)
    return f"{target.machine}-manylinux_2_{level}"


# -- locking ------------------------------------------------------------------------------


def lock_key(
    requirements: tuple[str, ...], target: Target, resolver: str, allow_sdist: bool = False
) -> str:
    """The cache key of a lock: everything that changes what it resolves to."""
    major, minor = target.glibc
    sdist = ("allow-sdist",) if allow_sdist else ()
    return Cache.key(
        "lock-v1", resolver, target.python, target.arch, f"{major}.{minor}", *sdist,
        *sorted(requirements),
    )  # fmt: skip


def lock_project(
    project: Project,
    target: Target,
    *,
    resolver: str = "auto",
    cache: Cache,
    report: Report | None = None,
    refresh: bool = False,
    allow_sdist: bool = False,
) -> Lock:
    """The hash-pinned lock of `project`'s requirements for `target`.

    Reused from the cache while the requirements, the target and the resolver are the same;
    `refresh=True` resolves again (to pick up new releases) and replaces the cached lock.
    `allow_sdist=True` (for --docker) lets a distribution with no wheel for the target be
    pinned to its sdist, hash and all; without it, wheels only.
    """
    say = report or (lambda _msg: None)
    check_requires_python(project, target)
    uv_lock = project_uv_lock(project)
    # Imported here: bundler.sources.poetry builds on this module's Lock and target environment.
    from bundler.sources import pipenv, poetry

    poetry_lock = poetry.project_poetry_lock(project)
    pipfile_lock = None if project.is_script else pipenv.project_pipfile_lock(project.root)
    locks = [p.name for p in (uv_lock, poetry_lock, pipfile_lock) if p is not None]
    if len(locks) > 1:
        msg = (
            f"{project.root} has {' and '.join(locks)}, and each would decide the "
            "versions; delete the ones the project no longer uses."
        )
        raise LockError(msg)
    decided: Lock | None = None
    if pipfile_lock is not None:
        if refresh:
            say(f"--refresh does not apply: {pipfile_lock} decides the versions (`pipenv lock`)")
        decided = pipenv.lock_from_pipfile_lock(project.name, project.root, target, say)
    elif uv_lock is not None:
        if refresh:
            say(f"--refresh does not apply: {uv_lock} decides the versions (`uv lock --upgrade`)")
        decided = lock_from_uv_lock(project, target, uv_lock, say)
    elif poetry_lock is not None:
        if refresh:
            say(f"--refresh does not apply: {poetry_lock} decides the versions (`poetry update`)")
        decided = poetry.lock_from_poetry_lock(project, target, poetry_lock, say)
    if decided is not None:
        _check_requirements_file(project, target, decided, locks[0])
        return decided
    if poetry.uses_poetry(project):
        say(
            "No poetry.lock: versions come from pyproject.toml's Poetry constraints "
            "(run `poetry lock` to pin them)"
        )
    chosen = find_resolver(resolver)
    if chosen.name == "pip-tools" and project.requirements:
        chosen = _pip_tools_for(target, chosen, cache, say)
    key = lock_key(project.requirements, target, chosen.key, allow_sdist)
    if refresh:
        cache.remove("locks", key)
    entry = cache.dir("locks", key)
    if entry is not None:
        say(f"Lock reused from the cache ({len(project.requirements)} requirement(s) unchanged)")
        return Lock.from_text((entry / LOCK_FILE).read_text("utf-8"), str(entry / LOCK_FILE))
    if not project.requirements:
        text = _header(project, target, chosen, key)
        return Lock(text=text, pins=())

    say(
        f"Resolving {len(project.requirements)} requirement(s) for python{target.python} "
        f"{target.arch} (glibc {target.glibc[0]}.{target.glibc[1]}) with {chosen.name}"
    )
    if chosen.name == "pip-tools":
        python = chosen.markers_python or _host_python()
        if (python, platform.machine()) != (target.python, target.machine):
            say(
                f"Note: pip-tools decides the environment markers of dependencies for Python "
                f"{python} on {platform.machine()}, not the target; use --resolver uv for "
                "target-exact markers."
            )
    body = _resolve(project, target, chosen, allow_sdist)
    text = _header(project, target, chosen, key) + body
    lock = Lock.from_text(text, f"lock of {project.name}")

    def put(tmp: Path) -> None:
        (tmp / LOCK_FILE).write_text(text, "utf-8")

    cache.put_dir("locks", key, put)
    say(f"Locked {len(lock.pins)} distribution(s)")
    return lock


def _check_requirements_file(project: Project, target: Target, lock: Lock, source: str) -> None:
    """A requirements.txt next to a lock file is often that lock exported, and fine; one
    that asks for a package the lock file does not pin would be silently left out."""
    path = project.root / "requirements.txt"
    if not path.is_file():
        return
    pinned = {canonicalize_name(p.name) for p in lock.pins}
    wanted = requirements_for_target(tuple(parse_requirements_file(path)), target)
    names = {Requirement(r).name for r in wanted}
    missing = sorted(n for n in names if canonicalize_name(n) not in pinned)
    if missing:
        msg = (
            f"{path} asks for {', '.join(missing)}, which {source} does not pin, and {source} "
            "decides this function's versions: add them to the project and lock again, or "
            "remove them from requirements.txt."
        )
        raise LockError(msg)


def _host_python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


# Bump when what the pip-tools venv holds changes.
_PIP_TOOLS_VENV = "pip-tools-venv-v1"


def _pip_tools_for(target: Target, host: Resolver, cache: Cache, say: Report) -> Resolver:
    """pip-compile run by an interpreter of the target's Python when it is not the host's
    (so dependencies' markers are decided for it), else `host`. The venv holding pip-tools
    (the version installed here) is made once per interpreter, in the cache; without an
    interpreter of the target's version, or when pip-tools cannot be installed, `host`."""
    if target.python == _host_python():
        return host
    from importlib.metadata import PackageNotFoundError, version

    from bundler.core import interpreters

    interp = interpreters.find(target.python)
    try:
        pip_tools = version("pip-tools")
    except PackageNotFoundError:
        return host
    if interp is None:
        return host
    key = Cache.key(_PIP_TOOLS_VENV, str(interp.path), interp.version, pip_tools)
    entry = cache.dir("resolvers", key)
    if entry is None:
        say(f"Installing pip-tools {pip_tools} for Python {interp.version} (once, in the cache)")

        def build(tmp: Path) -> None:
            venv = tmp / "venv"
            for command in (
                [str(interp.path), "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", f"pip-tools=={pip_tools}"],
            ):  # fmt: skip
                proc = subprocess.run(command, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise LockError(proc.stderr.strip() or proc.stdout.strip())

        try:
            entry = cache.put_dir("resolvers", key, build)
        except LockError as exc:
            say(f"Could not install pip-tools for Python {interp.version} ({exc}); "
                "resolving with this host's pip-tools")  # fmt: skip
            return host
    # `python -m`: the venv's scripts carry the temporary path it was built at.
    python = str(entry / "venv" / "bin" / "python")
    return Resolver("pip-tools", [python, "-m", "piptools", "compile"], target.python)


def check_requires_python(project: Project, target: Target) -> None:
    if not project.requires_python:
        return
    try:
        spec = SpecifierSet(project.requires_python)
    except InvalidSpecifier:
        msg = f"{project.name}: requires-python {project.requires_python!r} is not valid."
        raise ProjectError(msg) from None
    if not spec.contains(f"{target.python}.0", prereleases=True) and not spec.contains(
        target.python, prereleases=True
    ):
        msg = (
            f"{project.name} requires Python {project.requires_python}, but the target is "
            f"python{target.python}; pass a matching --python."
        )
        raise ProjectError(msg)


def _header(project: Project, target: Target, resolver: Resolver, key: str) -> str:
    major, minor = target.glibc
    return (
        f"# Hash-pinned lock of {project.name} made by lambundle with {resolver.name} "
        f"{resolver.version()}\n"
        f"# target: python{target.python} {target.arch} (glibc {major}.{minor})\n"
        f"# inputs: {key}\n"
    )


UV_LOCK = "uv.lock"


def project_uv_lock(project: Project) -> Path | None:
    """The project's own uv.lock: when there is one, it decides every version, not a resolver."""
    if project.is_script or not (project.root / "pyproject.toml").is_file():
        return None
    path = project.root / UV_LOCK
    return path if path.is_file() else None


def lock_from_uv_lock(project: Project, target: Target, uv_lock: Path, say: Report) -> Lock:
    """The lock of `project` for `target`, exactly as its uv.lock pins it.

    `uv export --locked` writes the universal lock as requirements with every file's hash
    (`--locked`: a uv.lock older than pyproject.toml is an error, not silently re-solved);
    the markers are then decided for the target, as Lambda would evaluate them.
    """
    uv = _find_uv()
    if uv is None:
        msg = (
            f"{uv_lock} decides this function's versions, but uv is not installed to read "
            "it: pip install 'lambundle[uv]' (or install uv), or delete uv.lock to let "
            "lambundle resolve pyproject.toml's dependencies."
        )
        raise LockError(msg)
    command = [
        uv, "export", "--locked", "--format", "requirements-txt", "--no-dev",
        "--no-emit-project", "--no-header", "--no-annotate", "--directory", str(project.root),
    ]  # fmt: skip
    say(f"Reading the versions of {uv_lock} for python{target.python} {target.arch}")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        msg = f"Cannot run uv ({uv}): {exc}"
        raise LockError(msg) from exc
    if proc.returncode != 0:
        detail = "\n".join(_useful_lines(proc.stderr or proc.stdout)[-6:])
        msg = (
            f"uv could not export {uv_lock}:\n{detail}\nIf pyproject.toml changed since the "
            f"lock was made, run `uv lock` in {project.root}."
        )
        raise LockError(msg)
    environment = {**target_environment(target), "extra": ""}
    body: list[str] = []
    for _, requirement, options in requirement_lines(proc.stdout):
        if requirement.startswith(("-e", ".", "/")) or " @ " in requirement:
            msg = (
                f"{uv_lock} pins {requirement.split(';')[0].strip()!r}, a local or direct "
                "reference: lambundle installs hash-pinned releases from the package index. "
                "Publish it to an index, or vendor its code in the function."
            )
            raise LockError(msg)
        try:
            req = Requirement(requirement)
        except InvalidRequirement as exc:
            msg = f"{uv_lock}: uv exported {requirement!r}, not a requirement ({exc})."
            raise LockError(msg) from None
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        req.marker = None
        hashes = sorted(o for o in options if o.startswith("--hash="))
        body.append(" \\\n    ".join([str(req), *hashes]) + "\n")
    digest = hashlib.sha256(uv_lock.read_bytes()).hexdigest()
    major, minor = target.glibc
    text = (
        f"# Hash-pinned lock of {project.name}, the versions of its uv.lock (sha256 {digest})\n"
        f"# target: python{target.python} {target.arch} (glibc {major}.{minor})\n"
        + "".join(body)
    )
    lock = Lock.from_text(text, f"{uv_lock} (exported by uv)")
    say(f"Locked {len(lock.pins)} distribution(s) as {uv_lock.name} pins them")
    return lock


def target_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker variables of a Lambda running `target`."""
    full = f"{target.python}.0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": target.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "python_version": target.python,
        "sys_platform": "linux",
    }


def requirements_for_target(requirements: tuple[str, ...], target: Target) -> list[str]:
    """Top-level requirements with their markers decided for the target, not the host.

    pip-compile evaluates markers for the interpreter running it, so a requirement like
    `tomli; python_version < "3.11"` would be dropped for a 3.10 Lambda when resolved on
    3.11. Deciding top-level markers here makes both resolvers agree on them.
    """
    environment = target_environment(target)
    out = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None:
            if not req.marker.evaluate({**environment, "extra": ""}):
                continue
            req.marker = None
        out.append(str(req))
    return out


def _resolve(
    project: Project, target: Target, resolver: Resolver, allow_sdist: bool = False
) -> str:
    wanted = requirements_for_target(project.requirements, target)
    if not wanted:
        return ""
    with tempfile.TemporaryDirectory(prefix="lambundle-lock-") as tmp:
        infile = Path(tmp, "requirements.in")
        infile.write_text("\n".join(wanted) + "\n", "utf-8")
        command = resolver.command("requirements.in", "requirements.txt", target, allow_sdist)
        try:
            proc = subprocess.run(
                command, cwd=tmp, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            msg = f"Cannot run {resolver.name} ({command[0]}): {exc}"
            raise LockError(msg) from exc
        if proc.returncode != 0:
            raise _resolve_error(proc.stderr or proc.stdout, project, target, resolver)
        return Path(tmp, "requirements.txt").read_text("utf-8")


# Where the resolvers name the package they could not satisfy. uv says whether wheels or
# versions are missing; pip (under pip-compile) only says "No matching distribution".
_NO_VERSION = re.compile(r"there is no version of ([A-Za-z0-9][\w.\-]*)")
_NO_WHEEL = (
    re.compile(r"versions? of ([A-Za-z0-9][\w.\-]*)\S* (?:has|have) no usable wheels"),
    re.compile(r"[Bb]ecause ([A-Za-z0-9][\w.\-]*)\S* has no usable wheels"),
    re.compile(r"[Bb]ecause ([A-Za-z0-9][\w.\-]*) was not found in the package registry"),
    re.compile(r"No matching distribution found for ([A-Za-z0-9][\w.\-]*)"),
)
_EXCEPTION_PREFIX = re.compile(r"^[\w.]+\.\w+: ")


def _useful_lines(output: str) -> list[str]:
    """The resolver's message without Python tracebacks (pip-compile prints them)."""
    out = []
    for line in output.strip().splitlines():
        if not line.strip() or (line[:1].isspace() and "cause:" not in line):
            continue
        if line.startswith(("Traceback", "The above exception", "During handling")):
            continue
        out.append(_EXCEPTION_PREFIX.sub("", line.rstrip()))
    return out


def _resolve_error(output: str, project: Project, target: Target, resolver: Resolver) -> LockError:
    useful = _useful_lines(output)
    if resolver.name == "pip-tools":
        useful = useful[-1:]
    detail = "\n".join(useful[-15:]) or "(no output)"
    major, minor = target.glibc
    where = f"python{target.python} {target.arch} (glibc {major}.{minor})"
    head = f"Cannot lock {project.name} for {where} with {resolver.name}"
    if match := _NO_VERSION.search(output):
        name = match.group(1)
        return LockError(
            f"{head}: no release of {name} matches the requirements.\n{detail}\n"
            f"Relax the version of {name} in the requirements."
        )
    for pattern in _NO_WHEEL:
        if match := pattern.search(output):
            name = match.group(1)
            return LockError(
                f"{head}: no version of {name} that matches the requirements has a wheel "
                f"for this target (or no such version exists).\n{detail}\n"
                f"lambundle installs binary wheels only: pin a version of {name} that "
                f"publishes a manylinux wheel for {target.machine}, or build sdists in "
                "Lambda's build image with --docker."
            )
    return LockError(f"{head}:\n{detail}")
