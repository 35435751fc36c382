"""The `lambundle` command line as a real process, for tests of what only a process shows:
signals, exit codes, two builds at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")


def lambundle_command() -> list[str]:
    """The console script `pip install` made next to this interpreter, else the same entry
    point through this interpreter."""
    script = shutil.which("lambundle", path=str(Path(sys.executable).parent))
    if script is not None:
        return [script]
    return [sys.executable, "-c", "import sys; from bundler.cli import main; main(sys.argv[1:])"]


def start(args: list[str], cache: Path, **kwargs: Any) -> subprocess.Popen[str]:
    """`lambundle ARGS` with its own cache, stderr piped, in its own session (so that a
    signal the test sends reaches lambundle alone, as `kill PID` does), with the signals
    a terminal delivers at their defaults: a test run under `nohup` (SIGHUP ignored, and
    inherited) would otherwise see lambundle rightly leave an ignored SIGHUP alone."""
    env = {**os.environ, "LAMBUNDLE_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [*lambundle_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=_default_signals,
        **kwargs,
    )


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def poll(found: Callable[[], T | None], proc: subprocess.Popen[str], what: str,
         limit_s: float = 120.0) -> T:
    """Call `found` until it returns something, failing if `proc` ends first.

    Polling a state the process makes, not sleeping for a time it might need: the short
    pause only keeps the loop from taking a core from the process it watches.
    """
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        result = found()
        if result is not None:
            return result
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"lambundle ended ({proc.returncode}) before {what}:\n{err}")
        time.sleep(0.002)
    proc.kill()
    raise AssertionError(f"no {what} within {limit_s} s")


def read_until(stream: IO[str], text: str) -> str:
    """Lines of `stream` up to the first that holds `text` (all of it if none does)."""
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            break
    return "".join(seen)
