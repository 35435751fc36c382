"""How the Runtime API speaks HTTP/1.1: the threaded server, sending answers, and reading
request bodies (by Content-Length or chunked with trailers, oversized ones drained before
the 413).

Stdlib only: `http.server` speaks HTTP/1.1 with keep-alive, which is what awslambdaric's
libcurl client and lambundle's own client expect. Request bodies are read here, so chunked
bodies with trailers (response streaming) work.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bundler.sandbox.rapi_protocol import ApiError, RuntimeSide, error_payload

# How much of an oversized body is read and discarded before answering 413.
_DRAIN_LIMIT = 64 * 1024 * 1024


class RuntimeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: RuntimeSide

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A runtime killed mid-request (timeout, exit) leaves a broken socket behind;
        # that is the function's failure, reported to its caller, not the server's.
        return


class BodyTooLarge(Exception):
    pass


class HTTPHandlerBase(BaseHTTPRequestHandler):
    """The plumbing under the Runtime API's routes: answers out, request bodies in."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms on Linux) on every /next.
    disable_nagle_algorithm = True
    server: RuntimeServer
    server_version = "lambundle-rapi"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # Lambda's Runtime API does not log requests into the function's log stream.
        return

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            if value:  # RAPID omits empty headers (renderInvokeHeaders)
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _send_error(self, err: ApiError) -> None:
        self._send(err.status, error_payload(err.error_type, err.message))

    def _accepted(self) -> None:
        self._send(202, b'{"status":"OK"}')

    def _not_found(self) -> None:
        self.close_connection = True
        self._send(404, b"404 page not found\n", content_type="text/plain; charset=utf-8")

    def _chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def _read_body(self, limit: int) -> bytes:
        """The whole request body; raises BodyTooLarge past `limit`, after draining it.

        Draining lets a client that sends the whole body before reading (libcurl with
        `Expect:` blanked) see the 413 instead of a reset connection.
        """
        if self._chunked():
            return b"".join(self._read_chunks(limit, None))
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            self.close_connection = True
            left = min(length, _DRAIN_LIMIT)
            while left > 0:
                got = self.rfile.read(min(left, 1 << 20))
                if not got:
                    break
                left -= len(got)
            raise BodyTooLarge
        return self.rfile.read(length) if length else b""

    def _read_chunks(self, limit: int, trailers: dict[str, str] | None) -> Iterator[bytes]:
        """Yield the chunks of a chunked body, then store its trailers in `trailers`."""
        total = 0
        while True:
            line = self.rfile.readline(65537)
            if not line:
                self.close_connection = True
                raise ConnectionError("truncated chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            total += size
            data = self.rfile.read(size)
            self.rfile.readline()  # the CRLF after each chunk
            if len(data) < size:
                self.close_connection = True
                raise ConnectionError("truncated chunk")
            if total > limit:
                if total > limit + _DRAIN_LIMIT:
                    self.close_connection = True
                    raise BodyTooLarge
                continue  # keep draining, answer 413 at the end
            yield data
        while True:  # trailer section, ended by an empty line
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if trailers is not None:
                trailers[name.strip().lower()] = value.strip()
        if total > limit:
            self.close_connection = True
            raise BodyTooLarge
