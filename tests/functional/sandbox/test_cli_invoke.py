"""`lambundle invoke` and `lambundle serve`, through click's runner and a real server."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import cli, main
from bundler.sandbox import InvokeEndpoint, Sandbox, bwrap_problem
from tests.runtime.bundles import STREAMING_BOOTSTRAP, make_bundle, needs_python

APP = {
    "app.py": (
        "import os\n"
        "def handler(event, context):\n"
        "    print('log line for', context.aws_request_id)\n"
        "    if isinstance(event, dict) and event.get('fail'):\n"
        "        raise RuntimeError('asked to fail')\n"
        "    if isinstance(event, bytes):\n"
        "        return event.upper()\n"
        "    cc = context.client_context\n"
        "    return {'event': event, 'greeting': os.environ.get('GREETING'),\n"
        "            'custom': cc.custom if cc else None}\n"
    )
}

# Without a working bwrap these still run, unsandboxed (the fallback is part of the test).
# The managed runtime's awslambdaric comes from the package index on first use.
pytestmark = [needs_python("3.12"), pytest.mark.network]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path, APP, "app.handler", lambundle=False)


def run(args: list[str], stdin: bytes | None = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, args, input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.parametrize("no_sandbox", [False, True], ids=["default", "no-sandbox"])
def test_invoke_prints_payload_and_logs(
    bundle: Path, tmp_path: Path, no_sandbox: bool
) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"n": 1}')
    args = ["invoke", str(bundle), "--event", str(event), "--env", "GREETING=hi"]
    code, out, err = run([*args, "--no-sandbox"] if no_sandbox else args)
    assert code == 0, err
    assert json.loads(out) == {"event": {"n": 1}, "greeting": "hi", "custom": None}
    assert "log line for" in err and "REPORT RequestId:" in err
    if no_sandbox:
        assert "Warning: Running unsandboxed (isolation turned off)" in err
    else:
        assert ("Warning: Running unsandboxed" in err) is (bwrap_problem() is not None)


def test_invoke_reads_stdin_with_a_content_type(bundle: Path) -> None:
    code, out, err = run(
        ["invoke", str(bundle), "--event", "-", "--content-type", "text/plain"], b"abc"
    )
    assert (code, out) == (0, b"ABC\n"), err  # text ends with a newline


def test_invoke_function_error_exits_non_zero(bundle: Path) -> None:
    code, out, err = run(["invoke", str(bundle), "--event", "-"], b'{"fail": true}')
    assert code == 1
    error = json.loads(out)
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "asked to fail")
    assert "[ERROR] RuntimeError: asked to fail" in err


def test_invoke_timeout(tmp_path: Path) -> None:
    slow = make_bundle(
        tmp_path, {"app.py": "import time\ndef handler(e, c):\n    time.sleep(600)\n"},
        "app.handler", lambundle=False,
    )
    code, out, _ = run(["invoke", str(slow), "--timeout", "0.3"])
    assert code == 1
    assert json.loads(out)["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.30 seconds" in json.loads(out)["errorMessage"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--env", "NOEQUALS"], "KEY=VALUE"),
        (["--event", "no-event.json"], "no-event.json"),
    ],
)
def test_invoke_bad_options(
    bundle: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["invoke", str(bundle), *extra])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_invoke_missing_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["invoke", str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "is not a bundle directory" in err and "Traceback" not in err


@pytest.fixture
def endpoint(bundle: Path) -> Iterator[InvokeEndpoint]:
    with Sandbox(bundle) as sb:
        server = InvokeEndpoint(sb, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server
        server.shutdown()
        thread.join(timeout=10)


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_serve_answers_like_the_rie(endpoint: InvokeEndpoint) -> None:
    # What `curl -XPOST .../invocations -d '{...}'` sends: a form content type, ignored.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, body = post(endpoint.url, b'{"n": 2}', form)
    assert status == 200 and "X-Amz-Function-Error" not in headers
    assert json.loads(body)["event"] == {"n": 2}

    status, headers, body = post(endpoint.url, b'{"fail": 1}', form)
    assert status == 200 and headers["X-Amz-Function-Error"] == "Unhandled"
    assert json.loads(body)["errorType"] == "RuntimeError"

    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    status, _, body = post(endpoint.url, b"{}", {"X-Amz-Client-Context": context})
    assert status == 200 and json.loads(body)["custom"] == {"k": "v"}

    wrong = endpoint.url.replace("invocations", "nothing")
    assert post(wrong, b"{}")[0] == 404


def test_serve_stops_cleanly_on_ctrl_c(bundle: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bundler.cli import main; main(sys.argv[1:])",
         "serve", str(bundle), "--port", "0"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert "serving" in banner and "Ctrl-C stops" in banner
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        status, _, body = post(url, b'{"n": 3}')
        assert status == 200 and json.loads(body)["event"] == {"n": 3}
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=30) == 0
        assert "lambundle: stopped" in rest and "Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_relays_a_streamed_response(tmp_path: Path) -> None:
    streaming = make_bundle(
        tmp_path, {"bootstrap": STREAMING_BOOTSTRAP}, "h.h", runtime="provided.al2023",
        lambundle=False, name="streaming",
    )
    with Sandbox(streaming) as sb:
        server = InvokeEndpoint(sb, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            status, headers, body = post(server.url, b"{}")
        finally:
            server.shutdown()
            thread.join(timeout=10)
    assert status == 200
    assert headers["Transfer-Encoding"] == "chunked"
    assert headers["Content-Type"] == "text/plain"
    assert body == b"alpha beta"
