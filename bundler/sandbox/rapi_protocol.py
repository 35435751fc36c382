"""What the Lambda Runtime API (`2018-06-01`) exchanges: paths, headers and limits, the
event handed to the runtime (`Invocation`) and how it ended (`Outcome`), the API's errors,
and `RuntimeSide`, the calls its HTTP routes make on the server's state.

Status codes, headers and error bodies follow the Runtime API docs and AWS's open-source
RAPID (the Runtime Interface Emulator); see docs/reference §1.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from typing import Protocol

API_VERSION = "/2018-06-01"
# 6 MiB + 100 bytes: RAPID's interop.MaxPayloadSize for a buffered response.
MAX_RESPONSE_BYTES = 6_291_556
# Streamed responses may reach 200 MiB (configuration-response-streaming.html).
MAX_STREAM_BYTES = 200 * 1024 * 1024
# Lambda caps the error type header and bodies of /error and /init/error like responses.
MAX_ERROR_BYTES = MAX_RESPONSE_BYTES

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


class ApiError(Exception):
    """A request the Runtime API refuses: answered with `status` and an error body."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def environment_gone() -> ApiError:
    """A poller of an environment that was replaced or closed: it must exit."""
    message = "Container error. Non-recoverable state. Runtime should exit promptly."
    return ApiError(500, "Runtime.Unknown", message)


def invalid_state() -> ApiError:
    return ApiError(403, "InvalidStateTransition", "State transition is not allowed")


def invalid_id() -> ApiError:
    return ApiError(400, "InvalidRequestID", "Invalid request ID")


class RuntimeSide(Protocol):
    """What the HTTP routes call on the server's state, from their handler threads.

    Each call either does what the runtime asked or raises the `ApiError` to answer with.
    """

    # SnapStart's /runtime/restore/* routes exist only when this is true (as in RAPID).
    snapstart: bool
    first_next_at: float | None

    @property
    def state(self) -> str: ...

    def next_event(self, peer: Peer) -> Invocation:
        """GET /next: wait for an event for this runtime (worker)."""
        ...

    def check_answer(self, request_id: str, invocation_id: str | None) -> Invocation:
        """The in-flight invocation an answer names, before its body is read."""
        ...

    def answer(self, invocation: Invocation, outcome: Outcome) -> bool:
        """Record `invocation`'s outcome; False if it has one already."""
        ...

    def init_failed(self, outcome: Outcome) -> None:
        """POST /init/error."""
        ...

    def restore_next(self) -> None:
        """SnapStart's GET /runtime/restore/next: returns when the runtime is "restored"."""
        ...

    def restore_failed(self, outcome: Outcome) -> None:
        """SnapStart's POST /runtime/restore/error."""
        ...

    def connection_opened(self, peer: Peer, gone: Callable[[], bool]) -> None:
        """A runtime connected from `peer`; `gone()` tells whether it has closed its end."""
        ...

    def connection_closed(self, peer: Peer) -> None:
        """A runtime's connection ended."""
        ...
