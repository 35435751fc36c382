"""The Runtime API server's shared core: the HTTP server on loopback and what every flavour
keeps of one execution environment (its generation, state, parked pollers, init error).

Two flavours build on it: `rapi_single.RuntimeAPI` serves one invocation at a time
(on-demand, and SnapStart's restore), `rapi_concurrent.ConcurrentRuntimeAPI` several at
once (Lambda Managed Instances). The invoking side (the sandbox's lifecycles) offers
invocations and waits for their outcome; it also reports the process's death and
timeouts, which end the environment.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable
from typing import TypeVar

from bundler.sandbox.rapi_http import RuntimeServer
from bundler.sandbox.rapi_protocol import (
    Invocation,
    Outcome,
    Peer,
    environment_gone,
    invalid_state,
)
from bundler.sandbox.rapi_routes import RuntimeHandler

_Self = TypeVar("_Self", bound="RuntimeAPIServer")


class RuntimeAPIServer(abc.ABC):
    """A Runtime API server on 127.0.0.1 and the state of one execution environment.

    States: "init" (process started, no /next yet), "idle" (runtime parked in /next),
    "invoking" (an event was handed out and is not answered), "failed" (init error
    reported; the runtime must exit); SnapStart adds "snapshot" and "restoring".
    `reset()` starts a new environment (a cold start).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, max_pollers: int = 1) -> None:
        self.snapstart = False
        self._cond = threading.Condition()
        self._generation = 0
        self._state = "init"
        self._polling = 0
        # How many runtime workers may wait in /next at once: 1 on-demand; N with
        # AWS_LAMBDA_MAX_CONCURRENCY on Lambda Managed Instances (reference §1.10).
        self.max_pollers = max_pollers
        self._closed = False
        self._init_error: Outcome | None = None
        self.first_next_at: float | None = None
        # Each runtime connection's environment (the generation it was opened in) and how
        # to tell that its runtime has gone: a dead worker's requests may still be read
        # after reset(), and must not take the new environment's events.
        self._connections: dict[Peer, tuple[int, Callable[[], bool]]] = {}
        self._host = host
        self._server = RuntimeServer((host, port), RuntimeHandler)
        self._server.api = self
        # A short poll interval: close() waits for the loop to notice, once per sandbox.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="lambundle-rapi", daemon=True
        )

    @property
    def address(self) -> str:
        """`host:port`, the value of AWS_LAMBDA_RUNTIME_API."""
        return f"{self._host}:{self._server.server_port}"

    def start(self: _Self) -> _Self:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():  # shutdown() waits for a loop that never ran otherwise
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self: _Self) -> _Self:
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
            self._init_error = None
            self.first_next_at = None
            self._cond.notify_all()

    @property
    def state(self) -> str:
        return self._state

    @property
    def generation(self) -> int:
        """Counts environments: `reset()` starts a new one."""
        return self._generation

    def wait_polling(self, timeout: float | None, count: int = 1) -> bool:
        """Wait until `count` runtime workers are parked in `/next` (ready for events)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._polling >= count or self._closed, timeout
            )

    # -- the runtime side (called from handler threads) ----------------------------------

    @abc.abstractmethod
    def next_event(self, peer: Peer) -> Invocation:
        """GET /next: wait for an event for this runtime (worker)."""

    @abc.abstractmethod
    def check_answer(self, request_id: str, invocation_id: str | None) -> Invocation:
        """The in-flight invocation `request_id` names; raise the API's error otherwise."""

    @abc.abstractmethod
    def answer(self, invocation: Invocation, outcome: Outcome) -> bool:
        """Record `invocation`'s outcome; False if it is not in flight or has one."""

    @abc.abstractmethod
    def init_failed(self, outcome: Outcome) -> None:
        """POST /init/error: init failed, the runtime must exit."""

    def restore_next(self) -> None:
        """SnapStart's GET /runtime/restore/next, routed only when `snapstart` is set."""
        raise invalid_state()

    def restore_failed(self, outcome: Outcome) -> None:
        """SnapStart's POST /runtime/restore/error, routed only when `snapstart` is set."""
        raise invalid_state()

    def connection_opened(self, peer: Peer, gone: Callable[[], bool]) -> None:
        """A runtime connected from `peer`: it belongs to the current environment.

        `gone()` tells whether the runtime's end of the connection has closed.
        """
        with self._cond:
            self._connections[peer] = (self._generation, gone)

    def connection_closed(self, peer: Peer) -> None:
        """A runtime's connection ended."""
        with self._cond:
            self._connections.pop(peer, None)

    def _poller_generation(self, peer: Peer | None) -> int:
        """The current environment's generation, for a /next from `peer` (the lock held);
        raises environment_gone() when `peer`'s connection was opened in an older one.

        A worker of a killed environment may send /next just before it dies, and that
        request may be read only after reset() started the next environment: it must
        neither count as that one's runtime nor take its events.
        """
        known = None if peer is None else self._connections.get(peer)
        if known is not None and known[0] != self._generation:
            raise environment_gone()
        return self._generation

    def _park(self, generation: int, ready: Callable[[], bool], peer: Peer | None = None) -> None:
        """Wait in /next (the lock held) until `ready()`: counted as a poller meanwhile.

        The environment check comes first on every wake-up: a poller of a killed process
        may wake only after reset() and the next offer(), and must not take the new
        environment's event. Nor may a poller whose runtime has closed its connection
        (died): an event handed to it would wait for its timeout.
        """
        connection = None if peer is None else self._connections.get(peer)
        self._polling += 1
        self._cond.notify_all()
        try:
            while True:
                if self._closed or generation != self._generation:
                    raise environment_gone()
                if ready():
                    if connection is not None and connection[1]():
                        raise environment_gone()
                    break
                self._cond.wait()
        finally:
            if generation == self._generation:
                self._polling -= 1
                self._cond.notify_all()
