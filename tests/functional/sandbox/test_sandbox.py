"""The sandbox with real parts: bubblewrap, AWS's awslambdaric (unmodified), subprocesses.

awslambdaric from the package index is what the managed python3.X runtime runs; that it
serves invocations here, including its init-error and invocation-error paths, is the
proof that the sandbox's Runtime API is Lambda's. It is installed from the package index
on first use, hence the network mark.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.bundles import (
    STREAMING_BOOTSTRAP,
    SandboxFactory,
    needs_bwrap,
    needs_python,
    sandbox_factory,
)

# The managed runtime's awslambdaric comes from the package index on first use (cached).
pytestmark = [*needs_bwrap, needs_python("3.12"), pytest.mark.network]


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxFactory]:
    with sandbox_factory(tmp_path) as factory:
        yield factory


def app(source: str) -> dict[str, str | bytes]:
    return {"app.py": textwrap.dedent(source)}


ECHO = app(
    """
    print("init output")

    def handler(event, context):
        print("handling", context.aws_request_id)
        return {"event": event, "request_id": context.aws_request_id}
    """
)


def test_awslambdaric_serves_invocations_cold_then_warm(sandboxes: SandboxFactory) -> None:
    sb = sandboxes(ECHO, "app.handler", lambundle=False)
    assert sb.isolated and sb.warnings == []
    first = sb.invoke(b'{"n": 1}')
    assert first.function_error is None
    assert first.content_type == "application/json"
    assert first.json() == {"event": {"n": 1}, "request_id": first.request_id}
    assert f"handling {first.request_id}" in first.logs
    # Lambda's log order: init output, START, the invoke's output, END, REPORT.
    init_part, invoke_part = first.logs.split(f"START RequestId: {first.request_id}")
    assert "init output" in init_part and "handling" not in init_part
    assert f"handling {first.request_id}" in invoke_part
    assert invoke_part.splitlines()[-2] == f"END RequestId: {first.request_id}"
    assert "Init Duration:" in first.logs.splitlines()[-1]
    assert first.timings.cold and first.timings.init_s is not None
    assert first.timings.extract_s is not None
    assert first.peak_rss is not None and first.peak_rss > 1_000_000

    second = sb.invoke(b'{"n": 2}')
    assert second.json()["event"] == {"n": 2}
    assert not second.timings.cold and second.timings.init_s is None
    assert second.request_id != first.request_id
    assert "handling" not in second.logs.split(f"START RequestId: {second.request_id}")[0]
    assert [t.cold for t in sb.timings] == [True, False]


def test_lambda_environment_and_filesystem(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os, sys

        def handler(event, context):
            def writable(path):
                try:
                    with open(os.path.join(path, "probe"), "w") as f:
                        f.write("x")
                    return True
                except OSError:
                    return False
            keys = ["_HANDLER", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME", "TZ",
                    "AWS_LAMBDA_INITIALIZATION_TYPE", "FROM_CONFIG", "FROM_USER", "PYTHONPATH",
                    "LD_LIBRARY_PATH", "HOME"]
            return {
                "env": {k: os.environ.get(k) for k in keys},
                "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
                "executable": sys.executable,
                "cwd": os.getcwd(),
                "sys_path": sys.path[:3],
                "writable": {p: writable(p) for p in ("/var/task", "/opt", "/tmp")},
                "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb,
                "remaining": context.get_remaining_time_in_millis(),
            }
        """
    )
    sb = sandboxes(
        files, "app.handler", lambundle=False, env={"FROM_CONFIG": "manifest"},
        memory_mb=256, timeout_s=5.0
    )
    sb.user_env["FROM_USER"] = "cli"
    out = sb.invoke(b"{}").json()
    env = out["env"]
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" == out["memory"]
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["TZ"] == ":UTC"
    assert env["FROM_CONFIG"] == "manifest" and env["FROM_USER"] == "cli"
    # AWS's bootstrap.py hands its children /var/runtime as PYTHONPATH.
    assert env["PYTHONPATH"] == "/var/runtime"
    assert env["LD_LIBRARY_PATH"].startswith("/var/lang/lib:")
    assert env["HOME"] is None  # --clearenv: nothing leaks from the host
    assert out["runtime_api"].startswith("127.0.0.1:")
    assert out["executable"] == "/var/lang/bin/python3.12"
    assert out["cwd"] == "/var/task"
    assert out["sys_path"] == [
        "/var/task", "/opt/python/lib/python3.12/site-packages", "/opt/python"
    ]
    assert out["writable"] == {"/var/task": False, "/opt": False, "/tmp": True}
    assert out["arn"] == "arn:aws:lambda:us-east-1:012345678912:function:function"
    assert 0 < out["remaining"] <= 5000


def test_awslambdaric_init_error_reaches_the_first_caller(sandboxes: SandboxFactory) -> None:
    sb = sandboxes(app("import not_installed_anywhere\n"), "app.handler", lambundle=False)
    result = sb.invoke(b"{}")
    assert result.init_error
    assert result.function_error == "Unhandled"
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert result.error["errorMessage"] == (
        "Unable to import module 'app': No module named 'not_installed_anywhere'"
    )
    assert "Runtime.ImportModuleError" in result.logs
    assert not sb.running  # the environment is gone after an init error
    again = sb.invoke(b"{}")
    assert again.timings.cold and again.init_error


def test_awslambdaric_handler_not_found(sandboxes: SandboxFactory) -> None:
    sb = sandboxes(ECHO, "app.missing", lambundle=False)
    result = sb.invoke(b"{}")
    assert result.init_error and result.error is not None
    assert result.error["errorType"] == "Runtime.HandlerNotFound"
    assert result.error["errorMessage"] == "Handler 'missing' missing on module 'app'"


def test_awslambdaric_invocation_error_keeps_the_environment(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        def handler(event, context):
            if event.get("fail"):
                raise ValueError("no good: %s" % event["fail"])
            return "fine"
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False)
    failed = sb.invoke(b'{"fail": "x"}')
    assert failed.function_error == "Unhandled" and not failed.init_error
    assert failed.error is not None
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "no good: x"
    assert failed.error["requestId"] == failed.request_id
    assert "[ERROR] ValueError: no good: x" in failed.logs
    ok = sb.invoke(b"{}")
    assert ok.payload == b'"fine"' and not ok.timings.cold


def test_bytes_event_and_result_content_types(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        def handler(event, context):
            return event[::-1]
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False)
    result = sb.invoke(b"\x00\x01abc", content_type="image/png")
    assert result.payload == b"cba\x01\x00"
    assert result.content_type == "application/unknown"


def test_client_context_identity_and_tenant(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        def handler(event, context):
            return {
                "custom": context.client_context.custom,
                "identity": context.identity.cognito_identity_id,
                "tenant": context.tenant_id,
            }
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False)
    result = sb.invoke(
        b"{}",
        client_context={"custom": {"k": "v"}, "env": {}, "client": {}},
        cognito_identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool"},
        tenant_id="tenant-7",
    )
    assert result.json() == {"custom": {"k": "v"}, "identity": "id-1", "tenant": "tenant-7"}


def test_timeout_kills_the_process_and_next_invoke_is_cold(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os, time

        def handler(event, context):
            if event.get("hang"):
                time.sleep(600)
            return os.getpid()
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False, timeout_s=0.5)
    assert isinstance(sb.invoke(b"{}").json(), int)
    result = sb.invoke(b'{"hang": true}')
    assert result.function_error == "Unhandled"
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 0.50 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert not sb.running
    after = sb.invoke(b"{}")
    assert after.timings.cold and after.function_error is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("os._exit(3)", "Runtime exited with error: exit status 3"),
        ("sys.exit(0)", "Runtime exited without providing a reason"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "Runtime exited with error: signal: killed"),
    ],
)
def test_process_exit_is_runtime_exit_error(
    sandboxes: SandboxFactory, body: str, reason: str
) -> None:
    files = {"app.py": f"import os, signal, sys\n\ndef handler(event, context):\n    {body}\n"}
    sb = sandboxes(files, "app.handler", lambundle=False)
    result = sb.invoke(b"{}")
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: {reason}",
        "errorType": "Runtime.ExitError",
    }
    assert sb.invoke(b"{}").timings.cold


@pytest.mark.parametrize("lambundle", [False, True])
def test_an_invoke_over_the_memory_size_is_killed_as_lambda_kills_it(
    sandboxes: SandboxFactory, lambundle: bool
) -> None:
    files = app(
        """
        def handler(event, context):
            hog = bytearray(event["mb"] * 1024 * 1024)  # zero-filled: every page touched
            return len(hog)
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=lambundle, memory_mb=160)
    fits = sb.invoke(b'{"mb": 16}')
    assert fits.error is None and fits.json() == 16 * 1024 * 1024
    result = sb.invoke(b'{"mb": 200}')
    assert result.payload != str(200 * 1024 * 1024).encode()  # the handler's answer is dropped
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: "
        "Runtime exited with error: signal: killed",
        "errorType": "Runtime.ExitError",
    }
    assert result.peak_rss is not None and result.peak_rss > 160 * 1024 * 1024
    assert "Memory Size: 160 MB" in result.logs
    assert not sb.running
    assert sb.invoke(b'{"mb": 16}').timings.cold


def test_a_runaway_allocation_is_killed_while_it_runs(sandboxes: SandboxFactory) -> None:
    # The handler holds 200 MB and never returns: only a kill while it runs can end the
    # invoke before its timeout (the check at the end of an invoke would come too late).
    files = app(
        """
        import threading

        def handler(event, context):
            hog = bytearray(200 * 1024 * 1024)
            threading.Event().wait()
            return len(hog)
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True, memory_mb=160, timeout_s=15.0)
    result = sb.invoke(b"{}")
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: "
        "Runtime exited with error: signal: killed",
        "errorType": "Runtime.ExitError",
    }
    assert not sb.running


WRAPPER = "#!/bin/sh\nexport WRAPPED=yes\nexec \"$@\"\n"


def test_exec_wrapper_is_honoured(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os, sys

        def handler(event, context):
            return [os.environ.get("WRAPPED"), sys.executable]
        """
    )
    sb = sandboxes(
        files, "app.handler", lambundle=False,
        env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap.sh"}, layers=[{"wrap.sh": WRAPPER}],
    )
    assert sb.invoke(b"{}").json() == ["yes", "/var/lang/bin/python3.12"]


@pytest.mark.parametrize(
    ("layer", "status", "message"),
    [
        ({}, 127, "/opt/wrap.sh: does not exist"),
        ({"wrap.sh": "echo not executable\n"}, 126, "/opt/wrap.sh: is not an executable"),
    ],
)
def test_broken_exec_wrapper_fails_like_aws(
    sandboxes: SandboxFactory, layer: dict[str, str | bytes], status: int, message: str
) -> None:
    sb = sandboxes(
        ECHO, "app.handler", lambundle=False,
        env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap.sh"}, layers=[layer],
    )
    result = sb.invoke(b"{}")
    assert result.error is not None and result.error["errorType"] == "Runtime.ExitError"
    assert result.error["errorMessage"].endswith(f"exit status {status}")
    assert message in result.logs


def test_layers_merge_in_order_later_wins(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        def handler(event, context):
            return [open("/opt/same.txt").read(), open("/opt/only-first.txt").read()]
        """
    )
    layers: list[dict[str, str | bytes]] = [
        {"same.txt": "first", "only-first.txt": "kept"},
        {"same.txt": "second"},
    ]
    sb = sandboxes(files, "app.handler", lambundle=False, layers=layers)
    assert sb.invoke(b"{}").json() == ["second", "kept"]


PROVIDED_BOOTSTRAP = """#!/bin/sh
# A custom runtime in shell, talking to the Runtime API with curl like AWS's tutorial.
set -eu
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | cut -d' ' -f2 | tr -d '\\r')
  curl -sS -o /dev/null -X POST "$api/invocation/$id/response" \\
    -d "{\\"echo\\": $event, \\"handler\\": \\"$_HANDLER\\"}"
done
"""


def test_provided_runtime_runs_task_bootstrap(sandboxes: SandboxFactory) -> None:
    sb = sandboxes(
        {"bootstrap": PROVIDED_BOOTSTRAP}, "whatever.handler", runtime="provided.al2023",
        lambundle=False,
    )
    first = sb.invoke(b'{"a": 1}')
    assert first.json() == {"echo": {"a": 1}, "handler": "whatever.handler"}
    assert sb.invoke(b"[2]").json()["echo"] == [2]


def test_provided_runtime_prefers_task_bootstrap_over_layer(sandboxes: SandboxFactory) -> None:
    layer_bootstrap = "#!/bin/sh\necho layer bootstrap ran; exit 9\n"
    sb = sandboxes(
        {"bootstrap": PROVIDED_BOOTSTRAP}, "h.h", runtime="provided.al2023", lambundle=False,
        layers=[{"bootstrap": layer_bootstrap}],
    )
    assert sb.invoke(b"1").json()["echo"] == 1
    only_layer = sandboxes(
        {"app.py": ""}, "h.h", runtime="provided.al2023", lambundle=False,
        layers=[{"bootstrap": layer_bootstrap}],
    )
    result = only_layer.invoke(b"1")
    assert result.error is not None and result.error["errorMessage"].endswith("exit status 9")
    assert "layer bootstrap ran" in result.logs


def test_provided_runtime_without_bootstrap_is_invalid_entrypoint(
    sandboxes: SandboxFactory,
) -> None:
    sb = sandboxes({"app.py": ""}, "app.h", runtime="provided.al2023", lambundle=False)
    result = sb.invoke(b"{}")
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: Couldn't find valid "
        "bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
        "errorType": "Runtime.InvalidEntrypoint",
    }


def test_init_error_posted_by_a_custom_runtime(sandboxes: SandboxFactory) -> None:
    bootstrap = """#!/bin/sh
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "config is broken"
curl -sS -X POST "$api/init/error" -H "Lambda-Runtime-Function-Error-Type: Runtime.ConfigInvalid" \\
  -d '{"errorMessage": "bad config", "errorType": "Runtime.ConfigInvalid"}'
exit 1
"""
    sb = sandboxes({"bootstrap": bootstrap}, "h.h", runtime="provided.al2023", lambundle=False)
    result = sb.invoke(b"{}")
    assert result.init_error
    assert result.error == {"errorMessage": "bad config", "errorType": "Runtime.ConfigInvalid"}
    assert "config is broken" in result.logs


def test_unsandboxed_runs_with_real_paths(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os

        def handler(event, context):
            return [os.environ["LAMBDA_TASK_ROOT"], os.getcwd(), os.environ.get("WRAPPED")]
        """
    )
    sb = sandboxes(
        files, "app.handler", lambundle=False, isolate=False,
        env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap.sh"}, layers=[{"wrap.sh": WRAPPER}],
    )
    assert not sb.isolated
    assert any("unsandboxed" in w for w in sb.warnings)
    task_root, cwd, wrapped = sb.invoke(b"{}").json()
    assert task_root == str(sb.work_dir / "task") == cwd
    assert wrapped == "yes"  # /opt/wrap.sh was mapped to the sandbox's opt dir


def test_environment_is_reported_in_json(sandboxes: SandboxFactory) -> None:
    # The environment the function gets is inspectable, for --debug and for compare.
    sb = sandboxes(ECHO, "app.handler", lambundle=False)
    env = sb.environment()
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert json.loads(json.dumps(env)) == env
    assert env["PATH"] == "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"


@pytest.mark.parametrize("runtime", ["python3.12", "provided.al2023"])
def test_lambundle_runtime_serves_invocations(sandboxes: SandboxFactory, runtime: str) -> None:
    # lambundle's own runtime layer: through AWS_LAMBDA_EXEC_WRAPPER on the managed
    # runtime, through /opt/bootstrap on provided.al2023.
    files = app(
        """
        import sys

        def handler(event, context):
            return {"event": event, "runtime": "_lambundle_runtime" in sys.modules}
        """
    )
    sb = sandboxes(files, "app.handler", runtime=runtime)
    assert sb.invoke(b'{"x": 1}').json() == {"event": {"x": 1}, "runtime": True}
    assert not sb.invoke(b"{}").timings.cold
    if runtime == "provided.al2023":
        assert any("--embed-python" in w for w in sb.warnings)


def test_awslambdaric_oversized_response(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        def handler(event, context):
            return "x" * event["size"]
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False)
    result = sb.invoke(b'{"size": 7000000}')
    assert result.error == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    # awslambdaric treats the 413 as fatal and exits; the next invoke starts afresh.
    after = sb.invoke(b'{"size": 3}')
    assert after.payload == b'"xxx"'




@pytest.mark.parametrize("fail", [False, True])
def test_streamed_response_from_a_custom_runtime(sandboxes: SandboxFactory, fail: bool) -> None:
    sb = sandboxes(
        {"bootstrap": STREAMING_BOOTSTRAP}, "h.h", runtime="provided.al2023", lambundle=False
    )
    seen: list[bytes] = []
    result = sb.invoke(b'"fail"' if fail else b"{}", on_chunk=seen.append)
    assert result.streamed
    assert result.chunks == (b"alpha ", b"beta") and seen == list(result.chunks)
    assert result.payload == b"alpha beta" and result.content_type == "text/plain"
    if fail:
        assert result.function_error == "Unhandled"
        assert result.error == {"errorType": "Runtime.StreamError", "errorMessage": "went wrong"}
    else:
        assert result.function_error is None and result.error is None


def test_init_that_never_polls_times_out_after_its_retry(sandboxes: SandboxFactory) -> None:
    bootstrap = "#!/bin/sh\necho starting\nexec sleep 600\n"
    sb = sandboxes(
        {"bootstrap": bootstrap}, "h.h", runtime="provided.al2023", lambundle=False,
        init_timeout_s=0.5, timeout_s=1.0,
    )
    result = sb.invoke(b"{}")
    # The init is cut at its cap, retried within the function's timeout, and cut again.
    assert result.error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
    }
    before, _, after = result.logs.partition(f"START RequestId: {result.request_id}")
    assert "starting" in before and "Phase: init\tStatus: timeout" in before
    assert "starting" in after  # the retry, inside the invoke
    assert "Init Duration" not in after
    assert not sb.running


def test_an_init_past_its_cap_is_retried_within_the_function_timeout(
    sandboxes: SandboxFactory,
) -> None:
    files = app(
        """
        import time
        print("initialising")
        time.sleep(1.0)  # the slow init under test, past the 0.5 s cap given below
        READY_AT = time.monotonic()

        def handler(event, context):
            return READY_AT
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True, init_timeout_s=0.5, timeout_s=20.0)
    result = sb.invoke(b"{}")
    assert result.error is None
    ready_at = result.json()  # when the retried init finished, on the same monotonic clock
    before, _, after = result.logs.partition(f"START RequestId: {result.request_id}")
    assert before.count("initialising") == 1 and "INIT_REPORT Init Duration: " in before
    assert "Phase: init\tStatus: timeout" in before
    assert after.count("initialising") == 1
    report = after.splitlines()[-1]
    assert report.startswith("REPORT ") and "Init Duration" not in report
    # The retried init is in the invoke's Duration: that window opens before it finished.
    timings = result.timings
    assert timings.init_s is None and timings.handed is not None
    assert timings.handed < ready_at < timings.finished
    warm = sb.invoke(b"{}")
    assert not warm.timings.cold and warm.json() == ready_at


def test_tmp_is_private_and_lives_as_long_as_the_environment(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os

        def handler(event, context):
            path = "/tmp/marker"
            existed = os.path.exists(path)
            open(path, "w").close()
            if event.get("exit"):
                os._exit(1)
            return existed
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False)
    assert sb.invoke(b"{}").json() is False
    assert sb.invoke(b"{}").json() is True  # warm: same /tmp
    sb.invoke(b'{"exit": true}')
    assert sb.invoke(b"{}").json() is False  # a new environment has a fresh /tmp


def test_managed_instances_workers_all_poll(sandboxes: SandboxFactory) -> None:
    # awslambdaric starts AWS_LAMBDA_MAX_CONCURRENCY worker processes, each polling /next;
    # on Managed Instances none of them is refused.
    files = app(
        """
        import os

        def handler(event, context):
            return [os.getpid(), os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]]
        """
    )
    sb = sandboxes(
        files, "app.handler", lambundle=False, env={"AWS_LAMBDA_MAX_CONCURRENCY": "3"}
    )
    first = sb.invoke(b"{}")
    assert first.function_error is None, first.logs
    assert first.json()[1] == "lambda-managed-instances"
    assert sb.wait_ready(30, workers=3)
    results = [sb.invoke(b"{}") for _ in range(6)]
    assert [r.function_error for r in results] == [None] * 6
    assert not any(r.timings.cold for r in results)
    assert sb.wait_ready(30, workers=3)  # every worker is back in /next


def test_bootstrap_with_crlf_shebang_is_invalid_entrypoint(sandboxes: SandboxFactory) -> None:
    # Written on Windows: "#!/bin/sh\r" names an interpreter that does not exist.
    sb = sandboxes(
        {"bootstrap": "#!/bin/sh\r\necho hi\r\n"}, "h.h", runtime="provided.al2023",
        lambundle=False,
    )
    result = sb.invoke(b"{}")
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: fork/exec "
        "/var/task/bootstrap: no such file or directory",
        "errorType": "Runtime.InvalidEntrypoint",
    }
