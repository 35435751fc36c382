"""The Runtime API server (bundler.sandbox.rapi_single) over real HTTP: status codes, headers,
limits.

The test plays the runtime with http.client on one keep-alive connection, the way
awslambdaric's libcurl client does, and the invoking side through RuntimeAPI's methods.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from bundler.sandbox.rapi_protocol import MAX_RESPONSE_BYTES, Invocation, Outcome, platform_error
from bundler.sandbox.rapi_single import RuntimeAPI

NEXT = "/2018-06-01/runtime/invocation/next"


class Runtime:
    """One runtime's connection to the API."""

    def __init__(self, address: str) -> None:
        host, port = address.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def request(
        self, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()

    def next(self) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", NEXT)

    def respond(self, request_id: str, body: bytes, **headers: str) -> tuple[int, bytes]:
        status, _, data = self.request(
            "POST", f"/2018-06-01/runtime/invocation/{request_id}/response", body,
            {k.replace("_", "-"): v for k, v in headers.items()},
        )
        return status, data


@pytest.fixture
def api() -> Iterator[RuntimeAPI]:
    with RuntimeAPI() as server:
        yield server


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def take_event(
    api: RuntimeAPI, pool: ThreadPoolExecutor, invocation: Invocation
) -> tuple[Runtime, dict[str, str], bytes]:
    """Runtime polls /next (in a thread), the test offers `invocation`, runtime gets it."""
    runtime = Runtime(api.address)
    polled: Future[tuple[int, dict[str, str], bytes]] = pool.submit(runtime.next)
    api.offer(invocation)
    status, headers, body = polled.result(timeout=10)
    assert status == 200
    return runtime, headers, body


def test_next_long_polls_and_carries_lambdas_headers(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    runtime = Runtime(api.address)
    polled = pool.submit(runtime.next)
    assert api.wait_handed(0.05) is None  # nothing offered: /next is still parked
    assert not polled.done()
    inv = Invocation(
        b'{"k": 1}', timeout_s=5, trace_id="Root=1-abc;Parent=def;Sampled=1",
        client_context='{"custom": {}}', tenant_id="t-1",
    )
    before_ms = int(time.time() * 1000)
    api.offer(inv)
    status, headers, body = polled.result(timeout=10)
    assert status == 200 and body == b'{"k": 1}'
    assert headers["Content-Type"] == "application/json"
    assert headers["Lambda-Runtime-Aws-Request-Id"] == inv.request_id
    assert headers["Lambda-Runtime-Invocation-Id"] == inv.invocation_id
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == inv.function_arn
    assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-abc;Parent=def;Sampled=1"
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {}}'
    assert headers["Lambda-Runtime-Aws-Tenant-Id"] == "t-1"
    assert before_ms + 4000 < int(headers["Lambda-Runtime-Deadline-Ms"]) <= before_ms + 6000
    # Empty values are left out, as RAPID does.
    assert "Lambda-Runtime-Cognito-Identity" not in headers
    assert api.wait_handed(0) is not None


def test_response_is_accepted_once(api: RuntimeAPI, pool: ThreadPoolExecutor) -> None:
    inv = Invocation(b"{}")
    runtime, _, _ = take_event(api, pool, inv)
    status, body = runtime.respond(inv.request_id, b'"ok"', Content_Type="text/plain")
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    outcome = api.wait_outcome(5)
    assert outcome is not None and outcome.kind == "response"
    assert (outcome.payload, outcome.content_type) == (b'"ok"', "text/plain")
    assert not outcome.function_error
    # Answering again, or for an id that was never handed out: InvalidRequestID.
    for request_id in (inv.request_id, "not-an-id"):
        status, body = runtime.respond(request_id, b"again")
        assert status == 400
        assert json.loads(body) == {
            "errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"
        }


def test_invalid_state_transitions_are_403(api: RuntimeAPI, pool: ThreadPoolExecutor) -> None:
    early = Runtime(api.address)
    status, _ = early.respond("some-id", b"{}")  # before any /next
    assert status == 403
    inv = Invocation(b"{}")
    runtime, _, _ = take_event(api, pool, inv)
    status, _, body = Runtime(api.address).next()  # /next while an invoke is in flight
    assert status == 403
    assert json.loads(body)["errorType"] == "InvalidStateTransition"
    status, _, _ = runtime.request("POST", "/2018-06-01/runtime/init/error", b"{}")
    assert status == 403  # init is over once /next was called
    assert runtime.respond(inv.request_id, b"1")[0] == 202


def test_invocation_id_mismatch_is_rejected(api: RuntimeAPI, pool: ThreadPoolExecutor) -> None:
    inv = Invocation(b"{}")
    runtime, _, _ = take_event(api, pool, inv)
    status, _ = runtime.respond(
        inv.request_id, b"stale", Lambda_Runtime_Invocation_Id="older-attempt"
    )
    assert status == 400
    status, _ = runtime.respond(
        inv.request_id, b"fresh", Lambda_Runtime_Invocation_Id=inv.invocation_id
    )
    assert status == 202
    outcome = api.wait_outcome(5)
    assert outcome is not None and outcome.payload == b"fresh"


def test_error_records_body_and_header_only_errors(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    inv = Invocation(b"{}")
    runtime, _, _ = take_event(api, pool, inv)
    body = json.dumps({"errorMessage": "m", "errorType": "E", "stackTrace": []}).encode()
    status, _, data = runtime.request(
        "POST", f"/2018-06-01/runtime/invocation/{inv.request_id}/error", body,
        {"Lambda-Runtime-Function-Error-Type": "Unhandled"},
    )
    assert (status, json.loads(data)) == (202, {"status": "OK"})
    outcome = api.wait_outcome(5)
    assert outcome is not None and outcome.kind == "error" and outcome.function_error
    assert outcome.payload == body

    inv2 = Invocation(b"{}")
    polled = pool.submit(runtime.next)
    api.offer(inv2)
    assert polled.result(timeout=10)[0] == 200
    status, _, _ = runtime.request(
        "POST", f"/2018-06-01/runtime/invocation/{inv2.request_id}/error", b"",
        {"Lambda-Runtime-Function-Error-Type": "Runtime.NoSuchHandler"},
    )
    assert status == 202
    outcome = api.wait_outcome(5)
    assert outcome is not None
    assert json.loads(outcome.payload) == {
        "errorMessage": "", "errorType": "Runtime.NoSuchHandler"
    }


def test_init_error_answers_the_pending_invoke(api: RuntimeAPI) -> None:
    api.offer(Invocation(b"{}"))
    runtime = Runtime(api.address)
    body = b'{"errorMessage": "bad", "errorType": "Runtime.ImportModuleError"}'
    status, _, data = runtime.request(
        "POST", "/2018-06-01/runtime/init/error", body,
        {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    assert (status, json.loads(data)) == (202, {"status": "OK"})
    outcome = api.wait_outcome(5)
    assert outcome is not None and outcome.kind == "init_error" and outcome.payload == body
    assert runtime.request("POST", "/2018-06-01/runtime/init/error", body)[0] == 403
    assert runtime.next()[0] == 403  # a failed runtime gets no events


def test_response_size_limit(api: RuntimeAPI, pool: ThreadPoolExecutor) -> None:
    inv = Invocation(b"{}")
    runtime, _, _ = take_event(api, pool, inv)
    status, body = runtime.respond(inv.request_id, b"x" * (MAX_RESPONSE_BYTES + 1))
    assert status == 413
    assert json.loads(body) == {
        "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "RequestEntityTooLarge",
    }
    outcome = api.wait_outcome(5)
    assert outcome is not None and outcome.function_error
    assert json.loads(outcome.payload)["errorType"] == "Function.ResponseSizeTooLarge"

    inv2 = Invocation(b"{}")
    runtime2, _, _ = take_event(api, pool, inv2)
    status, _ = runtime2.respond(inv2.request_id, b"x" * MAX_RESPONSE_BYTES)
    assert status == 202  # exactly the limit is fine
    outcome = api.wait_outcome(5)
    assert outcome is not None and len(outcome.payload) == MAX_RESPONSE_BYTES


def _chunked(chunks: list[bytes], trailers: dict[str, str]) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n"
    out += b"".join(f"{k}: {v}\r\n".encode() for k, v in trailers.items())
    return out + b"\r\n"


@pytest.mark.parametrize("fail", [False, True])
def test_streaming_response_with_trailers(
    api: RuntimeAPI, pool: ThreadPoolExecutor, fail: bool
) -> None:
    seen: list[bytes] = []
    inv = Invocation(b"{}", on_chunk=seen.append)
    runtime, _, _ = take_event(api, pool, inv)
    trailers = {}
    if fail:
        trailers = {
            "Lambda-Runtime-Function-Error-Type": "Runtime.StreamError",
            "Lambda-Runtime-Function-Error-Body": base64.b64encode(b"it broke").decode(),
        }
    conn = runtime.conn
    conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{inv.request_id}/response")
    conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "text/event-stream")
    conn.putheader(
        "Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    conn.endheaders()
    conn.send(_chunked([b"one ", b"two ", b"three"], trailers))
    resp = conn.getresponse()
    assert resp.status == 202
    resp.read()
    outcome = api.wait_outcome(5)
    assert outcome is not None and outcome.streamed
    assert outcome.chunks == (b"one ", b"two ", b"three") and seen == list(outcome.chunks)
    assert outcome.payload == b"one two three" and outcome.content_type == "text/event-stream"
    assert outcome.function_error is fail
    assert outcome.stream_error == (("Runtime.StreamError", b"it broke") if fail else None)


def test_invalid_response_mode(api: RuntimeAPI, pool: ThreadPoolExecutor) -> None:
    inv = Invocation(b"{}")
    runtime, _, _ = take_event(api, pool, inv)
    status, body = runtime.respond(
        inv.request_id, b"x", Lambda_Runtime_Function_Response_Mode="buffered"
    )
    assert status == 400
    assert json.loads(body)["errorType"] == "InvalidFunctionResponseMode"
    outcome = api.wait_outcome(5)
    assert outcome is not None
    assert json.loads(outcome.payload)["errorType"] == "Runtime.InvalidResponseModeHeader"


def test_unknown_path_is_404(api: RuntimeAPI) -> None:
    status, _, _ = Runtime(api.address).request("GET", "/2018-06-01/runtime/nope")
    assert status == 404


def test_keep_alive_serves_many_invokes_on_one_connection(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    runtime = Runtime(api.address)
    for n in range(3):
        inv = Invocation(str(n).encode())
        polled = pool.submit(runtime.next)
        api.offer(inv)
        assert polled.result(timeout=10)[2] == str(n).encode()
        assert runtime.respond(inv.request_id, b"%d" % (n * 10))[0] == 202
        outcome = api.wait_outcome(5)
        assert outcome is not None and outcome.payload == b"%d" % (n * 10)
    assert runtime.conn.sock is not None  # never reconnected


def test_reset_releases_a_parked_next(api: RuntimeAPI, pool: ThreadPoolExecutor) -> None:
    runtime = Runtime(api.address)
    polled = pool.submit(runtime.next)
    assert api.wait_polling(10)
    # A new environment replaces the old runtime: its parked /next ends with a 500.
    api.reset()
    status, _, body = polled.result(timeout=10)
    assert status == 500
    assert "Runtime should exit promptly" in json.loads(body)["errorMessage"]


def test_a_replaced_environments_poller_never_takes_the_new_event(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    old = Runtime(api.address)
    parked = pool.submit(old.next)
    assert api.wait_polling(10)
    # The cold start of a new environment and its event, before the old poller wakes:
    # the sandbox kills the old process, but its parked /next is still being served.
    with api._cond:
        api.reset()
        event = Invocation(b'{"new": true}')
        api.offer(event)
    status, _, _ = parked.result(timeout=10)
    assert status == 500, "the old environment's /next must not get the new event"
    status, headers, body = pool.submit(Runtime(api.address).next).result(timeout=10)
    assert (status, body) == (200, b'{"new": true}')
    assert headers["Lambda-Runtime-Aws-Request-Id"] == event.request_id


def test_a_next_of_the_old_environment_read_after_the_reset_takes_no_event(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    # The old runtime sent /next just before it was killed, and the request is read only
    # after the new environment's cold start: it belongs to the old environment.
    old, headers, _ = take_event(api, pool, Invocation(b"{}"))
    assert old.respond(headers["Lambda-Runtime-Aws-Request-Id"], b"1")[0] == 202
    api.reset()
    event = Invocation(b'{"new": true}')
    api.offer(event)
    status, _, body = old.next()
    assert status == 500, body
    assert api.first_next_at is None, "the new environment's init is not over"
    status, headers, body = pool.submit(Runtime(api.address).next).result(timeout=10)
    assert (status, body) == (200, b'{"new": true}')


def exited(request_id: str) -> Outcome:
    return platform_error("Runtime.ExitError", f"RequestId: {request_id} Error: exit status 1")


def test_an_invocation_offered_to_an_ended_environment_fails_with_its_end(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    # The sandbox saw the process running, then its exit was reported (end()), then the
    # sandbox offers the next invocation: it fails at once, and no /next ever takes it.
    runtime, headers, _ = take_event(api, pool, Invocation(b"{}"))
    assert runtime.respond(headers["Lambda-Runtime-Aws-Request-Id"], b"1")[0] == 202
    assert api.wait_outcome(5) is not None
    parked = pool.submit(runtime.next)
    assert api.wait_polling(10)
    api.end(exited, api.generation)
    event = Invocation(b"{}")
    assert api.offer(event) is False
    outcome = api.wait_outcome(0)
    assert outcome is not None
    assert json.loads(outcome.payload) == {
        "errorMessage": f"RequestId: {event.request_id} Error: exit status 1",
        "errorType": "Runtime.ExitError",
    }
    assert api.wait_handed(0) is None
    api.reset()  # the next environment: the parked /next was the old one's, and had nothing
    assert parked.result(timeout=10)[0] == 500
    api.end(exited, api.generation - 1)  # the old environment's exit, reported late
    fresh = Invocation(b'{"fresh": true}')
    assert take_event(api, pool, fresh)[2] == b'{"fresh": true}'


def test_an_environment_that_ends_fails_the_invocation_it_holds(
    api: RuntimeAPI, pool: ThreadPoolExecutor
) -> None:
    runtime, headers, _ = take_event(api, pool, Invocation(b"{}"))
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    api.end(exited, api.generation)
    outcome = api.wait_outcome(0)
    assert outcome is not None and outcome.payload == exited(request_id).payload
    assert runtime.respond(request_id, b"late")[0] == 400  # it has its outcome


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_bad_content_length_is_a_400_not_a_dropped_connection(
    api: RuntimeAPI, pool: ThreadPoolExecutor, length: str
) -> None:
    runtime = Runtime(api.address)
    polled = pool.submit(runtime.next)
    api.offer(Invocation(payload=b"{}"))
    request_id = polled.result(timeout=10)[1]["Lambda-Runtime-Aws-Request-Id"]
    conn = runtime.conn
    conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{request_id}/response")
    conn.putheader("Content-Length", length)
    conn.endheaders()
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (400, b"400 Bad Request")
