"""The `context` object handed to handlers: awslambdaric's attribute names and types."""

import os
import sys
import time

from .logs import FramedSink, StdoutSink

# Field order below is awslambdaric's: it shows in repr(context).
# W3C trace-context fields awslambdaric 4.2 surfaces through `context.w3c()`.
W3C_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext:
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        env = os.environ
        self.aws_request_id = invoke_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c = _pop_w3c(client_context)
        self.client_context = None
        if client_context is not None:
            self.client_context = _from_dict(ClientContext, client_context)
            client = self.client_context.client
            self.client_context.client = None if client is None else _from_dict(Client, client)
        self.identity = CognitoIdentity()
        self.identity.cognito_identity_id = None
        self.identity.cognito_identity_pool_id = None
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def w3c(self):
        return dict(self._w3c)

    def log(self, msg):
        sink = _LOG_SINK[0]
        if sink is not None:
            sink.log(str(msg))
        else:
            sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


# The process's log sink, set by main once logging is configured (context.log uses it).
_LOG_SINK: "list[StdoutSink | FramedSink | None]" = [None]


def _pop_w3c(client_context):
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {k: raw[k] for k in W3C_FIELDS if isinstance(raw.get(k), str)}


def _from_dict(cls, values):
    obj = cls()
    for name in cls.FIELDS:
        setattr(obj, name, values.get(name))
    return obj


def _slots_repr(obj):
    fields = ",".join(f"{name}={getattr(obj, name)}" for name in obj.FIELDS)
    return f"{obj.__class__.__name__}([{fields}])"


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")
    FIELDS = __slots__
    cognito_identity_id: object
    cognito_identity_pool_id: object
    __repr__ = _slots_repr


class Client:
    FIELDS = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )
    __slots__ = FIELDS
    __repr__ = _slots_repr


class ClientContext:
    FIELDS = ("custom", "env", "client")
    __slots__ = FIELDS
    __repr__ = _slots_repr
