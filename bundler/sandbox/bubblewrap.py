"""Bubblewrap (`bwrap`), which isolates the function as Lambda does: whether it works here,
the argv with Lambda's mounts (read-only /opt, /var/task, /var/lang, /var/runtime, a
private /tmp), and what bwrap says when it cannot exec the entry point.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bundler.core.errors import SandboxError
from bundler.sandbox.layout import LANG_DIR, OPT, RUNTIME_DIR, TASK_ROOT, Layout

_bwrap_checked: dict[str, str | None] = {}
_BWRAP_EXEC_FAILED = re.compile(r"bwrap: execvp (\S+): ([^\n]+)\n?\Z")


def bwrap_problem() -> str | None:
    """None if bubblewrap can create a sandbox here, else why not (checked once)."""
    if "result" not in _bwrap_checked:
        exe = shutil.which("bwrap")
        if exe is None:
            problem: str | None = "bubblewrap (bwrap) is not installed (apt install bubblewrap)"
        else:
            proc = subprocess.run(
                [exe, "--unshare-all", "--share-net", "--ro-bind", "/", "/", "true"],
                capture_output=True, text=True, check=False,
            )
            problem = None if proc.returncode == 0 else (
                f"bwrap cannot create namespaces here ({proc.stderr.strip()})"
            )
        _bwrap_checked["result"] = problem
    return _bwrap_checked["result"]


def choose_isolation(isolate: bool | None, warnings: list[str]) -> bool:
    """Whether the function runs under bwrap: `isolate` True requires it, False turns it
    off, None uses it when it works here. Running unsandboxed is said in `warnings`."""
    if isolate is False:
        warnings.append(
            "Running unsandboxed (isolation turned off): the function sees this "
            "machine's files, and /opt, /var/task are temporary directories."
        )
        return False
    problem = bwrap_problem()
    if problem is None:
        return True
    if isolate:
        msg = f"Cannot isolate the function: {problem}. Install bubblewrap or run unsandboxed."
        raise SandboxError(msg)
    warnings.append(
        f"Running unsandboxed: {problem}. The function sees this machine's files, "
        "and /opt, /var/task are temporary directories."
    )
    return False


def command(layout: Layout, variables: Mapping[str, str], entry: str) -> list[str]:
    """The argv that starts `entry` under bwrap with Lambda's mounts and `variables` as
    its whole environment."""
    work = layout.work
    bwrap = shutil.which("bwrap") or "bwrap"
    argv = [bwrap, "--unshare-all", "--share-net", "--die-with-parent", "--clearenv"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/", name)
        if host.is_symlink():
            argv += ["--symlink", str(host.readlink()), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
    argv += [
        "--ro-bind", "/usr", "/usr",
        "--ro-bind", "/etc", "/etc",
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
        "--ro-bind", str(work / "opt"), OPT,
        "--ro-bind", str(work / "task"), TASK_ROOT,
    ]
    if layout.interpreter is not None:
        argv += ["--ro-bind", str(layout.interpreter.prefix), LANG_DIR]
    if layout.runtime_dir is not None:
        argv += ["--ro-bind", str(layout.runtime_dir), RUNTIME_DIR]
    argv += ["--chdir", TASK_ROOT]
    for key, value in variables.items():
        argv += ["--setenv", key, value]
    return [*argv, "--", entry]


def exec_failure(log_tail: str) -> str | None:
    """`fork/exec PATH: reason` if bwrap's last words (the end of the log) were that it
    could not exec the entry point."""
    found = _BWRAP_EXEC_FAILED.search(log_tail)
    if found is None:
        return None
    return f"fork/exec {found.group(1)}: {found.group(2).strip().lower()}"
