"""An execution environment's log: the file its processes write (stdout and stderr
together), read back in pieces, and split the way Lambda splits it: init output before
START, the invoke's own output after it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from bundler.sandbox.results import Timings


class EnvironmentLog:
    """One environment's log file, opened for its processes to append to.

    What was read (`take`) is remembered, so each invoke gets what came since the last.
    Closing ends the writing side only: the file is still read after the process ends.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[bytes] | None = open(path, "ab")  # noqa: SIM115 - lives as long as the process
        self.offset = 0

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def take(self) -> str:
        """What was logged since the last `take`."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return data.decode("utf-8", "replace")

    def size(self) -> int | None:
        """How far the log is written now; None if it cannot be told."""
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def tail(self, size: int) -> str | None:
        """The last `size` bytes; None if the file cannot be read."""
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return None


def split_cold_start_logs(
    logs: str, start: int, split: int | None, snapshot: int | None, timings: Timings
) -> tuple[str, str]:
    """A cold start's (init, invoke) logs from what it logged (`logs`, read from file
    offset `start`): init output is what came before the event was handed out (`split`,
    a file offset; None: all of it).

    On a SnapStart cold start (`timings.snapshot`) init's output ends at `snapshot` (the
    file offset at /runtime/restore/next), where INIT_REPORT goes.
    """
    raw = logs.encode()
    cut = len(raw) if split is None else max(0, split - start)
    init_logs = raw[:cut].decode("utf-8", "replace")
    invoke_logs = raw[cut:].decode("utf-8", "replace")
    if timings.snapshot is not None and timings.init_s is not None:
        # SnapStart: Init Duration moves from REPORT to INIT_REPORT, after init's
        # output; the restore's (after-restore hooks) follows, before START
        # (snapstart-monitoring.html).
        snap = len(raw) if snapshot is None else snapshot
        snap = min(max(0, snap - start), cut)
        init_logs = (
            raw[:snap].decode("utf-8", "replace")
            + f"INIT_REPORT Init Duration: {timings.init_s * 1000:.2f} ms\n"
            + raw[snap:cut].decode("utf-8", "replace")
        )
    return init_logs, invoke_logs


def split_concurrent_logs(
    log_path: Path | None, request_id: str, mark: int | None, cold: bool
) -> tuple[str, str]:
    """One concurrent invoke's (init, invoke) logs from the environment's shared log.

    Workers share stdout, so the log from the hand-out (`mark`) to now holds the lines
    of every invoke in flight meanwhile. JSON lines (the log format on Managed
    Instances) that name another request id are left out; lines that name none (a
    plain print) cannot be told apart and stay in every overlapping invoke's logs.
    """
    if log_path is None:
        return "", ""
    try:
        data = log_path.read_bytes()
    except OSError:
        return "", ""
    if mark is None:  # never handed out: what there is came from init
        return (data.decode("utf-8", "replace") if cold else ""), ""
    init = data[:mark].decode("utf-8", "replace") if cold else ""
    window = data[mark:]
    lines = window.split(b"\n")
    lines.pop()  # unterminated: another worker is mid-line (this one answered already)
    if mark > 0 and data[mark - 1 : mark] != b"\n" and lines:
        lines.pop(0)  # the end of a line another worker began before the hand-out
    kept = []
    for line in lines:
        if line.startswith(b"{"):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and record.get("requestId", request_id) != request_id:
                continue
        kept.append(line + b"\n")
    return init, b"".join(kept).decode("utf-8", "replace")
