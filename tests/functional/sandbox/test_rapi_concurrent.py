"""The Runtime API of Lambda Managed Instances (bundler.sandbox.rapi_concurrent) alone, over
real HTTP: several workers, several invocations in flight, a timeout that ends only its own.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bundler.sandbox.rapi_concurrent import ConcurrentRuntimeAPI
from bundler.sandbox.rapi_protocol import Invocation, platform_error

NEXT = "/2018-06-01/runtime/invocation/next"


class Worker:
    """One runtime worker's keep-alive connection."""

    def __init__(self, address: str) -> None:
        host, port = address.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def next(self) -> str:
        status, request_id = self.poll()
        assert status == 200
        return request_id

    def poll(self) -> tuple[int, str]:
        """GET /next: (status, the event's request id or the error body)."""
        self.conn.request("GET", NEXT)
        resp = self.conn.getresponse()
        body = resp.read()
        return resp.status, resp.headers.get("Lambda-Runtime-Aws-Request-Id", body.decode())

    def respond(self, request_id: str, body: bytes) -> tuple[int, Any]:
        self.conn.request(
            "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", body=body
        )
        resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read())


@pytest.fixture
def api() -> Iterator[ConcurrentRuntimeAPI]:
    server = ConcurrentRuntimeAPI(2)
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_api_hands_events_to_two_workers_at_once(
    api: ConcurrentRuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    first, second, third = (Invocation(b"%d" % i) for i in range(3))
    workers = [Worker(api.address), Worker(api.address)]
    polls = [pool.submit(w.next) for w in workers]
    assert api.wait_polling(10, count=2)
    for inv in (first, second, third):
        api.offer(inv)
    assert api.wait_in_flight(2, 10)
    # Both events are out before either is answered; the third waits for a worker.
    got = {polls[0].result(10), polls[1].result(10)}
    assert got == {first.request_id, second.request_id}
    assert api.wait_handed_for(third, 0) is None
    by_id = dict(zip([p.result() for p in polls], workers, strict=True))
    assert by_id[second.request_id].respond(second.request_id, b'"2"')[0] == 202
    assert by_id[first.request_id].respond(first.request_id, b'"1"')[0] == 202
    outcomes = [api.wait_outcome_for(inv, 10) for inv in (first, second)]
    assert [o.payload if o else None for o in outcomes] == [b'"1"', b'"2"']
    # A free worker takes the queued event.
    assert workers[0].next() == third.request_id


def test_api_late_answer_after_a_timeout_is_410(
    api: ConcurrentRuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    slow, quick = Invocation(b"{}"), Invocation(b"{}")
    workers = [Worker(api.address), Worker(api.address)]
    polls = [pool.submit(w.next) for w in workers]
    api.offer(slow)
    api.offer(quick)
    by_id = {f.result(10): w for f, w in zip(polls, workers, strict=True)}
    timed_out = platform_error("Sandbox.Timedout", "Task timed out after 1.00 seconds")
    assert api.finish(slow, timed_out, timed_out=True) is timed_out
    assert by_id[slow.request_id].respond(slow.request_id, b"late") == (
        410, {"errorMessage": "Invoke timeout", "errorType": "InvokeTimeout"}
    )
    # The sibling is untouched by the timeout.
    assert by_id[quick.request_id].respond(quick.request_id, b"ok")[0] == 202
    outcome = api.wait_outcome_for(quick, 10)
    assert outcome is not None and outcome.payload == b"ok"


def test_api_a_worker_of_a_replaced_environment_takes_no_event(
    api: ConcurrentRuntimeAPI,
) -> None:
    # A worker of the old environment sends /next just before it dies, and the request is
    # read only after the cold start of the next environment (a loaded machine): it must
    # not take that environment's event, which nothing would ever answer or fail.
    old = Worker(api.address)
    first = Invocation(b"1")
    api.offer(first)
    assert old.next() == first.request_id  # its connection is the old environment's
    api.reset()
    event = Invocation(b"2")
    api.offer(event)
    status, body = old.poll()
    assert status == 500 and "Runtime should exit promptly" in body, body
    assert api.first_next_at is None, "the new environment's init is not over"
    assert Worker(api.address).next() == event.request_id


def test_api_a_poller_whose_runtime_closed_its_connection_takes_no_event(
    api: ConcurrentRuntimeAPI,
) -> None:
    # A worker parks in /next and dies (its connection closes) before the sandbox knows:
    # an event offered now is for a live worker, not for the dead one's request.
    host, port = api.address.split(":")
    dead = socket.create_connection((host, int(port)))
    dead.sendall(f"GET {NEXT} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert api.wait_polling(10)
    dead.close()  # on loopback its FIN is at the server before close() returns
    event = Invocation(b"{}")
    api.offer(event)
    flight = api.flight(event)
    with api._cond:  # the parked poller woke and let go, either way
        assert api._cond.wait_for(lambda: api._polling == 0, 10)
    assert flight.handed_at is None, "the event went to a dead worker"
    assert Worker(api.address).next() == event.request_id


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor
