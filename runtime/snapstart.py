"""SnapStart: run the user's snapshot hooks around /runtime/restore/next (reference §3.12).

Imported only when AWS_LAMBDA_INITIALIZATION_TYPE is snap-start. Hooks are registered
with AWS's `snapshot_restore_py`; if the function never imported it, none were
registered and only the restore handshake remains.
"""

import sys

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
EXIT_BEFORE_SNAPSHOT = 64
EXIT_AFTER_RESTORE = 65


def _hooks():
    module = sys.modules.get("snapshot_restore_py")
    if module is None:
        return [], []
    return module.get_before_snapshot(), module.get_after_restore()


def run(runtime):
    """Returns None when the environment was restored, else the exit status."""
    from .invoke import describe_exception, logs_error

    before, after = _hooks()
    try:
        while before:  # in reverse order of registration, as awslambdaric does
            func, args, kwargs = before.pop()
            func(*args, **kwargs)
        response = runtime.conn.request("GET", "/runtime/restore/next")
        if response.status != 200:
            raise RuntimeError(
                f"Request to Lambda Runtime '/2018-06-01/runtime/restore/next' endpoint failed. "
                f"Reason: '{response.status}'. Response body: '{response.body!r}'"
            )
    except Exception as exc:  # a failing hook or handshake: report it, exit like awslambdaric
        body, _ = describe_exception(exc, None)
        body["requestId"] = ""
        logs_error(body, runtime)
        runtime.init_error(body, BEFORE_SNAPSHOT_ERROR)
        return EXIT_BEFORE_SNAPSHOT
    try:
        for func, args, kwargs in after:
            func(*args, **kwargs)
    except Exception as exc:  # a failing after-restore hook: report it, exit like awslambdaric
        body, _ = describe_exception(exc, None)
        body["requestId"] = ""
        logs_error(body, runtime)
        runtime.conn.request(
            "POST",
            "/runtime/restore/error",
            runtime.codec.encode(body).encode("utf-8", "surrogatepass"),
            [("Lambda-Runtime-Function-Error-Type", AFTER_RESTORE_ERROR)],
        )
        return EXIT_AFTER_RESTORE
    return None
