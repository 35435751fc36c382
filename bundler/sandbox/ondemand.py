"""Lambda's on-demand lifecycle: one invoke at a time in one environment.

The first invoke is a cold start; a process that dies, reports an init error or times
out is gone and the next invoke starts a new one. Init is capped at 10 s; past it Lambda
retries the init as part of the first invoke.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import subprocess
import time
from collections.abc import Callable

from bundler.bundle.manifest import Manifest
from bundler.sandbox.layout import Layout
from bundler.sandbox.lifecycle import EntrypointError, Lifecycle, Settings
from bundler.sandbox.process import OOM_KILLED
from bundler.sandbox.rapi_protocol import Invocation, Outcome, platform_error
from bundler.sandbox.rapi_single import RuntimeAPI
from bundler.sandbox.results import MIB, InvokeResult, Timings

# On-demand init may take 10 s before Lambda gives up on it (lambda-runtime-environment.html).
INIT_TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True)
class HandOut:
    """How the offered event reached the runtime, or did not.

    `handed`: when the runtime took it (None if it did not). On a cold start also:
    `retried_at`, when a timed-out init was retried (and `before_start`, what the
    abandoned environment logged), or SnapStart's `overran`, the outcome to give the
    invoke if the restore overran its cap.
    """

    handed: float | None
    retried_at: float | None = None
    before_start: str = ""
    overran: Outcome | None = None


class OnDemand(Lifecycle[RuntimeAPI]):
    """Invokes run one at a time (callers from several threads wait their turn)."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        layout: Layout,
        timings: collections.deque[Timings],
        api: RuntimeAPI | None = None,
    ) -> None:
        super().__init__(settings, manifest, layout, timings, api or RuntimeAPI())
        self._log_split: int | None = None
        self._api.on_hand_out = self._mark_hand_out

    @classmethod
    def default_init_timeout(cls, timeout_s: float) -> float:
        return INIT_TIMEOUT_S

    def invoke(self, invocation: Invocation) -> InvokeResult:
        with self._lock:
            return self._invoke(invocation)

    def _invoke(self, invocation: Invocation) -> InvokeResult:
        api = self._api
        started = time.monotonic()
        cold = not self.running
        extract_s = None
        # Cleared before the offer: a runtime already waiting (SnapStart's restore/next)
        # takes the event at once and marks the split before this thread goes on.
        self._log_split = None
        if not cold and not api.offer(invocation):
            # The environment ended after `running` was read (its exit was reported
            # since): as on Lambda, the invoke goes to a fresh environment.
            cold = True
        if cold:
            failed, extract_s = self._start_environment(invocation, started)
            if failed is not None:
                return failed
            # Should the fresh one have ended already, the invoke fails with its end.
            api.offer(invocation)
        if cold:
            hand_out = self._cold_hand_out(invocation)
        else:
            hand_out = HandOut(api.wait_handed(self.settings.timeout_s))
        retried = hand_out.retried_at is not None
        log_split = self._log_split
        if retried:
            assert self._log is not None  # the retried init's environment
            log_split = self._log.offset
        outcome, peak = self._outcome(invocation, cold, hand_out)
        timings = self._timings(cold, started, outcome, hand_out, extract_s)
        split = log_split if hand_out.handed or retried else None
        return self._finish(invocation, outcome, timings, peak, split, hand_out.before_start)

    def _cold_hand_out(self, invocation: Invocation) -> HandOut:
        """Wait for a new environment's runtime to take the event, within init's cap."""
        api = self._api
        handed = api.wait_handed(self.settings.init_timeout_s)
        if handed is None and self.running and api.wait_outcome(0) is None:
            # On-demand init is capped (10 s); past it Lambda retries the init as part of
            # this first invoke, the two together within the function's timeout
            # (lambda-runtime-environment.html, "Init phase").
            before_start, retried_at = self._retry_init(invocation)
            handed = api.wait_handed(
                max(0.0, retried_at + self.settings.timeout_s - time.monotonic())
            )
            return HandOut(handed, retried_at=retried_at, before_start=before_start)
        return HandOut(handed)

    def _retry_init(self, invocation: Invocation) -> tuple[str, float]:
        """Init ran past its cap: end that environment with Lambda's INIT_REPORT line, start
        a new one and offer it the same event. (What was logged before START, when.)"""
        assert self._spawned_at is not None
        now = time.monotonic()
        logs = self._take_logs()
        report = (
            f"INIT_REPORT Init Duration: {(now - self._spawned_at) * 1000:.2f} ms\t"
            "Phase: init\tStatus: timeout\n"
        )
        try:
            self._spawn()  # kills the old process first; its exit belongs to the old generation
        except EntrypointError as exc:
            # The entry point went bad since the first start: the retried init fails as
            # any start does (Runtime.InvalidEntrypoint), not with a traceback.
            self._api.offer(invocation)
            self._api.fail(platform_error(
                "Runtime.InvalidEntrypoint", f"RequestId: {invocation.request_id} Error: {exc}"
            ))  # fmt: skip
            return logs + report, now
        self._log_split = None
        self._api.offer(invocation)
        return logs + report, now

    def _outcome(
        self, invocation: Invocation, cold: bool, hand_out: HandOut
    ) -> tuple[Outcome, int | None]:
        """Wait for the invocation's outcome within its cap, and end the environment where
        Lambda ends it (timeout, OOM kill, init or platform error): (outcome, peak RSS)."""
        api, s = self._api, self.settings
        rid = invocation.request_id
        handed, retried_at = hand_out.handed, hand_out.retried_at
        if handed is None:
            outcome = api.wait_outcome(0)
            limit = s.init_timeout_s if cold and retried_at is None else s.timeout_s
        else:
            began = handed if retried_at is None else retried_at
            outcome = api.wait_outcome(max(0.0, began + s.timeout_s - time.monotonic()))
            limit = s.timeout_s
        peak = self._peak_rss()
        if outcome is None:
            return self._timed_out(rid, limit, hand_out.overran), peak
        if peak is not None and peak > s.memory_mb * MIB and self._process is not None:
            # Over its memory size, Lambda's OOM killer ends the process mid-invoke. The
            # peak (VmHWM) is only known afterwards here: report what Lambda would have,
            # drop what the handler returned, and reset the environment.
            self.stop()
            killed = platform_error("Runtime.ExitError", f"RequestId: {rid} Error: {OOM_KILLED}")
            return killed, peak
        if outcome.kind in ("init_error", "restore_error", "platform") and self._process:
            # The runtime must exit after an init error, and a platform error (oversized
            # or malformed response, exit) ends the environment: give the process the
            # chance to finish, so its last log lines are in, then reset as Lambda does.
            # The next invoke is a cold start instead of racing a dying process.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=2)
            self.stop()
        return outcome, peak

    def _timings(
        self,
        cold: bool,
        started: float,
        outcome: Outcome,
        hand_out: HandOut,
        extract_s: float | None,
    ) -> Timings:
        handed, retried_at = hand_out.handed, hand_out.retried_at
        # A retried init is part of the invoke: in its Duration, with no Init Duration.
        timed_init = cold and retried_at is None
        return Timings(
            cold=cold,
            started=started,
            finished=outcome.at,
            spawned=self._spawned_at if timed_init else None,
            first_next=self._api.first_next_at if timed_init else None,
            handed=handed if retried_at is None or handed is None else retried_at,
            extract_s=extract_s,
        )

    def _timed_out(self, request_id: str, limit: float, outcome: Outcome | None = None) -> Outcome:
        # The outcome first: the kill below must not be reported as the runtime's exit.
        self._api.fail(
            outcome or platform_error(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {limit:.2f} seconds",
            )
        )
        self.stop()
        outcome = self._api.wait_outcome(0)
        assert outcome is not None
        return outcome

    def _fail_held(self, outcome_for: Callable[[str], Outcome], generation: int) -> None:
        self._api.end(outcome_for, generation)

    def _mark_hand_out(self) -> None:
        """Where the log stood when the event went out: init output before, invoke after."""
        self._log_split = None if self._log is None else self._log.size()
