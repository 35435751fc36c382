"""What lambundle's runtime does beyond awslambdaric, and how it fails.

Streaming responses, Managed Instances concurrency, SIGTERM reaching the user's handler,
the other handler conventions, Runtime API failures, and the layer layout (a user module
named `runtime` must still import).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.fakeapi import REPO, FakeRuntimeAPI, run_events, start, stop


def _header(post, name):
    return {k.lower(): v for k, v in post.headers.items()}.get(name.lower())


# -- response streaming -----------------------------------------------------------------


def test_generator_streams_chunked_with_the_mode_header(make_task):
    task = make_task(
        {"app.py": "def handler(e, c):\n    yield 'a'\n    yield b'b'\n    yield 'é'\n"}
    )
    run = run_events("lambundle", task, "app.handler", [{}, {}])
    assert len(run.posts) == 2, run.output
    post = run.posts[0]
    assert post.kind == "response"
    assert post.body == "abé".encode()
    assert _header(post, "Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert _header(post, "Transfer-Encoding") == "chunked"
    assert post.trailers == {}


def test_mid_stream_failure_travels_in_trailers(make_task):
    task = make_task(
        {"app.py": "def handler(e, c):\n    yield 'part'\n    raise ValueError('mid')\n"}
    )
    run = run_events("lambundle", task, "app.handler", [{}])
    (post,) = run.posts
    assert post.kind == "response" and post.body == b"part"
    assert post.trailers["Lambda-Runtime-Function-Error-Type"] == "ValueError"
    body = json.loads(base64.b64decode(post.trailers["Lambda-Runtime-Function-Error-Body"]))
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "mid"
    assert "[ERROR] ValueError: mid" in run.output


def test_failure_before_the_first_chunk_is_a_normal_error(make_task):
    task = make_task({"app.py": "def handler(e, c):\n    raise KeyError('early')\n    yield 'x'\n"})
    run = run_events("lambundle", task, "app.handler", [{}])
    (post,) = run.posts
    assert post.kind == "error"
    assert post.json()["errorType"] == "KeyError"


# -- Managed Instances concurrency ---------------------------------------------------------


def test_max_concurrency_runs_that_many_pollers(make_task):
    task = make_task({"app.py": "import os\ndef handler(e, c):\n    return os.getpid()\n"})
    api = FakeRuntimeAPI()
    proc = start(
        "lambundle", "app.handler", task, api.address, env={"AWS_LAMBDA_MAX_CONCURRENCY": "3"}
    )
    try:
        assert api.wait_next_calls(3), "three workers should each wait on /next"
        for _ in range(3):
            api.queue_event()
        posts = [api.posts.get(timeout=20) for _ in range(3)]
        assert all(p.kind == "response" for p in posts)
        assert os.getpid() not in {p.json() for p in posts}
        assert proc.pid not in {p.json() for p in posts}, "the parent only supervises"
    finally:
        stop(proc)
        api.close()


def test_concurrent_init_error_is_reported_and_workers_exit(make_task):
    task = make_task({"app.py": "x = 1\n"})
    api = FakeRuntimeAPI()
    proc = start(
        "lambundle", "app.handler", task, api.address, env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"}
    )
    try:
        first = api.posts.get(timeout=20)
        assert first.path.endswith("/runtime/init/error")
        assert proc.wait(timeout=20) != 0
    finally:
        if proc.poll() is None:
            stop(proc)
        api.close()


# -- SIGTERM -------------------------------------------------------------------------------

SIGTERM_APP = """
import signal, sys, os

def on_term(signum, frame):
    with open(os.environ["MARKER"], "w") as f:
        f.write("graceful")
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)

def handler(event, context):
    return event
"""


def test_sigterm_reaches_the_users_handler_while_waiting_for_next(make_task, tmp_path):
    task = make_task({"app.py": SIGTERM_APP})
    marker = tmp_path / "marker"
    api = FakeRuntimeAPI()
    proc = start("lambundle", "app.handler", task, api.address, env={"MARKER": str(marker)})
    try:
        assert api.wait_next_calls(1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert marker.read_text() == "graceful"
    finally:
        if proc.poll() is None:
            stop(proc)
        api.close()


# -- other handler conventions ----------------------------------------------------------------


def test_script_handler_reads_stdin_writes_stdout_sees_headers(make_task):
    script = (
        "import os, sys\n"
        "def main():\n"
        "    data = sys.stdin.read()\n"
        "    arn = os.environ['LAMBDA_RUNTIME_INVOKED_FUNCTION_ARN']\n"
        "    print('got', data.upper(), arn.split(':')[3])\n"
        "    import logging\n"
        "    logging.warning('to the logs, not the response')\n"
    )
    task = make_task({"tools/shout.py": script})
    run = run_events(
        "lambundle", task, "tools/shout.py", [{"body": b"hello", "content_type": "text/plain"}]
    )
    (post,) = run.posts
    assert post.kind == "response"
    assert post.body == b"got HELLO us-east-1\n"
    assert "to the logs, not the response" in run.output


def test_stdio_convention_with_encoding(make_task):
    app = "import sys\ndef handler():\n    sys.stdout.write(sys.stdin.read()[::-1])\n"
    task = make_task({"app.py": app})
    body = "héllo".encode("latin-1")
    env = {"LAMBUNDLE_CALLING": "stdio", "LAMBUNDLE_ENCODING": "latin-1"}
    run = run_events("lambundle", task, "app.handler", [{"body": body}], env)
    assert run.posts[0].body == "olléh".encode("latin-1")


def test_raw_convention_gets_bytes_and_headers(make_task):
    app = (
        "def handler(body, headers, context):\n"
        "    assert context.aws_request_id\n"
        "    return body + b' ' + headers['content-type'].encode() + b' '\n"
    )
    task = make_task({"app.py": app})
    run = run_events(
        "lambundle",
        task,
        "app.handler",
        [{"body": b'{"not": "parsed"}'}],
        {"LAMBUNDLE_CALLING": "raw"},
    )
    post = run.posts[0]
    assert post.body == b'{"not": "parsed"} application/json '
    assert _header(post, "Content-Type") == "application/unknown"


def test_inline_expression_handler(make_task):
    task = make_task({})
    run = run_events(
        "lambundle", task, "=lambda event, context: {'twice': event * 2}", [{"body": b"21"}]
    )
    assert run.posts[0].json() == {"twice": 42}


def test_entry_point_handler(make_task):
    task = make_task(
        {
            "svc/api.py": "class App:\n    def run(self, e, c):\n        return 'ok'\n"
            "app = App()\n",
            "svc/__init__.py": "",
        }
    )
    run = run_events("lambundle", task, "svc.api:app.run", [{}])
    assert run.posts[0].json() == "ok"


def test_missing_content_type_gives_bytes(make_task):
    task = make_task({"app.py": "def handler(e, c):\n    return repr(e)\n"})
    run = run_events("lambundle", task, "app.handler", [{"body": b"{}", "content_type": None}])
    assert run.posts[0].json() == "b'{}'"


# -- Runtime API contract and failures -------------------------------------------------------


def test_invocation_id_is_echoed_only_when_received(make_task):
    task = make_task(
        {"app.py": "def handler(e, c):\n    if e:\n        raise ValueError()\n    return 1\n"}
    )
    events = [
        {"body": b"0", "headers": {"Lambda-Runtime-Invocation-Id": "inv-1"}},
        {"body": b"1", "headers": {"Lambda-Runtime-Invocation-Id": "inv-2"}},
        {"body": b"0"},
    ]
    run = run_events("lambundle", task, "app.handler", events)
    assert [_header(p, "Lambda-Runtime-Invocation-Id") for p in run.posts] == [
        "inv-1",
        "inv-2",
        None,
    ]
    assert [p.kind for p in run.posts] == ["response", "error", "response"]


def test_oversized_response_is_rejected_and_the_runtime_goes_on(make_task):
    app = "def handler(e, c):\n    return 'x' * (7 * 1024 * 1024) if e else 'small'\n"
    task = make_task({"app.py": app})
    run = run_events("lambundle", task, "app.handler", [{"body": b"1"}, {"body": b"0"}])
    assert [len(p.body) for p in run.posts] == [7 * 1024 * 1024 + 2, 7]
    assert "413" in run.output


@pytest.mark.parametrize("kind", ["lambundle", "awslambdaric"])
def test_next_answering_500_ends_the_process(make_task, kind):
    task = make_task({"app.py": "def handler(e, c):\n    return 1\n"})
    api = FakeRuntimeAPI(next_status=500)
    proc = start(kind, "app.handler", task, api.address)
    try:
        code = proc.wait(timeout=20)
        out = proc.communicate()[0].decode()
    finally:
        api.close()
    assert code != 0
    if kind == "lambundle":
        assert "answered 500 to /next" in out


@pytest.mark.parametrize("kind", ["lambundle", "awslambdaric"])
def test_refused_connection_ends_the_process(make_task, kind):
    task = make_task({"app.py": "def handler(e, c):\n    return 1\n"})
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start(kind, "app.handler", task, f"127.0.0.1:{port}")
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode != 0
    if kind == "lambundle":
        assert proc.returncode == 1
        assert "cannot connect to the Lambda Runtime API at 127.0.0.1:" in out


def test_pth_files_in_the_task_root_work(make_task, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extramod.py").write_text("VALUE = 'from pth'\n")
    task = make_task(
        {
            "app.py": "import extramod\ndef handler(e, c):\n    return extramod.VALUE\n",
            "paths.pth": str(extra) + "\n",
        }
    )
    run = run_events("lambundle", task, "app.handler", [{}])
    assert run.posts[0].json() == "from pth"


# -- collection during init ---------------------------------------------------------------

_GC_APP = """import gc
AT_INIT = gc.get_threshold()
{init}
def handler(e, c):
    return [list(AT_INIT), list(gc.get_threshold()), gc.isenabled(), gc.get_freeze_count()]
"""


def _interpreter_gc_threshold():
    out = subprocess.run(
        [sys.executable, "-c", "import gc; print(list(gc.get_threshold()))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_init_collects_less_often_and_what_it_made_is_frozen(make_task):
    from runtime.main import INIT_GC_THRESHOLD

    task = make_task({"app.py": _GC_APP.format(init="")})
    run = run_events("lambundle", task, "app.handler", [{}, {}])
    default = _interpreter_gc_threshold()
    for post in run.posts:
        at_init, at_invoke, enabled, frozen = post.json()
        assert at_init == [INIT_GC_THRESHOLD, *default[1:]]
        assert at_invoke == default and enabled
        assert frozen > 1000  # the runtime's and the handler's modules, at least


def test_init_gc_default_leaves_collection_as_cpython_has_it(make_task):
    task = make_task({"app.py": _GC_APP.format(init="")})
    run = run_events(
        "lambundle", task, "app.handler", [{}], env={"LAMBUNDLE_INIT_GC": "default"}
    )
    default = _interpreter_gc_threshold()
    assert run.posts[0].json() == [default, default, True, 0]


def test_thresholds_an_init_sets_are_kept_and_nothing_is_frozen(make_task):
    init = "gc.set_threshold(5000, 20, 30)\ngc.disable()"
    task = make_task({"app.py": _GC_APP.format(init=init)})
    run = run_events("lambundle", task, "app.handler", [{}])
    _, at_invoke, enabled, frozen = run.posts[0].json()
    assert at_invoke == [5000, 20, 30] and not enabled and frozen == 0


# -- the layer layout ---------------------------------------------------------------------------


def _layer(opt: Path) -> None:
    """Lay out the runtime as lambundle's layer does (docs/layout.md)."""
    package = opt / "lambundle" / "_lambundle_runtime"
    package.mkdir(parents=True)
    for path in (REPO / "runtime").glob("*.py"):
        if path.name != "__main__.py":
            shutil.copy(path, package / path.name)
    for name in ("start.py", "exec-wrapper"):
        shutil.copy(REPO / "runtime" / "layer" / name, opt / "lambundle" / name)
    shutil.copy(REPO / "runtime" / "layer" / "bootstrap", opt / "bootstrap")


def _run_layer(command, task, api, env=None):
    full_env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task),
        "_HANDLER": "runtime.handler",
        **(env or {}),
    }
    return subprocess.Popen(
        command,
        cwd="/",
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stop() ends the group
    )


@pytest.mark.parametrize("entry", ["start.py", "exec-wrapper", "bootstrap"])
def test_user_module_named_runtime_imports_in_the_layer(make_task, tmp_path, entry):
    app = (
        "import sys\n"
        "def handler(e, c):\n"
        "    return [__file__, sorted(m for m in sys.modules if 'runtime' in m)]\n"
    )
    task = make_task({"runtime.py": app})
    opt = tmp_path / "opt"
    _layer(opt)
    api = FakeRuntimeAPI()
    api.queue_event()
    command = {
        "start.py": [sys.executable, str(opt / "lambundle" / "start.py")],
        "exec-wrapper": [
            str(opt / "lambundle" / "exec-wrapper"),
            sys.executable,
            "/var/runtime/bootstrap.py",
        ],
        "bootstrap": [str(opt / "bootstrap")],
    }[entry]
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = _run_layer(command, task, api, env)
    try:
        post = api.posts.get(timeout=20)
    finally:
        out = stop(proc)
        api.close()
    file, modules = post.json()
    assert file == str(task / "runtime.py"), out
    assert "runtime" in modules
    assert all(m == "runtime" or m.startswith("_lambundle_runtime") for m in modules)
