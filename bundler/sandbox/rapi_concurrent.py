"""The Runtime API of a Lambda Managed Instances environment: several invocations at once.

Each invocation's life (offered, handed out, answered) is a `Flight`; a timeout ends
only its own flight, and a late answer for it gets 410 `InvokeTimeout`.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable

from bundler.sandbox.rapi_protocol import (
    ApiError,
    Invocation,
    Outcome,
    Peer,
    invalid_id,
    invalid_state,
    platform_error,
)
from bundler.sandbox.rapi_server import RuntimeAPIServer


@dataclasses.dataclass(eq=False)  # compared by identity in the queue
class Flight:
    """One invocation's life in a `ConcurrentRuntimeAPI`: offered, handed out, answered.

    Written under the API's lock; callers only read it.
    """

    invocation: Invocation
    handed_at: float | None = None
    outcome: Outcome | None = None
    # The connection that took it from /next, and the log position at that moment.
    peer: Peer | None = None
    log_mark: int | None = None


def _invoke_timeout() -> ApiError:
    return ApiError(410, "InvokeTimeout", "Invoke timeout")


class ConcurrentRuntimeAPI(RuntimeAPIServer):
    """The Runtime API of a Lambda Managed Instances environment (reference §1.10).

    With AWS_LAMBDA_MAX_CONCURRENCY=N up to N runtime workers wait in /next, and each
    event goes to whichever worker takes it first, so up to N invocations are in flight
    at once. Events offered while every worker is busy wait in order for a free one.
    A timeout ends only its own invocation: the environment goes on and a late answer
    gets 410 `InvokeTimeout` (lambda-managed-instances-execution-environment.html).
    """

    def __init__(self, workers: int, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port, max_pollers=workers)
        self._queue: collections.deque[Flight] = collections.deque()
        self._flights: dict[str, Flight] = {}
        self._expired: set[str] = set()
        self._pids: dict[Peer, int] = {}
        # Set once the current environment has ended (fail_all): what its invokes fail with.
        self._ended: Callable[[str], Outcome] | None = None
        # The sandbox's hooks: which process holds a connection, where its log stands,
        # and what to do when a connection holding unanswered events ends.
        self.identify_peer: Callable[[Peer], int | None] | None = None
        self.log_position: Callable[[], int | None] | None = None
        self.on_connection_lost: Callable[[int, list[Invocation]], None] | None = None

    # -- the invoking side ------------------------------------------------------------

    def reset(self) -> None:
        with self._cond:
            super().reset()
            self._queue.clear()
            self._expired.clear()
            self._pids.clear()
            self._ended = None
            # The sandbox reports the old process's exit first; this is the backstop that
            # keeps a caller from waiting on an environment that no longer exists.
            for flight in self._flights.values():
                if flight.outcome is None:
                    flight.outcome = platform_error(
                        "Sandbox.Failure",
                        f"RequestId: {flight.invocation.request_id} Error: "
                        "the execution environment was replaced",
                    )

    def offer(self, invocation: Invocation) -> bool:
        """Queue `invocation` for the next free worker; False when the environment has
        ended already (its exit was reported), and then the invocation fails with it."""
        with self._cond:
            flight = Flight(invocation)
            if self._state == "failed" and self._init_error is not None:
                flight.outcome = self._init_error
            elif self._ended is not None:
                flight.outcome = self._ended(invocation.request_id)
            else:
                self._queue.append(flight)
            self._flights[invocation.request_id] = flight
            self._cond.notify_all()
            return self._ended is None

    def flight(self, invocation: Invocation) -> Flight:
        with self._cond:
            return self._flights[invocation.request_id]

    def wait_handed_for(self, invocation: Invocation, timeout: float | None) -> float | None:
        """Wait until a worker took `invocation`; None on timeout or an earlier outcome."""
        flight = self.flight(invocation)
        with self._cond:
            self._cond.wait_for(
                lambda: flight.handed_at is not None or flight.outcome is not None
                or self._closed,
                timeout,
            )
            return flight.handed_at

    def wait_outcome_for(self, invocation: Invocation, timeout: float | None) -> Outcome | None:
        flight = self.flight(invocation)
        with self._cond:
            self._cond.wait_for(lambda: flight.outcome is not None or self._closed, timeout)
            return flight.outcome

    def wait_in_flight(self, count: int, timeout: float | None) -> bool:
        """Wait until `count` invocations are held by workers and not yet answered."""
        with self._cond:
            return self._cond.wait_for(lambda: self._in_flight() >= count, timeout)

    def _in_flight(self) -> int:
        return sum(
            1 for f in self._flights.values() if f.handed_at is not None and f.outcome is None
        )

    def withdraw(self, invocation: Invocation) -> bool:
        """Take a still queued `invocation` back; False if a worker has it already."""
        with self._cond:
            flight = self._flights[invocation.request_id]
            if flight.handed_at is not None or flight.outcome is not None:
                return False
            self._queue.remove(flight)
            del self._flights[invocation.request_id]
            return True

    def finish(
        self, invocation: Invocation, outcome: Outcome, *, timed_out: bool = False
    ) -> Outcome:
        """End `invocation` with `outcome` unless it has one; returns the one it ends with.

        `timed_out` makes a late answer from its worker get 410 `InvokeTimeout`.
        """
        with self._cond:
            flight = self._flights.get(invocation.request_id)
            if flight is None:
                return outcome  # its caller has collected it already
            if flight.outcome is None:
                flight.outcome = outcome
                if flight in self._queue:
                    self._queue.remove(flight)
                if timed_out:
                    self._expired.add(invocation.request_id)
                self._cond.notify_all()
            return flight.outcome

    def forget(self, invocation: Invocation) -> None:
        """The caller has the outcome: drop the invocation's record."""
        with self._cond:
            self._flights.pop(invocation.request_id, None)

    def fail_all(self, outcome_for: Callable[[str], Outcome], generation: int) -> None:
        """The environment ended: every unanswered invocation fails with its own outcome."""
        with self._cond:
            if generation != self._generation:
                return
            # Also what an invocation offered from now on fails with: the sandbox may have
            # seen this environment running just before its exit was reported.
            self._ended = outcome_for
            for flight in self._flights.values():
                if flight.outcome is None:
                    flight.outcome = outcome_for(flight.invocation.request_id)
            self._queue.clear()
            self._cond.notify_all()

    # -- the runtime side ---------------------------------------------------------------

    def next_event(self, peer: Peer | None = None) -> Invocation:
        arrived = time.monotonic()
        with self._cond:
            known = peer is None or peer in self._pids
        if not known and self.identify_peer is not None:
            assert peer is not None
            # Known before the worker parks, so its death can be told from a closed socket.
            # Not found (not readable here, process not recorded yet): tried again next time.
            # Looked up outside the lock (it scans /proc), recorded under it.
            pid = self.identify_peer(peer)
            if pid is not None:
                with self._cond:
                    self._pids[peer] = pid
        with self._cond:
            generation = self._poller_generation(peer)
            if self._state == "failed" or self._polling >= self.max_pollers:
                raise invalid_state()
            if self.first_next_at is None:
                self.first_next_at = arrived
            if self._state == "init":
                self._state = "idle"
            self._park(generation, lambda: bool(self._queue), peer)
            flight = self._queue.popleft()
            flight.handed_at = time.monotonic()
            flight.peer = peer
            if self.log_position is not None:
                flight.log_mark = self.log_position()
            self._state = "invoking"
            self._cond.notify_all()
            return flight.invocation

    def check_answer(self, request_id: str, invocation_id: str | None) -> Invocation:
        with self._cond:
            if self._state == "failed":
                raise invalid_state()
            if request_id in self._expired:
                raise _invoke_timeout()
            flight = self._flights.get(request_id)
            if flight is None or flight.handed_at is None:
                if self._state == "init":
                    raise invalid_state()  # answering before any /next
                raise invalid_id()
            if flight.outcome is not None:
                raise invalid_id()
            if invocation_id is not None and invocation_id != flight.invocation.invocation_id:
                raise invalid_id()
            return flight.invocation

    def answer(self, invocation: Invocation, outcome: Outcome) -> bool:
        with self._cond:
            if invocation.request_id in self._expired:  # timed out while its body came
                raise _invoke_timeout()
            flight = self._flights.get(invocation.request_id)
            if flight is None or flight.invocation is not invocation or flight.outcome:
                return False
            flight.outcome = outcome
            self._cond.notify_all()
            return True

    def init_failed(self, outcome: Outcome) -> None:
        with self._cond:
            if self._state != "init" or self.first_next_at is not None:
                raise invalid_state()
            self._state = "failed"
            self._init_error = outcome
            for flight in self._queue:
                flight.outcome = outcome
            self._queue.clear()
            self._cond.notify_all()

    def connection_closed(self, peer: Peer) -> None:
        super().connection_closed(peer)
        with self._cond:
            pid = self._pids.pop(peer, None)
            held = [
                f.invocation for f in self._flights.values()
                if f.peer == peer and f.outcome is None
            ]
        if held and pid is not None and self.on_connection_lost is not None:
            # A worker that dies closes its connection; whether it died is the sandbox's
            # to find out (a runtime may also just reconnect and answer later).
            self.on_connection_lost(pid, held)
