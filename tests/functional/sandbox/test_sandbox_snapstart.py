"""SnapStart in the sandbox, with real bubblewrap and both runtimes.

The hooks are registered through AWS's own `snapshot-restore-py` from the package index,
bundled with the function as a user would; awslambdaric (from the package index, the
managed runtime's client) and lambundle's runtime both run them. The hooks write their
order to a file in the environment's private /tmp and the handler returns it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bundler.cli import cli
from bundler.sandbox import InvokeEndpoint, InvokeResult, Sandbox, snapstart
from tests.runtime.bundles import SandboxFactory, needs_bwrap, needs_python, sandbox_factory

pytestmark = [*needs_bwrap, needs_python("3.12"), pytest.mark.network]

RUNTIMES = [pytest.param(True, id="lambundle"), pytest.param(False, id="awslambdaric")]


@pytest.fixture(scope="module")
def snapshot_restore_py(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The source of AWS's snapshot_restore_py module, from its wheel on the package index."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary=:all:", "--dest", str(out), "snapshot-restore-py==1.0.0"],
        check=True,
    )  # fmt: skip
    (wheel,) = out.glob("snapshot_restore_py-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.read("snapshot_restore_py.py").decode()


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxFactory]:
    with sandbox_factory(tmp_path) as factory:
        yield factory


HOOKS_APP = textwrap.dedent(
    """
    import json, os, threading, urllib.request
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    ORDER = "/tmp/hook-order"

    def record(name):
        with open(ORDER, "a") as f:
            f.write(name + "\\n")
        print("hook", name, flush=True)

    def fail(where):
        raise RuntimeError(f"{where} hook failed on purpose")

    print("init output", flush=True)
    register_before_snapshot(record, "before-1")
    register_before_snapshot(record, "before-2")
    register_after_restore(record, "after-1")
    register_after_restore(record, "after-2")
    if os.environ.get("FAIL_HOOK") == "before":
        register_before_snapshot(fail, "before-snapshot")
    if os.environ.get("FAIL_HOOK") == "after":
        register_after_restore(fail, "after-restore")
    # A hook that never returns, to meet the sandbox's caps (it is killed there).
    if os.environ.get("FAIL_HOOK") == "hang-before":
        register_before_snapshot(threading.Event().wait)
    if os.environ.get("FAIL_HOOK") == "hang-after":
        register_after_restore(threading.Event().wait)

    def restore_next_status():
        url = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/restore/next"
        try:
            return urllib.request.urlopen(url, timeout=5).status
        except urllib.error.HTTPError as err:
            return err.code

    def handler(event, context):
        print("handling", flush=True)
        order = []
        if os.path.exists(ORDER):
            with open(ORDER) as f:
                order = f.read().split()
        return {
            "order": order,
            "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
            "log_group": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
            "log_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
            "restore_next": restore_next_status() if event.get("probe") else None,
        }
    """
)


def _open(
    sandboxes: SandboxFactory, hooks: str, lambundle: bool, snapstart: bool = True,
    env: dict[str, str] | None = None, **sandbox_kwargs: Any,
) -> Sandbox:
    files: dict[str, str | bytes] = {"app.py": HOOKS_APP, "snapshot_restore_py.py": hooks}
    return sandboxes(
        files, "app.handler", lambundle=lambundle, env=env, snapstart=snapstart, **sandbox_kwargs
    )


@pytest.mark.parametrize("lambundle", RUNTIMES)
def test_hooks_run_in_order_around_the_restore(
    sandboxes: SandboxFactory, snapshot_restore_py: str, lambundle: bool
) -> None:
    sb = _open(sandboxes, snapshot_restore_py, lambundle)
    first = sb.invoke(b"{}")
    assert first.function_error is None, first.payload
    out = first.json()
    # Before-snapshot hooks in reverse registration order, after-restore ones in order.
    assert out["order"] == ["before-2", "before-1", "after-1", "after-2"]
    assert out["init_type"] == "snap-start"
    assert out["log_group"] is None and out["log_stream"] is None

    # Lambda's order: init output and before-snapshot hooks, INIT_REPORT, after-restore
    # hooks, START, the invoke, END, REPORT with Restore Duration instead of Init Duration.
    lines = first.logs.splitlines()
    marks = ["init output", "hook before-2", "hook before-1", "INIT_REPORT Init Duration: ",
             "hook after-1", "hook after-2", f"START RequestId: {first.request_id}",
             "handling", f"END RequestId: {first.request_id}", "REPORT RequestId: "]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(m)) for m in marks]
    assert positions == sorted(positions), first.logs
    report = lines[-1]
    assert report.startswith("REPORT RequestId: ")
    assert "\tRestore Duration: " in report and "\tBilled Restore Duration: " in report
    assert "Init Duration" not in report

    t = first.timings
    assert t.cold and t.snapshot is not None and t.restored is not None
    assert t.spawned is not None and t.first_next is not None
    assert t.handed is not None
    assert t.spawned <= t.snapshot <= t.restored <= t.first_next <= t.handed
    assert first.restore_s == t.restore_s == t.first_next - t.restored
    assert t.init_s == t.snapshot - t.spawned

    # Warm: no hooks, no restore, nothing in REPORT about either.
    second = sb.invoke(b"{}")
    assert second.json()["order"] == out["order"]
    assert not second.timings.cold and second.restore_s is None
    assert "Restore Duration" not in second.logs and "INIT_REPORT" not in second.logs

    # Every cold start here runs init again (no snapshot is kept).
    sb.stop()
    third = sb.invoke(b"{}")
    assert third.timings.cold and third.restore_s is not None
    assert third.json()["order"] == out["order"]


@pytest.mark.parametrize("lambundle", RUNTIMES)
def test_failing_before_snapshot_hook_fails_like_an_init_error(
    sandboxes: SandboxFactory, snapshot_restore_py: str, lambundle: bool
) -> None:
    sb = _open(sandboxes, snapshot_restore_py, lambundle, env={"FAIL_HOOK": "before"})
    result = sb.invoke(b"{}")
    assert result.init_error and result.function_error == "Unhandled"
    error = result.error
    assert error is not None
    assert error["errorType"] == "Runtime.BeforeSnapshotError"
    assert "before-snapshot hook failed on purpose" in error["errorMessage"]
    # The failing hook was registered last, so it ran first: no other hook ran.
    assert "hook before-" not in result.logs
    assert "Restore Duration" not in result.logs and result.restore_s is None
    assert result.timings.snapshot is None
    again = sb.invoke(b"{}")
    assert again.timings.cold and again.init_error


@pytest.mark.parametrize("lambundle", RUNTIMES)
def test_failing_after_restore_hook_fails_the_invoke_and_resets(
    sandboxes: SandboxFactory, snapshot_restore_py: str, lambundle: bool
) -> None:
    sb = _open(sandboxes, snapshot_restore_py, lambundle, env={"FAIL_HOOK": "after"})
    result = sb.invoke(b"{}")
    assert result.function_error == "Unhandled" and not result.init_error
    error = result.error
    assert error is not None
    assert error["errorType"] == "Runtime.AfterRestoreError"
    assert "after-restore hook failed on purpose" in error["errorMessage"]
    # Init finished (INIT_REPORT), the after-restore hooks ran up to the failing one.
    init_part = result.logs.split("START RequestId:")[0]
    assert "INIT_REPORT Init Duration: " in init_part
    assert "hook after-2" in init_part
    assert "handling" not in result.logs
    assert not sb.running  # the runtime exited (65); the environment is gone
    again = sb.invoke(b"{}")
    assert again.timings.cold
    assert again.error is not None and again.error["errorType"] == "Runtime.AfterRestoreError"


@pytest.mark.parametrize("lambundle", RUNTIMES)
def test_without_snapstart_nothing_changes(
    sandboxes: SandboxFactory, snapshot_restore_py: str, lambundle: bool
) -> None:
    sb = _open(sandboxes, snapshot_restore_py, lambundle, snapstart=False)
    result = sb.invoke(b'{"probe": true}')
    out = result.json()
    assert out["order"] == []  # hooks registered, never run: not a SnapStart function
    assert out["init_type"] == "on-demand"
    assert out["log_group"] == "/aws/lambda/function" and out["log_stream"]
    # The restore endpoints are not registered: Lambda's answer for an unknown route.
    assert out["restore_next"] == 404
    assert "Init Duration: " in result.logs.splitlines()[-1]
    assert "Restore Duration" not in result.logs and "INIT_REPORT" not in result.logs
    assert result.restore_s is None and result.timings.snapshot is None


def test_restore_next_during_an_invoke_is_refused(
    sandboxes: SandboxFactory, snapshot_restore_py: str
) -> None:
    sb = _open(sandboxes, snapshot_restore_py, lambundle=True)
    assert sb.invoke(b'{"probe": true}').json()["restore_next"] == 403


def test_init_past_its_cap_times_out(sandboxes: SandboxFactory, snapshot_restore_py: str) -> None:
    sb = _open(
        sandboxes, snapshot_restore_py, lambundle=True, env={"FAIL_HOOK": "hang-before"},
        init_timeout_s=0.5,
    )
    result = sb.invoke(b"{}")
    assert result.error is not None and result.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in result.error["errorMessage"]
    assert not sb.running and result.timings.snapshot is None


def test_restore_past_its_cap_fails_with_snapstart_timeout(
    sandboxes: SandboxFactory, snapshot_restore_py: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapstart, "RESTORE_TIMEOUT_S", 0.5)
    sb = _open(sandboxes, snapshot_restore_py, lambundle=False, env={"FAIL_HOOK": "hang-after"})
    result = sb.invoke(b"{}")
    assert result.error is not None
    assert result.error["errorType"] == "SnapStartTimeoutException"
    assert "within 0.50 seconds" in result.error["errorMessage"]
    assert "hook after-2" in result.logs and "handling" not in result.logs
    assert not sb.running
    assert sb.invoke(b"{}").timings.cold


def test_cli_invoke_snapstart(sandboxes: SandboxFactory, snapshot_restore_py: str) -> None:
    files: dict[str, str | bytes] = {
        "app.py": HOOKS_APP, "snapshot_restore_py.py": snapshot_restore_py,
    }
    bundle = sandboxes.bundle(files, "app.handler", lambundle=True)
    result = CliRunner().invoke(cli, ["invoke", str(bundle), "--snapstart"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["order"] == ["before-2", "before-1", "after-1", "after-2"]
    report = result.stderr.splitlines()[-1]
    assert "\tRestore Duration: " in report and "Init Duration" not in report

    plain = CliRunner().invoke(cli, ["invoke", str(bundle)])
    assert plain.exit_code == 0, plain.stderr
    assert json.loads(plain.stdout)["order"] == []
    assert "\tInit Duration: " in plain.stderr.splitlines()[-1]


def test_serve_snapstart_restores_on_the_first_request(
    sandboxes: SandboxFactory, snapshot_restore_py: str
) -> None:
    sb = _open(sandboxes, snapshot_restore_py, lambundle=False)
    results: list[InvokeResult] = []
    server = InvokeEndpoint(sb, port=0, on_result=results.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bodies = []
        for _ in range(2):
            with urllib.request.urlopen(server.url, data=b"{}", timeout=30) as resp:
                bodies.append(json.loads(resp.read()))
    finally:
        server.shutdown()
        thread.join(timeout=10)
    order = ["before-2", "before-1", "after-1", "after-2"]
    assert [b["order"] for b in bodies] == [order, order]
    assert [r.restore_s is not None for r in results] == [True, False]
