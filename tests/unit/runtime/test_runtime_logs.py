"""Log formats: lambundle's against awslambdaric's (text, JSON, error reports, frames)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys

import pytest

from runtime import logs
from runtime.codec import Codec
from runtime.config import Config

ERRORS = [
    {
        "errorMessage": "bad",
        "errorType": "ValueError",
        "requestId": "r",
        "stackTrace": [
            '  File "/var/task/app.py", line 3, in handler\n    raise ValueError("bad")\n'
        ],
    },
    {"errorMessage": "", "errorType": "KeyError", "requestId": "", "stackTrace": []},
    {"errorMessage": "only message", "errorType": "", "requestId": "", "stackTrace": []},
    {"errorMessage": "", "errorType": "", "requestId": "", "stackTrace": ["", "  x\n    y"]},
    {"errorMessage": "é 中", "errorType": "Runtime.X", "requestId": "r", "stackTrace": None},
]


class _Capture:
    def __init__(self):
        self.lines = None

    def log_error(self, lines):
        self.lines = lines


@pytest.mark.parametrize("body", ERRORS)
def test_text_error_lines_match_awslambdaric(body):
    from awslambdaric import bootstrap

    sink = _Capture()
    bootstrap.log_error(dict(body), sink)
    assert logs.error_lines(dict(body), False, Codec()) == sink.lines


def test_stdout_sink_joins_with_carriage_returns():
    out = io.StringIO()
    logs.StdoutSink(out).log_error(
        ["[ERROR] X: y", "Traceback (most recent call last):", "\u00a0\u00a0File"], False
    )
    assert out.getvalue() == "[ERROR] X: y\rTraceback (most recent call last):\r\u00a0\u00a0File\n"


def test_json_error_line():
    (line,) = logs.error_lines(dict(ERRORS[0]), True, Codec())
    record = json.loads(line)
    assert list(record) == [
        "timestamp",
        "level",
        "errorMessage",
        "errorType",
        "requestId",
        "stackTrace",
    ]
    assert record["level"] == "ERROR"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["timestamp"])


def test_framed_sink_layout():
    read, write = os.pipe()
    sink = logs.FramedSink(write)
    sink.log("héllo", frame_type=logs.TEXT_FRAME_TYPES[40])
    sink.log_error(["a", "b"], json_format=False)
    sink.close()
    data = os.read(read, 1000)
    os.close(read)
    assert data[:4] == bytes.fromhex("a55a0017")
    assert int.from_bytes(data[4:8], "big") == len("héllo".encode())
    assert data[16:22] == "héllo".encode()
    second = data[22:]
    assert second[:4] == bytes.fromhex("a55a0017")
    assert second[16:] == b"a\nb"


@pytest.fixture
def clean_root_logger():
    root = logging.getLogger()
    handlers, level, converter = root.handlers[:], root.level, logging.Formatter.converter
    root.handlers = []
    yield root
    root.handlers = handlers
    root.setLevel(level)
    logging.Formatter.converter = converter


class _Sink:
    def __init__(self):
        self.records = []

    def log(self, msg, frame_type=None):
        self.records.append((msg, frame_type))


def _log_through(configure, record_fn):
    root = logging.getLogger()
    sink = _Sink()
    configure(sink)
    try:
        record_fn()
    finally:
        root.handlers = []
    return sink.records


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


def _normalise(records):
    out = []
    for msg, frame in records:
        msg = _TIME.sub("TIME", msg)
        msg = re.sub(r'"location": "[^"]*"', '"location": "L"', msg)
        out.append((msg, frame))
    return out


@pytest.mark.parametrize("log_format", ["Text", "JSON", "json", None])
@pytest.mark.parametrize(
    "log_level", [None, "DEBUG", "TRACE", "INFO", "WARN", "ERROR", "FATAL", "bogus"]
)
def test_root_handler_matches_awslambdaric(clean_root_logger, monkeypatch, log_format, log_level):
    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_log_utils import LogFormat, _get_log_level_from_env_var

    env = {}
    if log_format:
        env["AWS_LAMBDA_LOG_FORMAT"] = log_format
    if log_level:
        env["AWS_LAMBDA_LOG_LEVEL"] = log_level
    config = Config.from_environ(["app.handler"], env)

    def emit():
        logger = logging.getLogger("user")
        logger.debug("debug %s", 1)
        logger.info("info")
        logger.warning("warn é", extra={"custom": [1, 2]})
        logger.error({"a": "dict message"})
        logger.critical("crit")
        try:
            raise KeyError("k")
        except KeyError:
            logger.exception("failed")

    def theirs(sink):
        clean_root_logger.setLevel(logging.WARNING)
        bootstrap._GLOBAL_AWS_REQUEST_ID = "req-1"
        bootstrap._GLOBAL_TENANT_ID = "tenant"
        bootstrap._setup_logging(
            LogFormat.from_str(log_format), _get_log_level_from_env_var(log_level), sink
        )

    def ours(sink):
        clean_root_logger.setLevel(logging.WARNING)
        logs.CURRENT.update(request_id="req-1", tenant_id="tenant")
        logs.configure(logging, sink, config)

    assert _normalise(_log_through(ours, emit)) == _normalise(_log_through(theirs, emit))


def test_logging_is_configured_when_first_imported(tmp_path):
    """Not importing logging at start-up must not change what a user's import sees."""
    import subprocess

    code = (
        "import sys\n"
        "from runtime import logs\n"
        "from runtime.config import Config\n"
        "assert 'logging' not in sys.modules\n"
        "logs.install(logs.StdoutSink(), Config.from_environ(['a.b'], {}))\n"
        "import logging\n"
        "print(len(logging.getLogger().handlers), logging.Formatter.converter.__name__)\n"
        "logging.warning('hi')\n"
    )
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True
    )
    first, second = out.stdout.splitlines()[:2]
    assert first == "1 gmtime"
    assert re.fullmatch(r"\[WARNING\]\t\S+Z\t\thi", second)
