"""What Lambda says about one invoke: the REPORT line of its log tail (text or JSON log
format), whether the log shows a failure of the platform or the runtime rather than the
handler, and the error of a function's payload. Read by `compare --aws`
(bundler.aws.compare) from Invoke responses with `LogType=Tail`
(https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html;
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html for
the INIT_REPORT/REPORT status fields).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re

_FIELD = re.compile(r"([A-Za-z][A-Za-z ]*?):\s*([0-9.]+)\s*(ms|MB)?")


@dataclasses.dataclass(frozen=True)
class InvokeReport:
    """The figures of one REPORT line (ms, MB); `init_ms` only on a cold start."""

    duration_ms: float
    billed_ms: float | None = None
    memory_mb: float | None = None
    max_memory_mb: float | None = None
    init_ms: float | None = None
    restore_ms: float | None = None

    @property
    def cold(self) -> bool:
        return self.init_ms is not None


def decode_logs(log_result: str | None) -> str:
    """The text of an Invoke response's LogResult (base64 of the log's last 4 KB)."""
    if not log_result:
        return ""
    try:
        return base64.b64decode(log_result).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""


_TEXT_FIELDS = {
    "Duration": "duration_ms",
    "Billed Duration": "billed_ms",
    "Memory Size": "memory_mb",
    "Max Memory Used": "max_memory_mb",
    "Init Duration": "init_ms",
    "Restore Duration": "restore_ms",
}
_JSON_FIELDS = {
    "durationMs": "duration_ms",
    "billedDurationMs": "billed_ms",
    "memorySizeMB": "memory_mb",
    "maxMemoryUsedMB": "max_memory_mb",
    "initDurationMs": "init_ms",
    "restoreDurationMs": "restore_ms",
}


def parse_report(logs: str) -> InvokeReport | None:
    """The last REPORT of a log tail, in Lambda's text or JSON log format; None without one.

    Text: `REPORT RequestId: ...<TAB>Duration: 2.31 ms<TAB>...<TAB>Init Duration: 130.49 ms`
    (an XRAY line may follow). JSON (LogFormat JSON): a `platform.report` record whose
    `metrics` hold `durationMs`, `initDurationMs`, ... Unknown fields are ignored.
    """
    for line in reversed(logs.splitlines()):
        stripped = line.strip()
        if stripped.startswith("REPORT "):
            found: dict[str, float] = {}
            for name, value, _unit in _FIELD.findall(stripped):
                key = _TEXT_FIELDS.get(name.strip())
                if key is not None:
                    found[key] = float(value)
        elif stripped.startswith("{") and "platform.report" in stripped:
            try:
                record = json.loads(stripped).get("record") or {}
                metrics = record.get("metrics") or {}
            except (ValueError, AttributeError):
                continue
            found = {
                key: float(metrics[name])
                for name, key in _JSON_FIELDS.items()
                if isinstance(metrics.get(name), int | float)
            }
        else:
            continue
        if "duration_ms" in found:
            return InvokeReport(**found)
    return None


# errorType prefixes of failures of the platform or the runtime, not the handler; the same
# ones the local sandbox drops a variant for (bundler.measure.runner._check).
PLATFORM_ERRORS = ("Runtime.", "Sandbox.")
_STATUS = re.compile(r"\bStatus:\s*(\w+)")
_ERROR_TYPE = re.compile(r"\bError Type:\s*(\S+)")


def platform_failure(logs: str) -> str | None:
    """What a log tail says failed before or around the handler; None when nothing did.

    An INIT_REPORT (text) or platform.initReport/initRuntimeDone (JSON) record with a
    status other than success is an init failure; a REPORT/platform.report with a timeout
    or failure status, or a `Runtime.*`/`Sandbox.*` error type, a platform failure. A
    handler's own exception sets neither.
    """
    for line in logs.splitlines():
        stripped = line.strip()
        if stripped.startswith(("INIT_REPORT ", "REPORT ")):
            phase = "init" if stripped.startswith("INIT_REPORT") else "invoke"
            status = _STATUS.search(stripped)
            kind = _ERROR_TYPE.search(stripped)
            found = _failure(phase, status.group(1) if status else "",
                             kind.group(1) if kind else "")  # fmt: skip
        elif stripped.startswith("{") and '"platform.' in stripped:
            try:
                parsed = json.loads(stripped)
                record = parsed.get("record") or {}
                what = str(parsed.get("type", ""))
            except (ValueError, AttributeError):
                continue
            if not isinstance(record, dict):
                continue
            if what in ("platform.initReport", "platform.initRuntimeDone"):
                phase = "init"
            elif what == "platform.report":
                phase = "invoke"
            else:
                continue
            found = _failure(phase, str(record.get("status") or ""),
                             str(record.get("errorType") or ""))  # fmt: skip
        else:
            continue
        if found:
            return found
    return None


def _failure(phase: str, status: str, kind: str) -> str | None:
    """`init error (Runtime.ExitError)`-like text when a status record shows a failure."""
    status = status.lower()
    failed = (
        kind.startswith(PLATFORM_ERRORS)
        or (phase == "init" and status not in ("", "success"))
        or status in ("timeout", "failure")
    )
    if not failed:
        return None
    described = f"{phase} {status or 'error'}"
    return f"{described} ({kind})" if kind else described


def error_kind(payload: bytes) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        return ""
    return str(body.get("errorType") or "") if isinstance(body, dict) else ""


def error_summary(payload: bytes) -> str:
    """`errorType: errorMessage` of a function error's payload (or the payload itself)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")[:300] or "(no payload)"
    if not isinstance(body, dict):
        return str(body)[:300]
    kind = str(body.get("errorType") or "error")
    return f"{kind}: {str(body.get('errorMessage') or '')[:300]}".rstrip(": ")
