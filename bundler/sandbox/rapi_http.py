"""How the Runtime API (and serve's invoke endpoint) speaks HTTP/1.1: the threaded server,
sending answers, and reading request bodies (by Content-Length or chunked with trailers,
oversized ones drained before the 413, malformed framing answered 400 as Go's net/http,
which RAPID and the RIE are built on, answers it).

Stdlib only: `http.server` speaks HTTP/1.1 with keep-alive, which is what awslambdaric's
libcurl client and lambundle's own client expect. Request bodies are read here, so chunked
bodies with trailers (response streaming) work.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
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


class MalformedRequest(Exception):
    """The request's framing cannot be read (a bad Content-Length, a bad chunk size)."""


# What Go's net/http answers a request it cannot read (then it closes the connection).
BAD_REQUEST_BODY = b"400 Bad Request"


def content_length(headers: Message) -> int:
    """The request's Content-Length (0 when absent); MalformedRequest unless it is a
    non-negative decimal number (RFC 9110, 8.6), and when several disagree (RFC 9112,
    6.3: which one frames the body is ambiguous, the stuff of request smuggling; Go's
    net/http, the RIE's, answers 400 too)."""
    values = {v.strip() for v in headers.get_all("Content-Length") or []}
    if len(values) > 1:
        raise MalformedRequest(f"conflicting Content-Length {sorted(values)!r}")
    value = next(iter(values), "")
    if value == "":
        return 0
    if not value.isascii() or not value.isdigit():
        raise MalformedRequest(f"bad Content-Length {value!r}")
    return int(value)


def is_chunked(headers: Message) -> bool:
    return "chunked" in headers.get("Transfer-Encoding", "").lower()


def read_body(rfile: BufferedIOBase, headers: Message, limit: int) -> bytes:
    """The whole request body, by Content-Length or chunked; BodyTooLarge past `limit`
    (after draining it), MalformedRequest when the framing cannot be read,
    ConnectionError when the body ends early."""
    if is_chunked(headers):
        return b"".join(read_chunks(rfile, limit, None))
    length = content_length(headers)
    if length > limit:
        left = min(length, _DRAIN_LIMIT)
        while left > 0:
            got = rfile.read(min(left, 1 << 20))
            if not got:
                break
            left -= len(got)
        raise BodyTooLarge
    body = rfile.read(length) if length else b""
    if len(body) < length:
        raise ConnectionError("truncated body")
    return body


def read_chunks(
    rfile: BufferedIOBase, limit: int, trailers: dict[str, str] | None
) -> Iterator[bytes]:
    """Yield the chunks of a chunked body, then store its trailers in `trailers`."""
    total = 0
    while True:
        line = rfile.readline(65537)
        if not line:
            raise ConnectionError("truncated chunked body")
        size_field = line.split(b";", 1)[0].strip() or b"0"
        try:
            size = int(size_field, 16)
        except ValueError:
            raise MalformedRequest(f"bad chunk size {size_field!r}") from None
        if size < 0 or size_field.startswith((b"-", b"+")):
            raise MalformedRequest(f"bad chunk size {size_field!r}")
        if size == 0:
            break
        total += size
        data = rfile.read(size)
        rfile.readline()  # the CRLF after each chunk
        if len(data) < size:
            raise ConnectionError("truncated chunk")
        if total > limit:
            if total > limit + _DRAIN_LIMIT:
                raise BodyTooLarge
            continue  # keep draining, answer 413 at the end
        yield data
    while True:  # trailer section, ended by an empty line
        line = rfile.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if trailers is not None:
            trailers[name.strip().lower()] = value.strip()
    if total > limit:
        raise BodyTooLarge


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

    def _bad_request(self) -> None:
        """What Go's net/http answers a request whose framing it cannot read."""
        self.close_connection = True
        self._send(400, BAD_REQUEST_BODY, content_type="text/plain; charset=utf-8")

    def _chunked(self) -> bool:
        return is_chunked(self.headers)

    def _read_body(self, limit: int) -> bytes:
        """The whole request body; raises BodyTooLarge past `limit`, after draining it.

        Draining lets a client that sends the whole body before reading (libcurl with
        `Expect:` blanked) see the 413 instead of a reset connection.
        """
        try:
            return read_body(self.rfile, self.headers, limit)
        except (BodyTooLarge, MalformedRequest, ConnectionError):
            self.close_connection = True
            raise

    def _read_chunks(self, limit: int, trailers: dict[str, str] | None) -> Iterator[bytes]:
        """Yield the chunks of a chunked body, then store its trailers in `trailers`."""
        try:
            yield from read_chunks(self.rfile, limit, trailers)
        except (BodyTooLarge, MalformedRequest, ConnectionError):
            self.close_connection = True
            raise
