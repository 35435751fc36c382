"""A source tree built into a wheel by its own build backend, in a locked, confined
environment: how lambundle runs every build backend, whether it comes from the index (a
pure-Python sdist, `bundler.sources.sdist_build`) or is the function's own package
(`bundler.sources.project`).

1. An isolated environment (a venv of this machine's Python) holds exactly the build
   requirements the caller read without running anything (`[build-system] requires`),
   locked with hashes for this machine like any requirements (the lock is cached by its
   inputs, under "build-locks") and installed with `pip --require-hashes`; if the backend
   asks for more (`get_requires_for_build_wheel`, which runs in that environment), those
   are locked and installed the same way, once; still more is refused, by name.
2. `build`'s library runs the backend's hooks in that venv through `_runner`: with
   `PIP_NO_INDEX` set so that no build step fetches anything unchecked, an environment of
   PATH and locale only, HOME, TMPDIR and the XDG directories in the build's temporary
   directory, and, where bubblewrap works, confined: the file system read-only but for that
   directory, the user's home directory empty, a private /tmp, no network.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, output_tail
from bundler.core.progress import Report
from bundler.core.target import Target, host_arch
from bundler.sources import resolver as resolvers
from bundler.sources.lock import Lock, Pin

# 1980-01-01, the earliest date a zip holds: the same sources build the same wheel bytes
# with the backends that honour it (setuptools, flit, hatchling).
_SOURCE_DATE_EPOCH = "315532800"


@dataclasses.dataclass(frozen=True)
class Subject:
    """What a build makes, as its messages name it, and what they tell the user to do."""

    name: str  # "docopt", "order-service": whose build requirements, whose backend
    what: str  # "docopt 0.6.2 from its sdist docopt-0.6.2.tar.gz", "the wheel of /src"
    error: type[BundlerError]  # what a failure raises
    if_failed: str  # the fix when the backend fails
    if_more: str  # the fix when the backend keeps asking for more build requirements


def build_wheel(
    source: Path,
    requires: Sequence[str],
    work: Path,
    subject: Subject,
    *,
    cache: Cache,
    report: Report,
    resolver: str = "auto",
) -> Path:
    """Build the source tree `source` into one wheel in `work/dist` (see the module's
    docstring). `work` is the build's temporary directory, the only one the backend may
    write, so `source` must be inside it (backends write next to their sources)."""
    import build as pypa_build  # only when something is built

    env = _BuildEnvironment(work / "env", subject, cache, report, resolver)
    env.install(requires)
    log: list[str] = []
    confine = _confinement()
    if confine is None:
        report(
            f"bubblewrap cannot run here: {subject.name}'s build backend runs on this machine "
            "unconfined: it can read what you can, though its HOME and TMPDIR are in a "
            "temporary directory and its environment holds no credentials"
        )
    try:
        builder = pypa_build.ProjectBuilder(
            source, python_executable=str(env.python), runner=_runner(log, work, confine)
        )
    except pypa_build.BuildException as exc:
        msg = f"Building {subject.what} failed ({exc}).\n{subject.if_failed}"
        raise subject.error(msg) from None
    # The backend's warnings come back as Python warnings (pyproject_hooks): they are the
    # build's output, kept for a message like the rest, never printed.
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return _run_build(builder, env, requires, subject, work, log)


def _run_build(
    builder: Any, env: _BuildEnvironment, requires: Sequence[str], subject: Subject,
    work: Path, log: list[str],
) -> Path:  # fmt: skip
    """Ask the backend what more it needs, install that (locked and hash-checked, once),
    and build the wheel in `work/dist`."""
    import build as pypa_build

    try:
        unmet = env.unmet(sorted(builder.get_requires_for_build("wheel")))
        if unmet:
            env.report(f"The build backend of {subject.name} also asks for {', '.join(unmet)}")
            env.install([*requires, *unmet])
            unmet = env.unmet(sorted(builder.get_requires_for_build("wheel")))
        if unmet:
            msg = (
                f"The build of {subject.what} keeps asking for more build requirements "
                f"({', '.join(unmet)}), which lambundle will not install unchecked: "
                f"{subject.if_more}"
            )
            raise subject.error(msg)
        (work / "dist").mkdir()
        return Path(builder.build("wheel", work / "dist"))
    except (pypa_build.BuildException, pypa_build.BuildBackendException) as exc:
        tail = "\n".join("\n".join(log).strip().splitlines()[-15:])
        msg = f"Building {subject.what} failed ({exc}):\n{tail}\n{subject.if_failed}"
        raise subject.error(msg) from None


def _runner(log: list[str], work: Path, confine: list[str] | None) -> Callable[..., None]:
    """A pyproject_hooks runner for a build backend (an sdist's `setup.py`: code from the
    index; or the function's own package's). Its output is kept for the message, not
    printed. Nothing in it may reach an index (PIP_NO_INDEX) or the user's site-packages;
    HOME, TMPDIR and the XDG directories are inside the build's temporary directory `work`,
    so what a backend writes there by habit (caches, configuration, temporary files) goes
    away with it. Its environment holds only what a build needs (`_build_environ`): no
    credentials from ours. With `confine` (`_confinement`), it runs under bubblewrap:
    everything but `work` and the hook's own exchange directory read-only, the user's home
    directory empty (`_hidden_homes`), a private /tmp, and no network."""
    home, tmp = work / "home", work / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)

    def run(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = _build_environ()
        env.update(extra_environ or {})
        env.update(
            PIP_NO_INDEX="1", PYTHONNOUSERSITE="1", SOURCE_DATE_EPOCH=_SOURCE_DATE_EPOCH,
            HOME=str(home), TMPDIR=str(tmp), XDG_CACHE_HOME=str(home / ".cache"),
            XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
        )  # fmt: skip
        argv = list(cmd)
        if confine is not None:
            # pyproject_hooks passes the directory it exchanges the hook's input and
            # output through as an argument, the only other place written; its script
            # may be a temporary file too (under /tmp, which is private in there). Each is
            # bound at its real path: bubblewrap cannot make a mount point through a
            # symbolic link (a venv's may be one), and the link itself is visible in there.
            binds = [str(work.resolve()), *(_real(a) for a in cmd[1:] if Path(a).is_dir())]
            files = [_real(a) for a in cmd[1:] if Path(a).is_file()]
            argv = [
                *confine, *_hidden_homes(), *(x for b in binds for x in ("--bind", b, b)),
                *(x for f in files for x in ("--ro-bind", f, f)),
                "--chdir", cwd or str(work), "--", *argv,
            ]  # fmt: skip
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        log.append(proc.stdout + proc.stderr)
        proc.check_returncode()

    return run


def _real(path: str) -> str:
    return str(Path(path).resolve())


# What a build backend sees of our environment: a locale and PATH, nothing else (no
# AWS_*, tokens or index credentials: building a wheel needs none of them).
_ENVIRON_KEPT = ("PATH", "LANG", "LANGUAGE", "TZ")


def _build_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in _ENVIRON_KEPT or k.startswith("LC_")}


def _hidden_homes() -> list[str]:
    """bubblewrap's options that put an empty directory over the user's home directory
    (HOME's and the password database's: credentials, keys, tokens live there), then give
    back the Python the build runs on (`_python_back`), which may live there (pyenv's)."""
    homes = {os.environ.get("HOME", "")}
    try:
        import pwd

        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):
        pass
    hidden = sorted({Path(h).resolve() for h in homes if h and Path(h).is_dir()} - {Path("/")})
    return [*(x for h in hidden for x in ("--tmpfs", str(h))), *_python_back()]


def _python_back() -> list[str]:
    """bubblewrap's options that give back, read-only, the installation of the Python the
    build environment is made from, wherever it is: under the home directory (pyenv's) or
    under /tmp (a CI checkout's venv, a uv Python there), both hidden in there."""
    prefix = str(Path(sys.base_prefix).resolve())
    return ["--ro-bind", prefix, prefix]


def _base_python() -> str:
    """The interpreter behind this one (a venv's python is a link to it, or a copy)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


@functools.cache
def _confinement() -> list[str] | None:
    """bubblewrap's options that confine a build backend (`_runner`), or None when bwrap
    is not installed or cannot make its namespaces here (then the build runs unconfined,
    and says so)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    options = [
        bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        *user, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
        "--new-session",
    ]  # fmt: skip
    try:
        probe = subprocess.run(
            [*options, *_python_back(), "--", _base_python(), "-c", "pass"],
            capture_output=True, check=False,
        )  # fmt: skip
    except OSError:
        return None
    return options if probe.returncode == 0 else None


class _BuildEnvironment:
    """A venv of this machine's Python holding hash-checked build requirements only."""

    def __init__(
        self, path: Path, subject: Subject, cache: Cache, report: Report, resolver: str
    ) -> None:
        self.path, self.subject, self.cache, self.report = path, subject, cache, report
        self.resolver = resolvers.find_resolver(resolver)
        self.pins: tuple[Pin, ...] = ()
        # Build requirements run here, so they are locked for this machine, not Lambda.
        self.host = Target(resolvers.host_python(), host_arch())
        proc = subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            msg = f"Cannot make a build environment at {path}:\n{output_tail(proc, 5)}"
            raise subject.error(msg)

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def lock_file(self) -> Path:
        """The hash-pinned lock of what the environment holds."""
        return self.path / "build-requirements.txt"

    def install(self, requires: Sequence[str]) -> None:
        """Lock `requires` with hashes for this machine and install exactly that."""
        who = self.subject.name
        name = f"the build of {who}"
        self.report(f"Locking the build requirements of {who}: {', '.join(requires) or 'none'}")
        key = resolvers.lock_key(tuple(requires), self.host, self.resolver.key)
        entry = self.cache.dir("build-locks", key)
        if entry is None:
            body = resolvers.resolve(name, tuple(requires), self.host, self.resolver)

            def put(tmp: Path) -> None:
                (tmp / "requirements.txt").write_text(body, encoding="utf-8")

            entry = self.cache.put_dir("build-locks", key, put)
        lock = Lock.from_text((entry / "requirements.txt").read_text("utf-8"), name)
        self.pins = lock.pins
        self.lock_file.write_text(lock.text, encoding="utf-8")
        command = [
            sys.executable, "-m", "pip", "--python", str(self.python), "install", "--quiet",
            "--no-deps", "--require-hashes", "--only-binary", ":all:", "--no-input",
            "--disable-pip-version-check", "-r", str(self.lock_file),
        ]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            msg = (
                f"Installing the build requirements of {who} (hash-checked) "
                f"failed:\n{output_tail(proc, 10)}"
            )
            raise self.subject.error(msg)

    def unmet(self, requirements: Sequence[str]) -> list[str]:
        return unmet_requirements(requirements, self.pins, self.subject.error)


def unmet_requirements(
    requirements: Sequence[str], pins: Sequence[Pin], error: type[BundlerError] = BundlerError
) -> list[str]:
    """The requirements `pins` do not satisfy (markers decided for this machine, where the
    build runs)."""
    versions = {canonicalize_name(p.name): p.version for p in pins}
    out = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            msg = f"The build backend asks for {text!r}, which is not a requirement ({exc})."
            raise error(msg) from None
        if req.marker is not None and not req.marker.evaluate():
            continue
        have = versions.get(canonicalize_name(req.name))
        if have is None or not req.specifier.contains(have, prereleases=True):
            out.append(text)
    return out
