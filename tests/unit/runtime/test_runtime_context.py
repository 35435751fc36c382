"""The context object: the same attributes, types and repr as awslambdaric's."""

from __future__ import annotations

import time

import pytest
from awslambdaric.lambda_context import LambdaContext as TheirContext

from runtime.context import LambdaContext

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
CLIENT_CONTEXTS = [
    None,
    {},
    {"custom": {"a": 1}, "env": {"e": "1"}, "client": {"installation_id": "i", "app_title": "t"}},
    {
        "client": None,
        "w3c": {"traceparent": "00-1-2-01", "tracestate": 5, "baggage": "b=1", "x": "y"},
    },
    {"w3c": "not a dict"},
]
IDENTITIES = [None, {}, {"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}]


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/f")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/28/[$LATEST]abc")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_VERSION", raising=False)


def _both(client_context, identity, deadline, tenant):
    import copy

    ours = LambdaContext("rid", copy.deepcopy(client_context), identity, deadline, ARN, tenant)
    theirs = TheirContext("rid", copy.deepcopy(client_context), identity, deadline, ARN, tenant)
    return ours, theirs


@pytest.mark.parametrize("client_context", CLIENT_CONTEXTS)
@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("tenant", [None, "", "tenant-1"])
def test_context_matches_awslambdaric(client_context, identity, tenant):
    ours, theirs = _both(client_context, identity, 0, tenant)
    assert repr(ours) == repr(theirs)
    assert ours.w3c() == theirs.w3c()
    for name in (
        "aws_request_id",
        "log_group_name",
        "log_stream_name",
        "function_name",
        "memory_limit_in_mb",
        "function_version",
        "invoked_function_arn",
        "tenant_id",
    ):
        assert getattr(ours, name) == getattr(theirs, name)
        assert type(getattr(ours, name)) is type(getattr(theirs, name))
    assert (ours.client_context is None) == (theirs.client_context is None)
    assert ours.identity.cognito_identity_id == theirs.identity.cognito_identity_id


def test_memory_is_a_string_and_identity_always_present():
    ours, _ = _both(None, None, 0, None)
    assert ours.memory_limit_in_mb == "128"
    assert ours.identity is not None and ours.identity.cognito_identity_pool_id is None
    assert ours.client_context is None
    assert ours.function_version is None


def test_remaining_time_counts_down_and_floors_at_zero():
    future = int(time.time() * 1000) + 60_000
    ours, _ = _both(None, None, future, None)
    assert 0 < ours.get_remaining_time_in_millis() <= 60_000
    past, _ = _both(None, None, 1, None)
    assert past.get_remaining_time_in_millis() == 0


def test_w3c_is_removed_from_client_context():
    ours, _ = _both({"custom": None, "w3c": {"traceparent": "tp"}}, None, 0, None)
    assert ours.w3c() == {"traceparent": "tp"}
    assert not hasattr(ours.client_context, "w3c")
