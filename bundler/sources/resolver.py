"""Resolving requirements into a hash-pinned lock, with pip-tools or uv behind one interface.

The lock is resolved for the target (CPython minor, architecture, Lambda's glibc ceiling),
never the host. uv is the default when installed (measured ~6x faster here on
requests+pydantic+numpy), pip-tools otherwise; `resolver="pip-tools"|"uv"` chooses
explicitly.

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

import contextlib
import dataclasses
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.core.cache import Cache
from bundler.core.errors import LockError, UsageError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources import references
from bundler.sources.index import Index, IndexUnavailable, PackageIndex, read_configuration_early
from bundler.sources.lock import requirements_for_target
from bundler.sources.tags import platform_tags

RESOLVERS = ("auto", "uv", "pip-tools")

# uv accepts only these manylinux levels in --python-platform; we take the highest one
# that does not exceed the target's glibc (so 2.26 resolves as 2.17: wheels tagged
# 2_18..2_26 are rare, and choosing a lower level is safe, never too new).
_UV_GLIBC_LEVELS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)


# -- the resolver interface ---------------------------------------------------------------


class ImageRunner(Protocol):
    """Runs a resolver inside Lambda's build image (`--docker`, bundler.build.docker).

    A lock that may pin sdists is resolved there and only there: to read an sdist's
    dependencies, uv and pip-compile build its metadata, which runs its `setup.py` or
    build backend, and that code must not run on the machine that builds.
    """

    def run_resolver(
        self, resolver: str, arguments: Sequence[str], workdir: Path
    ) -> subprocess.CompletedProcess[str]:
        """Run resolver `resolver` ("uv" or "pip-tools") with `arguments` in the image,
        with `workdir` (holding requirements.in, getting requirements.txt) as its working
        directory."""
        ...



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
        self,
        infile: str,
        outfile: str,
        target: Target,
        allow_sdist: bool = False,
        find_links: Path | None = None,
    ) -> list[str]:
        # --docker builds what has no wheel for the target from its sdist, so the lock may
        # pin sdists (their hashes are listed like any wheel's); otherwise wheels only.
        binary = [] if allow_sdist else ["--only-binary", ":all:"]
        links = ["--find-links", str(find_links)] if find_links is not None else []
        if self.name == "uv":
            return [
                *self.executable, "pip", "compile", infile, "--output-file", outfile,
                "--generate-hashes", "--no-header", "--quiet", *binary,
                "--python-version", target.python,
                "--python-platform", uv_platform(target),
                # Wheels only, so no interpreter of the target version is needed; without
                # this uv tries to download one (slow, and fails offline).
                "--no-python-downloads", *links,
            ]  # fmt: skip
        pip_args = [*(["--only-binary=:all:"] if not allow_sdist else []),
                    "--python-version", target.python,
                    "--implementation", "cp", "--abi", target.cp_tag]  # fmt: skip
        for tag in platform_tags(target):
            pip_args += ["--platform", tag]
        return [
            *self.executable, infile, "--output-file", outfile, "--generate-hashes",
            "--no-header", "--quiet", "--allow-unsafe", "--strip-extras",
            "--no-emit-index-url", "--no-emit-find-links", "--no-emit-trusted-host",
            *links, "--pip-args", shlex.join(pip_args),
        ]  # fmt: skip


def find_resolver(name: str = "auto") -> Resolver:
    """The resolver called `name`; "auto" is uv when installed, else pip-tools."""
    if name not in RESOLVERS:
        msg = f"Unknown resolver {name!r}; choose one of {', '.join(RESOLVERS)}."
        raise UsageError(msg)
    if name in ("auto", "uv"):
        uv = find_uv()
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


def find_uv() -> str | None:
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


def lock_key(
    requirements: tuple[str, ...],
    target: Target,
    resolver: str,
    allow_sdist: bool = False,
    hashed: tuple[str, ...] = (),
) -> str:
    """The cache key of a lock: everything that changes what it resolves to (`hashed`:
    the user's `--hash` pins, `HashedRequirement.key`, which narrow it)."""
    major, minor = target.glibc
    # Sdists allowed: resolved in Lambda's build image (`ImageRunner`); before, on the host.
    sdist = ("allow-sdist-in-image",) if allow_sdist else ()
    pinned = ("hashes", *sorted(hashed)) if hashed else ()
    return Cache.key(
        "lock-v1", resolver, target.python, target.arch, f"{major}.{minor}", *sdist,
        *sorted(requirements), *pinned,
    )  # fmt: skip


def host_python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


# Bump when what the pip-tools venv holds changes.
_PIP_TOOLS_VENV = "pip-tools-venv-v1"


def pip_tools_for(target: Target, host: Resolver, cache: Cache, say: Report) -> Resolver:
    """pip-compile run by an interpreter of the target's Python when it is not the host's
    (so dependencies' markers are decided for it), else `host`. The venv holding pip-tools
    (the version installed here) is made once per interpreter, in the cache; without an
    interpreter of the target's version, or when pip-tools cannot be installed, `host`."""
    if target.python == host_python():
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


def header(name: str, target: Target, resolver: Resolver, key: str) -> str:
    major, minor = target.glibc
    return (
        f"# Hash-pinned lock of {name} made by lambundle with {resolver.name} "
        f"{resolver.version()}\n"
        f"# target: python{target.python} {target.arch} (glibc {major}.{minor})\n"
        f"# inputs: {key}\n"
    )


def resolve(
    name: str,
    requirements: tuple[str, ...],
    target: Target,
    resolver: Resolver,
    *,
    image: ImageRunner | None = None,
    find_links: Path | None = None,
    index: Index | None = None,
) -> str:
    """The body of a lock of project `name`'s `requirements` for `target`.

    Wheels only, resolved here; with `image` (`--docker`) sdists are allowed too, and the
    resolver runs in Lambda's build image, since reading an sdist's metadata runs its code.
    `find_links`: a directory of wheels the resolver may use besides the index's (pure
    wheels lambundle built from sdists, `bundler.sources.sdist_build`). `index`: the index
    asked when the resolver's failure does not say whether a package exists.
    """
    wanted = requirements_for_target(requirements, target)
    for requirement in wanted:
        # The sources refuse these when they are read; this guards every other caller
        # (an sdist's build requirements), since the resolver would fetch and build them.
        kind = references.direct_reference(requirement)
        if kind is not None:
            raise LockError(references.refused(requirement, f"Cannot lock {name}", kind))
    if not wanted:
        return ""
    # The size check and the downloads that follow a resolve ask pip's configured index.
    read_configuration_early()
    with tempfile.TemporaryDirectory(prefix="lambundle-lock-") as tmp:
        infile = Path(tmp, "requirements.in")
        infile.write_text("\n".join(wanted) + "\n", "utf-8")
        command = resolver.command(
            "requirements.in", "requirements.txt", target, image is not None, find_links
        )
        try:
            if image is not None:
                arguments = command[len(resolver.executable) :]
                proc = image.run_resolver(resolver.name, arguments, Path(tmp))
            else:
                proc = subprocess.run(
                    command, cwd=tmp, capture_output=True, text=True, check=False
                )
        except OSError as exc:
            msg = f"Cannot run {resolver.name} ({command[0]}): {exc}"
            raise LockError(msg) from exc
        if proc.returncode != 0:
            raise _resolve_error(proc.stderr or proc.stdout, name, target, resolver, index)
        body = Path(tmp, "requirements.txt").read_text("utf-8")
    _refuse_direct_references(body, name, resolver)
    return body


def _refuse_direct_references(body: str, name: str, resolver: Resolver) -> None:
    """Refuse a lock in which a dependency's own metadata asked for another package by a
    URL, path or repository (`Requires-Dist: pkg @ https://...`: PyPI refuses such uploads,
    other indexes do not). The requirements were checked before resolving; this is what a
    dependency brought in, stopped before anything is downloaded or installed."""
    entries = lock_entries(body)
    versions: dict[str, str] = {}
    for requirement, _ in entries:
        with contextlib.suppress(InvalidRequirement):
            req = Requirement(requirement)
            exact = [s.version for s in req.specifier if s.operator == "=="]
            if exact:
                versions[canonicalize_name(req.name)] = exact[0]
    for requirement, via in entries:
        kind = references.direct_reference(requirement)
        if kind is None:
            continue
        wanted = requirement.split("@", 1)[0].strip() or requirement
        asked = [
            f"{v} {versions[canonicalize_name(v)]}" if canonicalize_name(v) in versions else v
            for v in via
            if not v.startswith("-")
        ] or ["a dependency"]
        note = "Nothing was installed."
        if resolver.name == "pip-tools":
            note = (
                "pip-compile fetched it while resolving (and, for an sdist or a repository, "
                "ran its build on this machine; --resolver uv refuses it before fetching "
                "anything); nothing was installed."
            )
        message = direct_dependency_message(
            name, " and ".join(asked), wanted, requirement, kind, note
        )
        raise LockError(message)


def direct_dependency_message(
    project: str, asked_by: str, wanted: str, requirement: str, kind: str, note: str
) -> str:
    """The message for a dependency `asked_by` that requires `wanted` by a direct
    reference `requirement` (of `kind`); `note` says what the resolver did with it."""
    return (
        f"Cannot lock {project}: {asked_by} {'require' if ' and ' in asked_by else 'requires'} "
        f"{wanted} by a direct reference to "
        f"{kind} ({requirement.strip()}), not a release; a direct reference cannot be "
        f"hash-pinned, and lambundle refuses it in dependencies as in requirements. {note} "
        f"Pin a version of {asked_by.split()[0]} that requires {wanted} by version, or "
        f"publish {wanted} to an index; or build wheels of both and vendor their code in "
        "the function directory."
    )


def lock_entries(body: str) -> list[tuple[str, list[str]]]:
    """Each requirement of a pip-compile or uv lock, with the packages its `# via`
    comments name (one per line, or several after a bare `# via`)."""
    entries: list[tuple[str, list[str]]] = []
    in_via = False
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comment = stripped[1:].strip()
            if not entries:
                continue
            if comment.startswith("via"):
                rest = comment[3:].strip()
                if rest:
                    entries[-1][1].append(rest)
                in_via = not rest
            elif in_via and comment:
                entries[-1][1].append(comment)
            continue
        in_via = False
        if line[:1].isspace() or stripped.startswith("-"):
            continue  # a --hash continuation, or an option line
        requirement = re.split(r"\s+(?=--)", stripped.rstrip("\\").strip())[0]
        entries.append((requirement, []))
    return entries


# Where the resolvers name the package they could not satisfy. uv says whether wheels or
# versions are missing, or the project; pip (under pip-compile) only says "No matching
# distribution", whether the project has no wheel for the target or does not exist, so for
# pip the index is asked.
# uv wraps its messages at any space, so every space here is `\s+`.
_NO_VERSION = re.compile(r"there\s+is\s+no\s+version\s+of\s+([A-Za-z0-9][\w.\-]*)")
_NOT_FOUND = re.compile(
    r"[Bb]ecause\s+([A-Za-z0-9][\w.\-]*)\s+was\s+not\s+found\s+in\s+the\s+package\s+registry"
)
_NO_WHEEL = (
    re.compile(r"versions?\s+of\s+([A-Za-z0-9][\w.\-]*)\S*\s+(?:has|have)\s+no\s+usable\s+wheels"),
    re.compile(r"[Bb]ecause\s+([A-Za-z0-9][\w.\-]*)\S*\s+has\s+no\s+usable\s+wheels"),
    # "pywin32<=305 has no wheels with a matching Python ABI tag" (or platform tag)
    re.compile(r"([A-Za-z0-9][\w.\-]*)\S*\s+(?:has|have)\s+no\s+wheels\s+with\s+a\s+matching"),
)
_NO_MATCHING = re.compile(r"No matching distribution found for ([A-Za-z0-9][\w.\-]*)")
_EXCEPTION_PREFIX = re.compile(r"^[\w.]+\.\w+: ")
# uv refuses a dependency's `pkg @ url` itself, before fetching it, and advises adding it
# to the requirements, which lambundle refuses: its message is replaced by lambundle's.
_URL_DEPENDENCY = re.compile(r"Package\s+`([^`]+)`\s+was\s+included\s+as\s+a\s+URL\s+dependency")
_URL_PARENT = re.compile(r"dependencies\s+for\s+package\s+`([^`]+)`")
_URL_SUGGESTED = re.compile(r"Consider\s+adding\s+`([^`]+)`")


class NoWheelForTarget(LockError):
    """The package the index has, but no version the requirements allow has a wheel that
    fits the target; `package` names it (canonical), for a caller that can build it."""

    def __init__(self, message: str, package: str) -> None:
        super().__init__(message)
        self.package = canonicalize_name(package)


def useful_lines(output: str) -> list[str]:
    """The resolver's message without Python tracebacks (pip-compile prints them)."""
    out = []
    for line in output.strip().splitlines():
        if not line.strip() or (line[:1].isspace() and "cause:" not in line):
            continue
        if line.startswith(("Traceback", "The above exception", "During handling")):
            continue
        out.append(_EXCEPTION_PREFIX.sub("", line.rstrip()))
    return out


def _resolve_error(
    output: str,
    project_name: str,
    target: Target,
    resolver: Resolver,
    index: Index | None = None,
) -> LockError:
    useful = useful_lines(output)
    if resolver.name == "pip-tools":
        useful = useful[-1:]
    detail = "\n".join(useful[-15:]) or "(no output)"
    major, minor = target.glibc
    where = f"python{target.python} {target.arch} (glibc {major}.{minor})"
    head = f"Cannot lock {project_name} for {where} with {resolver.name}"
    if match := _URL_DEPENDENCY.search(output):
        wanted = match.group(1)
        parent = _URL_PARENT.search(output)
        suggested = _URL_SUGGESTED.search(output)
        requirement = " ".join(suggested.group(1).split()) if suggested else wanted
        asked = parent.group(1).replace("==", " ") if parent else "a dependency"
        kind = references.direct_reference(requirement) or "a URL"
        note = f"{resolver.name} refused it before fetching anything."
        return LockError(
            direct_dependency_message(project_name, asked, wanted, requirement, kind, note)
        )
    if match := _NO_VERSION.search(output):
        name = match.group(1)
        return LockError(
            f"{head}: no release of {name} matches the requirements.\n{detail}\n"
            f"Relax the version of {name} in the requirements."
        )
    exists: bool | None = True
    if match := _NOT_FOUND.search(output):
        name, exists = match.group(1), False
    elif match := next((m for p in _NO_WHEEL if (m := p.search(output))), None):
        name = match.group(1)
    elif match := _NO_MATCHING.search(output):
        name = match.group(1)
        index = index or PackageIndex()
        exists = on_index(name, index)
    else:
        return LockError(f"{head}:\n{detail}")
    if exists is False:
        on = f" ({index.url})" if index is not None else ""
        return LockError(
            f"{head}: {name} is not on the package index{on}.\n{detail}\n"
            f"Check the name {name} in the requirements; if it comes from another index, "
            "point pip and uv at that index (PIP_INDEX_URL, UV_INDEX_URL)."
        )
    # pip says the same when the version asked for does not exist.
    unsure = " (or no such version exists)" if resolver.name == "pip-tools" else ""
    return NoWheelForTarget(
        f"{head}: no version of {name} that matches the requirements has a wheel "
        f"for this target{unsure}.\n{detail}\n"
        f"lambundle installs binary wheels only: pin a version of {name} that "
        f"publishes a manylinux wheel for {target.machine}, or build sdists in "
        "Lambda's build image with --docker.",
        name,
    )


def on_index(name: str, index: Index) -> bool | None:
    """Whether the index has a project `name`; None when the index cannot say."""
    try:
        return index.files(name) is not None
    except IndexUnavailable:
        return None
