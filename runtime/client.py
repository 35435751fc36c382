"""A small HTTP/1.1 client for the Lambda Runtime API, on `_socket`.

`import http.client` costs 30-65 ms (it pulls in email, ssl, hashlib ...) and `import
socket` ~8 ms (enum, selectors); the C module `_socket` costs ~0.3 ms and is all a
loopback, plain-HTTP, keep-alive client needs. One persistent connection, no timeout on
reads (/next is a long poll and the process may be frozen between invokes), 1 s connect
timeout like aws-lambda-cpp. Blocking reads happen on the calling (main) thread, and
CPython retries an interrupted recv() after running Python signal handlers (PEP 475),
so a user's SIGTERM handler runs while the runtime waits for the next event.
"""

import _socket
import sys
import time

# Connection refused/reset at (re)connect: retry with these pauses, then give up.
RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8)
API_PREFIX = "/2018-06-01"


class ConnectionFailed(Exception):
    """The Runtime API could not be reached (after retries)."""


class _NoResponse(Exception):
    """The connection closed before any response byte arrived (stale keep-alive)."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())


class Connection:
    def __init__(self, address, user_agent):
        host, _, port = address.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port or 9001)
        self.family = _socket.AF_INET6 if ":" in self.host else _socket.AF_INET
        self.address = address
        self.user_agent = user_agent
        self.sock = None
        self.buffer = b""

    # -- connection management ---------------------------------------------------------

    def connect(self):
        last = None
        for delay in (*RETRY_DELAYS, None):
            sock = _socket.socket(self.family, _socket.SOCK_STREAM)
            try:
                sock.settimeout(1.0)
                sock.connect((self.host, self.port))
                sock.settimeout(None)
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError as exc:
                sock.close()
                last = exc
                if delay is None:
                    break
                time.sleep(delay)
                continue
            self.sock = sock
            self.buffer = b""
            return
        raise ConnectionFailed(
            f"cannot connect to the Lambda Runtime API at {self.address} "
            f"(AWS_LAMBDA_RUNTIME_API): {last}"
        )

    def _socket(self) -> _socket.socket:
        if self.sock is None:
            self.connect()
        return self.sock  # type: ignore[return-value]

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer = b""

    # -- requests ----------------------------------------------------------------------

    def _head(self, method, path, headers, length):
        lines = [f"{method} {API_PREFIX}{path} HTTP/1.1", f"Host: {self.address}"]
        lines.append(f"User-Agent: {self.user_agent}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        for name, value in headers:
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def request(self, method, path, body=b"", headers=()):
        """Send one request and return its Response; reconnects a stale connection once."""
        head = self._head(
            method, path, _encode_headers(headers), None if method == "GET" else len(body)
        )
        for attempt in (0, 1):
            sock = self._socket()
            try:
                try:
                    sock.sendall(head + body if len(body) < 65536 else head)
                    if len(body) >= 65536:
                        sock.sendall(body)
                except OSError:
                    # The server may answer early (413) and close: read what it said.
                    pass
                return self._read_response()
            except (_NoResponse, ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def stream(self, path, chunks, headers, trailers_for):
        """POST a chunked body (response streaming); `chunks` yields bytes and may raise.

        An exception raised by `chunks` ends the body with the trailers `trailers_for(exc)`
        (Lambda reports them as the invoke's error). Returns (Response, exception or None).
        The connection is closed afterwards, as the streaming contract asks.
        https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html
        """
        headers = [
            *headers,
            ("Transfer-Encoding", "chunked"),
            ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"),
        ]
        head = self._head("POST", path, _encode_headers(headers), None)
        sock = self._socket()
        error = None
        try:
            sock.sendall(head)
            try:
                for chunk in chunks:
                    if chunk:
                        sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except Exception as exc:  # the user's iterator failed mid-stream: report it
                error = exc
            tail = b"0\r\n"
            if error is not None:
                for name, value in _encode_headers(trailers_for(error)):
                    tail += f"{name}: {value}\r\n".encode("latin-1")
            sock.sendall(tail + b"\r\n")
            return self._read_response(), error
        finally:
            self.close()

    # -- responses ---------------------------------------------------------------------

    def _recv(self):
        return self._socket().recv(65536)

    def _read_response(self):
        while b"\r\n\r\n" not in self.buffer:
            data = self._recv()
            if not data:
                if self.buffer:
                    raise ConnectionResetError("connection closed inside a response head")
                raise _NoResponse()
            self.buffer += data
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = self._read_until_close()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def _read_exactly(self, n):
        parts = [self.buffer[:n]]
        have = len(parts[0])
        self.buffer = self.buffer[n:]
        while have < n:
            data = self._recv()
            if not data:
                raise ConnectionResetError("connection closed inside a response body")
            if have + len(data) > n:
                self.buffer = data[n - have :]
                data = data[: n - have]
            parts.append(data)
            have += len(data)
        return b"".join(parts)

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            data = self._recv()
            if not data:
                raise ConnectionResetError("connection closed inside a chunked body")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _read_chunked(self):
        parts: list[bytes] = []
        while True:
            size = int(self._read_line().split(b";")[0], 16)
            if size == 0:
                while self._read_line():  # trailers, ignored
                    pass
                return b"".join(parts)
            parts.append(self._read_exactly(size))
            self._read_exactly(2)

    def _read_until_close(self):
        parts: list[bytes] = [self.buffer]
        self.buffer = b""
        while True:
            data = self._recv()
            if not data:
                return b"".join(parts)
            parts.append(data)


def _encode_headers(headers):
    out = []
    for name, value in headers:
        if value is None:
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        else:
            # Header values travel as UTF-8 bytes (X-Ray cause may hold non-ASCII text).
            value = value.encode("utf-8").decode("latin-1")
        out.append((name, value))
    return out


def user_agent(version):
    v = sys.version_info
    return f"aws-lambda-python/{v[0]}.{v[1]}.{v[2]}-lambundle-{version}"
