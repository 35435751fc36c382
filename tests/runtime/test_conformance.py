"""Each case runs once on lambundle's runtime and once on awslambdaric 4.2.2, against the
same local Runtime API; what Lambda would show the caller must be identical.

Cases: the §3.3 handler table, bad events and headers, results awslambdaric marshals in
special ways, user exceptions, process exits, and Runtime API failures.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.runtime.fakeapi import Run, run_events

ECHO = "def handler(event, context):\n    return event\n"
SNAP_START = {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
SNAP_APP = """
from snapshot_restore_py import register_after_restore, register_before_snapshot
calls = []
register_before_snapshot(calls.append, "before-1")
register_before_snapshot(calls.append, "before-2")
register_after_restore(calls.append, "after-1")
register_after_restore(calls.append, "after-2")

def fail(where):
    raise RuntimeError("hook failed " + where)

def handler(event, context):
    return calls
"""
CASES: dict[str, tuple[dict[str, str], str, list[dict], dict[str, str]]] = {
    # -- happy paths and marshalling -------------------------------------------------
    "echo": ({"app.py": ECHO}, "app.handler", [{"body": b'{"a": [1, 2.5, null, true]}'}], {}),
    "unicode escaped outside managed 3.12+": (
        {"app.py": "def handler(e, c):\n    return {'k': 'é中😀'}\n"},
        "app.handler",
        [{}],
        {},
    ),
    "unicode raw on python3.12": (
        {"app.py": "def handler(e, c):\n    return {'k': 'é中😀'}\n"},
        "app.handler",
        [{}],
        {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"},
    ),
    "unicode escaped on python3.11": (
        {"app.py": "def handler(e, c):\n    return 'é中😀'\n"},
        "app.handler",
        [{}],
        {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"},
    ),
    "decimal and nan": (
        {
            "app.py": "from decimal import Decimal\n"
            "def handler(e, c):\n"
            "    return {'d': Decimal('1.10'), 'n': float('nan'), 'i': float('inf'),"
            " 'dn': Decimal('NaN'), 'e': Decimal('1E+3')}\n"
        },
        "app.handler",
        [{}],
        {},
    ),
    "namedtuple": (
        {
            "app.py": "from collections import namedtuple\nP = namedtuple('P', 'x y')\n"
            "def handler(e, c):\n    return [P(1, 2), (3, 4)]\n"
        },
        "app.handler",
        [{}],
        {},
    ),
    "bytes result": (
        {"app.py": "def handler(e, c):\n    return b'\\x89PNG'\n"},
        "app.handler",
        [{}],
        {},
    ),
    "str and none results": (
        {"app.py": "def handler(e, c):\n    return None if e else 'text'\n"},
        "app.handler",
        [{"body": b"0"}, {"body": b"1"}],
        {},
    ),
    "non-json content types give bytes": (
        {"app.py": "def handler(e, c):\n    return repr(e)\n"},
        "app.handler",
        [
            {"body": b"\x89PNG", "content_type": "image/png"},
            {"body": b'{"a": 1}', "content_type": "application/json; charset=utf-8"},
            # No Content-Type at all is left out: awslambdaric 4.2.2's C client crashes
            # (SIGSEGV) on it; lambundle passes bytes (test_lambundle.py).
            {"body": b"", "content_type": "text/plain"},
        ],
        {},
    ),
    "unserialisable result": (
        {
            "app.py": "import datetime\n"
            "def handler(e, c):\n    return {'t': datetime.date(2026, 1, 1)}\n"
        },
        "app.handler",
        [{}],
        {},
    ),
    "unserialisable key": (
        {"app.py": "from decimal import Decimal\ndef handler(e, c):\n    return {Decimal(1): 1}\n"},
        "app.handler",
        [{}],
        {},
    ),
    "circular result": (
        {"app.py": "def handler(e, c):\n    x = []\n    x.append(x)\n    return x\n"},
        "app.handler",
        [{}],
        {},
    ),
    # -- bad input -----------------------------------------------------------------------
    "invalid json events": (
        {"app.py": ECHO},
        "app.handler",
        [
            {"body": b"{"},
            {"body": b"[1,]"},
            {"body": b"\x89PNG"},
            {"body": b"NaN"},
            {"body": b"{} x"},
        ],
        {},
    ),
    "bad client context": (
        {"app.py": ECHO},
        "app.handler",
        [{"headers": {"Lambda-Runtime-Client-Context": "not json"}}],
        {},
    ),
    "bad cognito identity": (
        {"app.py": ECHO},
        "app.handler",
        [{"headers": {"Lambda-Runtime-Cognito-Identity": "{bad"}}],
        {},
    ),
    "context attributes": (
        {
            "app.py": "import re\ndef handler(e, c):\n"
            "    return [re.sub('[0-9a-f-]{36}', 'ID', repr(c)), c.w3c(),"
            " type(c.get_remaining_time_in_millis()).__name__]\n"
        },
        "app.handler",
        [
            {
                "headers": {
                    "Lambda-Runtime-Client-Context": json.dumps(
                        {
                            "custom": {"a": 1},
                            "env": {},
                            "client": {"app_title": "t"},
                            "w3c": {"traceparent": "00-abc-def-01"},
                        }
                    ),
                    "Lambda-Runtime-Cognito-Identity": json.dumps(
                        {"cognitoIdentityId": "i", "cognitoIdentityPoolId": "p"}
                    ),
                    "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
                }
            },
            {},
        ],
        {},
    ),
    "trace id set then deleted": (
        {
            "app.py": "import os\n"
            "def handler(e, c):\n    return os.environ.get('_X_AMZN_TRACE_ID')\n"
        },
        "app.handler",
        [{}, {"headers": {"Lambda-Runtime-Trace-Id": None}}],
        {},
    ),
    # -- user exceptions -------------------------------------------------------------------
    "exception": (
        {"app.py": "def handler(e, c):\n    raise ValueError('bad value')\n"},
        "app.handler",
        [{}],
        {},
    ),
    "exception without message": (
        {"app.py": "def handler(e, c):\n    raise KeyError()\n"},
        "app.handler",
        [{}],
        {},
    ),
    "exception from a helper module": (
        {
            "app.py": "import helper\ndef handler(e, c):\n    return helper.go(e)\n",
            "helper.py": "class MyError(Exception):\n    pass\n"
            "def go(e):\n    raise MyError('deep é')\n",
        },
        "app.handler",
        [{}],
        {},
    ),
    "import inside handler fails": (
        {"app.py": "def handler(e, c):\n    import not_there_abc\n"},
        "app.handler",
        [{}],
        {},
    ),
    # -- the handler table of §3.3 (init errors) ------------------------------------------
    "malformed handler": ({"app.py": ECHO}, "app", [{}], {}),
    "built-in module conflict": ({"app.py": ECHO}, "sys.handler", [{}], {}),
    "missing module": ({"app.py": ECHO}, "nope.handler", [{}], {}),
    "missing dependency": ({"app.py": "import requests_not_here\n"}, "app.handler", [{}], {}),
    "syntax error": ({"app.py": "def handler(e, c)\n    return 1\n"}, "app.handler", [{}], {}),
    "handler missing": ({"app.py": "x = 1\n"}, "app.handler", [{}], {}),
    "import-time exception": ({"app.py": "raise KeyError('at import')\n"}, "app.handler", [{}], {}),
    "slash path handler": (
        {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/mod.py": ECHO},
        "pkg/sub/mod.handler",
        [{"body": b"7"}],
        {},
    ),
    "handler not callable": ({"app.py": "handler = 5\n"}, "app.handler", [{}], {}),
    # -- process exits -----------------------------------------------------------------------
    "sys.exit in handler": (
        {"app.py": "import sys\ndef handler(e, c):\n    sys.exit(3)\n"},
        "app.handler",
        [{}],
        {},
    ),
    "os._exit in handler": (
        {"app.py": "import os\ndef handler(e, c):\n    os._exit(7)\n"},
        "app.handler",
        [{}],
        {},
    ),
    "exit at import": ({"app.py": "import sys\nsys.exit(4)\n"}, "app.handler", [{}], {}),
    # -- SnapStart hooks (§3.12) -------------------------------------------------------------
    "snapstart hook order": ({"app.py": SNAP_APP}, "app.handler", [{}], SNAP_START),
    "snapstart before-snapshot failure": (
        {"app.py": SNAP_APP + "register_before_snapshot(fail, 'before')\n"},
        "app.handler",
        [{}],
        SNAP_START,
    ),
    "snapstart after-restore failure": (
        {"app.py": SNAP_APP + "register_after_restore(fail, 'after')\n"},
        "app.handler",
        [{}],
        SNAP_START,
    ),
    "snapstart without hooks": ({"app.py": ECHO}, "app.handler", [{"body": b"1"}], SNAP_START),
}


# Cases whose stack traces show the runtime's own frames, whose files are naturally not the
# same: compare everything else, and the number of frames where there is no user frame.
RUNTIME_FRAMES = {
    "handler not callable",
    "snapstart before-snapshot failure",
    "snapstart after-restore failure",
}
# awslambdaric keeps the frame of snapshot-restore-py's hook runner above the user's hook;
# lambundle shows the user's frames only, as for a handler's exception.
FRAME_COUNT_DIFFERS = {"snapstart before-snapshot failure", "snapstart after-restore failure"}


def _header(post, name):
    for key, value in post.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _normalise(run: Run, traces: bool = True, count_frames: bool = True) -> dict:
    def frames(items):
        return len(items) if count_frames else bool(items)

    def error_body(post):
        body = post.json()
        body["requestId"] = "ID" if body.get("requestId") else body.get("requestId")
        if not traces:
            body["stackTrace"] = frames(body["stackTrace"])
        return body

    def cause(post):
        value = _header(post, "Lambda-Runtime-Function-XRay-Error-Cause")
        if not value:
            return value
        data = json.loads(value)
        data["paths"] = sorted(data["paths"]) if traces else len(data["paths"])
        if not traces:
            for exc in data["exceptions"]:
                exc["stack"] = frames(exc["stack"])
        return data

    posts = []
    for post in run.posts:
        if post.kind == "error":
            posts.append(
                (
                    "error",
                    error_body(post),
                    cause(post),
                    _header(post, "Lambda-Runtime-Function-Error-Type"),
                )
            )
        else:
            posts.append(("response", _header(post, "Content-Type"), post.body))
    init = None
    if run.init_error is not None:
        init = (
            error_body(run.init_error),
            _header(run.init_error, "Lambda-Runtime-Function-Error-Type"),
        )
    return {"posts": posts, "init_error": init, "exit_code": run.exit_code}


@pytest.mark.parametrize("case", list(CASES))
def test_same_as_awslambdaric(make_task, case):
    files, handler, events, env = CASES[case]
    task_root = make_task(files)
    ours = run_events("lambundle", task_root, handler, events, env)
    theirs = run_events("awslambdaric", task_root, handler, events, env)
    traces = case not in RUNTIME_FRAMES
    count = case not in FRAME_COUNT_DIFFERS
    assert _normalise(ours, traces, count) == _normalise(theirs, traces, count), (
        f"{ours.output}\n----\n{theirs.output}"
    )


LOGGING_APP = """
import logging
logger = logging.getLogger("app")
logger.warning("at import")

def handler(event, context):
    print("printed", event)
    logger.info("info %s", 1)
    logger.warning("warning é")
    logging.error({"structured": True})
    try:
        raise KeyError("k")
    except KeyError:
        logger.exception("caught")
    context.log("context.log line\\n")
    if event == "fail":
        raise ValueError("failed é")
    return "ok"
"""
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _log_text(output: str) -> str:
    out = _REQUEST_ID.sub("ID", _STAMP.sub("TIME", output))
    out = re.sub(r'"location": "[^"]*"', '"location": "L"', out)
    # The runtime's own lines (exit messages) are not part of the function's log contract.
    return "\n".join(line for line in out.split("\n") if not line.startswith("lambundle: "))


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_LAMBDA_LOG_LEVEL": "INFO"},
        {"AWS_LAMBDA_LOG_FORMAT": "JSON"},
        {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
        {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_LAMBDA_LOG_FORMAT": "JSON"},
        {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.15"},
        {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.15", "AWS_REGION": "cn-north-1"},
    ],
    ids=lambda env: ",".join(f"{k}={v}" for k, v in env.items()) or "default",
)
def test_function_logs_same_as_awslambdaric(make_task, env):
    task = make_task({"app.py": LOGGING_APP})
    events = [{"body": b'"hello"'}, {"body": b'"fail"'}]
    ours = run_events("lambundle", task, "app.handler", events, env)
    theirs = run_events("awslambdaric", task, "app.handler", events, env)
    assert _log_text(ours.output) == _log_text(theirs.output)


@pytest.mark.parametrize("env", [{}, {"AWS_LAMBDA_LOG_FORMAT": "JSON"}])
def test_init_error_logs_same_as_awslambdaric(make_task, env):
    task = make_task({"app.py": "import nope_missing\n"})
    ours = run_events("lambundle", task, "app.handler", [{}], env)
    theirs = run_events("awslambdaric", task, "app.handler", [{}], env)
    assert _log_text(ours.output) == _log_text(theirs.output)


def _frames(data: bytes) -> list[tuple[str, str]]:
    out = []
    while data:
        kind, length = data[:4].hex(), int.from_bytes(data[4:8], "big")
        out.append((kind, _log_text(data[16 : 16 + length].decode("utf-8"))))
        data = data[16 + length :]
    return out


@pytest.mark.parametrize(
    "env",
    [{}, {"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, {"AWS_LAMBDA_LOG_FORMAT": "JSON"}],
    ids=["text", "text-level", "json"],
)
def test_telemetry_frames_same_as_awslambdaric(make_task, env):
    import os
    import threading

    from tests.runtime.fakeapi import FakeRuntimeAPI, start, stop

    task = make_task({"app.py": LOGGING_APP})
    frames = {}
    for kind in ("lambundle", "awslambdaric"):
        read, write = os.pipe()
        chunks: list[bytes] = []
        reader = threading.Thread(target=_drain, args=(read, chunks), daemon=True)
        reader.start()
        api = FakeRuntimeAPI()
        api.queue_event(b'"fail"')
        proc = start(
            kind,
            "app.handler",
            task,
            api.address,
            {**env, "_LAMBDA_TELEMETRY_LOG_FD": str(write)},
            pass_fds=(write,),
        )
        os.close(write)
        try:
            api.posts.get(timeout=20)
        finally:
            stop(proc)
            api.close()
        reader.join(timeout=20)
        frames[kind] = _frames(b"".join(chunks))
    assert frames["lambundle"] == frames["awslambdaric"]
    assert len(frames["lambundle"]) >= 5


def _drain(fd: int, chunks: list[bytes]) -> None:
    import os

    while data := os.read(fd, 65536):
        chunks.append(data)
    os.close(fd)
