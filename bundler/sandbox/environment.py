"""The function's environment variables: the ones Lambda sets (reference §2.1), the checks
Lambda makes on the ones a function configures, and the CLI's `--env K=V` pairs.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Mapping

from bundler.core.errors import UsageError
from bundler.sandbox.layout import LANG_DIR, OPT, RUNTIME_DIR, TASK_ROOT

# Names Lambda sets itself and refuses in a function's configuration
# (configuration-envvars.html#configuration-envvars-runtime).
RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
# Lambda's limit on a function's environment variables, all keys and values together.
ENV_LIMIT_BYTES = 4096


def lambda_variables(
    handler: str,
    path: Callable[[str], str],
    *,
    api_address: str,
    function_name: str,
    region: str,
    memory_mb: int,
) -> dict[str, str]:
    """The variables Lambda sets for an on-demand function; `path` says where a Lambda
    path is for the function (itself under bwrap)."""
    p = path
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y/%m/%d")
    return {
        "_HANDLER": handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_RUNTIME_API": api_address,
        # Fake credentials: SDK clients construct without reaching for real ones.
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_ACCESS_KEY": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "lambundle-sandbox-session-token",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "LAMBDA_TASK_ROOT": p(TASK_ROOT),
        "LAMBDA_RUNTIME_DIR": p(RUNTIME_DIR),
        "LANG": "en_US.UTF-8",
        "PATH": ":".join(
            [p(LANG_DIR) + "/bin", "/usr/local/bin", "/usr/bin/", "/bin", p(OPT) + "/bin"]
        ),
        "LD_LIBRARY_PATH": ":".join(
            [p(LANG_DIR) + "/lib", "/lib64", "/usr/lib64", p(RUNTIME_DIR),
             p(RUNTIME_DIR) + "/lib", p(TASK_ROOT), p(TASK_ROOT) + "/lib", p(OPT) + "/lib"]
        ),
        "TZ": ":UTC",
    }


def configuration_warnings(configured: Mapping[str, str]) -> list[str]:
    """What AWS would refuse in the function's variables (they still apply here)."""
    warnings = []
    reserved = sorted(k for k in configured if k in RESERVED_ENV)
    if reserved:
        warnings.append(
            f"{', '.join(reserved)}: reserved by Lambda, which refuses to deploy a "
            "function that sets them; applied here anyway."
        )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in configured.items())
    if size > ENV_LIMIT_BYTES:
        warnings.append(
            f"The function's environment variables take {size} bytes; Lambda allows "
            f"{ENV_LIMIT_BYTES} in total and would refuse the configuration."
        )
    return warnings


def parse_env(pairs: Iterable[str]) -> dict[str, str]:
    """`K=V` strings (the CLI's --env) as a dict; a pair without `=` is a usage error."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            msg = f"--env {pair!r} is not KEY=VALUE; write it like --env LOG_LEVEL=debug."
            raise UsageError(msg)
        env[key] = value
    return env
