"""A bundle laid out as Lambda lays it out, in a work directory: the layers extracted in
order into `opt/` (mounted at /opt), the function into `task/` (/var/task), the function's
own /etc (`etc/`), the local interpreter found for /var/lang, and for a managed runtime
AWS's client for /var/runtime and the AWS SDK where the runtime keeps it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from bundler.bundle.archive import extract_zip
from bundler.bundle.manifest import Manifest
from bundler.bundle.runtimes import managed_runtime
from bundler.core import interpreters, interrupts
from bundler.core.errors import SandboxError
from bundler.core.target import Target
from bundler.sandbox import managed_runtime as managed
from bundler.sandbox.identity import write_etc

OPT = "/opt"
TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
LANG_DIR = "/var/lang"

# Lambda's code storage is local and fast; a host disk in a VM can take a millisecond per
# directory it creates, which would make the layout (paid on every cold start here) measure
# the host rather than the bundle. Memory-backed /dev/shm is used when it has ample room.
_SHM = Path("/dev/shm")
_SHM_HEADROOM = 256 * 1024 * 1024


def layout_root(needed_bytes: int) -> str | None:
    """Where sandboxes lay out bundles: /dev/shm when it has room, else the temp dir (None)."""
    try:
        usage = shutil.disk_usage(_SHM)
    except OSError:
        return None
    if not os.access(_SHM, os.W_OK) or usage.free < 2 * needed_bytes + _SHM_HEADROOM:
        return None
    return str(_SHM)


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a laid-out bundle is, and how the function sees it.

    `isolated`: under bwrap the Lambda paths are mounts; without it they are the work
    directory's own (and the local interpreter's), which `path` translates to.
    `runtime_dir` is set for a managed runtime: the awslambdaric install for /var/runtime;
    `sdk_dir` the AWS SDK's, mounted at `sdk_mount` (None where the SDK is in
    `runtime_dir`, python3.10).
    """

    work: Path
    owns_work: bool
    isolated: bool
    interpreter: interpreters.Interpreter | None
    runtime_dir: Path | None
    extract_s: float
    sdk_dir: Path | None = None
    sdk_mount: str | None = None
    # The flock held on the work directory while it lives (`_claim`), or None.
    owner: int | None = None

    def path(self, lambda_path: str) -> str:
        """Where a Lambda path is for the function: itself under bwrap, a temp dir without."""
        if self.isolated:
            return lambda_path
        work = self.work
        interp = self.interpreter
        for prefix, real in (
            (TASK_ROOT, str(work / "task")),
            (RUNTIME_DIR, str(work / "runtime")),
            (LANG_DIR, str(interp.prefix) if interp else LANG_DIR),
            (OPT, str(work / "opt")),
        ):
            if lambda_path == prefix or lambda_path.startswith(prefix + "/"):
                return real + lambda_path[len(prefix):]
        return lambda_path

    def entry_point(self) -> str | None:
        """The executable Lambda starts, as the function sees it; None if there is none."""
        if self.runtime_dir is not None:  # a managed runtime: AWS's start script
            return self.path(RUNTIME_DIR + "/bootstrap")
        for lambda_path, real in (
            (TASK_ROOT + "/bootstrap", self.work / "task/bootstrap"),
            (OPT + "/bootstrap", self.work / "opt/bootstrap"),
        ):
            if real.is_file() and os.access(real, os.X_OK):
                return self.path(lambda_path)
        return None

    def remove(self) -> None:
        """Remove the work directory if the layout made it."""
        if self.owns_work:
            shutil.rmtree(self.work, ignore_errors=True)
        if self.owner is not None:
            os.close(self.owner)
            object.__setattr__(self, "owner", None)  # never closed twice: fds are reused


# Each layout this process makes holds an flock on this file in its work directory; the
# kernel drops it when the process ends, however it ends (SIGKILL, the OOM killer), which
# is how a later lambundle tells a dead sandbox's layout, left in memory-backed /dev/shm,
# from a live one (`sweep_dead_layouts`).
_OWNER = ".lambundle-owner"
_PREFIX = "lambundle-sandbox-"
_swept = False


def _claim(work: Path) -> int:
    """Lock `work` as this process's: the owner file is locked under another name and then
    renamed, so that no sweeper ever sees it unlocked."""
    pending = work / f"{_OWNER}.new"
    fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        pending.rename(work / _OWNER)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sweep_dead_layouts(roots: tuple[str, ...] | None = None) -> list[Path]:
    """Remove the layouts of sandboxes whose lambundle was killed outright: those whose
    owner file nobody holds. Only this user's directories count (/dev/shm and /tmp are
    everyone's: what another user put there, a link included, is left alone), and a
    layout without an owner file (being made, or an older lambundle's) is left alone."""
    removed = []
    for root in roots or (str(_SHM), tempfile.gettempdir()):
        try:
            candidates = [p for p in Path(root).iterdir() if p.name.startswith(_PREFIX)]
        except OSError:
            continue
        for work in candidates:
            try:
                if not _mine(work):
                    continue
                fd = os.open(work / _OWNER, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # its sandbox is alive
                continue
            shutil.rmtree(work, ignore_errors=True)
            os.close(fd)
            removed.append(work)
    return removed


def _mine(path: Path) -> bool:
    """A directory of this user's, not a link to one."""
    st = path.lstat()
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()


def find_interpreter(
    target: Target, given: Path | None, warnings: list[str]
) -> interpreters.Interpreter | None:
    """The local Python to mount at /var/lang: `given`, or one of the target's version."""
    interpreter = interpreters.find(target.python, given)
    if target.managed:
        if interpreter is None:
            msg = (
                f"No Python {target.python} interpreter found for the {target.runtime} "
                f"runtime (looked on PATH, in pyenv and uv). Install one with "
                f"`pyenv install {target.python}` or `uv python install {target.python}`, "
                "or pass --interpreter PATH."
            )
            raise SandboxError(msg)
        return interpreter
    # OS-only runtimes have no /var/lang on AWS; a bundle without an embedded Python
    # still runs here, on the local one, which AWS would not have.
    if interpreter is None:
        warnings.append(
            f"No Python {target.python} found to mount at /var/lang; the bootstrap "
            "must bring its own (lambundle bundle --embed-python)."
        )
    return interpreter


def lay_out(
    bundle_dir: Path,
    manifest: Manifest,
    *,
    work_dir: Path | None,
    isolated: bool,
    interpreter: interpreters.Interpreter | None,
    warnings: list[str],
) -> Layout:
    """Lay the bundle out in `work_dir`, or in a new temporary directory that the layout
    owns (removed again if laying out fails)."""
    global _swept
    owner = None
    if work_dir is None:
        if not _swept:  # once a process: what is left behind is left by dead ones
            _swept = True
            sweep_dead_layouts()
        with interrupts.deferred():  # made and claimed together
            work = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=layout_root(_unzipped(manifest))))
            owner = _claim(work)
    else:
        work = work_dir
    try:
        extract_s = _extract(bundle_dir, manifest, work)
        target = manifest.target
        if (
            not target.managed
            and interpreter is not None
            and not (work / "opt/lambundle/python/bin/python3").exists()
        ):
            warnings.append(
                f"{target.runtime} has no Python on AWS: the sandbox mounts the local "
                f"Python {interpreter.version} at /var/lang, so this bundle runs here "
                "but needs --embed-python (or a managed runtime) to run on AWS."
            )
        runtime_dir = sdk_dir = sdk_mount = None
        if target.managed:
            assert interpreter is not None
            # Installed from the package index on first use, then cached.
            dirs = managed.install(target, compile_with=interpreter.path)
            runtime_dir = dirs.runtime
            if dirs.sdk != dirs.runtime:
                sdk_dir, sdk_mount = dirs.sdk, _sdk_mount(target, interpreter, isolated, warnings)
            if not isolated:
                _write_local_runtime(work, interpreter, runtime_dir, target, sdk_dir)
        if isolated:
            write_etc(work / "etc")
    except BaseException:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        if owner is not None:
            os.close(owner)
        raise
    return Layout(
        work, work_dir is None, isolated, interpreter, runtime_dir, extract_s, sdk_dir,
        sdk_mount, owner,
    )  # fmt: skip


def _sdk_mount(
    target: Target, interpreter: interpreters.Interpreter, isolated: bool, warnings: list[str]
) -> str | None:
    """Where the SDK is mounted: the runtime's SDK dir, /var/lang/lib/python3.X/site-packages
    (python3.11+), over the interpreter's own; None when the interpreter has no such dir
    to mount over (bwrap cannot make a mount point in a read-only mount)."""
    mount = managed_runtime(target.python).sdk_dir
    if not isolated:
        return mount
    if not (interpreter.prefix / mount[len(LANG_DIR) + 1 :]).is_dir():
        warnings.append(
            f"The Python at {interpreter.prefix} has no {mount[len(LANG_DIR) + 1:]}, where "
            f"python{target.python} keeps the AWS SDK: boto3 is not provided in this "
            "sandbox. Use a pyenv or uv Python (--interpreter)."
        )
        return None
    return mount


def _extract(bundle_dir: Path, manifest: Manifest, work: Path) -> float:
    """Extract the layers and the function; how long it took."""
    start = time.monotonic()
    opt, task = work / "opt", work / "task"
    for path in (opt, task, work / "logs"):
        path.mkdir(parents=True, exist_ok=True)
    # Lambda merges layers into /opt in the order they are listed; later files win.
    for layer in manifest.layers:
        extract_zip(bundle_dir / layer.file, opt, layer.unzipped_size)
    extract_zip(bundle_dir / manifest.function.file, task, manifest.function.unzipped_size)
    return time.monotonic() - start


def _write_local_runtime(
    work: Path,
    interpreter: interpreters.Interpreter,
    runtime_dir: Path,
    target: Target,
    sdk_dir: Path | None,
) -> None:
    """Unsandboxed, /var/runtime's start files point at the real paths."""
    managed.write_start_files(
        work / "runtime",
        python=str(interpreter.path),
        opt_root=str(work / "opt"),
        packages=str(runtime_dir),
        minor=target.python,
        sdk=None if sdk_dir is None else str(sdk_dir),
    )


def _unzipped(manifest: Manifest) -> int:
    return sum(a.unzipped_size for a in (manifest.function, *manifest.layers))
