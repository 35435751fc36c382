"""The runtime's configuration, read from the environment once at start."""

import os

# awslambdaric emits raw UTF-8 (ensure_ascii=False) only on these managed runtimes and
# escapes non-ASCII everywhere else (aws-lambda-python-runtime-interface-client PR #88).
RAW_UNICODE_ENVS = frozenset(
    {
        "AWS_Lambda_python3.12",
        "AWS_Lambda_python3.13",
        "AWS_Lambda_python3.14",
        "AWS_Lambda_python3.15",
    }
)
CALLING_CONVENTIONS = ("json", "raw", "stdio")
# LAMBUNDLE_INIT_GC: "freeze" (the default; runtime/main.py, _relax_gc) or CPython's
# "default" collection during init.
INIT_GC_MODES = ("freeze", "default")

# AWS_LAMBDA_LOG_LEVEL values awslambdaric accepts (TRACE means DEBUG, the rest are the
# names `logging` knows); others leave the root level at Python's default WARNING.
LOG_LEVELS = {
    "NOTSET": 0,
    "TRACE": 10,
    "DEBUG": 10,
    "INFO": 20,
    "WARN": 30,
    "WARNING": 30,
    "ERROR": 40,
    "FATAL": 50,
    "CRITICAL": 50,
}


class Config:
    """What the runtime needs to know, taken from `os.environ` by `from_environ`."""

    __slots__ = (
        "api_address",
        "calling",
        "encoding",
        "ensure_ascii",
        "execution_env",
        "handler",
        "init_gc",
        "log_format_json",
        "log_level",
        "log_level_name",
        "managed_runtime_dir",
        "max_concurrency",
        "pythonpath_set",
        "task_root",
        "telemetry_fd",
        "telemetry_socket",
    )

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    @classmethod
    def from_environ(cls, argv, environ=None):
        env = os.environ if environ is None else environ
        handler = argv[0] if argv else env.get("_HANDLER", "")
        level_name = (env.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
        execution_env = env.get("AWS_EXECUTION_ENV")
        calling = (env.get("LAMBUNDLE_CALLING") or "json").lower()
        if calling not in CALLING_CONVENTIONS:
            raise ValueError(
                f"LAMBUNDLE_CALLING={calling!r} is not one of {', '.join(CALLING_CONVENTIONS)}"
            )
        init_gc = (env.get("LAMBUNDLE_INIT_GC") or "freeze").lower()
        if init_gc not in INIT_GC_MODES:
            raise ValueError(
                f"LAMBUNDLE_INIT_GC={init_gc!r} is not one of {', '.join(INIT_GC_MODES)}"
            )
        concurrency = env.get("AWS_LAMBDA_MAX_CONCURRENCY")
        return cls(
            api_address=env.get("AWS_LAMBDA_RUNTIME_API", ""),
            calling=calling,
            encoding=env.get("LAMBUNDLE_ENCODING") or "utf-8",
            ensure_ascii=_ensure_ascii(env.get("LAMBUNDLE_ENSURE_ASCII"), execution_env),
            execution_env=execution_env,
            handler=handler,
            init_gc=init_gc,
            log_format_json=(env.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON",
            log_level=LOG_LEVELS.get(level_name),
            log_level_name=level_name,
            managed_runtime_dir=_managed_runtime_dir(env, execution_env),
            max_concurrency=None if concurrency is None else int(concurrency),
            pythonpath_set="PYTHONPATH" in env,
            task_root=env.get("LAMBDA_TASK_ROOT") or os.getcwd(),
            telemetry_fd=env.get("_LAMBDA_TELEMETRY_LOG_FD"),
            telemetry_socket=env.get("_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"),
        )


def _managed_runtime_dir(env, execution_env):
    """LAMBDA_RUNTIME_DIR on AWS's managed python3.X runtimes (their bootstrap script sets
    AWS_EXECUTION_ENV before it starts the exec wrapper); None on OS-only runtimes."""
    if not (execution_env or "").startswith("AWS_Lambda_python"):
        return None
    return env.get("LAMBDA_RUNTIME_DIR") or "/var/runtime"


def _ensure_ascii(override, execution_env):
    """awslambdaric's choice by AWS_EXECUTION_ENV unless LAMBUNDLE_ENSURE_ASCII=0/1 says.

    Escaping non-ASCII triples the size of e.g. CJK responses (awslambdaric issue #87);
    `LAMBUNDLE_ENSURE_ASCII=0` gives raw UTF-8 on custom runtimes too, by choice.
    """
    if override in ("0", "false", "no"):
        return False
    if override in ("1", "true", "yes"):
        return True
    return execution_env not in RAW_UNICODE_ENVS
