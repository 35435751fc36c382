"""The function's process tree: started from one spawner thread, watched until it exits,
killed by the memory guard when it holds more than the memory size (Lambda's OOM killer),
and its exit put in Lambda's words.

Memory is the tree's proportional set size (procfs.proportional_bytes): shared pages
count once, as Lambda's cgroup charges them, so 200 forked idle children hold what they
hold together, not 200 times the parent.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from bundler.sandbox.procfs import function_processes, largest_peak, proportional_bytes
from bundler.sandbox.results import MIB

# What Lambda reports when its OOM killer ends a function (SIGKILL, as Go's os/exec names it).
OOM_KILLED = "Runtime exited with error: signal: killed"
# While the function runs, its memory is read this often, and the process tree killed
# once it is over the memory size: a runaway allocation is stopped within about this long
# (Lambda's cgroup stops it at once). A spike of one process shorter than this is still
# caught by its peak (VmHWM) read when the invoke ends. The processes are found again
# every _TREE_EVERY reads, since finding them scans all of /proc.
_MEMORY_POLL_S = 0.05
_TREE_EVERY = 10
# Linux signal numbers Go's os/exec names in "Runtime exited with error: signal: ...".
_SIGNAL_NAMES: dict[int, str] = {
    int(signal.SIGKILL): "killed",
    int(signal.SIGTERM): "terminated",
    int(signal.SIGSEGV): "segmentation fault",
    int(signal.SIGABRT): "aborted",
    int(signal.SIGBUS): "bus error",
    int(signal.SIGINT): "interrupt",
}


class Spawner:
    """Starts the function's processes, all from one thread that lives as long as the
    sandbox.

    bwrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the *thread* that spawned it
    ends: spawn from one thread that lives as long as the sandbox, not from whichever
    thread invokes (serve invokes from short-lived request threads).
    """

    def __init__(self) -> None:
        self._thread = concurrent.futures.ThreadPoolExecutor(1, "lambundle-spawn")

    def spawn(
        self, argv: list[str], *, env: Mapping[str, str], cwd: Path, log: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        """Start `argv` with its output into `log`; raises OSError when it cannot."""
        return self._thread.submit(
            subprocess.Popen,
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # one process group to kill on timeout
        ).result()

    def shutdown(self) -> None:
        self._thread.shutdown()


class FunctionProcess:
    """One execution environment's process tree, from its root (bwrap, or the entry point
    when unsandboxed), which leads its own process group."""

    def __init__(self, popen: subprocess.Popen[bytes], *, isolated: bool = True) -> None:
        self._popen = popen
        self._isolated = isolated
        # The most the memory guard saw the tree hold, and what it held when killed.
        self._peak = 0
        self._killed_at: int | None = None

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    def watch(self, memory_mb: int, on_exit: Callable[[int], None]) -> None:
        """Start watching: `on_exit(status)` when the root ends (from a watcher thread);
        the tree is killed once it holds more than `memory_mb`."""
        ended = threading.Event()
        threading.Thread(
            target=self._watch, args=(ended, on_exit), name="lambundle-watch", daemon=True
        ).start()
        threading.Thread(
            target=self._guard_memory, args=(memory_mb * MIB, ended), name="lambundle-memory",
            daemon=True,
        ).start()  # fmt: skip

    def _watch(self, ended: threading.Event, on_exit: Callable[[int], None]) -> None:
        status = self._popen.wait()
        ended.set()
        on_exit(status)

    def _guard_memory(self, limit: int, ended: threading.Event) -> None:
        """Lambda's OOM killer: kill the environment once its processes hold more resident
        memory than the memory size. The exit is then reported as every other one is, which
        is how Lambda reports it ("Runtime exited with error: signal: killed")."""
        pids: list[int] = []
        polls = 0
        while not ended.wait(_MEMORY_POLL_S):
            if polls % _TREE_EVERY == 0:
                found = function_processes(self.pid, isolated=self._isolated)
                if found is None:
                    return
                pids = found
            polls += 1
            used = proportional_bytes(pids)
            self._peak = max(self._peak, used)
            if used > limit:
                self._killed_at = used
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                return

    def wait(self, timeout: float | None = None) -> int:
        """The root's exit status; raises subprocess.TimeoutExpired after `timeout`."""
        return self._popen.wait(timeout=timeout)

    def kill(self) -> None:
        """Kill the whole tree (its process group) and reap the root."""
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self._popen.wait()

    def peak_rss(self) -> int | None:
        """The most memory the function's processes held together, in bytes: the largest of
        the memory guard's samples, what they hold now, and the peak of the largest one
        (None when the tree is gone and was never sampled)."""
        pids = function_processes(self.pid, isolated=self._isolated)
        if pids is None and not self._peak and self._killed_at is None:
            return None
        now = 0 if pids is None else max(proportional_bytes(pids), largest_peak(pids))
        # The killed processes' own figures are gone; the guard's are kept.
        return max(self._peak, now, self._killed_at or 0)


def exit_reason(status: int, *, via_bwrap: bool) -> str:
    """Lambda's words for a runtime that ended with `status` (Popen's returncode)."""
    if status == 0:
        return "Runtime exited without providing a reason"
    signum = -status if status < 0 else 0
    # bwrap reports a child killed by signal N as exit status 128 + N.
    if via_bwrap and status > 128 and (status - 128) in _SIGNAL_NAMES:
        signum = status - 128
    if signum:
        name = _SIGNAL_NAMES.get(signum, f"signal {signum}")
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {status}"
