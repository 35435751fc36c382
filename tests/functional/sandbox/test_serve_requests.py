"""How `serve` reads requests and what it answers those it cannot take: chunked bodies are
events, malformed framing is a 400 as the RIE answers it, an event over 6 MB is Invoke's
413 RequestTooLargeException; `invoke` refuses the same event with a clear error.

Raw sockets send what urllib would not (a bad Content-Length, a chunked body).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import cli, main
from bundler.sandbox import InvokeEndpoint, Sandbox
from tests.runtime.bundles import make_bundle, needs_bwrap, needs_python

pytestmark = [*needs_bwrap, needs_python("3.12"), pytest.mark.network]

ECHO = {
    "app.py": (
        "import os\n"
        "def handler(event, context):\n"
        "    st = os.statvfs('/tmp')\n"
        "    return {'event': event, 'tmp_mb': st.f_blocks * st.f_frsize // 1048576}\n"
    )
}
LIMIT = 6_291_456


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path, ECHO, "app.handler", lambundle=True)


@pytest.fixture
def endpoint(bundle: Path) -> Iterator[InvokeEndpoint]:
    with Sandbox(bundle) as sb:
        server = InvokeEndpoint(sb, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server
        server.shutdown()
        thread.join(timeout=10)


def exchange(endpoint: InvokeEndpoint, head: bytes, body: bytes = b"") -> bytes:
    """Send a raw request and read until the server closes or the answer is complete."""
    path = "/2015-03-31/functions/function/invocations"
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=30) as conn:
        conn.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        conn.sendall(body)
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_a_chunked_body_is_the_event(endpoint: InvokeEndpoint) -> None:
    event = json.dumps({"chunked": True, "n": 7}).encode()
    body = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (event[:5], event[5:])
    ) + b"0\r\n\r\n"
    status, _, payload = split(exchange(endpoint, b"Transfer-Encoding: chunked\r\n", body))
    assert status == 200
    assert json.loads(payload)["event"] == {"chunked": True, "n": 7}


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b"2\r\nContent-Length: 5"])
def test_a_bad_content_length_is_a_400_as_the_rie_answers(
    endpoint: InvokeEndpoint, length: bytes
) -> None:
    status, headers, payload = split(exchange(endpoint, b"Content-Length: " + length + b"\r\n"))
    assert (status, payload) == (400, b"400 Bad Request")
    assert headers["Connection"] == "close"


def test_a_bad_chunk_size_is_a_400(endpoint: InvokeEndpoint) -> None:
    status, _, payload = split(
        exchange(endpoint, b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n")
    )
    assert (status, payload) == (400, b"400 Bad Request")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_event_over_six_mb_is_invokes_413(endpoint: InvokeEndpoint, chunked: bool) -> None:
    event = b'"' + b"x" * (LIMIT - 1) + b'"'  # 6,291,457 bytes
    if chunked:
        head, body = b"Transfer-Encoding: chunked\r\n", b"%x\r\n%s\r\n0\r\n\r\n" % (
            len(event), event)
    else:
        head, body = b"Content-Length: %d\r\n" % len(event), event
    status, headers, payload = split(exchange(endpoint, head, body))
    assert status == 413
    assert headers["X-Amzn-ErrorType"] == "RequestTooLargeException"
    assert json.loads(payload) == {
        "Type": "User",
        "message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    }
    # At the limit it is an event like any other.
    fits = b'"' + b"x" * (LIMIT - 2) + b'"'
    status, _, payload = split(exchange(endpoint, b"Content-Length: %d\r\n" % len(fits), fits))
    assert status == 200 and len(json.loads(payload)["event"]) == LIMIT - 2


def test_invoke_refuses_an_event_over_six_mb(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "big.json"
    event.write_bytes(b'"' + b"x" * LIMIT + b'"')
    with pytest.raises(SystemExit) as exit_info:
        main(["invoke", str(bundle), "--event", str(event)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Request must be smaller than 6291456 bytes" in err and "Traceback" not in err


def test_invoke_sizes_tmp_by_ephemeral_storage(bundle: Path) -> None:
    result = CliRunner().invoke(cli, ["invoke", str(bundle), "--ephemeral-storage", "2048"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tmp_mb"] == 2048
    refused = CliRunner().invoke(cli, ["invoke", str(bundle), "--ephemeral-storage", "256"])
    assert refused.exit_code == 2 and "512<=x<=10240" in refused.output
