"""Bubblewrap (`bwrap`), which isolates the function as Lambda does: whether it works here,
the argv with Lambda's mounts (read-only /opt, /var/task, /var/lang, /var/runtime and root,
our own /etc, a private /tmp of the function's ephemeral storage size), the unprivileged
user it runs as, Lambda's limits on open files and processes, and what it says when it
cannot exec the entry point.

The function runs as Lambda's user (bundler.sandbox.identity), never as root of this
machine. As root, bwrap mounts with the host's privileges and `setpriv` then becomes uid
993 for real (no user namespace, so the function is an ordinary unprivileged process to
the host: a root-owned file or socket is as closed to it as on Lambda). As any other
user, bwrap maps uid 993 inside a user namespace onto the caller's own uid.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bundler.core.errors import SandboxError
from bundler.sandbox.identity import HOST_ETC_BINDS, SANDBOX_GID, SANDBOX_UID
from bundler.sandbox.layout import LANG_DIR, OPT, RUNTIME_DIR, TASK_ROOT, Layout

_bwrap_checked: dict[str, str | None] = {}
_BWRAP_EXEC_FAILED = re.compile(r"bwrap: execvp (\S+): ([^\n]+)\n?\Z")
# util-linux's setpriv and prlimit, which exec the entry point when they are in front of it.
_UTIL_EXEC_FAILED = re.compile(r"(?:setpriv|prlimit): failed to execute (\S+): ([^\n]+)\n?\Z")
# The namespaces bwrap makes in either mode; the network stays the host's (Lambda's
# functions have the network), the user namespace is added when not root.
_NAMESPACES = ("--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try")


def _setpriv() -> str | None:
    """setpriv's path when running as root (it drops to Lambda's user), else None."""
    if os.geteuid() != 0:
        return None
    return shutil.which("setpriv") or next(
        (p for p in ("/usr/bin/setpriv", "/bin/setpriv") if Path(p).is_file()), None
    )


def identity_argv(setpriv: str | None) -> tuple[list[str], list[str]]:
    """(bwrap's options, the command prefix) that make the function Lambda's user."""
    if setpriv is None:
        return ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)], []
    drop = [
        setpriv, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]  # fmt: skip
    return [], drop


# Lambda's quotas for one execution environment (gettingstarted-limits.html, "Function
# configuration, deployment, and execution"): file descriptors 1,024, execution
# processes/threads 1,024.
FILE_DESCRIPTORS = 1024
PROCESSES_THREADS = 1024


def limits_argv() -> list[str]:
    """The command prefix that gives the function Lambda's limits on open files and on
    processes and threads (util-linux's `prlimit`, soft and hard, so the function cannot
    raise them), or [] when prlimit is not installed (`limits_problem` says so).

    RLIMIT_NPROC counts a user's processes and threads: in a user namespace (not root),
    only the sandbox's; as root with `setpriv`, every process of uid 993 on this machine,
    so sandboxes running at once share the 1,024 there."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    return [
        prlimit, f"--nofile={FILE_DESCRIPTORS}:{FILE_DESCRIPTORS}",
        f"--nproc={PROCESSES_THREADS}:{PROCESSES_THREADS}", "--",
    ]  # fmt: skip


def limits_problem() -> str | None:
    """Why the sandbox cannot give the function Lambda's limits on open files and
    processes, or None."""
    if not limits_argv():
        return (
            "prlimit (util-linux) is not installed: the function's open files and "
            "processes are not limited to Lambda's 1,024"
        )
    return None


def sizes_tmpfs() -> bool:
    """Whether this bwrap can size a tmpfs (`--size`, bubblewrap 0.8 and later)."""
    if "size" not in _bwrap_checked:
        exe = shutil.which("bwrap")
        help_text = ""
        if exe is not None:
            proc = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
            help_text = proc.stdout + proc.stderr
        _bwrap_checked["size"] = "yes" if "--size" in help_text else None
    return _bwrap_checked["size"] is not None


def bwrap_problem() -> str | None:
    """None if bubblewrap can create a sandbox here, else why not (checked once)."""
    if "result" not in _bwrap_checked:
        exe = shutil.which("bwrap")
        if exe is None:
            problem: str | None = "bubblewrap (bwrap) is not installed (apt install bubblewrap)"
        else:
            options, prefix = identity_argv(_setpriv())
            proc = subprocess.run(
                [exe, *_NAMESPACES, *options, "--ro-bind", "/", "/", "--", *prefix, "true"],
                capture_output=True, text=True, check=False,
            )
            problem = None if proc.returncode == 0 else (
                f"bwrap cannot create namespaces or run the function as uid {SANDBOX_UID} "
                f"here ({proc.stderr.strip()})"
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


def command(
    layout: Layout, variables: Mapping[str, str], entry: str, *, tmp_bytes: int | None = None
) -> list[str]:
    """The argv that starts `entry` under bwrap with Lambda's mounts and `variables` as
    its whole environment, as Lambda's user; /tmp holds `tmp_bytes` at most (when this
    bwrap can size it)."""
    work = layout.work
    bwrap = shutil.which("bwrap") or "bwrap"
    options, prefix = identity_argv(_setpriv())
    argv = [bwrap, *_NAMESPACES, *options, "--die-with-parent", "--clearenv"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/", name)
        if host.is_symlink():
            argv += ["--symlink", str(host.readlink()), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
    argv += ["--ro-bind", "/usr", "/usr", "--ro-bind", str(work / "etc"), "/etc"]
    for name in HOST_ETC_BINDS:
        if (work / "etc" / name).exists():
            argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    # Lambda's /tmp: writable by the function, as big as its ephemeral storage; a write
    # past it fails with ENOSPC (configuration-ephemeral-storage.html).
    argv += ["--perms", "1777"]
    if tmp_bytes is not None and sizes_tmpfs():
        argv += ["--size", str(tmp_bytes)]
    argv += ["--tmpfs", "/tmp"]
    # Directories bwrap makes for mount points are its own (0700); the function's user
    # must be able to walk through /var.
    argv += ["--perms", "0755", "--dir", "/var"]
    argv += [
        "--ro-bind", str(work / "opt"), OPT,
        "--ro-bind", str(work / "task"), TASK_ROOT,
    ]
    if layout.interpreter is not None:
        argv += ["--ro-bind", str(layout.interpreter.prefix), LANG_DIR]
    if layout.sdk_dir is not None and layout.sdk_mount is not None:
        argv += ["--ro-bind", str(layout.sdk_dir), layout.sdk_mount]
    if layout.runtime_dir is not None:
        argv += ["--ro-bind", str(layout.runtime_dir), RUNTIME_DIR]
    # Everything outside /tmp is read-only, the root included (writes there: EROFS).
    argv += ["--remount-ro", "/", "--chdir", TASK_ROOT]
    for key, value in variables.items():
        argv += ["--setenv", key, value]
    return [*argv, "--", *prefix, *limits_argv(), entry]


def exec_failure(log_tail: str) -> str | None:
    """`fork/exec PATH: reason` if bwrap's (or setpriv's, or prlimit's) last words (the
    end of the log) were that it could not exec the entry point."""
    found = _BWRAP_EXEC_FAILED.search(log_tail) or _UTIL_EXEC_FAILED.search(log_tail)
    if found is None:
        return None
    return f"fork/exec {found.group(1)}: {found.group(2).strip().lower()}"
