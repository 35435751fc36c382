"""What moto cannot show: Lambda's updates take time, so publish waits between them.

moto finishes every update at once, so its waiters return on the first poll and the
tests in test_publish.py would pass without any wait. This fake client records the
order of calls instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bundler.aws import publish
from bundler.core.errors import PublishError
from tests.functional.aws.publish_bundles import pinned

botocore_exceptions = pytest.importorskip("botocore.exceptions")


class FakeLambda:
    def __init__(self, exists: bool, fail: str | None = None) -> None:
        self.exists = exists
        self.fail = fail
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append(name)
            if name == self.fail:
                raise botocore_exceptions.ClientError(
                    {"Error": {"Code": "ResourceConflictException", "Message": "busy"}}, name
                )
            if name == "get_function" and not self.exists:
                raise botocore_exceptions.ClientError(
                    {"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, name
                )
            if name == "publish_layer_version":
                return {"LayerVersionArn": f"arn:{kwargs['LayerName']}:1"}
            return {"FunctionArn": "arn:function"}

        return call

    def get_paginator(self, operation: str) -> Any:
        fake = self

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                fake.calls.append(operation)
                return [{"LayerVersions": []}]

        return Pages()

    def get_waiter(self, name: str) -> Any:
        fake = self

        class Waiter:
            def wait(self, FunctionName: str, WaiterConfig: dict[str, int]) -> None:
                assert WaiterConfig["MaxAttempts"] * WaiterConfig["Delay"] <= 600  # bounded
                fake.calls.append(f"wait {name}")
                if fake.fail == f"wait {name}":
                    raise botocore_exceptions.WaiterError(
                        name, "Waiter encountered a terminal failure state", {}
                    )

        return Waiter()


OPTIONS = publish.PublishOptions(function_name="fn", role="arn:role")


def test_an_update_waits_before_the_code_between_code_and_configuration_and_after(
    tmp_path: Path,
) -> None:
    fake = FakeLambda(exists=True)
    result = publish.publish(pinned(tmp_path, "b"), OPTIONS, clients=publish.Clients(fake, None))
    assert result.created is False
    assert fake.calls == [
        "list_layer_versions",
        "publish_layer_version",
        "list_layer_versions",
        "publish_layer_version",
        "get_function",
        "wait function_updated_v2",
        "update_function_code",
        "wait function_updated_v2",
        "get_function_configuration",  # its variables, kept next to the bundle's
        "update_function_configuration",
        "wait function_updated_v2",
    ]


def test_a_new_function_is_waited_for_until_active(tmp_path: Path) -> None:
    fake = FakeLambda(exists=False)
    result = publish.publish(pinned(tmp_path, "b"), OPTIONS, clients=publish.Clients(fake, None))
    assert result.created is True
    assert fake.calls[-3:] == ["get_function", "create_function", "wait function_active_v2"]


def test_a_conflict_is_one_publish_error_naming_the_function(tmp_path: Path) -> None:
    fake = FakeLambda(exists=True, fail="update_function_configuration")
    with pytest.raises(PublishError) as failed:
        publish.publish(pinned(tmp_path, "b"), OPTIONS, clients=publish.Clients(fake, None))
    message = str(failed.value)
    assert "updating the configuration of function fn failed: ResourceConflictException" in message
    assert "run publish again" in message


def test_a_function_that_fails_to_start_says_where_to_look(tmp_path: Path) -> None:
    fake = FakeLambda(exists=False, fail="wait function_active_v2")
    with pytest.raises(PublishError) as failed:
        publish.publish(pinned(tmp_path, "b"), OPTIONS, clients=publish.Clients(fake, None))
    message = str(failed.value)
    assert message.startswith("creating function fn: the function did not become ready")
    assert "StateReason" in message
