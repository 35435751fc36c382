"""The runtime's configuration from the environment."""

from __future__ import annotations

import pytest

from runtime.config import Config


def test_handler_from_argv_then_env():
    assert Config.from_environ(["a.b"], {"_HANDLER": "c.d"}).handler == "a.b"
    assert Config.from_environ([], {"_HANDLER": "c.d"}).handler == "c.d"


@pytest.mark.parametrize(
    ("execution_env", "override", "ensure_ascii"),
    [
        (None, None, True),
        ("AWS_Lambda_python3.11", None, True),
        ("AWS_Lambda_python3.12", None, False),
        ("AWS_Lambda_python3.13", None, False),
        ("AWS_Lambda_Image", None, True),
        (None, "0", False),
        ("AWS_Lambda_python3.12", "1", True),
    ],
)
def test_ensure_ascii_follows_execution_env(execution_env, override, ensure_ascii):
    env = {}
    if execution_env:
        env["AWS_EXECUTION_ENV"] = execution_env
    if override:
        env["LAMBUNDLE_ENSURE_ASCII"] = override
    assert Config.from_environ(["a.b"], env).ensure_ascii is ensure_ascii


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, None), ("TRACE", 10), ("debug", 10), ("WARN", 30), ("FATAL", 50), ("bogus", None)],
)
def test_log_levels(value, level):
    env = {} if value is None else {"AWS_LAMBDA_LOG_LEVEL": value}
    assert Config.from_environ(["a.b"], env).log_level == level


def test_log_format_is_case_insensitive():
    assert Config.from_environ(["a.b"], {"AWS_LAMBDA_LOG_FORMAT": "json"}).log_format_json
    assert not Config.from_environ(["a.b"], {"AWS_LAMBDA_LOG_FORMAT": "Text"}).log_format_json


def test_calling_convention_is_checked():
    assert Config.from_environ(["a.b"], {"LAMBUNDLE_CALLING": "RAW"}).calling == "raw"
    with pytest.raises(ValueError, match="LAMBUNDLE_CALLING"):
        Config.from_environ(["a.b"], {"LAMBUNDLE_CALLING": "xml"})


def test_init_gc_is_freeze_unless_asked_and_checked():
    assert Config.from_environ(["a.b"], {}).init_gc == "freeze"
    assert Config.from_environ(["a.b"], {"LAMBUNDLE_INIT_GC": "Default"}).init_gc == "default"
    with pytest.raises(ValueError, match="LAMBUNDLE_INIT_GC='off' is not one of freeze, default"):
        Config.from_environ(["a.b"], {"LAMBUNDLE_INIT_GC": "off"})


def test_max_concurrency_presence_matters():
    assert Config.from_environ(["a.b"], {}).max_concurrency is None
    assert Config.from_environ(["a.b"], {"AWS_LAMBDA_MAX_CONCURRENCY": "1"}).max_concurrency == 1
