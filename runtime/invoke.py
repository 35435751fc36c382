"""One invocation: event in, handler called, result or error out (awslambdaric §3.4)."""

import os
import sys

from . import faults, logs
from .context import LambdaContext

RESPONSE_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"
ERROR_TYPE_TRAILER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"
MAX_XRAY_CAUSE = 1024 * 1024  # awslambdaric drops a cause of 1 MiB or more


class Invocation:
    """The /next response, as the runtime uses it."""

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "function_arn",
        "headers",
        "invocation_id",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, response):
        h = response.headers
        self.headers = h
        self.body = response.body
        self.request_id = h.get("lambda-runtime-aws-request-id")
        self.trace_id = h.get("lambda-runtime-trace-id")
        self.function_arn = h.get("lambda-runtime-invoked-function-arn")
        deadline = h.get("lambda-runtime-deadline-ms")
        self.deadline_ms = int(deadline) if deadline else 0
        self.client_context = h.get("lambda-runtime-client-context")
        self.cognito_identity = h.get("lambda-runtime-cognito-identity")
        self.tenant_id = h.get("lambda-runtime-aws-tenant-id")
        self.content_type = h.get("content-type")
        self.invocation_id = h.get("lambda-runtime-invocation-id")


def handle(inv, target, runtime):
    """Run one invocation and post its outcome to the Runtime API."""
    logs.CURRENT["request_id"] = inv.request_id
    logs.CURRENT["tenant_id"] = inv.tenant_id
    if inv.trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = inv.trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    codec = runtime.codec
    try:
        context = LambdaContext(
            inv.request_id,
            _parse_header(inv.client_context, "Client Context"),
            _parse_header(inv.cognito_identity, "Cognito Identity"),
            inv.deadline_ms,
            inv.function_arn,
            inv.tenant_id,
        )
        result = _call(inv, target, context, runtime)
        if _is_stream(result):
            return _stream(inv, result, runtime)
        if target.calling == "json":
            payload, content_type = codec.marshal_response(result)
        else:
            payload, content_type = _raw_payload(result, runtime)
    except faults.Fault as fault:
        body = faults.error_body(fault.message, fault.error_type, fault.trace, inv.request_id)
        cause = xray_cause("LambdaValidationError", fault.message, [])
        return _post_error(inv, body, cause, runtime)
    except Exception as exc:  # the user's handler failed: report it like awslambdaric
        body, cause = describe_exception(exc, inv.request_id)
        return _post_error(inv, body, cause, runtime)
    return runtime.post(
        f"/runtime/invocation/{inv.request_id}/response",
        payload,
        [("Content-Type", content_type), (INVOCATION_ID_HEADER, inv.invocation_id)],
    )


def _call(inv, target, context, runtime):
    function = target.function
    if target.calling == "json":
        event = runtime.codec.unmarshal_request(inv.body, inv.content_type)
        return function(event, context)
    if target.calling == "raw":
        return function(inv.body, dict(inv.headers), context)
    return _call_stdio(inv, function, runtime)


def _call_stdio(inv, function, runtime):
    """stdin is the body, stdout becomes the response, headers are in the environment."""
    import io  # already loaded by the interpreter at start-up

    encoding = runtime.config.encoding
    env_names = []
    for name, value in inv.headers.items():
        env_name = name.upper().replace("-", "_")
        if env_name.startswith("LAMBDA_RUNTIME_") or env_name == "CONTENT_TYPE":
            os.environ[env_name] = value
            env_names.append(env_name)
    out = io.BytesIO()
    saved = sys.stdin, sys.stdout
    sys.stdin = io.TextIOWrapper(io.BytesIO(inv.body), encoding=encoding)
    sys.stdout = io.TextIOWrapper(out, encoding=encoding, write_through=True)
    try:
        function()
        sys.stdout.flush()
        return out.getvalue()
    finally:
        sys.stdin, sys.stdout = saved
        for env_name in env_names:
            os.environ.pop(env_name, None)


def _raw_payload(result, runtime):
    if result is None:
        return b"", "application/unknown"
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), "application/unknown"
    if isinstance(result, str):
        encoding = runtime.config.encoding
        return result.encode(encoding), f"text/plain; charset={encoding}"
    return runtime.codec.marshal_response(result)


def _is_stream(result):
    if isinstance(result, (str, bytes, bytearray, memoryview, dict, list, tuple)):
        return False
    return hasattr(result, "__next__")


def _stream(inv, result, runtime):
    """Response streaming: a chunked POST; errors before the first chunk go to /error."""
    encoding = runtime.config.encoding
    try:
        first = next(result)
    except StopIteration:
        first = b""
        result = iter(())
    except Exception as exc:  # the generator failed before any byte: a normal error
        body, cause = describe_exception(exc, inv.request_id)
        return _post_error(inv, body, cause, runtime)

    def chunks():
        item = first
        while True:
            if isinstance(item, str):
                item = item.encode(encoding)
            elif not isinstance(item, (bytes, bytearray, memoryview)):
                raise TypeError(f"a streamed chunk must be bytes or str, not {type(item).__name__}")
            yield bytes(item)
            try:
                item = next(result)
            except StopIteration:
                return

    def trailers(exc):
        import binascii  # error path only

        body, _ = describe_exception(exc, inv.request_id)
        logs_error(body, runtime)
        encoded = binascii.b2a_base64(runtime.codec.encode(body).encode("utf-8"), newline=False)
        return [(ERROR_TYPE_TRAILER, body["errorType"]), (ERROR_BODY_TRAILER, encoded)]

    headers = [
        (RESPONSE_MODE_HEADER, "streaming"),
        ("Content-Type", "application/octet-stream"),
        (INVOCATION_ID_HEADER, inv.invocation_id),
    ]
    return runtime.post_stream(
        f"/runtime/invocation/{inv.request_id}/response", chunks(), headers, trailers
    )


def _parse_header(value, name):
    if not value:
        return None
    try:
        from .codec import loads

        return loads(value)
    except Exception:  # awslambdaric parses these headers with the stdlib json: its words
        import json  # error path only: for the stdlib's exact message

        try:
            return json.loads(value)
        except Exception as exc:  # any parse failure is reported to the caller
            raise faults.Fault(
                faults.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
                f"Unable to parse {name} JSON: {exc}",
            ) from None


def describe_exception(exc, request_id):
    """(error body, X-Ray cause) for an exception raised by user code."""
    import traceback  # error path only

    frames = [
        (f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)
    ]
    frames = trim_runtime_frames(frames)
    name = type(exc).__name__
    body = faults.error_body(str(exc), name, traceback.format_list(frames), request_id)
    return body, xray_cause(name, str(exc), frames)


def trim_runtime_frames(frames):
    """Drop the leading frames that belong to this runtime (awslambdaric drops bootstrap.py's).

    With no user frame at all (a handler that is not callable) the runtime's last frame is
    kept, the call that failed, as awslambdaric shows its one frame that made the call.
    """
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    for i, frame in enumerate(frames):
        if not frame[0].startswith(here):
            return frames[i:]
    return frames[-1:]


def xray_cause(error_type, message, frames):
    return {
        "working_directory": os.getcwd(),
        "exceptions": [
            {
                "message": message,
                "type": error_type,
                "stack": [{"label": f[2], "path": f[0], "line": f[1]} for f in frames],
            }
        ],
        "paths": list(dict.fromkeys(f[0] for f in frames)),
    }


def logs_error(body, runtime):
    runtime.sink.log_error(
        logs.error_lines(body, runtime.config.log_format_json, runtime.codec),
        runtime.config.log_format_json,
    )


def _post_error(inv, body, cause, runtime):
    logs_error(body, runtime)
    codec = runtime.codec
    cause_json = codec.encode(cause)
    if len(cause_json.encode("utf-8", "surrogatepass")) >= MAX_XRAY_CAUSE:
        cause_json = ""
    return runtime.post(
        f"/runtime/invocation/{inv.request_id}/error",
        codec.encode(body).encode("utf-8", "surrogatepass"),
        [
            ("Content-Type", "application/json"),
            (XRAY_CAUSE_HEADER, cause_json),
            (INVOCATION_ID_HEADER, inv.invocation_id),
        ],
    )
