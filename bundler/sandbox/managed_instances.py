"""The lifecycle of a Lambda Managed Instances environment (AWS_LAMBDA_MAX_CONCURRENCY=N).

Up to N invokes run at once, one per runtime worker, each with its own timeout; a timeout
or a crashed worker ends only its own invoke (lambda-managed-instances-execution-
environment.html).
"""

from __future__ import annotations

import collections
import contextlib
import subprocess
import time
from collections.abc import Callable, Mapping

from bundler.bundle.manifest import Manifest
from bundler.core.errors import ThrottledError, UsageError
from bundler.sandbox.layout import Layout
from bundler.sandbox.lifecycle import Lifecycle, Settings
from bundler.sandbox.logs import split_concurrent_logs
from bundler.sandbox.process import OOM_KILLED, FunctionProcess, exit_reason
from bundler.sandbox.procfs import socket_holder, wait_exit
from bundler.sandbox.rapi_concurrent import ConcurrentRuntimeAPI
from bundler.sandbox.rapi_protocol import Invocation, Outcome, Peer, platform_error
from bundler.sandbox.results import MIB, InvokeResult, Timings

# Managed Instances' init has the same cap as SnapStart's, with no retry: 130 s or the
# function's timeout, whichever is longer (lambda-managed-instances-execution-
# environment.html, "Init phase").
LMI_INIT_TIMEOUT_S = 130.0
# How long a worker whose connection closed may take to be seen dead before it counts as
# alive (a runtime may close its connection and answer on a new one).
_WORKER_EXIT_WAIT_S = 2.0


def max_concurrency(configured: Mapping[str, str]) -> int:
    """AWS_LAMBDA_MAX_CONCURRENCY of the function's variables; 0 when it is not set."""
    raw = configured.get("AWS_LAMBDA_MAX_CONCURRENCY")
    if raw is None:
        return 0
    if not raw.isdigit() or int(raw) < 1:
        msg = f"AWS_LAMBDA_MAX_CONCURRENCY={raw!r} must be a whole number >= 1."
        raise UsageError(msg)
    return int(raw)


class ManagedInstances(Lifecycle[ConcurrentRuntimeAPI]):
    """Up to `workers` invokes at once in one environment; only starting and ending the
    environment is serialised."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        layout: Layout,
        timings: collections.deque[Timings],
        workers: int,
    ) -> None:
        super().__init__(settings, manifest, layout, timings, ConcurrentRuntimeAPI(workers))
        self.workers = workers
        self._api.identify_peer = self._identify_peer
        self._api.log_position = self._log_size
        self._api.on_connection_lost = self._worker_lost

    @classmethod
    def default_init_timeout(cls, timeout_s: float) -> float:
        return max(LMI_INIT_TIMEOUT_S, timeout_s)

    def _adjust_variables(self, env: dict[str, str]) -> None:
        # What Lambda sets on Managed Instances (reference §1.10, §2.1).
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"

    def wait_in_flight(self, count: int, timeout: float | None) -> bool:
        """Wait until `count` invokes are held by runtime workers."""
        return self._api.wait_in_flight(count, timeout)

    def invoke(self, invocation: Invocation) -> InvokeResult:
        """One invoke among up to AWS_LAMBDA_MAX_CONCURRENCY at once in one environment.

        Each invoke has its own request id, deadline, timeout and result; a timeout or a
        crashed worker ends only the invoke it concerns. Raises ThrottledError when every
        worker stays busy for the function's timeout.
        """
        api = self._api
        started = time.monotonic()
        rid = invocation.request_id
        extract_s = None
        with self._lock:
            # Offered under the lock: a new environment cannot replace this one between.
            cold = not self.running
            if not cold and not api.offer(invocation):
                # The environment ended after `running` was read (its exit was reported
                # since): as on Lambda, the invoke goes to a fresh environment.
                api.forget(invocation)
                cold = True
            if cold:
                failed, extract_s = self._start_environment(invocation, started)
                if failed is not None:
                    return failed
                # Should the fresh one have ended already, the invoke fails with its end.
                api.offer(invocation)
            generation = api.generation
            spawned_at = self._spawned_at
            log_path = None if self._log is None else self._log.path
        handed, outcome = self._wait_for_worker(invocation, generation)
        if outcome is None:
            assert handed is not None
            outcome = self._wait_for_answer(invocation, handed)
        peak = self._peak_rss()
        if peak is not None and peak > self.settings.memory_mb * MIB and outcome.kind != "platform":
            # Over the memory size the OOM killer ends the environment (every worker).
            outcome = platform_error("Runtime.ExitError", f"RequestId: {rid} Error: {OOM_KILLED}")
            self._end_environment(generation)
        elif outcome.kind == "init_error":
            # The workers must exit after an init error; let them, then reset as Lambda does.
            self._end_environment(generation, grace_s=2.0)
        mark = api.flight(invocation).log_mark
        api.forget(invocation)
        timings = Timings(
            cold=cold,
            started=started,
            finished=outcome.at,
            spawned=spawned_at if cold else None,
            first_next=api.first_next_at if cold else None,
            handed=handed,
            extract_s=extract_s,
        )
        init_logs, invoke_logs = split_concurrent_logs(
            log_path, rid, mark if handed else None, cold
        )
        return self._result(invocation, outcome, timings, peak, init_logs, invoke_logs)

    def _wait_for_worker(
        self, invocation: Invocation, generation: int
    ) -> tuple[float | None, Outcome | None]:
        """Wait until a worker takes `invocation`: (when, or None; its outcome if it has
        one already). Raises ThrottledError when no worker becomes free in time."""
        api = self._api
        initialising = api.first_next_at is None
        # Lambda rejects an invoke when every worker is busy (back-pressure); one local
        # environment cannot send it elsewhere, so it waits for a free worker instead,
        # for as long as the function may run (or init may take), then is throttled.
        wait_s = self.settings.init_timeout_s if initialising else invocation.timeout_s
        handed = api.wait_handed_for(invocation, wait_s)
        outcome = api.flight(invocation).outcome
        if handed is not None or outcome is not None:
            return handed, outcome
        if api.first_next_at is None:
            # Init never finished: no worker polled within the init timeout.
            def init_timed_out(request_id: str) -> Outcome:
                return platform_error(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after "
                    f"{self.settings.init_timeout_s:.2f} seconds",
                )

            self._end_environment(generation, init_timed_out)
            # Unless the environment's end was reported first (then that outcome).
            return None, api.finish(invocation, init_timed_out(invocation.request_id))
        if api.withdraw(invocation):
            msg = (
                f"Rate Exceeded: all {self.workers} runtime workers of "
                f"{self.settings.bundle_dir} stayed busy for {wait_s:.2f} s "
                "(AWS_LAMBDA_MAX_CONCURRENCY); Lambda throttles such an invoke. "
                "Retry, or raise AWS_LAMBDA_MAX_CONCURRENCY."
            )
            raise ThrottledError(msg)
        # A worker took it, or it got an outcome (the environment ended), just now. Neither
        # goes back to None, so a None hand-out read first means there is an outcome.
        flight = api.flight(invocation)
        return flight.handed_at, flight.outcome

    def _wait_for_answer(self, invocation: Invocation, handed: float) -> Outcome:
        """The invocation's outcome, or its timeout counted from the hand-out."""
        timeout_s = invocation.timeout_s
        outcome = self._api.wait_outcome_for(
            invocation, max(0.0, handed + timeout_s - time.monotonic())
        )
        if outcome is not None:
            return outcome
        # The worker is not stopped: Managed Instances do not enforce timeouts,
        # the handler runs on and its late answer gets 410.
        return self._api.finish(
            invocation,
            platform_error(
                "Sandbox.Timedout",
                f"RequestId: {invocation.request_id} Error: Task timed out after "
                f"{timeout_s:.2f} seconds",
            ),
            timed_out=True,
        )

    def _end_environment(
        self,
        generation: int,
        outcome_for: Callable[[str], Outcome] | None = None,
        grace_s: float = 0.0,
    ) -> None:
        """Fail what the environment `generation` holds and kill it, if it is current."""
        with self._lock:
            if self._api.generation == generation and self._process is not None:
                if outcome_for is not None:
                    # The outcomes first: the kill must not be reported as an exit.
                    self._api.fail_all(outcome_for, generation)
                if grace_s:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._process.wait(timeout=grace_s)
                self.stop()

    def _new_generation(self, old: FunctionProcess | None) -> int:
        if old is not None:
            # Invokes the old environment still held fail before the API forgets them; its
            # watcher thread may not have run yet.
            self._report_exit(old.wait(), self._api.generation, self._log)
        return super()._new_generation(old)

    def _fail_held(self, outcome_for: Callable[[str], Outcome], generation: int) -> None:
        self._api.fail_all(outcome_for, generation)

    def _log_size(self) -> int | None:
        return None if self._log is None else self._log.size()

    def _identify_peer(self, peer: Peer) -> int | None:
        """The pid of the function's process that holds the connection from `peer`."""
        process = self._process
        if process is None:
            return None
        host, _, port = self._api.address.rpartition(":")
        return socket_holder(peer, (host, int(port)), process.pid, isolated=self.layout.isolated)

    def _worker_lost(self, pid: int, held: list[Invocation]) -> None:
        """A connection holding `held` closed: if its worker died, they fail with it."""
        exited, status = wait_exit(pid, _WORKER_EXIT_WAIT_S)
        if not exited or self._closed:
            return
        if status is None:
            reason = "Runtime exited with error: a runtime worker exited"
        else:
            reason = exit_reason(status, via_bwrap=False)
        for invocation in held:
            self._api.finish(
                invocation,
                platform_error(
                    "Runtime.ExitError", f"RequestId: {invocation.request_id} Error: {reason}"
                ),
            )
