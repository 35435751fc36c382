"""SnapStart's lifecycle: on-demand, with a cold start that goes through the restore.

Init runs up to the runtime's GET /runtime/restore/next (its before-snapshot hooks ran),
then the environment is "restored" and its after-restore hooks run before the first
/next. No snapshot is taken: the same process goes on, and every cold start runs init
again.
"""

from __future__ import annotations

import collections
import dataclasses

from bundler.bundle.manifest import Manifest
from bundler.sandbox.layout import Layout
from bundler.sandbox.lifecycle import Settings
from bundler.sandbox.ondemand import HandOut, OnDemand
from bundler.sandbox.process import FunctionProcess
from bundler.sandbox.rapi_protocol import Invocation, Outcome, platform_error
from bundler.sandbox.rapi_single import RuntimeAPI
from bundler.sandbox.results import Timings

# SnapStart's init (made when a version is published) may take 130 s or the function's
# timeout, whichever is longer; loading the runtime and the after-restore hooks must finish
# within 10 s (snapstart-runtime-hooks-python.html).
SNAPSTART_INIT_TIMEOUT_S = 130.0
RESTORE_TIMEOUT_S = 10.0


class SnapStart(OnDemand):
    """On-demand invokes; a cold start is init, the (local) restore, then the invoke."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        layout: Layout,
        timings: collections.deque[Timings],
    ) -> None:
        super().__init__(settings, manifest, layout, timings, RuntimeAPI(snapstart=True))
        self._snapshot_split: int | None = None
        self._api.on_snapshot = self._mark_snapshot

    @classmethod
    def default_init_timeout(cls, timeout_s: float) -> float:
        return max(SNAPSTART_INIT_TIMEOUT_S, timeout_s)

    def _adjust_variables(self, env: dict[str, str]) -> None:
        # snapstart-monitoring.html: the log group and stream variables are not
        # available in SnapStart functions (one snapshot serves many streams).
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
        del env["AWS_LAMBDA_LOG_GROUP_NAME"], env["AWS_LAMBDA_LOG_STREAM_NAME"]

    def _cold_hand_out(self, invocation: Invocation) -> HandOut:
        """SnapStart's cold start: init up to /runtime/restore/next within the init cap,
        then the restore (answered by the API, the invocation being offered) up to the
        first /next within the restore cap.

        `overran` is the outcome to give the invoke if the restore overran its cap.
        """
        api = self._api
        if not api.wait_snapshot(self.settings.init_timeout_s):
            return HandOut(None)  # init overran its cap: the init timeout, as on-demand
        # Returns at once, with None, when init failed (a before-snapshot hook, an exit).
        handed = api.wait_handed(RESTORE_TIMEOUT_S)
        overran = platform_error(
            # What Invoke returns when the restore overruns (API_Invoke.html errors).
            "SnapStartTimeoutException",
            f"RequestId: {invocation.request_id} Error: the runtime and its after-restore "
            f"hooks did not finish within {RESTORE_TIMEOUT_S:.2f} seconds of the restore",
        )
        # Used only when the invocation has no outcome either (the restore hung).
        return HandOut(handed, overran=overran if handed is None else None)

    def _timings(
        self,
        cold: bool,
        started: float,
        outcome: Outcome,
        hand_out: HandOut,
        extract_s: float | None,
    ) -> Timings:
        timings = super()._timings(cold, started, outcome, hand_out, extract_s)
        if timings.spawned is None:  # warm: no init, no restore
            return timings
        return dataclasses.replace(
            timings, snapshot=self._api.snapshot_at, restored=self._api.restored_at
        )

    def _new_generation(self, old: FunctionProcess | None) -> int:
        generation = super()._new_generation(old)
        self._snapshot_split = None
        return generation

    def _snapshot_mark(self) -> int | None:
        return self._snapshot_split

    def _mark_snapshot(self) -> None:
        """Where the log stood at /runtime/restore/next: init output before, restore after."""
        self._snapshot_split = None if self._log is None else self._log.size()
