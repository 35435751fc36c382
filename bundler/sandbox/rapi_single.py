"""The Runtime API of an on-demand execution environment: one invocation at a time.

The runtime long-polls `/next` (no timeout), gets one event, answers it on `/response`
(buffered or streamed) or `/error`, or reports `/init/error` before its first `/next`.
With `snapstart=True` it also serves SnapStart's `/runtime/restore/next` and
`/runtime/restore/error`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bundler.sandbox.rapi_protocol import (
    Invocation,
    Outcome,
    Peer,
    environment_gone,
    invalid_id,
    invalid_state,
)
from bundler.sandbox.rapi_server import RuntimeAPIServer


class RuntimeAPI(RuntimeAPIServer):
    """The Runtime API of one environment that takes one event at a time.

    With `snapstart`, init ends when the runtime asks `/runtime/restore/next` ("snapshot":
    its before-snapshot hooks ran; Lambda would take the snapshot here). That request is
    answered once an invocation is offered, which is the local "restore": there is no
    snapshot, the same process simply goes on ("restoring": its after-restore hooks run)
    until its first /next, or its `/runtime/restore/error`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, snapstart: bool = False) -> None:
        super().__init__(host, port)
        self.snapstart = snapstart
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self._handed_at: float | None = None
        self._outcome: Outcome | None = None
        # Set once the current environment has ended (end()): what an invocation offered
        # to it fails with.
        self._ended: Callable[[str], Outcome] | None = None
        # SnapStart: when the runtime asked /restore/next (init ends) and when it was answered.
        self.snapshot_at: float | None = None
        self.restored_at: float | None = None
        # Called just before an event goes out on /next (the sandbox marks its logs there).
        self.on_hand_out: Callable[[], None] | None = None
        # SnapStart: called when the runtime asks /restore/next (init output ends there).
        self.on_snapshot: Callable[[], None] | None = None

    # -- the invoking side ------------------------------------------------------------

    def reset(self) -> None:
        with self._cond:
            super().reset()
            self._pending = None
            self._current = None
            self._handed_at = None
            self._outcome = None
            self._ended = None
            self.snapshot_at = None
            self.restored_at = None

    def offer(self, invocation: Invocation) -> bool:
        """Make `invocation` the next event `/next` returns; False when the environment has
        ended already (its exit was reported), and then the invocation fails with it."""
        with self._cond:
            if self._pending is not None or self._current is not None:
                raise RuntimeError("an invocation is already in progress")
            self._outcome = None
            self._handed_at = None
            if self._state == "failed" and self._init_error is not None:
                # The init error was reported before this invoke; Lambda serves it again.
                self._outcome = self._init_error
            elif self._ended is not None:
                self._outcome = self._ended(invocation.request_id)
            self._pending = invocation
            self._cond.notify_all()
            return self._ended is None

    def wait_handed(self, timeout: float | None) -> float | None:
        """Wait until the runtime took the offered event; its monotonic time, or None.

        Returns None early when the invocation already has an outcome (init error, exit).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._handed_at is None and self._outcome is None and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            return self._handed_at

    def wait_snapshot(self, timeout: float | None) -> bool:
        """SnapStart: wait until init ended (/restore/next asked, or a /next without it) or
        the invocation has an outcome; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.snapshot_at is not None or self._outcome is not None
                or self._closed,
                timeout,
            )

    def wait_outcome(self, timeout: float | None) -> Outcome | None:
        """Wait for the outcome of the offered invocation; None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._outcome is None and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            outcome = self._outcome
            if outcome is not None:
                self._pending = None
                self._current = None
            return outcome

    def fail(self, outcome: Outcome) -> None:
        """End the offered invocation with a platform error (timeout, a retried init's bad
        entry point); a process's exit is reported with end()."""
        with self._cond:
            if self._outcome is None and (self._pending or self._current):
                self._outcome = outcome
            self._cond.notify_all()

    def end(self, outcome_for: Callable[[str], Outcome], generation: int) -> None:
        """The environment `generation` ended (its process exited): the invocation it holds
        fails with its outcome, and so does one offered to it from now on.

        An older, already replaced environment's end changes nothing.
        """
        with self._cond:
            if generation != self._generation:
                return
            # The sandbox may have seen this environment running just before its exit
            # was reported, and offer it an invocation that no runtime would ever take.
            self._ended = outcome_for
            invocation = self._current or self._pending
            if self._outcome is None and invocation is not None:
                self._outcome = outcome_for(invocation.request_id)
            self._cond.notify_all()

    # -- the runtime side (called from handler threads) ----------------------------------

    def next_event(self, peer: Peer | None = None) -> Invocation:
        with self._cond:
            generation = self._poller_generation(peer)
            if self._state == "failed" or self._polling >= self.max_pollers:
                raise invalid_state()
            if self._state == "invoking":
                raise invalid_state()  # answer the event before the next
            if self._state == "snapshot":
                raise invalid_state()  # the runtime is still waiting to be restored
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            if self.snapstart and self.snapshot_at is None:
                # A runtime that ignores SnapStart: its first /next is both the snapshot
                # point and the end of a restore without hooks.
                self.snapshot_at = self.restored_at = self.first_next_at
            self._state = "idle"
            self._park(
                generation, lambda: self._pending is not None and self._outcome is None, peer
            )
            invocation = self._pending
            assert invocation is not None
            self._pending = None
            self._current = invocation
            self._state = "invoking"
            self._handed_at = time.monotonic()
            if self.on_hand_out is not None:
                self.on_hand_out()
            self._cond.notify_all()
            return invocation

    def check_answer(self, request_id: str, invocation_id: str | None) -> Invocation:
        with self._cond:
            if self._state == "failed":
                raise invalid_state()
            current = self._current
            if current is None and self._state in ("init", "snapshot", "restoring"):
                raise invalid_state()  # answering before any /next
            if current is None or current.request_id != request_id or self._outcome:
                raise invalid_id()  # unknown, stale, or already answered
            # A response for an older attempt of the same request id must not answer
            # this one (RAPID checks the echoed id when the runtime sends it).
            if invocation_id is not None and invocation_id != current.invocation_id:
                raise invalid_id()
            return current

    def answer(self, invocation: Invocation, outcome: Outcome) -> bool:
        with self._cond:
            if self._current is not invocation or self._outcome is not None:
                return False
            self._outcome = outcome
            self._state = "idle"
            self._cond.notify_all()
            return True

    def init_failed(self, outcome: Outcome) -> None:
        with self._cond:
            if self._state != "init" or self.first_next_at is not None:
                raise invalid_state()
            self._state = "failed"
            self._init_error = outcome
            if self._pending is not None and self._outcome is None:
                self._outcome = outcome
            self._cond.notify_all()

    def restore_next(self) -> None:
        """SnapStart's GET /runtime/restore/next: init is over; returns when "restored".

        Lambda answers it only after restoring the snapshot for an invoke, so here it is
        answered once an invocation is offered (at once on a cold start from `invoke`).
        """
        with self._cond:
            if self._state != "init" or self.snapshot_at is not None:
                raise invalid_state()
            generation = self._generation
            self.snapshot_at = time.monotonic()
            self._state = "snapshot"
            if self.on_snapshot is not None:
                self.on_snapshot()
            self._cond.notify_all()
            while True:
                if self._closed or generation != self._generation:
                    raise environment_gone()
                if self._outcome is not None:
                    raise invalid_state()  # the invocation already failed (timeout)
                if self._pending is not None:
                    break
                self._cond.wait()
            self._state = "restoring"
            self.restored_at = time.monotonic()
            self._cond.notify_all()

    def restore_failed(self, outcome: Outcome) -> None:
        """SnapStart's POST /runtime/restore/error: an after-restore hook failed."""
        with self._cond:
            if self._state != "restoring":
                raise invalid_state()
            self._state = "failed"
            if self._pending is not None and self._outcome is None:
                self._outcome = outcome
            self._cond.notify_all()
