"""The sandbox's faults under races: nothing is dropped, every invoke gets an answer or a
Lambda error, nothing is left behind.

Each race is made to happen deterministically by doing the other side's step inside the
window (a wrapped method), not by timing; the last test is the load that found them.
"""

from __future__ import annotations

import http.client
import json
import textwrap
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bundler.core.interpreters import Interpreter
from bundler.sandbox import InvokeEndpoint, Sandbox, layout
from bundler.sandbox import rapi_server as rapi_server_module
from bundler.sandbox.layout import Layout
from bundler.sandbox.logs import EnvironmentLog
from bundler.sandbox.managed_instances import ManagedInstances
from bundler.sandbox.ondemand import OnDemand
from bundler.sandbox.rapi_protocol import Invocation, platform_error
from tests.runtime.bundles import (
    SandboxFactory,
    make_bundle,
    needs_bwrap,
    needs_python,
    sandbox_factory,
)


def settings(**overrides: Any) -> Any:
    values = dict(
        bundle_dir=Path("."), user_env={}, timeout_s=3.0, memory_mb=128, init_timeout_s=10.0,
        function_name="function", region="us-east-1", ephemeral_storage_mb=512,
    )  # fmt: skip
    values.update(overrides)
    return types.SimpleNamespace(**values)


def test_a_queued_invoke_that_gets_an_outcome_before_its_withdrawal_returns_it() -> None:
    # The environment ends (its invokes fail) between the wait for a worker and the
    # withdrawal: the invoke must come back with that outcome, not with neither.
    lifecycle = ManagedInstances(settings(), None, None, [], workers=1)  # type: ignore[arg-type]
    api = lifecycle._api
    try:
        api.first_next_at = 0.0  # initialised: the invoke waits its own timeout
        inv = Invocation(b"{}", timeout_s=0.0)
        api.offer(inv)
        ended = platform_error("Runtime.ExitError", "the environment ended")
        real_withdraw = api.withdraw

        def withdraw_after_the_end(invocation: Invocation) -> bool:
            api.fail_all(lambda request_id: ended, api.generation)
            return real_withdraw(invocation)

        api.withdraw = withdraw_after_the_end  # type: ignore[method-assign]
        handed, outcome = lifecycle._wait_for_worker(inv, api.generation)
        assert (handed, outcome) == (None, ended)
    finally:
        api.close()


def test_a_late_exit_is_judged_by_its_own_environments_log(tmp_path: Path) -> None:
    # bwrap's "cannot exec" is looked for in the log of the environment that exited,
    # not in the current one's, which may be a newer environment's.
    work = tmp_path / "work"
    (work / "task").mkdir(parents=True)
    (work / "logs").mkdir()
    interp = Interpreter(Path("/usr/bin/python3"), "3.12.0", Path("/usr"))
    lay = Layout(work, owns_work=False, isolated=True, interpreter=interp, runtime_dir=None,
                 extract_s=0.0)  # fmt: skip
    lifecycle = OnDemand(settings(), None, lay, [])  # type: ignore[arg-type]
    failed_exec = EnvironmentLog(work / "logs" / "old.log")
    assert failed_exec.file is not None
    failed_exec.file.write(b"bwrap: execvp /var/task/bootstrap: Permission denied\n")
    failed_exec.close()
    clean = EnvironmentLog(work / "logs" / "new.log")
    api = lifecycle._api
    try:
        for current, exited, expected in (
            (clean, failed_exec, "Runtime.InvalidEntrypoint"),
            (failed_exec, clean, "Runtime.ExitError"),
        ):
            api.reset()
            inv = Invocation(b"{}")
            api.offer(inv)
            lifecycle._log = current
            lifecycle._report_exit(1, api.generation, exited)
            outcome = api.wait_outcome(0)
            assert outcome is not None
            assert json.loads(outcome.payload)["errorType"] == expected
    finally:
        clean.close()
        api.close()


def test_a_retried_init_whose_bootstrap_went_bad_is_invalid_entrypoint(tmp_path: Path) -> None:
    # Init never polls, so it is retried after its cap; by then the bootstrap has made
    # itself unexecutable: the retried start fails as Lambda reports it, no traceback.
    bootstrap = '#!/bin/sh\nchmod 644 "$0"\nexec sleep 60\n'
    bundle = make_bundle(tmp_path, {"bootstrap": bootstrap}, "x.y", runtime="provided.al2023",
                         lambundle=False)  # fmt: skip
    with Sandbox(bundle, isolate=False, init_timeout_s=0.5, timeout_s=5.0) as sb:
        result = sb.invoke(b"{}")
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.InvalidEntrypoint", result.logs
    assert "Couldn't find valid bootstrap(s)" in result.error["errorMessage"]


def test_a_runtime_api_that_cannot_start_leaves_no_layout_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_bundle(tmp_path, {"app.py": "def handler(e, c): return 1\n"}, "app.handler",
                         runtime="provided.al2023", lambundle=True)  # fmt: skip
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    monkeypatch.setattr(layout, "layout_root", lambda needed: str(layouts))

    class NoPort:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise OSError(98, "Address already in use")

    monkeypatch.setattr(rapi_server_module, "RuntimeServer", NoPort)
    with pytest.raises(OSError, match="Address already in use"):
        Sandbox(bundle, isolate=False).open()
    assert list(layouts.iterdir()) == []


# -- the load that found them: Managed Instances through serve, workers killed -----------

KILLER = {
    "app.py": textwrap.dedent(
        """
        import os, signal

        def handler(event, context):
            if event.get("kill") == "worker":
                os.kill(os.getpid(), signal.SIGKILL)  # this worker dies mid-invoke
            if event.get("kill") == "environment":
                os.kill(os.getppid(), signal.SIGKILL)  # the runtime: every worker with it
            return {"id": event["id"]}
        """
    )
}


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxFactory]:
    with sandbox_factory(tmp_path) as factory:
        yield factory


def kill_inside_the_offer(lifecycle: OnDemand | ManagedInstances) -> list[int]:
    """Make the environment die inside the next offer, its exit reported before the invoke
    is queued (the generations that ended this way, filled in as it happens)."""
    api = lifecycle._api
    real_offer = api.offer
    ended: list[int] = []

    def offer_after_the_end(invocation: Invocation) -> bool:
        if not ended:
            process, generation = lifecycle._process, api.generation
            assert process is not None and process.running
            process.kill()
            # What its watcher thread does, done here so that it is done by now.
            lifecycle._report_exit(process.wait(), generation, lifecycle._log)
            ended.append(generation)
        return real_offer(invocation)

    api.offer = offer_after_the_end  # type: ignore[method-assign]
    return ended


@needs_bwrap[0]
@needs_bwrap[1]
@needs_python("3.12")
@pytest.mark.parametrize("kind", ["managed-instances", "on-demand", "snapstart"])
def test_an_invoke_offered_as_its_environment_ends_goes_to_a_fresh_one(
    sandboxes: SandboxFactory, kind: str
) -> None:
    # The environment dies, and its watcher reports the exit, after the invoke saw it
    # running and before the event is offered: the invoke must not wait in the dead
    # environment's queue or for a runtime that is gone (its whole timeout, then
    # throttled or Sandbox.Timedout) but run in a new one.
    if kind == "managed-instances":
        options: dict[str, Any] = {
            "memory_mb": 1024, "env": {"AWS_LAMBDA_MAX_CONCURRENCY": "2"}
        }  # fmt: skip
    else:
        options = {"snapstart": kind == "snapstart"}
    sb = sandboxes(KILLER, "app.handler", lambundle=True, timeout_s=5.0, **options)
    assert sb.invoke(json.dumps({"id": 1})).json() == {"id": 1}
    lifecycle = sb._lifecycle
    assert isinstance(lifecycle, ManagedInstances if kind == "managed-instances" else OnDemand)
    ended = kill_inside_the_offer(lifecycle)
    result = sb.invoke(json.dumps({"id": 2}))
    assert ended, "the window was not reached"
    assert result.json() == {"id": 2}, (result.payload, result.logs)
    assert result.timings.cold
    assert lifecycle._api.generation == ended[0] + 1
    assert sb.invoke(json.dumps({"id": 3})).json() == {"id": 3}  # warm in the fresh one


@needs_bwrap[0]
@needs_bwrap[1]
@needs_python("3.12")
def test_a_fresh_environment_that_ends_before_its_first_offer_fails_the_invoke_at_once(
    sandboxes: SandboxFactory,
) -> None:
    # The cold start's own process dies, its exit reported, before the event is offered:
    # the invoke fails with that exit, as Lambda's does, not with an init timeout; it is
    # not started over (that could go on forever), and the next invoke is a cold start.
    sb = sandboxes(KILLER, "app.handler", lambundle=True, timeout_s=5.0, init_timeout_s=5.0)
    lifecycle = sb._lifecycle
    assert isinstance(lifecycle, OnDemand)
    ended = kill_inside_the_offer(lifecycle)
    result = sb.invoke(json.dumps({"id": 1}))
    assert ended == [lifecycle._api.generation]
    assert result.error is not None, result.payload
    assert result.error["errorType"] == "Runtime.ExitError", result.error
    assert "signal: killed" in result.error["errorMessage"], result.error
    assert result.timings.cold
    again = sb.invoke(json.dumps({"id": 2}))
    assert again.json() == {"id": 2}, (again.payload, again.logs)
    assert again.timings.cold


@needs_bwrap[0]
@needs_bwrap[1]
@needs_python("3.12")
def test_a_next_sent_by_a_dying_environment_does_not_take_the_next_ones_invoke(
    sandboxes: SandboxFactory,
) -> None:
    # A worker of the old environment sent /next just before the environment died, and
    # the request is read only once the next environment has started (a loaded machine).
    # Played here by a connection the test opened while the old environment ran.
    sb = sandboxes(
        KILLER, "app.handler", lambundle=True, timeout_s=5.0, memory_mb=1024,
        env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"},
    )  # fmt: skip
    assert sb.invoke(json.dumps({"id": 1})).json() == {"id": 1}
    lifecycle = sb._lifecycle
    assert isinstance(lifecycle, ManagedInstances)
    api = lifecycle._api
    host, port = api.address.split(":")
    stale = http.client.HTTPConnection(host, int(port), timeout=30)
    stale.request("GET", "/ping")  # answered: the connection is the old environment's
    assert stale.getresponse().read() == b"pong"
    old = lifecycle._process
    assert old is not None
    old.kill()  # every worker dies
    real_offer = api.offer
    generations: list[int] = []

    def offer_after_the_stale_next(invocation: Invocation) -> bool:
        if not generations:
            generations.append(api.generation)  # the new environment's
            stale.request("GET", "/2018-06-01/runtime/invocation/next")
            assert api.wait_polling(30)  # it, or a worker of the new environment
        return real_offer(invocation)

    api.offer = offer_after_the_stale_next  # type: ignore[method-assign]
    try:
        result = sb.invoke(json.dumps({"id": 2}))
        refused = stale.getresponse()
        assert refused.status == 500, refused.read()
    finally:
        stale.close()
    assert generations == [2]
    assert result.json() == {"id": 2}, (result.payload, result.logs)


@needs_bwrap[0]
@needs_bwrap[1]
@needs_python("3.12")
@pytest.mark.network
@pytest.mark.parametrize("lambundle", [False, True], ids=["awslambdaric", "lambundle"])
def test_every_request_gets_an_answer_while_workers_and_environments_are_killed(
    sandboxes: SandboxFactory, lambundle: bool
) -> None:
    sb = sandboxes(
        KILLER, "app.handler", lambundle=lambundle, timeout_s=30.0, memory_mb=1024,
        env={"AWS_LAMBDA_MAX_CONCURRENCY": "8"},
    )  # fmt: skip
    server = InvokeEndpoint(sb, port=0)

    def kill(n: int) -> str | None:  # 4 workers and 4 whole environments in 200
        return {7: "worker", 32: "environment"}.get(n % 50)

    def post(n: int) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            conn.request("POST", "/2015-03-31/functions/function/invocations",
                         body=json.dumps({"id": n, "kill": kill(n)}))  # fmt: skip
            resp = conn.getresponse()  # a dropped connection raises here
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    with ThreadPoolExecutor(9) as pool:
        pool.submit(server.serve_forever)
        try:
            answers = list(pool.map(post, range(200)))
        finally:
            server.shutdown()
    own = 0
    for n, (status, body) in enumerate(answers):
        assert status == 200, (n, status, body)  # no throttle, no failure of the sandbox
        if body == {"id": n}:
            own += 1
        else:  # the function's death, as Lambda reports it to the invokes it held
            assert kill(n) or body["errorType"] in ("Runtime.ExitError", "Sandbox.Failure"), (
                n, body)
            assert body["errorMessage"].startswith("RequestId: "), body
    assert own >= 200 - 8 * 8  # at most every in-flight invoke of each killed environment
