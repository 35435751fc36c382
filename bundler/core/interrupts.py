"""Ctrl-C, SIGTERM and SIGHUP as exceptions, so that every command cleans up after them.

A CI cancellation sends SIGTERM, a closed terminal SIGHUP; by default either ends the
process on the spot, leaving a half-written `--out` temporary directory, a partial cache
entry or a sandbox's layout in /dev/shm behind. `as_exceptions` (the CLI's `main` runs
every command inside it) turns them into `Terminated`, raised in the main thread, which
unwinds through the same `finally` and `except BaseException` clean-ups as Ctrl-C's
KeyboardInterrupt. The CLI then exits with 128 + the signal's number.

An exception can only be cleaned up after if it does not fall between a step that makes
something (a temporary directory, a lock file) and the code that notes it for clean-up:
such steps run inside `deferred()`, and a signal arriving there takes effect at its end.
Only the first signal is raised; later ones are ignored, so the clean-up finishes
(SIGKILL still ends the process at once).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, NoReturn

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` takes it for a failure of the step it interrupts."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


class _State:
    depth = 0  # how many `deferred()` blocks the main thread is in
    pending: int | None = None  # a signal that arrived in one
    raised = False  # the first signal was raised: ignore the rest


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A signal arriving while the block runs is raised when it ends (see the module's
    docstring). Keep such blocks to a few quick steps."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers in the main thread only
        return
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
        if _State.depth == 0 and _State.pending is not None:
            signum, _State.pending = _State.pending, None
            _raise(signum)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _State.raised or _State.pending is not None:
        return
    if _State.depth:
        _State.pending = signum
        return
    _raise(signum)


def _raise(signum: int) -> NoReturn:
    _State.raised = True
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


@contextlib.contextmanager
def as_exceptions() -> Iterator[None]:
    """While the block runs, Ctrl-C raises KeyboardInterrupt and SIGTERM and SIGHUP raise
    `Terminated`, in the main thread, once. A signal that is ignored (`nohup` ignores
    SIGHUP) or handled by someone else stays as it was."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous: dict[int, Any] = {}
    for signum in HANDLED:
        current = signal.getsignal(signum)
        if current in (signal.SIG_DFL, signal.default_int_handler):
            previous[signum] = signal.signal(signum, _handle)
    _State.depth, _State.pending, _State.raised = 0, None, False
    try:
        yield
    finally:
        for restored, before in previous.items():
            signal.signal(restored, before)
