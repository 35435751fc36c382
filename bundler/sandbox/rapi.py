"""The Lambda Runtime API (`2018-06-01`) on loopback, with Lambda's semantics.

One `RuntimeAPI` serves one execution environment at a time: the runtime long-polls
`/next` (no timeout), gets one event, answers it on `/response` (buffered or streamed) or
`/error`, or reports `/init/error` before its first `/next`. The invoking side (the
sandbox) offers invocations and waits for their outcome; it also reports the process's
death and timeouts, which end the environment. `ConcurrentRuntimeAPI` is the Managed
Instances variant: several workers, several invocations in flight, per-invocation
timeouts (410 for a late answer). With `snapstart=True` it also serves SnapStart's
`/runtime/restore/next` and `/runtime/restore/error` (registered only then, as RAPID does;
otherwise they are unknown routes, 404). Status codes, headers and error bodies
follow the Runtime API docs and AWS's open-source RAPID (the Runtime Interface
Emulator); see docs/reference §1.

Stdlib only: `http.server` speaks HTTP/1.1 with keep-alive, which is what awslambdaric's
libcurl client and lambundle's own client expect. Request bodies are read here, so chunked
bodies with trailers (response streaming) work.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_VERSION = "/2018-06-01"
# 6 MiB + 100 bytes: RAPID's interop.MaxPayloadSize for a buffered response.
MAX_RESPONSE_BYTES = 6_291_556
# Streamed responses may reach 200 MiB (configuration-response-streaming.html).
MAX_STREAM_BYTES = 200 * 1024 * 1024
# Lambda caps the error type header and bodies of /error and /init/error like responses.
MAX_ERROR_BYTES = MAX_RESPONSE_BYTES
# How much of an oversized body is read and discarded before answering 413.
_DRAIN_LIMIT = 64 * 1024 * 1024

HEADER_REQUEST_ID = "Lambda-Runtime-Aws-Request-Id"
HEADER_DEADLINE = "Lambda-Runtime-Deadline-Ms"
HEADER_ARN = "Lambda-Runtime-Invoked-Function-Arn"
HEADER_TRACE = "Lambda-Runtime-Trace-Id"
HEADER_CLIENT_CONTEXT = "Lambda-Runtime-Client-Context"
HEADER_COGNITO = "Lambda-Runtime-Cognito-Identity"
HEADER_TENANT = "Lambda-Runtime-Aws-Tenant-Id"
HEADER_INVOCATION_ID = "Lambda-Runtime-Invocation-Id"
HEADER_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
HEADER_ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
HEADER_RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"
# The error types SnapStart's hook failures are posted with (awslambdaric's FaultException).
BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"

# A runtime connection's (host, port), as the server sees the client.
Peer = tuple[str, int]


@dataclasses.dataclass(frozen=True)
class Invocation:
    """One event for the runtime, with what `/next` tells it in headers."""

    payload: bytes
    content_type: str = "application/json"
    timeout_s: float = 3.0
    function_arn: str = "arn:aws:lambda:us-east-1:012345678912:function:function"
    request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    invocation_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = ""
    client_context: str = ""
    cognito_identity: str = ""
    tenant_id: str = ""
    # Called with each chunk of a streamed response as it arrives (serve relays them).
    on_chunk: Callable[[bytes], None] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )
    # Called once with the content type when a streamed response begins.
    on_stream_start: Callable[[str], None] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How an invocation ended, as its caller sees it.

    `kind` is "response", "error" (the function's /error), "init_error", "restore_error"
    (SnapStart's /restore/error), or "platform" (an error Lambda itself produces: exit,
    timeout, oversize, bad mode header).
    """

    kind: str
    payload: bytes
    content_type: str = "application/json"
    streamed: bool = False
    chunks: tuple[bytes, ...] = ()
    # Mid-stream failure reported in trailers: (error type, decoded body).
    stream_error: tuple[str, bytes] | None = None
    at: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def function_error(self) -> bool:
        return self.kind != "response" or self.stream_error is not None


def error_payload(error_type: str, message: str) -> bytes:
    """An error body the way Lambda renders its own: errorMessage first, then errorType."""
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def platform_error(error_type: str, message: str) -> Outcome:
    return Outcome("platform", error_payload(error_type, message))


class _ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _environment_gone() -> _ApiError:
    """A poller of an environment that was replaced or closed: it must exit."""
    message = "Container error. Non-recoverable state. Runtime should exit promptly."
    return _ApiError(500, "Runtime.Unknown", message)


def _invalid_state() -> _ApiError:
    return _ApiError(403, "InvalidStateTransition", "State transition is not allowed")


def _invalid_id() -> _ApiError:
    return _ApiError(400, "InvalidRequestID", "Invalid request ID")


class RuntimeAPI:
    """A Runtime API server on 127.0.0.1 and the state of one execution environment.

    States: "init" (process started, no /next yet), "idle" (runtime parked in /next),
    "invoking" (an event was handed out and is not answered), "failed" (init error
    reported; the runtime must exit). `reset()` starts a new environment (a cold start).

    With `snapstart`, init ends when the runtime asks `/runtime/restore/next` ("snapshot":
    its before-snapshot hooks ran; Lambda would take the snapshot here). That request is
    answered once an invocation is offered, which is the local "restore": there is no
    snapshot, the same process simply goes on ("restoring": its after-restore hooks run)
    until its first /next, or its `/runtime/restore/error`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, snapstart: bool = False) -> None:
        self.snapstart = snapstart
        self._cond = threading.Condition()
        self._generation = 0
        self._state = "init"
        self._polling = 0
        # How many runtime workers may wait in /next at once: 1 on-demand; N with
        # AWS_LAMBDA_MAX_CONCURRENCY on Lambda Managed Instances (reference §1.10).
        self.max_pollers = 1
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self._handed_at: float | None = None
        self._outcome: Outcome | None = None
        self._answered: set[str] = set()
        self._closed = False
        self._init_error: Outcome | None = None
        self.first_next_at: float | None = None
        # SnapStart: when the runtime asked /restore/next (init ends) and when it was answered.
        self.snapshot_at: float | None = None
        self.restored_at: float | None = None
        # Called just before an event goes out on /next (the sandbox marks its logs there).
        self.on_hand_out: Callable[[], None] | None = None
        # SnapStart: called when the runtime asks /restore/next (init output ends there).
        self.on_snapshot: Callable[[], None] | None = None
        self._host = host
        self._server = _Server((host, port), _Handler)
        self._server.api = self
        # A short poll interval: close() waits for the loop to notice, once per sandbox.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="lambundle-rapi", daemon=True
        )

    @property
    def address(self) -> str:
        """`host:port`, the value of AWS_LAMBDA_RUNTIME_API."""
        return f"{self._host}:{self._server.server_port}"

    def start(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RuntimeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the invoking side ------------------------------------------------------------

    def reset(self) -> None:
        """Forget the old environment: a new process is about to start (cold start)."""
        with self._cond:
            self._generation += 1
            self._state = "init"
            self._polling = 0
            self._pending = None
            self._current = None
            self._handed_at = None
            self._outcome = None
            self._init_error = None
            self.first_next_at = None
            self.snapshot_at = None
            self.restored_at = None
            self._cond.notify_all()

    @property
    def state(self) -> str:
        return self._state

    def offer(self, invocation: Invocation) -> None:
        """Make `invocation` the next event `/next` returns."""
        with self._cond:
            if self._pending is not None or self._current is not None:
                raise RuntimeError("an invocation is already in progress")
            self._outcome = None
            self._handed_at = None
            if self._state == "failed" and self._init_error is not None:
                # The init error was reported before this invoke; Lambda serves it again.
                self._outcome = self._init_error
            self._pending = invocation
            self._cond.notify_all()

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

    def wait_polling(self, timeout: float | None, count: int = 1) -> bool:
        """Wait until `count` runtime workers are parked in `/next` (ready for events)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._polling >= count or self._closed, timeout
            )

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

    @property
    def generation(self) -> int:
        """Counts environments: `reset()` starts a new one."""
        return self._generation

    def fail(self, outcome: Outcome, generation: int | None = None) -> None:
        """End the offered invocation with a platform error (process exit, timeout).

        With `generation`, only if that environment is still the current one: the death
        of an old, already replaced process must not fail a newer invocation.
        """
        with self._cond:
            if generation is not None and generation != self._generation:
                return
            if self._outcome is None and (self._pending or self._current):
                self._outcome = outcome
            self._cond.notify_all()

    def current_request_id(self) -> str:
        with self._cond:
            inv = self._current or self._pending
            return inv.request_id if inv else ""

    # -- the runtime side (called from handler threads) ----------------------------------

    def _next(self, peer: Peer | None = None) -> Invocation:
        with self._cond:
            generation = self._generation
            if self._state == "failed" or self._polling >= self.max_pollers:
                raise _invalid_state()
            if self._state == "invoking" and self.max_pollers == 1:
                raise _invalid_state()  # on-demand: answer the event before the next
            if self._state == "snapshot":
                raise _invalid_state()  # the runtime is still waiting to be restored
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            if self.snapstart and self.snapshot_at is None:
                # A runtime that ignores SnapStart: its first /next is both the snapshot
                # point and the end of a restore without hooks.
                self.snapshot_at = self.restored_at = self.first_next_at
            if self._state != "invoking":
                self._state = "idle"
            self._polling += 1
            self._cond.notify_all()
            try:
                # The environment check comes first on every wake-up: a poller of a killed
                # process may wake only after reset() and the next offer(), and must not
                # take the new environment's event.
                while True:
                    if self._closed or generation != self._generation:
                        raise _environment_gone()
                    if self._pending is not None and self._outcome is None:
                        break
                    self._cond.wait()
            finally:
                if generation == self._generation:
                    self._polling -= 1
            invocation = self._pending
            self._pending = None
            self._current = invocation
            self._state = "invoking"
            self._handed_at = time.monotonic()
            if self.on_hand_out is not None:
                self.on_hand_out()
            self._cond.notify_all()
            return invocation

    def _connection_closed(self, peer: Peer) -> None:
        """A runtime's connection ended; on-demand, the process watcher reports deaths."""

    def _check_answer(self, request_id: str, invocation_id: str | None) -> Invocation:
        """The in-flight invocation `request_id` names; raise the API's error otherwise."""
        with self._cond:
            if self._state == "failed":
                raise _invalid_state()
            current = self._current
            if current is None and self._state in ("init", "snapshot", "restoring"):
                raise _invalid_state()  # answering before any /next
            if current is None or current.request_id != request_id or self._outcome:
                raise _invalid_id()  # unknown, stale, or already answered
            # A response for an older attempt of the same request id must not answer
            # this one (RAPID checks the echoed id when the runtime sends it).
            if invocation_id is not None and invocation_id != current.invocation_id:
                raise _invalid_id()
            return current

    def _answer(self, invocation: Invocation, outcome: Outcome) -> bool:
        with self._cond:
            if self._current is not invocation or self._outcome is not None:
                return False
            self._answered.add(invocation.request_id)
            self._outcome = outcome
            self._state = "idle"
            self._cond.notify_all()
            return True

    def _init_failed(self, outcome: Outcome) -> None:
        with self._cond:
            if self._state != "init" or self.first_next_at is not None:
                raise _invalid_state()
            self._state = "failed"
            self._init_error = outcome
            if self._pending is not None and self._outcome is None:
                self._outcome = outcome
            self._cond.notify_all()

    def _restore_next(self) -> None:
        """SnapStart's GET /runtime/restore/next: init is over; returns when "restored".

        Lambda answers it only after restoring the snapshot for an invoke, so here it is
        answered once an invocation is offered (at once on a cold start from `invoke`).
        """
        with self._cond:
            if self._state != "init" or self.snapshot_at is not None:
                raise _invalid_state()
            generation = self._generation
            self.snapshot_at = time.monotonic()
            self._state = "snapshot"
            if self.on_snapshot is not None:
                self.on_snapshot()
            self._cond.notify_all()
            while True:
                if self._closed or generation != self._generation:
                    raise _environment_gone()
                if self._outcome is not None:
                    raise _invalid_state()  # the invocation already failed (timeout)
                if self._pending is not None:
                    break
                self._cond.wait()
            self._state = "restoring"
            self.restored_at = time.monotonic()
            self._cond.notify_all()

    def _restore_failed(self, outcome: Outcome) -> None:
        """SnapStart's POST /runtime/restore/error: an after-restore hook failed."""
        with self._cond:
            if self._state != "restoring":
                raise _invalid_state()
            self._state = "failed"
            if self._pending is not None and self._outcome is None:
                self._outcome = outcome
            self._cond.notify_all()


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


class ConcurrentRuntimeAPI(RuntimeAPI):
    """The Runtime API of a Lambda Managed Instances environment (reference §1.10).

    With AWS_LAMBDA_MAX_CONCURRENCY=N up to N runtime workers wait in /next, and each
    event goes to whichever worker takes it first, so up to N invocations are in flight
    at once. Events offered while every worker is busy wait in order for a free one.
    A timeout ends only its own invocation: the environment goes on and a late answer
    gets 410 `InvokeTimeout` (lambda-managed-instances-execution-environment.html).
    """

    def __init__(self, workers: int, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.max_pollers = workers
        self._queue: collections.deque[Flight] = collections.deque()
        self._flights: dict[str, Flight] = {}
        self._expired: set[str] = set()
        self._pids: dict[Peer, int] = {}
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
            # The sandbox reports the old process's exit first; this is the backstop that
            # keeps a caller from waiting on an environment that no longer exists.
            for flight in self._flights.values():
                if flight.outcome is None:
                    flight.outcome = platform_error(
                        "Sandbox.Failure",
                        f"RequestId: {flight.invocation.request_id} Error: "
                        "the execution environment was replaced",
                    )

    def offer(self, invocation: Invocation) -> None:
        """Queue `invocation` for the next free worker."""
        with self._cond:
            flight = Flight(invocation)
            if self._state == "failed" and self._init_error is not None:
                flight.outcome = self._init_error
            else:
                self._queue.append(flight)
            self._flights[invocation.request_id] = flight
            self._cond.notify_all()

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
            for flight in self._flights.values():
                if flight.outcome is None:
                    flight.outcome = outcome_for(flight.invocation.request_id)
            self._queue.clear()
            self._cond.notify_all()

    # -- the runtime side ---------------------------------------------------------------

    def _next(self, peer: Peer | None = None) -> Invocation:
        arrived = time.monotonic()
        if peer is not None and peer not in self._pids and self.identify_peer is not None:
            # Known before the worker parks, so its death can be told from a closed socket.
            # Not found (not readable here, process not recorded yet): tried again next time.
            pid = self.identify_peer(peer)
            if pid is not None:
                self._pids[peer] = pid
        with self._cond:
            generation = self._generation
            if self._state == "failed" or self._polling >= self.max_pollers:
                raise _invalid_state()
            if self.first_next_at is None:
                self.first_next_at = arrived
            if self._state == "init":
                self._state = "idle"
            self._polling += 1
            self._cond.notify_all()
            try:
                while True:
                    if self._closed or generation != self._generation:
                        raise _environment_gone()
                    if self._queue:
                        break
                    self._cond.wait()
            finally:
                if generation == self._generation:
                    self._polling -= 1
            flight = self._queue.popleft()
            flight.handed_at = time.monotonic()
            flight.peer = peer
            if self.log_position is not None:
                flight.log_mark = self.log_position()
            self._state = "invoking"
            self._cond.notify_all()
            return flight.invocation

    def _check_answer(self, request_id: str, invocation_id: str | None) -> Invocation:
        with self._cond:
            if self._state == "failed":
                raise _invalid_state()
            if request_id in self._expired:
                raise _ApiError(410, "InvokeTimeout", "Invoke timeout")
            flight = self._flights.get(request_id)
            if flight is None or flight.handed_at is None:
                if self._state == "init":
                    raise _invalid_state()  # answering before any /next
                raise _invalid_id()
            if flight.outcome is not None:
                raise _invalid_id()
            if invocation_id is not None and invocation_id != flight.invocation.invocation_id:
                raise _invalid_id()
            return flight.invocation

    def _answer(self, invocation: Invocation, outcome: Outcome) -> bool:
        with self._cond:
            if invocation.request_id in self._expired:  # timed out while its body came
                raise _ApiError(410, "InvokeTimeout", "Invoke timeout")
            flight = self._flights.get(invocation.request_id)
            if flight is None or flight.invocation is not invocation or flight.outcome:
                return False
            self._answered.add(invocation.request_id)
            flight.outcome = outcome
            self._cond.notify_all()
            return True

    def _init_failed(self, outcome: Outcome) -> None:
        with self._cond:
            if self._state != "init" or self.first_next_at is not None:
                raise _invalid_state()
            self._state = "failed"
            self._init_error = outcome
            for flight in self._queue:
                flight.outcome = outcome
            self._queue.clear()
            self._cond.notify_all()

    def _connection_closed(self, peer: Peer) -> None:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: RuntimeAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed mid-request (timeout, exit) leaves a broken socket behind;
        # that is the function's failure, reported to its caller, not the server's.
        return


class _BodyTooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms on Linux) on every /next.
    disable_nagle_algorithm = True
    server: _Server
    server_version = "lambundle-rapi"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # Lambda's Runtime API does not log requests into the function's log stream.
        return

    def handle(self) -> None:
        try:
            super().handle()
        finally:
            self._api()._connection_closed(self.client_address)

    # -- plumbing ------------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            if value:  # RAPID omits empty headers (renderInvokeHeaders)
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _send_error(self, err: _ApiError) -> None:
        self._send(err.status, error_payload(err.error_type, err.message))

    def _accepted(self) -> None:
        self._send(202, b'{"status":"OK"}')

    def _chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def _read_body(self, limit: int) -> bytes:
        """The whole request body; raises _BodyTooLarge past `limit`, after draining it.

        Draining lets a client that sends the whole body before reading (libcurl with
        `Expect:` blanked) see the 413 instead of a reset connection.
        """
        if self._chunked():
            return b"".join(self._read_chunks(limit, None))
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            self.close_connection = True
            left = min(length, _DRAIN_LIMIT)
            while left > 0:
                got = self.rfile.read(min(left, 1 << 20))
                if not got:
                    break
                left -= len(got)
            raise _BodyTooLarge
        return self.rfile.read(length) if length else b""

    def _read_chunks(self, limit: int, trailers: dict[str, str] | None) -> Any:
        """Yield the chunks of a chunked body, then store its trailers in `trailers`."""
        total = 0
        while True:
            line = self.rfile.readline(65537)
            if not line:
                self.close_connection = True
                raise ConnectionError("truncated chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            total += size
            data = self.rfile.read(size)
            self.rfile.readline()  # the CRLF after each chunk
            if len(data) < size:
                self.close_connection = True
                raise ConnectionError("truncated chunk")
            if total > limit:
                if total > limit + _DRAIN_LIMIT:
                    self.close_connection = True
                    raise _BodyTooLarge
                continue  # keep draining, answer 413 at the end
            yield data
        while True:  # trailer section, ended by an empty line
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if trailers is not None:
                trailers[name.strip().lower()] = value.strip()
        if total > limit:
            self.close_connection = True
            raise _BodyTooLarge

    def _api(self) -> RuntimeAPI:
        return self.server.api

    # -- routes --------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/ping":  # RIE keeps it "for Hyrum's law"
            self._send(200, b"pong", content_type="text/plain")
            return
        if self.path == f"{API_VERSION}/runtime/restore/next" and self._api().snapstart:
            try:
                self._api()._restore_next()
            except _ApiError as err:
                self._send_error(err)
                return
            self._send(200, b"", content_type="")
            return
        if self.path != f"{API_VERSION}/runtime/invocation/next":
            self._not_found()
            return
        try:
            inv = self._api()._next(self.client_address)
        except _ApiError as err:
            self._send_error(err)
            return
        deadline_ms = int((time.time() + inv.timeout_s) * 1000)
        headers = {
            HEADER_REQUEST_ID: inv.request_id,
            HEADER_DEADLINE: str(deadline_ms),
            HEADER_ARN: inv.function_arn,
            HEADER_TRACE: inv.trace_id,
            HEADER_CLIENT_CONTEXT: inv.client_context,
            HEADER_COGNITO: inv.cognito_identity,
            HEADER_TENANT: inv.tenant_id,
            HEADER_INVOCATION_ID: inv.invocation_id,
        }
        self._send(200, inv.payload, headers, content_type=inv.content_type)

    def do_POST(self) -> None:
        prefix = f"{API_VERSION}/runtime/"
        path = self.path
        try:
            if path == f"{prefix}init/error":
                self._post_init_error()
            elif path == f"{prefix}restore/error" and self._api().snapstart:
                self._post_restore_error()
            elif path.startswith(f"{prefix}invocation/") and path.count("/") == 5:
                request_id, _, action = path[len(prefix) + len("invocation/"):].partition("/")
                if action == "response":
                    self._post_response(request_id)
                elif action == "error":
                    self._post_error(request_id)
                else:
                    self._not_found()
            else:
                self._not_found()
        except _ApiError as err:
            self.close_connection = True  # the body may be unread
            self._send_error(err)
        except ConnectionError:
            self.close_connection = True

    def _not_found(self) -> None:
        self.close_connection = True
        self._send(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")

    def _invocation_id(self) -> str | None:
        return self.headers.get(HEADER_INVOCATION_ID)

    def _post_response(self, request_id: str) -> None:
        api = self._api()
        inv = api._check_answer(request_id, self._invocation_id())
        mode = self.headers.get(HEADER_RESPONSE_MODE)
        content_type = self.headers.get("Content-Type", "application/json")
        if mode is not None and mode != "streaming":
            api._answer(
                inv,
                platform_error(
                    "Runtime.InvalidResponseModeHeader",
                    f"Invalid response mode {mode!r}: only 'streaming' is supported.",
                ),
            )
            raise _ApiError(
                400, "InvalidFunctionResponseMode", f"Invalid function response mode: {mode}"
            )
        if mode is not None:
            self._post_stream(inv, content_type)
            return
        try:
            body = self._read_body(MAX_RESPONSE_BYTES)
        except _BodyTooLarge:
            api._answer(
                inv,
                platform_error(
                    "Function.ResponseSizeTooLarge",
                    "Response payload size exceeded maximum allowed payload size "
                    f"({MAX_RESPONSE_BYTES} bytes).",
                ),
            )
            raise _ApiError(
                413,
                "RequestEntityTooLarge",
                f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
            ) from None
        if api._answer(inv, Outcome("response", body, content_type)):
            self._accepted()
        else:
            raise _invalid_id()

    def _post_stream(self, inv: Invocation, content_type: str) -> None:
        api = self._api()
        chunks: list[bytes] = []
        trailers: dict[str, str] = {}
        if inv.on_stream_start is not None:
            inv.on_stream_start(content_type)
        try:
            if self._chunked():
                for chunk in self._read_chunks(MAX_STREAM_BYTES, trailers):
                    chunks.append(chunk)
                    if inv.on_chunk is not None:
                        inv.on_chunk(chunk)
            else:
                chunks.append(self._read_body(MAX_STREAM_BYTES))
        except _BodyTooLarge:
            api._answer(
                inv,
                platform_error(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size exceeded maximum allowed payload size "
                    f"({MAX_STREAM_BYTES} bytes).",
                ),
            )
            raise _ApiError(
                413,
                "RequestEntityTooLarge",
                f"Exceeded maximum allowed payload size ({MAX_STREAM_BYTES} bytes).",
            ) from None
        except ConnectionError:
            api._answer(
                inv,
                platform_error("Runtime.TruncatedResponse", "Response stream was truncated."),
            )
            raise
        stream_error = None
        error_type = trailers.get(HEADER_ERROR_TYPE.lower())
        if error_type:
            raw = trailers.get(HEADER_ERROR_BODY.lower(), "")
            try:
                body = base64.b64decode(raw, validate=True)
            except ValueError:
                body = raw.encode()
            stream_error = (error_type, body)
        outcome = Outcome(
            "response",
            b"".join(chunks),
            content_type,
            streamed=True,
            chunks=tuple(chunks),
            stream_error=stream_error,
        )
        if not api._answer(inv, outcome):
            raise _invalid_id()
        self._accepted()

    def _error_outcome(self, kind: str, header_type_wins: bool = False) -> Outcome:
        """The error a runtime posted; `header_type_wins`: the error type header names the
        failure (SnapStart's hook errors) and the body only says what the hook raised."""
        error_type = self.headers.get(HEADER_ERROR_TYPE, "")
        try:
            body = self._read_body(MAX_ERROR_BYTES)
        except _BodyTooLarge:
            raise _ApiError(
                413,
                "RequestEntityTooLarge",
                f"Exceeded maximum allowed payload size ({MAX_ERROR_BYTES} bytes).",
            ) from None
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and header_type_wins and error_type:
            error = {"errorMessage": str(parsed.get("errorMessage", "")), "errorType": error_type}
            if "stackTrace" in parsed:
                error["stackTrace"] = parsed["stackTrace"]
            return Outcome(kind, json.dumps(error).encode())
        if isinstance(parsed, dict):
            return Outcome(kind, body)
        # No usable body: Lambda builds the error from the header alone.
        message = body.decode("utf-8", "replace") if body else ""
        return Outcome(kind, error_payload(error_type or "Runtime.Unknown", message))

    def _post_error(self, request_id: str) -> None:
        api = self._api()
        inv = api._check_answer(request_id, self._invocation_id())
        if not api._answer(inv, self._error_outcome("error")):
            raise _invalid_id()
        self._accepted()

    def _post_init_error(self) -> None:
        api = self._api()
        if api.state != "init" or api.first_next_at is not None:
            raise _invalid_state()
        # A failing before-snapshot hook is an init error named by its header (reference
        # §3.12); the body's errorType is only the exception's class.
        snap_error = api.snapstart and (
            self.headers.get(HEADER_ERROR_TYPE) == BEFORE_SNAPSHOT_ERROR
        )
        api._init_failed(self._error_outcome("init_error", header_type_wins=snap_error))
        self._accepted()

    def _post_restore_error(self) -> None:
        api = self._api()
        if api.state != "restoring":
            raise _invalid_state()
        api._restore_failed(self._error_outcome("restore_error", header_type_wins=True))
        self._accepted()
