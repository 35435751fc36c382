"""The function's environment variables: Lambda's own, the checks on configured ones, --env."""

import pytest

from bundler.core.errors import UsageError
from bundler.sandbox import parse_env
from bundler.sandbox.environment import configuration_warnings, lambda_variables


def test_parse_env() -> None:
    assert parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_env(["nope"])
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_env(["=value"])


def test_lambda_paths_in_the_variables_are_as_the_function_sees_them():
    env = lambda_variables(
        "app.handler", lambda p: "/work" + p, api_address="127.0.0.1:9001",
        function_name="fn", region="eu-west-1", memory_mb=256,
    )
    assert env["LAMBDA_TASK_ROOT"] == "/work/var/task"
    assert env["PATH"].split(":")[0] == "/work/var/lang/bin"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert (env["AWS_REGION"], env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == ("eu-west-1", "256")


def test_what_aws_would_refuse_is_warned_about():
    assert configuration_warnings({"LOG_LEVEL": "debug"}) == []
    reserved, = configuration_warnings({"AWS_REGION": "x", "_HANDLER": "y", "OK": "z"})
    assert reserved.startswith("AWS_REGION, _HANDLER: reserved by Lambda")
    big, = configuration_warnings({"BIG": "x" * 4094})
    assert "take 4097 bytes; Lambda allows 4096" in big
    assert configuration_warnings({"BIG": "x" * 4093}) == []
