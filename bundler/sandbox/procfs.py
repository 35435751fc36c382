"""What /proc tells about the function's processes: the tree under its root (bwrap itself
left out), their resident and peak memory, which of them holds a connection, and the exit
status of one that is not our child.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections.abc import Iterable
from pathlib import Path

from bundler.sandbox.rapi_protocol import Peer


def function_processes(root_pid: int) -> list[int] | None:
    """`root_pid` and its descendants that are not bwrap itself; None if it is gone."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        pid = int(entry.name)
        names[pid] = comm
        children.setdefault(ppid, []).append(pid)
    if root_pid not in names:
        return None
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        if names.get(pid) != "bwrap":
            found.append(pid)
    return found


def resident_bytes(pids: Iterable[int]) -> int:
    """Sum of the resident memory (VmRSS) of `pids` now, in bytes; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


def tree_peak_rss(root_pid: int) -> int | None:
    """Sum of VmHWM over `root_pid`'s descendants that are not bwrap itself, in bytes."""
    pids = function_processes(root_pid)
    if pids is None:
        return None
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def socket_holder(peer: Peer, server: Peer, root_pid: int) -> int | None:
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
    pids = function_processes(root_pid)
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
