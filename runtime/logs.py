"""Where the function's logs go, in awslambdaric's formats.

`import logging` costs ~13 ms, so the runtime does not import it. It still installs
awslambdaric's root handler before the user's code can log: a one-shot import hook
configures `logging` the moment anything imports it (or at once if something already
has). The user therefore sees the same root handler, formats and level as under
awslambdaric, and a function that never imports logging never pays for it.
"""

import sys
import time

# Telemetry frame types (4 bytes, big-endian), indexed by level // 10.
_TEXT_FRAMES = [0xA55A0003, 0xA55A000B, 0xA55A000F, 0xA55A0013, 0xA55A0017, 0xA55A001B]
_JSON_FRAMES = [0xA55A0002, 0xA55A000A, 0xA55A000E, 0xA55A0012, 0xA55A0016, 0xA55A001A]
TEXT_FRAME_TYPES = {i * 10: t.to_bytes(4, "big") for i, t in enumerate(_TEXT_FRAMES)}
JSON_FRAME_TYPES = {i * 10: t.to_bytes(4, "big") for i, t in enumerate(_JSON_FRAMES)}
DEFAULT_FRAME_TYPE = TEXT_FRAME_TYPES[0]
NBSP = "\u00a0"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TEXT_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"

# awslambdaric's LAMBDA_WARNING before an init error is logged.
UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START "
    "log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate "
    "this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)

PREVIEW_RUNTIME_ENVS = frozenset({"AWS_Lambda_python3.15"})


def preview_warning(region):
    """awslambdaric's warning on a preview managed runtime (China regions link elsewhere)."""
    host = "docs.amazonaws.cn" if region.startswith("cn-") else "docs.aws.amazon.com"
    return (
        "LAMBDA_WARNING: "
        "This is a preview runtime version and should not be used for production workloads. "
        "For further information and to provide feedback, see "
        f"https://{host}/lambda/latest/dg/lambda-runtimes.html\r"
    )


# The current invocation, for log records. Like awslambdaric it is set at each /next
# and never cleared, so background threads log the last request id.
CURRENT = {"request_id": None, "tenant_id": None}


def level_bucket(levelno):
    return min(50, max(0, levelno)) // 10 * 10


class StdoutSink:
    """Logs on standard output; an error report is one CloudWatch event (\\r-joined).

    The stream is taken at creation, so logs still reach the real stdout while a stdio
    handler's output is being captured as its response.
    """

    def __init__(self, stream=None):
        self.stream = sys.stdout if stream is None else stream

    def log(self, msg, frame_type=None):
        self.stream.write(msg)

    def log_error(self, lines, json_format):
        self.stream.write("\r".join(lines) + "\n")

    def close(self):
        pass


class FramedSink:
    """The telemetry fd protocol: type, length, µs timestamp, message; big-endian."""

    def __init__(self, fd):
        import os  # already loaded by the interpreter; kept local for clarity

        self.file = os.fdopen(int(fd), "wb", 0)

    def log(self, msg, frame_type=None):
        data = msg.encode("utf8")
        stamp = time.time_ns() // 1000
        self.file.write(
            (frame_type or DEFAULT_FRAME_TYPE)
            + len(data).to_bytes(4, "big")
            + stamp.to_bytes(8, "big")
            + data
        )

    def log_error(self, lines, json_format):
        frames = JSON_FRAME_TYPES if json_format else TEXT_FRAME_TYPES
        self.log("\n".join(lines), frame_type=frames[40])

    def close(self):
        self.file.close()


def create_sink(telemetry_fd):
    return StdoutSink() if telemetry_fd is None else FramedSink(telemetry_fd)


def error_lines(body, json_format, codec):
    """The lines awslambdaric logs for an error document (text or JSON format)."""
    if json_format:
        record = {
            "timestamp": time.strftime(DATETIME_FORMAT, time.gmtime(time.time())),
            "level": "ERROR",
            **body,
        }
        return [codec.encode(record)]
    head = "[ERROR]"
    if body.get("errorType"):
        head += " " + body["errorType"]
    if body.get("errorMessage"):
        if body.get("errorType"):
            head += ":"
        head += " " + body["errorMessage"]
    lines = [head]
    trace = body.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for entry in trace:
            if entry == "":
                lines.append("")
                continue
            for line in entry.splitlines():
                stripped = line.lstrip(" ")
                lines.append(NBSP * (len(line) - len(stripped)) + stripped)
    return lines


def install(sink, config):
    """Make `logging` carry awslambdaric's root handler as soon as it is imported."""
    if "logging" in sys.modules:
        configure(sys.modules["logging"], sink, config)
        return
    sys.meta_path.insert(0, _ImportHook(lambda module: configure(module, sink, config)))


class _ImportHook:
    """A one-shot meta-path finder: lets `logging` load normally, then configures it."""

    def __init__(self, callback):
        self.callback = callback

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if find is None else find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = loader.exec_module
        callback = self.callback

        def exec_module(module):
            original(module)
            callback(module)

        loader.exec_module = exec_module
        return spec

    def find_module(self, name, path=None):  # pragma: no cover - pre-3.4 protocol
        return None


def configure(logging, sink, config):
    """awslambdaric's `_setup_logging`, on the given `logging` module."""
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()

    class LambdaLoggerHandler(logging.Handler):  # type: ignore[misc,name-defined]
        def __init__(self):
            super().__init__()
            self.log_sink = sink

        def emit(self, record):
            sink.log(self.format(record))

    class LambdaLoggerHandlerWithFrameType(LambdaLoggerHandler):
        def emit(self, record):
            sink.log(
                self.format(record),
                frame_type=getattr(record, "_frame_type", None)
                or TEXT_FRAME_TYPES.get(level_bucket(record.levelno)),
            )

    class LambdaLoggerFilter(logging.Filter):  # type: ignore[misc,name-defined]
        def filter(self, record):
            record.aws_request_id = CURRENT["request_id"] or ""
            record.tenant_id = CURRENT["tenant_id"]
            return True

    framed = config.log_format_json or bool(config.log_level_name)
    handler = LambdaLoggerHandlerWithFrameType() if framed else LambdaLoggerHandler()
    if config.log_format_json:
        handler.setFormatter(json_formatter(logging))
    else:
        handler.setFormatter(logging.Formatter(TEXT_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    if config.log_level is not None:
        root.setLevel(config.log_level)
    handler.addFilter(LambdaLoggerFilter())
    root.addHandler(handler)


# Attributes of a LogRecord that are not user `extra` fields in the JSON format.
_RESERVED = frozenset(
    (
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
        "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
        "relativeCreated", "thread", "threadName", "processName", "process",
        "aws_request_id", "tenant_id", "_frame_type",
    )
)  # fmt: skip


def json_formatter(logging):
    """awslambdaric 4.2.2's JsonFormatter (AWS_LAMBDA_LOG_FORMAT=JSON)."""
    import json  # JSON log format only: user logs go through the stdlib encoder

    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    class JsonFormatter(logging.Formatter):  # type: ignore[misc,name-defined]
        def __init__(self):
            super().__init__(datefmt=DATETIME_FORMAT)

        def format(self, record):
            record.levelno = level_bucket(record.levelno)
            record.levelname = logging.getLevelName(record.levelno)
            record._frame_type = JSON_FRAME_TYPES.get(record.levelno, JSON_FRAME_TYPES[0])
            exc = record.exc_info
            if exc:
                import traceback  # only for records that carry an exception

                trace = traceback.format_tb(exc[2])
            message = (
                record.msg
                if isinstance(record.msg, dict) and not record.args
                else record.getMessage()
            )
            result = {
                "timestamp": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                "message": message,
                "logger": record.name,
                "stackTrace": trace if exc else None,
                "errorType": exc[0].__name__ if exc else None,
                "errorMessage": str(exc[1]) if exc else None,
                "requestId": getattr(record, "aws_request_id", None),
                "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc else None,
            }
            if getattr(record, "tenant_id", None) is not None:
                result["tenantId"] = record.tenant_id
            result.update(
                (k, v) for k, v in record.__dict__.items() if k not in _RESERVED and k not in result
            )
            return encode({k: v for k, v in result.items() if v is not None}) + "\n"

    return JsonFormatter()
