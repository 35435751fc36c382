"""Find a CPython interpreter of a given minor version, the way a user's machine has them.

Order: an explicit path, then `pythonX.Y` on PATH, then pyenv's versions, then uv's
managed Pythons. The host's `python3` counts when its version matches.

Every build and every sandbox asks, so asking is kept cheap: pyenv's shims on PATH are
not run (each is a shell script that takes about 100 ms to answer); pyenv's versions of
that Python take the shims' place in PATH's order, so a pyenv Python ahead of the
system's on PATH is still the one found. An interpreter's answer is remembered for as
long as its file is unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
from pathlib import Path

from bundler.core.errors import UsageError

_PROBE = "import sys, sysconfig; print('%d.%d.%d' % sys.version_info[:3]); print(sys.base_prefix)"


@dataclasses.dataclass(frozen=True)
class Interpreter:
    path: Path
    version: str  # full, e.g. "3.12.1"
    prefix: Path  # sys.base_prefix: the installation the sandbox mounts at /var/lang

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def probe(path: Path) -> Interpreter | None:
    """Ask `path` for its version and prefix; None if it is not a working CPython."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _probe(path, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _probe(path: Path, ino: int, size: int, mtime_ns: int) -> Interpreter | None:
    try:
        out = subprocess.run(
            [str(path), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    return Interpreter(path=path, version=out[0].strip(), prefix=Path(out[1].strip()))


def _on_path(name: str, shims: Path, pyenv_versions: list[Path]) -> list[Path]:
    """Where the shell would find `name`: the first PATH entry that has it. pyenv's shims
    directory is not asked (a shim is a slow shell script); where it comes first, the
    shim would start one of pyenv's versions, so those stand in its place."""
    for entry in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not entry:
            continue
        if Path(entry) == shims:
            if pyenv_versions:
                return pyenv_versions
            continue
        exe = shutil.which(name, path=entry)
        if exe:
            return [Path(exe)]
    return []


def _candidates(minor: str) -> list[Path]:
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pyenv = _installed(pyenv_root / "versions", f"{minor}.*", f"bin/python{minor}")
    found: list[Path] = []
    for name in (f"python{minor}", "python3"):
        found += _on_path(name, pyenv_root / "shims", pyenv)
    found += pyenv
    uv_dir = Path(os.environ.get("UV_PYTHON_INSTALL_DIR", Path.home() / ".local/share/uv/python"))
    return found + _installed(uv_dir, f"cpython-{minor}.*", f"bin/python{minor}")


def _installed(versions: Path, pattern: str, exe: str) -> list[Path]:
    """`exe` in each directory of `versions` matching `pattern`, newest name first; none
    where `versions` cannot be read (another user's PYENV_ROOT left in the environment)."""
    try:
        return [d / exe for d in sorted(versions.glob(pattern), reverse=True)]
    except OSError:
        return []


def require(path: Path, minor: str, option: str, what: str = "") -> Interpreter:
    """The interpreter at `path`, which the user named with `option`; it must be `minor`.

    `what` names what else the option accepts, for the message (e.g. "or its prefix").
    """
    interp = probe(path)
    if interp is None:
        msg = f"{option} {path} is not a working Python; pass a CPython {minor}{what}."
        raise UsageError(msg)
    if interp.minor != minor:
        msg = (
            f"{option} {path} is Python {interp.version}, but the target is "
            f"{minor}; pass a CPython {minor} or change --python."
        )
        raise UsageError(msg)
    return interp


def find(minor: str, explicit: Path | None = None) -> Interpreter | None:
    """An interpreter for `minor` ("3.12"), or None; an explicit path must match."""
    if explicit is not None:
        return require(explicit, minor, "--interpreter")
    for path in _candidates(minor):
        if path.is_file():
            interp = probe(path)
            if interp is not None and interp.minor == minor:
                return interp
    return None
