"""A minimal Lambda Runtime API on loopback for runtime tests, and a runner for runtimes.

It queues events for /next, records every POST (path, headers, body, trailers) and can
answer /next with a chosen status. Chunked POST bodies (response streaming) are decoded
with their trailers. The conformance tests run the same case once on lambundle's runtime
and once on awslambdaric (installed in the venv) against this server; B's sandbox-based
tests live beside them.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1;Sampled=1"


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.path.rsplit("/", 1)[-1]  # response | error

    def json(self):
        return json.loads(self.body)


class FakeRuntimeAPI:
    def __init__(self, next_status: int = 200) -> None:
        self.events: queue.Queue = queue.Queue()
        self.posts: queue.Queue = queue.Queue()
        self.next_status = next_status
        self.next_calls = 0
        self.next_called = threading.Condition()
        self.restored = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.endswith("/runtime/restore/next"):
                    api.restored.set()
                    self._send(200)
                    return
                if not self.path.endswith("/runtime/invocation/next"):
                    self._send(404)
                    return
                with api.next_called:
                    api.next_calls += 1
                    api.next_called.notify_all()
                if api.next_status != 200:
                    self._send(
                        api.next_status, b'{"errorMessage":"Container error","errorType":"X"}'
                    )
                event = api.events.get()
                if event is None:
                    self.close_connection = True
                    self._send(500, b"{}")
                    return
                body, headers = event
                self._send(200, body, headers.items())

            def do_POST(self):
                trailers = {}
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while True:
                                line = self.rfile.readline().strip()
                                if not line:
                                    break
                                name, _, value = line.decode().partition(":")
                                trailers[name.strip()] = value.strip()
                            break
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                    body = b"".join(parts)
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.posts.put(Posted(self.path, dict(self.headers.items()), body, trailers))
                if len(body) > 6291556:
                    self._send(413, b'{"errorType":"RequestEntityTooLarge"}')
                else:
                    self._send(202, b'{"status":"OK"}')

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a runtime killed mid-request is expected in these tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_next_calls(self, n: int, timeout: float = 20) -> bool:
        """Block until /next has been called `n` times (a runtime waiting for work)."""
        with self.next_called:
            return self.next_called.wait_for(lambda: self.next_calls >= n, timeout)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def queue_event(
        self,
        body: bytes = b"{}",
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> str:
        request_id = str(uuid.uuid4())
        h = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": "99999999999999",
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Lambda-Runtime-Trace-Id": TRACE_ID,
        }
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        self.events.put((body, {k: v for k, v in h.items() if v is not None}))
        return request_id

    def close(self) -> None:
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


def runtime_command(kind: str, handler: str) -> list[str]:
    if kind == "lambundle":
        return [sys.executable, "-m", "runtime", handler]
    return [sys.executable, "-m", "awslambdaric", handler]


def start(
    kind: str,
    handler: str,
    task_root: Path,
    api_address: str,
    env: dict[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen:
    """Start a runtime (lambundle's or awslambdaric) on `task_root` against `api_address`."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "f",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
    }
    if kind == "lambundle":
        # The repo on the path so `-m runtime` imports it; the loader adds the task root.
        full_env["PYTHONPATH"] = str(REPO)
    else:
        # What AWS's bootstrap.py does before it starts awslambdaric: task root first.
        full_env["PYTHONPATH"] = str(task_root)
    full_env.update(env or {})
    return subprocess.Popen(
        runtime_command(kind, handler),
        cwd=task_root,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so stop() can end forked workers too
        pass_fds=pass_fds,
    )


def stop(proc: subprocess.Popen) -> str:
    """Kill a runtime started by start() and its workers; return its output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)  # the group start() created for this runtime
    if proc.poll() is None:
        proc.kill()
    # A bounded wait: a worker that escaped the group would hold stdout open forever.
    return proc.communicate(timeout=30)[0].decode("utf-8", "replace")


@dataclass
class Run:
    """What one runtime did with a list of events."""

    posts: list[Posted]
    exit_code: int | None
    output: str
    init_error: Posted | None = None


def run_events(
    kind: str,
    task_root: Path,
    handler: str,
    events: list[dict],
    env: dict[str, str] | None = None,
    timeout: float = 20,
) -> Run:
    """Start a runtime, feed it `events` (kwargs of queue_event) and collect its posts.

    Stops when every event got a response/error, or the process exited (init error,
    sys.exit, crash). The process is then killed and its output collected.
    """
    api = FakeRuntimeAPI()
    for event in events:
        api.queue_event(**event)
    proc = start(kind, handler, task_root, api.address, env)
    exited = threading.Thread(target=lambda: (proc.wait(), api.posts.put(None)), daemon=True)
    exited.start()
    posts: list[Posted] = []
    init_error = None
    exit_code = None
    try:
        while len(posts) < len(events):
            try:
                post = api.posts.get(timeout=timeout)
            except queue.Empty:
                break
            if post is None:
                exit_code = proc.returncode
                break
            if post.path.endswith(("/init/error", "/restore/error")):
                init_error = post
                continue
            posts.append(post)
    finally:
        output = stop(proc)
        api.close()
    return Run(posts, exit_code, output, init_error)
