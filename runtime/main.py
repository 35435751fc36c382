"""The runtime's entry point: configure, load the handler, serve invocations."""

import os
import sys

from . import faults, logs
from .client import Connection, ConnectionFailed, user_agent
from .codec import Codec
from .config import Config

VERSION = "0.1.0"
EXIT_INIT_ERROR = 1
EXIT_API_ERROR = 1
EXIT_USAGE = 2
# Statuses on /response or /error after which the loop goes on: the platform has already
# told the caller (413 too large, 400 bad request id, 410 LMI invoke timed out).
NON_FATAL_POST_STATUSES = (400, 410, 413)


class Runtime:
    """State shared by the loop: configuration, codec, log sink, Runtime API connection."""

    def __init__(self, config, sink, concurrent=False):
        self.config = config
        self.codec = Codec(ensure_ascii=config.ensure_ascii)
        self.sink = sink
        self.concurrent = concurrent
        self.conn = Connection(config.api_address, user_agent(VERSION))

    def next(self):
        from .invoke import Invocation

        try:
            response = self.conn.request("GET", "/runtime/invocation/next")
        except (ConnectionFailed, OSError) as exc:
            raise faults.RuntimeAPIError(
                f"lambundle: cannot get the next invocation: {exc}"
            ) from None
        if response.status != 200:
            # 500: "Container error. Non-recoverable state. Runtime should exit promptly."
            raise faults.RuntimeAPIError(
                f"lambundle: the Runtime API answered {response.status} to /next "
                f"({response.body.decode('utf-8', 'replace')}); exiting"
            )
        return Invocation(response)

    def _check(self, what, response):
        if 200 <= response.status < 300:
            return response
        message = (
            f"lambundle: the Runtime API answered {response.status} to {what} "
            f"({response.body.decode('utf-8', 'replace')})"
        )
        if self.concurrent or response.status in NON_FATAL_POST_STATUSES:
            sys.stderr.write(message + "\n")
            return response
        raise faults.RuntimeAPIError(message + "; exiting")

    def post(self, path, body, headers):
        try:
            response = self.conn.request("POST", path, body, headers)
        except (ConnectionFailed, OSError) as exc:
            raise faults.RuntimeAPIError(f"lambundle: cannot post to {path}: {exc}") from None
        return self._check(path, response)

    def post_stream(self, path, chunks, headers, trailers):
        try:
            response, _ = self.conn.stream(path, chunks, headers, trailers)
        except (ConnectionFailed, OSError) as exc:
            raise faults.RuntimeAPIError(f"lambundle: cannot stream to {path}: {exc}") from None
        return self._check(path, response)

    def init_error(self, body, error_type=None):
        try:
            response = self.conn.request(
                "POST",
                "/runtime/init/error",
                self.codec.encode(body).encode("utf-8", "surrogatepass"),
                [("Lambda-Runtime-Function-Error-Type", error_type or body["errorType"])],
            )
        except (ConnectionFailed, OSError) as exc:
            sys.stderr.write(f"lambundle: cannot report the init error: {exc}\n")
            return
        if response.status == 403 and self.concurrent:
            return  # another worker already reported it (awslambdaric LMI behaviour)
        if response.status != 202:
            sys.stderr.write(f"lambundle: init error report answered {response.status}\n")


def _unbuffer_stdio():
    """stdout/stderr unbuffered, as with `python -u` (awslambdaric flushes every write)."""
    import io  # loaded by the interpreter already

    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None:
            continue
        try:
            stream.flush()
            new = io.TextIOWrapper(
                io.FileIO(fd, "w", closefd=False),
                encoding=stream.encoding,
                errors=stream.errors,
                write_through=True,
            )
        except (OSError, ValueError, AttributeError):
            continue
        setattr(sys, name, new)


def main(argv, opt_root="/opt"):
    """Run the runtime; returns the process exit status (only on failure)."""
    try:
        config = Config.from_environ(argv)
    except ValueError as exc:
        sys.stderr.write(f"lambundle: {exc}\n")
        return EXIT_USAGE
    if not config.handler:
        sys.stderr.write("lambundle: no handler: pass it as an argument or set _HANDLER\n")
        return EXIT_USAGE
    if not config.api_address:
        sys.stderr.write("lambundle: AWS_LAMBDA_RUNTIME_API is not set; run me inside Lambda\n")
        return EXIT_USAGE
    _unbuffer_stdio()
    from . import loader

    loader.install(
        config.task_root, opt_root, config.managed_runtime_dir, config.pythonpath_set
    )
    if config.max_concurrency is not None:
        return _run_concurrent(config)
    os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    return run_worker(config, logs.create_sink(config.telemetry_fd), concurrent=False)


def run_worker(config, sink, concurrent):
    from . import context, handlers, invoke

    context._LOG_SINK[0] = sink
    logs.install(sink, config)
    if config.execution_env in logs.PREVIEW_RUNTIME_ENVS and not os.environ.get(
        "LAMBDA_DISABLE_PREVIEW_WARN"
    ):
        import logging  # only on preview runtimes, like awslambdaric

        logging.warning(logs.preview_warning(os.environ.get("AWS_REGION", "")))
    runtime = Runtime(config, sink, concurrent)
    gc_during_init = _relax_gc(config.init_gc)
    try:
        target = handlers.resolve(config.handler, config.task_root, config.calling)
    except faults.Fault as fault:
        body = faults.error_body(fault.message, fault.error_type, fault.trace)
        return _init_failed(runtime, body)
    except Exception as exc:  # the user's module failed at import: awslambdaric reports it
        body, _ = invoke.describe_exception(exc, None)
        body["requestId"] = ""
        return _init_failed(runtime, body)
    _restore_gc(gc_during_init)
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        from . import snapstart

        status = snapstart.run(runtime)
        if status is not None:
            return status
    try:
        while True:
            invoke.handle(runtime.next(), target, runtime)
    except faults.RuntimeAPIError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_API_ERROR


# Init allocates most of what a function keeps for its life (modules, classes, their
# caches) and little garbage: a few hundred objects for numpy and pandas, against about
# 97,000 they keep. CPython's collector does not know that: it collects the young
# generation every 700 allocations, a tenth of init's time for numpy and pandas, and any
# collection deferred to later walks all of it. So while the handler's module imports,
# the young generation is collected only every INIT_GC_THRESHOLD allocations (which still
# bounds the garbage an init can leave), and when init is done what it made is frozen
# (gc.freeze: moved out of the collector's sight; reference counting still frees it): no
# deferred collection, and later full collections skip it. Cyclic garbage made in init's
# last allocations is kept for the environment's life; LAMBUNDLE_INIT_GC=default turns
# all of this off.
INIT_GC_THRESHOLD = 100_000


def _relax_gc(mode):
    """Raise the young generation's threshold for init; the (previous, set) thresholds."""
    import gc  # built in: no import cost

    previous = gc.get_threshold()
    if mode != "freeze" or previous[0] == 0:  # 0: automatic collection turned off
        return previous, None
    relaxed = (max(previous[0], INIT_GC_THRESHOLD), *previous[1:])
    gc.set_threshold(*relaxed)
    return previous, relaxed


def _restore_gc(saved):
    """Freeze what init made and put the thresholds back, unless the init set its own."""
    import gc

    previous, relaxed = saved
    if relaxed is not None and gc.get_threshold() == relaxed:
        gc.freeze()
        gc.set_threshold(*previous)


def _init_failed(runtime, body):
    import logging  # error path: awslambdaric logs its warning through the root logger

    logging.warning(logs.UNHANDLED_EXCEPTION_WARNING)
    from .invoke import logs_error

    logs_error(body, runtime)
    runtime.init_error(body)
    return EXIT_INIT_ERROR


def _run_concurrent(config):
    """Lambda Managed Instances: N forked workers, each its own init and /next loop."""
    fd = config.telemetry_fd
    os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd is not None:
        # Like awslambdaric, the parent consumes the telemetry fd; workers log on stdout.
        os.close(int(fd))
    config.telemetry_fd = None
    if config.log_level is not None and config.log_level <= 10:
        import logging  # only when the DEBUG event below can be seen

        sink = logs.StdoutSink()
        logs.configure(logging, sink, config)
        n = config.max_concurrency
        logging.getLogger().debug(
            {
                "event": "runtime_worker_pool_initializing",
                "workerCount": n,
                "executionEnvironmentMaxConcurrency": n,
            }
        )
        logging.getLogger().handlers.clear()
    children = []
    for _ in range(config.max_concurrency):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                if config.telemetry_socket:
                    _redirect_output(config.telemetry_socket)
                status = run_worker(config, logs.StdoutSink(), concurrent=True)
            finally:
                sys.stdout.flush()
                os._exit(status)
        children.append(pid)
    status = 0
    for pid in children:
        _, code = os.waitpid(pid, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return status


def _redirect_output(path):
    import _socket

    for fd in (1, 2):
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        s.connect(path)
        os.dup2(s.fileno(), fd)
        s.close()
