"""`lambundle serve`: the invoke endpoint of AWS's Runtime Interface Emulator.

`POST /2015-03-31/functions/function/invocations` with the event as body answers with the
function's payload, and `X-Amz-Function-Error: Unhandled` when it failed, so the curl
that works against the RIE (and Lambda's Invoke API) works here. Invocations run one at a
time in one sandbox: warm after the first, cold again after a timeout or a crash. With
AWS_LAMBDA_MAX_CONCURRENCY=N (Lambda Managed Instances) up to N requests run at once, each
on its own request thread; one that finds every worker busy for the function's timeout
is answered 429 TooManyRequestsException, as Lambda answers a throttled invoke.

Bodies are read by Content-Length or chunked; a request whose framing cannot be read is
answered 400 as the RIE (Go's net/http) answers it, an event over Lambda's 6 MB
synchronous limit 413 RequestTooLargeException as the Invoke API answers it. Every request
gets an answer: a failure of the sandbox itself is a 500 ServiceException, never a closed
connection.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bundler.core.errors import RequestTooLargeError, SandboxError, ThrottledError
from bundler.sandbox.rapi_http import (
    BAD_REQUEST_BODY,
    BodyTooLarge,
    MalformedRequest,
    read_body,
)
from bundler.sandbox.results import InvokeResult
from bundler.sandbox.sandbox import MAX_REQUEST_BYTES, Sandbox

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox
    on_result: Callable[[InvokeResult], None] | None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A caller that hangs up (curl interrupted) is not the server's failure.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # results are reported through on_result, not as access logs

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if not _INVOKE_PATH.match(self.path.split("?", 1)[0]):
            self.close_connection = True
            self._send(404, b"404 page not found\n", {"Content-Type": "text/plain"})
            return
        try:
            body = read_body(self.rfile, self.headers, MAX_REQUEST_BYTES)
        except MalformedRequest:
            self.close_connection = True
            self._send(400, BAD_REQUEST_BODY, {"Content-Type": "text/plain; charset=utf-8",
                                              "Connection": "close"})  # fmt: skip
            return
        except BodyTooLarge:
            self.close_connection = True
            self._too_large()
            return
        except ConnectionError:
            self.close_connection = True  # the caller went away mid-body
            return
        try:
            client_context = self._client_context()
        except (binascii.Error, UnicodeDecodeError):
            self._send(
                400,
                json.dumps({"errorType": "InvalidRequestContentException",
                            "errorMessage": "X-Amz-Client-Context is not base64"}).encode(),
                {"Content-Type": "application/json"},
            )
            return
        streaming = _Relay(self)
        try:
            self._invoke(body or b"{}", client_context, streaming)
        except Exception as exc:  # a bug of the sandbox's: answered, never a dropped request
            if streaming.started:
                streaming.end()
                return
            self._send(
                500,
                json.dumps({"Type": "Service", "message": f"{type(exc).__name__}: {exc}"}).encode(),
                {"Content-Type": "application/json", "X-Amzn-ErrorType": "ServiceException"},
            )

    def _invoke(self, body: bytes, client_context: str | None, streaming: _Relay) -> None:
        try:
            # Like the RIE, events are JSON whatever curl labels them (-d sends a form type).
            result = self.server.sandbox.invoke(
                body, client_context=client_context,
                on_stream_start=streaming.start, on_chunk=streaming.chunk,
            )
        except ThrottledError:
            self._send(
                429,
                json.dumps({"Type": "User", "message": "Rate Exceeded."}).encode(),
                {"Content-Type": "application/json",
                 "X-Amzn-ErrorType": "TooManyRequestsException"},
            )
            return
        except RequestTooLargeError:
            self._too_large()
            return
        except SandboxError as exc:
            if streaming.started:
                streaming.end()
                return
            self._send(
                500,
                json.dumps({"errorType": "Sandbox.Failure", "errorMessage": str(exc)}).encode(),
                {"Content-Type": "application/json"},
            )
            return
        self._answer(result, streaming)

    def _too_large(self) -> None:
        """What the Invoke API answers an event over the synchronous limit."""
        message = (
            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction "
            "operation"
        )
        self._send(
            413,
            json.dumps({"Type": "User", "message": message}).encode(),
            {"Content-Type": "application/json", "X-Amzn-ErrorType": "RequestTooLargeException"},
        )

    def _client_context(self) -> str | None:
        """X-Amz-Client-Context, decoded: the Invoke API carries the client context
        base64-encoded; the runtime gets it decoded (Lambda-Runtime-Client-Context)."""
        raw_context = self.headers.get("X-Amz-Client-Context")
        if not raw_context:
            return None
        return base64.b64decode(raw_context, validate=True).decode()

    def _answer(self, result: InvokeResult, streaming: _Relay) -> None:
        """The function's result as the Invoke API answers it."""
        headers = {"Content-Type": result.content_type, "X-Amz-Executed-Version": "$LATEST"}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        payload = result.payload
        if result.stream_error is not None and result.error is not None:
            payload = json.dumps(result.error).encode()
            headers["Content-Type"] = "application/json"
        if self.server.on_result is not None:
            self.server.on_result(result)
        if streaming.started:
            # The body went out as it came; a mid-stream error can only be logged.
            streaming.end()
            return
        self._send(200, payload, headers)


class _Relay:
    """Relays a streamed response to the caller chunk by chunk, as Lambda does."""

    def __init__(self, handler: _Handler) -> None:
        self.handler = handler
        self.started = False
        self.broken = False

    def start(self, content_type: str) -> None:
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("X-Amz-Executed-Version", "$LATEST")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        self.started = True

    def chunk(self, data: bytes) -> None:
        if self.started and data and not self.broken:
            try:
                self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.handler.wfile.flush()
            except OSError:
                self.broken = True  # the caller went away; the function runs on

    def end(self) -> None:
        if self.broken:
            self.handler.close_connection = True
            return
        try:
            self.handler.wfile.write(b"0\r\n\r\n")
            self.handler.wfile.flush()
        except OSError:
            self.handler.close_connection = True


class InvokeEndpoint:
    """The RIE-compatible invoke endpoint for `sandbox`, on 127.0.0.1:`port`."""

    def __init__(
        self,
        sandbox: Sandbox,
        port: int = 9000,
        on_result: Callable[[InvokeResult], None] | None = None,
    ) -> None:
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except OSError as exc:
            msg = f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port."
            raise SandboxError(msg) from None
        self._server.sandbox = sandbox
        self._server.on_result = on_result

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"

    def serve_forever(self) -> None:
        """Serve until `shutdown()` (from another thread) or KeyboardInterrupt."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def shutdown(self) -> None:
        self._server.shutdown()
