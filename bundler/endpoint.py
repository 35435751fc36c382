"""`lambundle serve`: the invoke endpoint of AWS's Runtime Interface Emulator.

`POST /2015-03-31/functions/function/invocations` with the event as body answers with the
function's payload, and `X-Amz-Function-Error: Unhandled` when it failed, so the curl
that works against the RIE (and Lambda's Invoke API) works here. Invocations run one at a
time in one sandbox: warm after the first, cold again after a timeout or a crash.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bundler.errors import SandboxError
from bundler.sandbox import InvokeResult, Sandbox

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox
    on_result: Callable[[InvokeResult], None] | None


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
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        client_context = None
        raw_context = self.headers.get("X-Amz-Client-Context")
        if raw_context:
            # The Invoke API carries the client context base64-encoded; the runtime gets
            # it decoded (Lambda-Runtime-Client-Context).
            try:
                client_context = base64.b64decode(raw_context, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                self._send(
                    400,
                    json.dumps({"errorType": "InvalidRequestContentException",
                                "errorMessage": "X-Amz-Client-Context is not base64"}).encode(),
                    {"Content-Type": "application/json"},
                )
                return
        try:
            # Like the RIE, events are JSON whatever curl labels them (-d sends a form type).
            result = self.server.sandbox.invoke(body, client_context=client_context)
        except SandboxError as exc:
            self._send(
                500,
                json.dumps({"errorType": "Sandbox.Failure", "errorMessage": str(exc)}).encode(),
                {"Content-Type": "application/json"},
            )
            return
        headers = {"Content-Type": result.content_type, "X-Amz-Executed-Version": "$LATEST"}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        payload = result.payload
        if result.stream_error is not None and result.error is not None:
            payload = json.dumps(result.error).encode()
            headers["Content-Type"] = "application/json"
        if self.server.on_result is not None:
            self.server.on_result(result)
        self._send(200, payload, headers)


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
