"""Lambda Managed Instances in the sandbox: up to AWS_LAMBDA_MAX_CONCURRENCY invokes at once.

Overlap is proved with FIFOs in the environment's shared /tmp, never with timing: a
handler that opens a FIFO blocks until another invoke's handler opens it from the other
end, so both can only finish if they ran at the same time in different workers. The
real runtimes run under bubblewrap: lambundle's and AWS's awslambdaric (from the
package index, hence the network mark).
"""

from __future__ import annotations

import http.client
import json
import textwrap
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bundler.core.errors import ThrottledError, UsageError
from bundler.sandbox import InvokeEndpoint, InvokeResult, Sandbox
from tests.runtime.bundles import SandboxFactory, needs_bwrap, needs_python, sandbox_factory

APP: dict[str, str | bytes] = {
    "app.py": textwrap.dedent(
        """
        import logging, os

        # The FIFOs live in /tmp, which every worker of the environment shares.
        for path in ("/tmp/to-a", "/tmp/to-b"):
            try:
                os.mkfifo(path)
            except FileExistsError:
                pass
        logging.getLogger().setLevel(logging.INFO)

        def handler(event, context):
            role = event.get("role")
            logging.info("role %s", role)  # a JSON line with this invoke's requestId
            if role == "wait":  # blocks until another invoke opens the FIFO to write
                with open(event["fifo"]) as f:
                    return {"pid": os.getpid(), "got": f.read()}
            for path in event.get("release", ()):  # blocks until a waiter opens it
                with open(path, "w") as f:
                    f.write(str(os.getpid()))
            if role == "crash":
                os._exit(3)
            return {"pid": os.getpid()}
        """
    )
}
WAIT_A = {"role": "wait", "fifo": "/tmp/to-a"}
WAIT_B = {"role": "wait", "fifo": "/tmp/to-b"}


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


# -- the sandbox, with real runtimes under bubblewrap ----------------------------------------

F = TypeVar("F", bound=Callable[..., None])


def sandboxed(test: F) -> F:
    """bubblewrap, Python 3.12, and the package index (awslambdaric, cached)."""
    for mark in (*needs_bwrap, needs_python("3.12"), pytest.mark.network):
        test = mark(test)
    return test


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxFactory]:
    with sandbox_factory(tmp_path) as factory:
        yield factory


def lmi(sandboxes: SandboxFactory, workers: int, lambundle: bool, **kwargs: Any) -> Sandbox:
    kwargs.setdefault("timeout_s", 60.0)
    kwargs.setdefault("memory_mb", 1024)
    return sandboxes(
        APP, "app.handler", lambundle=lambundle,
        env={"AWS_LAMBDA_MAX_CONCURRENCY": str(workers)}, **kwargs,
    )


def submit(pool: ThreadPoolExecutor, sb: Sandbox, event: dict[str, Any]) -> Future[InvokeResult]:
    return pool.submit(sb.invoke, json.dumps(event))


def ok(result: InvokeResult) -> Any:
    assert result.function_error is None, (result.payload, result.logs)
    return result.json()


def own_json_lines(result: InvokeResult) -> list[dict[str, Any]]:
    records = []
    for line in result.logs.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("requestId"):
                records.append(record)
    return records


RUNTIMES = pytest.mark.parametrize("lambundle", [False, True], ids=["awslambdaric", "lambundle"])


@sandboxed
@RUNTIMES
def test_two_invokes_overlap_in_two_workers(
    sandboxes: SandboxFactory, pool: ThreadPoolExecutor, lambundle: bool
) -> None:
    sb = lmi(sandboxes, 2, lambundle)
    waiting = submit(pool, sb, WAIT_A)
    releasing = submit(pool, sb, {"release": ["/tmp/to-a"]})
    a, b = waiting.result(120), releasing.result(120)
    # A could only return after B opened its FIFO: they ran at the same time.
    assert ok(a)["got"] == str(ok(b)["pid"])
    assert ok(a)["pid"] != ok(b)["pid"]
    assert a.request_id != b.request_id
    # Each invoke's logs carry its own JSON lines and not the other's.
    for result, role in ((a, "wait"), (b, "None")):
        records = own_json_lines(result)
        assert {r["requestId"] for r in records} == {result.request_id}, result.logs
        assert any(r["message"] == f"role {role}" for r in records), result.logs
        assert f"START RequestId: {result.request_id}" in result.logs
        assert result.logs.splitlines()[-1].startswith(f"REPORT RequestId: {result.request_id}")
    assert sum(r.timings.cold for r in (a, b)) == 1


@sandboxed
def test_more_invokes_than_workers_wait_for_a_free_one(
    sandboxes: SandboxFactory, pool: ThreadPoolExecutor
) -> None:
    sb = lmi(sandboxes, 2, lambundle=True)
    waiting = submit(pool, sb, WAIT_A)
    releasing = submit(pool, sb, {"release": ["/tmp/to-a"]})
    third = submit(pool, sb, {})
    results = [f.result(120) for f in (waiting, releasing, third)]
    pids = [ok(r)["pid"] for r in results]
    assert len({r.request_id for r in results}) == 3
    # Two workers: the third invoke ran in one of them once it was free.
    assert pids[2] in pids[:2] and pids[0] != pids[1]
    assert sb.wait_ready(30, workers=2)


@sandboxed
@RUNTIMES
def test_a_timed_out_invoke_leaves_its_siblings_and_the_environment(
    sandboxes: SandboxFactory, pool: ThreadPoolExecutor, lambundle: bool
) -> None:
    sb = lmi(sandboxes, 3, lambundle)
    ok(sb.invoke(b"{}"))
    assert sb.wait_ready(60, workers=3)
    sb.timeout_s = 1.0
    slow = submit(pool, sb, WAIT_A)
    assert sb.wait_in_flight(1, 30)
    sb.timeout_s = 60.0  # read once per invoke: the slow one keeps its 1 s
    sibling = submit(pool, sb, WAIT_B)
    timed_out = slow.result(60)
    assert timed_out.error == {
        "errorMessage": f"RequestId: {timed_out.request_id} Error: "
        "Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert not sibling.done()  # it waits for the release below, in flight or queued
    # The third worker releases both: the sibling, and the timed-out handler, which
    # Managed Instances let run on; its late answer gets 410 and its worker goes on.
    release = sb.invoke(json.dumps({"release": ["/tmp/to-a", "/tmp/to-b"]}))
    assert ok(sibling.result(60))["got"] == str(ok(release)["pid"])
    assert sb.wait_ready(60, workers=3), "every worker is back in /next"
    assert not any(t.cold for t in list(sb.timings)[1:]), "the environment was not reset"


@sandboxed
@RUNTIMES
def test_a_crashed_worker_fails_its_invoke_only(
    sandboxes: SandboxFactory, pool: ThreadPoolExecutor, lambundle: bool
) -> None:
    sb = lmi(sandboxes, 2, lambundle)
    ok(sb.invoke(b"{}"))
    assert sb.wait_ready(60, workers=2)
    sibling = submit(pool, sb, WAIT_B)
    assert sb.wait_in_flight(1, 30)
    crashed = sb.invoke(json.dumps({"role": "crash", "release": ["/tmp/to-b"]}))
    error = crashed.error
    assert error is not None and error["errorType"] == "Runtime.ExitError", crashed.logs
    assert error["errorMessage"].startswith(
        f"RequestId: {crashed.request_id} Error: Runtime exited with error"
    )
    got = ok(sibling.result(60))["got"]
    assert got.isdigit()
    # The environment goes on with the remaining worker.
    after = sb.invoke(b"{}")
    assert ok(after)["pid"] == ok(sibling.result())["pid"]
    assert not after.timings.cold


@sandboxed
def test_an_invoke_finding_every_worker_busy_is_throttled(
    sandboxes: SandboxFactory, pool: ThreadPoolExecutor
) -> None:
    sb = lmi(sandboxes, 1, lambundle=True, timeout_s=1.0)
    ok(sb.invoke(b"{}"))
    stuck = submit(pool, sb, WAIT_A)  # times out, and its handler holds the only worker
    assert sb.wait_in_flight(1, 30)
    with pytest.raises(ThrottledError, match="all 1 runtime workers"):
        sb.invoke(b"{}")
    assert stuck.result(30).error is not None


@sandboxed
def test_serve_answers_concurrent_requests_concurrently(
    sandboxes: SandboxFactory, pool: ThreadPoolExecutor
) -> None:
    sb = lmi(sandboxes, 2, lambundle=True)
    server = InvokeEndpoint(sb, port=0)
    pool.submit(server.serve_forever)
    try:

        def post(event: dict[str, Any]) -> tuple[int, Any]:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            conn.request("POST", "/2015-03-31/functions/function/invocations",
                         body=json.dumps(event))
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())

        waiting = pool.submit(post, WAIT_A)
        releasing = pool.submit(post, {"release": ["/tmp/to-a"]})
        (status_a, a), (status_b, b) = waiting.result(120), releasing.result(120)
        assert (status_a, status_b) == (200, 200)
        assert a["got"] == str(b["pid"])
    finally:
        server.shutdown()


def test_wait_in_flight_needs_managed_instances(sandboxes: SandboxFactory) -> None:
    bundle = sandboxes.bundle(APP, "app.handler", runtime="provided.al2023")
    sb = Sandbox(bundle, isolate=False)
    with sb, pytest.raises(UsageError, match="AWS_LAMBDA_MAX_CONCURRENCY"):
        sb.wait_in_flight(1, 0)


@sandboxed
@RUNTIMES
def test_an_init_error_reaches_the_caller_and_the_next_invoke_is_cold(
    sandboxes: SandboxFactory, lambundle: bool
) -> None:
    sb = sandboxes(
        {"app.py": "raise ValueError('no config')\n"}, "app.handler", lambundle=lambundle,
        env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"}, memory_mb=1024,
    )
    first = sb.invoke(b"{}")
    assert first.init_error
    error = first.error
    assert error is not None
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "no config")
    # The workers' init output comes before START, as Lambda logs it.
    assert "no config" in first.logs.split("START RequestId:")[0], first.logs
    second = sb.invoke(b"{}")
    assert second.init_error and second.timings.cold
