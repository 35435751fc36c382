"""The conformance cases again, end to end in the Lambda-shaped sandbox (bundler.sandbox.sandbox).

A bundle with lambundle's layer runs our runtime through AWS_LAMBDA_EXEC_WRAPPER; the same
bundle without it runs awslambdaric, installed unmodified from the package index under
/var/runtime. What the caller gets (payload, content type, function error, parsed error)
must be the same, plus the platform's view of exits and timeouts.
"""

from __future__ import annotations

import re

import pytest

from tests.runtime.bundles import make_bundle, needs_bwrap
from tests.runtime.test_conformance import CASES, RUNTIME_FRAMES

pytestmark = [*needs_bwrap, pytest.mark.network]

# Cases that need a header the sandbox's invoke API does not let a caller set, and
# SnapStart (the sandbox has no snapshot phase, so no /runtime/restore/next).
SANDBOX_CASES = [
    name
    for name, (_, _, events, _) in CASES.items()
    if not name.startswith("snapstart")
    and not any(
        key not in ("Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity")
        for event in events
        for key in event.get("headers", {})
    )
    and not any(event.get("content_type", "application/json") is None for event in events)
]
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _invoke_all(tmp_path, case, lambundle):
    from bundler.sandbox import Sandbox

    files, handler, events, env = CASES[case]
    bundle = make_bundle(
        tmp_path,
        files,
        handler,
        runtime="python3.12",
        lambundle=lambundle,
        env=env,
        name=f"{'ours' if lambundle else 'theirs'}",
    )
    results = []
    with Sandbox(bundle, timeout_s=3) as sb:
        for event in events:
            headers = event.get("headers", {})
            r = sb.invoke(
                event.get("body", b"{}"),
                event.get("content_type", "application/json"),
                client_context=headers.get("Lambda-Runtime-Client-Context"),
                cognito_identity=headers.get("Lambda-Runtime-Cognito-Identity"),
            )
            error = r.error
            if error is not None:
                error = {k: ID.sub("ID", v) if isinstance(v, str) else v for k, v in error.items()}
                if case in RUNTIME_FRAMES:
                    error["stackTrace"] = bool(error.get("stackTrace"))
            payload = (
                None if r.function_error else ID.sub("ID", r.payload.decode("utf-8", "replace"))
            )
            results.append((payload, r.content_type, r.function_error, error, r.init_error))
    return results


@pytest.mark.parametrize("case", SANDBOX_CASES)
def test_sandbox_same_as_awslambdaric(tmp_path, case):
    ours = _invoke_all(tmp_path, case, lambundle=True)
    theirs = _invoke_all(tmp_path, case, lambundle=False)
    assert ours == theirs


def test_timeout_is_reported_the_same(tmp_path):
    from bundler.sandbox import Sandbox

    files = {"app.py": "import time\ndef handler(e, c):\n    time.sleep(60)\n"}
    out = []
    for lambundle in (True, False):
        bundle = make_bundle(
            tmp_path, files, "app.handler", lambundle=lambundle, name=str(lambundle)
        )
        with Sandbox(bundle, timeout_s=1) as sb:
            r = sb.invoke(b"{}")
            out.append(
                (r.function_error, ID.sub("ID", r.error["errorMessage"]), r.error["errorType"])
            )
    assert out[0] == out[1]


def test_streaming_in_the_sandbox(tmp_path):
    from bundler.sandbox import Sandbox

    files = {"app.py": "def handler(e, c):\n    yield 'alpha '\n    yield 'beta'\n"}
    bundle = make_bundle(tmp_path, files, "app.handler", lambundle=True)
    with Sandbox(bundle, timeout_s=3) as sb:
        r = sb.invoke(b"{}")
    assert r.streamed
    assert r.payload == b"alpha beta"
    assert r.function_error is None
