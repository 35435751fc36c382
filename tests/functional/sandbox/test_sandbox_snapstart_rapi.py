"""SnapStart's Runtime API endpoints (bundler.sandbox.rapi_single) over real HTTP, without a
sandbox; and the sandbox's SnapStart settings, checked without starting a process.

The test plays the runtime with http.client, as awslambdaric's init and restore calls do,
and the invoking side through RuntimeAPI's methods.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bundler.bundle.manifest import load
from bundler.core.errors import UsageError
from bundler.sandbox import (
    INIT_TIMEOUT_S,
    LMI_INIT_TIMEOUT_S,
    SNAPSTART_INIT_TIMEOUT_S,
    Sandbox,
)
from bundler.sandbox.rapi_protocol import AFTER_RESTORE_ERROR, BEFORE_SNAPSHOT_ERROR, Invocation
from bundler.sandbox.rapi_single import RuntimeAPI
from tests.runtime.bundles import make_bundle

PREFIX = "/2018-06-01/runtime"
RESTORE_NEXT = f"{PREFIX}/restore/next"
RESTORE_ERROR = f"{PREFIX}/restore/error"
NEXT = f"{PREFIX}/invocation/next"
HOOK_FAILURE = {
    "errorMessage": "hook failed", "errorType": "RuntimeError", "stackTrace": ["  File x\n"],
}


def call(
    api: RuntimeAPI, method: str, path: str, body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request on its own connection, as awslambdaric's restore calls make them."""
    host, port = api.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def error_type(body: bytes) -> str:
    return str(json.loads(body)["errorType"])


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


@pytest.fixture
def snap_api() -> Iterator[RuntimeAPI]:
    with RuntimeAPI(snapstart=True) as server:
        yield server


def test_without_snapstart_the_restore_routes_are_not_registered() -> None:
    with RuntimeAPI() as api:
        for method, path in (("GET", RESTORE_NEXT), ("POST", RESTORE_ERROR)):
            status, body = call(api, method, path, b"{}" if method == "POST" else None)
            assert (status, body) == (404, b"404 page not found\n")
        assert api.snapshot_at is None and api.state == "init"


def test_restore_next_ends_init_and_is_answered_for_an_invocation(
    snap_api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    restored = pool.submit(call, snap_api, "GET", RESTORE_NEXT)
    assert snap_api.wait_snapshot(10)
    assert snap_api.snapshot_at is not None
    # Compared as a tuple, which does not narrow restored_at for the checks below.
    assert (snap_api.state, snap_api.restored_at, restored.done()) == ("snapshot", None, False)
    # Polling /next before the restore is out of order.
    assert call(snap_api, "GET", NEXT)[0] == 403
    invocation = Invocation(b'{"n": 1}')
    snap_api.offer(invocation)
    assert restored.result(10)[0] == 200
    assert snap_api.state == "restoring" and snap_api.restored_at is not None
    # Init is over: it can no longer fail, nor ask to be restored twice.
    headers = {"Lambda-Runtime-Function-Error-Type": BEFORE_SNAPSHOT_ERROR}
    assert call(snap_api, "POST", f"{PREFIX}/init/error", b"{}", headers)[0] == 403
    assert call(snap_api, "GET", RESTORE_NEXT)[0] == 403
    status, event = call(snap_api, "GET", NEXT)
    assert (status, event) == (200, b'{"n": 1}')
    assert snap_api.first_next_at is not None
    assert snap_api.snapshot_at <= snap_api.restored_at <= snap_api.first_next_at
    # After the restore, its error endpoint is out of order too.
    assert call(snap_api, "POST", RESTORE_ERROR, b"{}")[0] == 403


def test_restore_error_fails_the_invocation_with_the_header_type(
    snap_api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    assert call(snap_api, "POST", RESTORE_ERROR, b"{}")[0] == 403  # not restored yet
    snap_api.offer(Invocation(b"{}"))
    assert call(snap_api, "GET", RESTORE_NEXT)[0] == 200
    headers = {"Lambda-Runtime-Function-Error-Type": AFTER_RESTORE_ERROR}
    status, _ = call(snap_api, "POST", RESTORE_ERROR, json.dumps(HOOK_FAILURE).encode(), headers)
    assert status == 202
    outcome = snap_api.wait_outcome(10)
    assert outcome is not None and outcome.kind == "restore_error" and outcome.function_error
    assert json.loads(outcome.payload) == {
        "errorMessage": "hook failed", "errorType": AFTER_RESTORE_ERROR,
        "stackTrace": ["  File x\n"],
    }
    assert snap_api.state == "failed"
    assert call(snap_api, "GET", NEXT)[0] == 403  # the runtime must exit


def test_before_snapshot_error_is_an_init_error_of_that_type(snap_api: RuntimeAPI) -> None:
    snap_api.offer(Invocation(b"{}"))
    headers = {"Lambda-Runtime-Function-Error-Type": BEFORE_SNAPSHOT_ERROR}
    body = json.dumps(HOOK_FAILURE).encode()
    assert call(snap_api, "POST", f"{PREFIX}/init/error", body, headers)[0] == 202
    outcome = snap_api.wait_outcome(10)
    assert outcome is not None and outcome.kind == "init_error"
    assert error_type(outcome.payload) == BEFORE_SNAPSHOT_ERROR
    assert json.loads(outcome.payload)["errorMessage"] == "hook failed"
    assert call(snap_api, "GET", RESTORE_NEXT)[0] == 403


def test_other_init_errors_keep_their_own_type(snap_api: RuntimeAPI) -> None:
    snap_api.offer(Invocation(b"{}"))
    body = json.dumps({"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"})
    headers = {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"}
    assert call(snap_api, "POST", f"{PREFIX}/init/error", body.encode(), headers)[0] == 202
    outcome = snap_api.wait_outcome(10)
    assert outcome is not None and outcome.payload == body.encode()


def test_a_runtime_without_hooks_is_restored_at_its_first_next(snap_api: RuntimeAPI) -> None:
    snap_api.offer(Invocation(b"{}"))
    assert call(snap_api, "GET", NEXT)[0] == 200
    assert snap_api.snapshot_at == snap_api.restored_at == snap_api.first_next_at


def test_a_replaced_environment_ends_a_waiting_restore(
    snap_api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    waiting = pool.submit(call, snap_api, "GET", RESTORE_NEXT)
    assert snap_api.wait_snapshot(10)
    snap_api.reset()
    status, body = waiting.result(10)
    assert status == 500 and error_type(body) == "Runtime.Unknown"
    assert snap_api.snapshot_at is None and snap_api.state == "init"


# -- the sandbox's SnapStart settings (no process is started) ---------------------------


def test_snapstart_init_cap_is_130_s_or_the_timeout(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, {"app.py": ""}, "app.handler")
    assert Sandbox(bundle).init_timeout_s == INIT_TIMEOUT_S
    assert Sandbox(bundle, snapstart=True).init_timeout_s == SNAPSTART_INIT_TIMEOUT_S == 130.0
    assert Sandbox(bundle, snapstart=True, timeout_s=600).init_timeout_s == 600
    assert Sandbox(bundle, snapstart=True, init_timeout_s=2.0).init_timeout_s == 2.0


def test_managed_instances_init_cap_is_130_s_or_the_timeout(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path, {"app.py": ""}, "app.handler", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"}
    )
    sandbox = Sandbox(bundle, timeout_s=300)
    assert sandbox.init_timeout_s == INIT_TIMEOUT_S  # not known until the bundle is read
    sandbox._check_configuration(load(bundle))
    assert sandbox.init_timeout_s == max(LMI_INIT_TIMEOUT_S, 300) == 300
    given = Sandbox(bundle, init_timeout_s=2.0)
    given._check_configuration(load(bundle))
    assert given.init_timeout_s == 2.0


def test_snapstart_and_managed_instances_are_refused_together(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path, {"app.py": ""}, "app.handler", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"}
    )
    with pytest.raises(UsageError, match="SnapStart does not apply to Lambda Managed Instances"):
        Sandbox(bundle, snapstart=True).open()
