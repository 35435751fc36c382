"""The Runtime API's routes: which request does what on the server's state (`RuntimeSide`).

GET `/next` (and SnapStart's `/runtime/restore/next`), POST an invocation's `/response`
(buffered or streamed) or `/error`, `/init/error` and SnapStart's `/runtime/restore/error`.
SnapStart's routes are registered only for a SnapStart server, as RAPID does; otherwise
they are unknown routes, 404.
"""

from __future__ import annotations

import base64
import json
import socket
import time

from bundler.sandbox.rapi_http import BodyTooLarge, HTTPHandlerBase, MalformedRequest
from bundler.sandbox.rapi_protocol import (
    API_VERSION,
    BEFORE_SNAPSHOT_ERROR,
    HEADER_ARN,
    HEADER_CLIENT_CONTEXT,
    HEADER_COGNITO,
    HEADER_DEADLINE,
    HEADER_ERROR_BODY,
    HEADER_ERROR_TYPE,
    HEADER_INVOCATION_ID,
    HEADER_REQUEST_ID,
    HEADER_RESPONSE_MODE,
    HEADER_TENANT,
    HEADER_TRACE,
    MAX_ERROR_BYTES,
    MAX_RESPONSE_BYTES,
    MAX_STREAM_BYTES,
    ApiError,
    Invocation,
    Outcome,
    RuntimeSide,
    error_payload,
    invalid_id,
    invalid_state,
    platform_error,
)


class RuntimeHandler(HTTPHandlerBase):
    """One runtime connection's requests, answered as Lambda's Runtime API answers them."""

    def handle(self) -> None:
        self._api().connection_opened(self.client_address, self._closed_by_runtime)
        try:
            super().handle()
        finally:
            self._api().connection_closed(self.client_address)

    def _api(self) -> RuntimeSide:
        return self.server.api

    def _closed_by_runtime(self) -> bool:
        """Whether the runtime has closed its end (it died, most likely): the end of the
        stream waits to be read. A runtime waiting in /next never closes only its sending
        side, so this is not a half-close."""
        try:
            waiting: bytes = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return waiting == b""

    # -- GET -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/ping":  # RIE keeps it "for Hyrum's law"
            self._send(200, b"pong", content_type="text/plain")
            return
        if self.path == f"{API_VERSION}/runtime/restore/next" and self._api().snapstart:
            try:
                self._api().restore_next()
            except ApiError as err:
                self._send_error(err)
                return
            self._send(200, b"", content_type="")
            return
        if self.path != f"{API_VERSION}/runtime/invocation/next":
            self._not_found()
            return
        try:
            inv = self._api().next_event(self.client_address)
        except ApiError as err:
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

    # -- POST ----------------------------------------------------------------------------

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
        except ApiError as err:
            self.close_connection = True  # the body may be unread
            self._send_error(err)
        except MalformedRequest:
            self._bad_request()
        except ConnectionError:
            self.close_connection = True

    def _invocation_id(self) -> str | None:
        return self.headers.get(HEADER_INVOCATION_ID)

    def _post_response(self, request_id: str) -> None:
        api = self._api()
        inv = api.check_answer(request_id, self._invocation_id())
        mode = self.headers.get(HEADER_RESPONSE_MODE)
        content_type = self.headers.get("Content-Type", "application/json")
        if mode is not None and mode != "streaming":
            api.answer(
                inv,
                platform_error(
                    "Runtime.InvalidResponseModeHeader",
                    f"Invalid response mode {mode!r}: only 'streaming' is supported.",
                ),
            )
            raise ApiError(
                400, "InvalidFunctionResponseMode", f"Invalid function response mode: {mode}"
            )
        if mode is not None:
            self._post_stream(inv, content_type)
            return
        try:
            body = self._read_body(MAX_RESPONSE_BYTES)
        except BodyTooLarge:
            api.answer(inv, _too_large(MAX_RESPONSE_BYTES))
            raise _entity_too_large(MAX_RESPONSE_BYTES) from None
        if api.answer(inv, Outcome("response", body, content_type)):
            self._accepted()
        else:
            raise invalid_id()

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
        except BodyTooLarge:
            api.answer(inv, _too_large(MAX_STREAM_BYTES))
            raise _entity_too_large(MAX_STREAM_BYTES) from None
        except (ConnectionError, MalformedRequest):
            api.answer(
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
        if not api.answer(inv, outcome):
            raise invalid_id()
        self._accepted()

    def _error_outcome(self, kind: str, header_type_wins: bool = False) -> Outcome:
        """The error a runtime posted; `header_type_wins`: the error type header names the
        failure (SnapStart's hook errors) and the body only says what the hook raised."""
        error_type = self.headers.get(HEADER_ERROR_TYPE, "")
        try:
            body = self._read_body(MAX_ERROR_BYTES)
        except BodyTooLarge:
            raise _entity_too_large(MAX_ERROR_BYTES) from None
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
        inv = api.check_answer(request_id, self._invocation_id())
        if not api.answer(inv, self._error_outcome("error")):
            raise invalid_id()
        self._accepted()

    def _post_init_error(self) -> None:
        api = self._api()
        if api.state != "init" or api.first_next_at is not None:
            raise invalid_state()
        # A failing before-snapshot hook is an init error named by its header (reference
        # §3.12); the body's errorType is only the exception's class.
        snap_error = api.snapstart and (
            self.headers.get(HEADER_ERROR_TYPE) == BEFORE_SNAPSHOT_ERROR
        )
        api.init_failed(self._error_outcome("init_error", header_type_wins=snap_error))
        self._accepted()

    def _post_restore_error(self) -> None:
        api = self._api()
        if api.state != "restoring":
            raise invalid_state()
        api.restore_failed(self._error_outcome("restore_error", header_type_wins=True))
        self._accepted()


def _too_large(limit: int) -> Outcome:
    """The invocation's outcome when its response is over `limit` bytes."""
    return platform_error(
        "Function.ResponseSizeTooLarge",
        f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
    )


def _entity_too_large(limit: int) -> ApiError:
    """The answer to a request whose body is over `limit` bytes."""
    return ApiError(
        413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes)."
    )
