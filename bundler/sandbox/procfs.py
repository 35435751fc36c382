"""What /proc tells about the function's processes: which they are (by their place in the
tree under its root, never by name), the memory they hold between them (proportional set
size) and their peaks, which of them holds a connection, and the exit status of one that
is not our child.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections.abc import Iterable
from pathlib import Path

from bundler.sandbox.rapi_protocol import Peer


def function_processes(root_pid: int, *, isolated: bool = True) -> list[int] | None:
    """The function's processes; None if `root_pid` is gone.

    Under bubblewrap `root_pid` is bwrap, whose one child is the init of the sandbox's pid
    namespace (bwrap again): the function is everything below that init. Both are left
    out by their place in the tree, so a process of the function that names itself
    "bwrap" is still counted. Unsandboxed, `root_pid` is the entry point: it and all its
    descendants.
    """
    children: dict[int, list[int]] = {}
    seen = False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        pid = int(entry.name)
        seen = seen or pid == root_pid
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(pid)
    if not seen:
        return None
    tops = [root_pid]
    if isolated:  # below bwrap and its pid-namespace init
        tops = [grandchild for child in children.get(root_pid, ()) for grandchild in
                children.get(child, ())]  # fmt: skip
    found, stack = [], list(tops)
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def proportional_bytes(pids: Iterable[int]) -> int:
    """The memory `pids` hold between them now, in bytes: the sum of their proportional set
    sizes (Pss of /proc/PID/smaps_rollup), so that pages they share (forked children, the
    same libraries) count once, as a cgroup charges them. Gone processes count 0; where
    smaps_rollup cannot be read (kernels before 4.14), the resident size stands in."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                for line in rollup:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            continue
        except FileNotFoundError:
            if not Path(f"/proc/{pid}").exists():
                continue
        except (OSError, ValueError):
            continue
        total += _status_kb(pid, b"VmRSS:") * 1024
    return total


def largest_peak(pids: Iterable[int]) -> int:
    """The largest peak resident size (VmHWM) of any one of `pids`, in bytes: a floor for
    what they peaked at together, which catches a spike between two samples."""
    return max((_status_kb(pid, b"VmHWM:") * 1024 for pid in pids), default=0)


def _status_kb(pid: int, field: bytes) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def socket_holder(peer: Peer, server: Peer, root_pid: int, *, isolated: bool) -> int | None:
    """Which of the function's processes holds the TCP connection from `peer` to `server`.

    The Runtime API sees only an address; /proc/net/tcp maps it to a socket inode and
    /proc/PID/fd to its holder. None when it cannot be told (the connection is gone,
    /proc is not readable here).
    """
    try:
        # Both ends, since an old connection from the same port may linger in TIME_WAIT.
        ends = (_proc_net_address(peer), _proc_net_address(server))
        with open("/proc/net/tcp") as table:
            inode = next(
                (f[9] for f in (line.split() for line in table) if (f[1], f[2]) == ends), None
            )
    except (OSError, ValueError):
        return None
    pids = function_processes(root_pid, isolated=isolated)
    if not inode or inode == "0" or pids is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                if str(fd.readlink()) == target:
                    return pid
        except OSError:
            continue
    return None


def _proc_net_address(address: Peer) -> str:
    """`host:port` as /proc/net/tcp prints it: the 32-bit word in host byte order, in hex."""
    host, port = address
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def wait_exit(pid: int, timeout: float) -> tuple[bool, int | None]:
    """Wait up to `timeout` for process `pid` (not our child) to end.

    Returns (ended, wait status): the status is read from the zombie while its parent
    has not reaped it yet, else None.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True, None
    except OSError:
        return False, None  # no pidfd here: the invoke is left to its timeout
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not ready:
        return False, None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True, None
    fields = stat[stat.rindex(")") + 2 :].split()
    # Field 52, exit_code (proc(5)), counted from field 3, the state.
    if fields[0] != "Z" or len(fields) < 50:
        return True, None
    return True, os.waitstatus_to_exitcode(int(fields[49]))
