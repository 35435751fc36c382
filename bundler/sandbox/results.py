"""What an invoke returns: its timings, its result, and the log lines Lambda adds around a
function's own output (START, END, REPORT).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from bundler.sandbox.rapi_protocol import Invocation, Outcome

MIB = 1_048_576


@dataclasses.dataclass(frozen=True)
class Timings:
    """Monotonic timestamps (`time.monotonic()`) of one invoke, and the spans between.

    `spawned` and `first_next` are set on a cold start only; `extract_s` on the first
    cold start of a sandbox (the layout is made once per sandbox). `snapshot` and
    `restored` on a SnapStart cold start only: when the runtime asked
    /runtime/restore/next (init ends) and when the sandbox answered it (restore begins).
    """

    cold: bool
    started: float
    finished: float
    spawned: float | None = None
    first_next: float | None = None
    handed: float | None = None
    extract_s: float | None = None
    snapshot: float | None = None
    restored: float | None = None

    @property
    def init_s(self) -> float | None:
        """Lambda's Init Duration: spawn to the first `/next`, or with SnapStart to the
        runtime's /runtime/restore/next (INIT_REPORT's figure)."""
        if self.spawned is None:
            return None
        end = self.snapshot if self.snapshot is not None else self.first_next
        return None if end is None else end - self.spawned

    @property
    def restore_s(self) -> float | None:
        """SnapStart's Restore Duration: /runtime/restore/next answered to the first `/next`
        (after-restore hooks included; no snapshot is restored here)."""
        if self.restored is None or self.first_next is None:
            return None
        return self.first_next - self.restored

    @property
    def invoke_s(self) -> float | None:
        """Event handed to the runtime to its answer: Lambda's Duration."""
        return None if self.handed is None else self.finished - self.handed

    @property
    def total_s(self) -> float:
        """The caller's view: invoke called to result (init included when cold)."""
        return self.finished - self.started


@dataclasses.dataclass(frozen=True)
class InvokeResult:
    request_id: str
    payload: bytes
    content_type: str
    function_error: str | None  # "Unhandled", as in X-Amz-Function-Error, or None
    logs: str
    timings: Timings
    init_error: bool = False
    streamed: bool = False
    chunks: tuple[bytes, ...] = ()
    stream_error: tuple[str, bytes] | None = None
    peak_rss: int | None = None  # bytes, the function's process tree

    @property
    def restore_s(self) -> float | None:
        """SnapStart's Restore Duration of this cold start (None otherwise)."""
        return self.timings.restore_s

    @property
    def error(self) -> dict[str, Any] | None:
        """The parsed error ({"errorType", "errorMessage", ...}), or None on success."""
        if self.function_error is None:
            return None
        if self.stream_error is not None:
            error_type, body = self.stream_error
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed
            return {"errorType": error_type, "errorMessage": body.decode("utf-8", "replace")}
        try:
            parsed = json.loads(self.payload)
        except ValueError:
            return {"errorType": "Runtime.Unknown", "errorMessage": self.payload.decode(
                "utf-8", "replace")}
        return parsed if isinstance(parsed, dict) else None

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)


def invoke_result(
    invocation: Invocation,
    outcome: Outcome,
    timings: Timings,
    *,
    peak: int | None,
    memory_mb: int,
    init_logs: str,
    invoke_logs: str,
) -> InvokeResult:
    """The result of `invocation`, its logs framed as Lambda's: init output, START, invoke
    output, END, REPORT."""
    rid = invocation.request_id
    text = (
        f"{init_logs}START RequestId: {rid} Version: $LATEST\n{invoke_logs}"
        f"END RequestId: {rid}\n{report_line(rid, timings, peak, memory_mb)}\n"
    )
    return InvokeResult(
        request_id=rid,
        payload=outcome.payload,
        content_type=outcome.content_type,
        function_error="Unhandled" if outcome.function_error else None,
        logs=text,
        timings=timings,
        init_error=outcome.kind == "init_error",
        streamed=outcome.streamed,
        chunks=outcome.chunks,
        stream_error=outcome.stream_error,
        peak_rss=peak,
    )


def report_line(request_id: str, timings: Timings, peak: int | None, memory_mb: int) -> str:
    """Lambda's REPORT line for one invoke (without its newline)."""
    duration_ms = (timings.invoke_s or 0.0) * 1000
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {math.ceil((peak or 0) / MIB)} MB\t"
    )
    if timings.snapshot is not None:
        # https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html:
        # a SnapStart cold start's REPORT has Restore Duration
        # and Billed Restore Duration, not Init Duration. Lambda bills the restore minus
        # the snapshot's own restoration; with no snapshot here, the two are the same.
        if timings.restore_s is not None:
            restore_ms = timings.restore_s * 1000
            report += (
                f"Restore Duration: {restore_ms:.2f} ms\t"
                f"Billed Restore Duration: {math.ceil(restore_ms)} ms\t"
            )
    elif timings.init_s is not None:
        report += f"Init Duration: {timings.init_s * 1000:.2f} ms\t"
    return report
