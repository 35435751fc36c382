"""The shared core of an execution environment's lifecycle: start one (a cold start), watch
it, stop it, and turn what happened into an invoke's result.

Three lifecycles build on it, one module each: `ondemand.OnDemand` (Lambda's default: one
invoke at a time, a timed-out init retried), `snapstart.SnapStart` (a cold start goes
through the restore) and `managed_instances.ManagedInstances` (AWS_LAMBDA_MAX_CONCURRENCY
invokes at once in one environment). Each brings its flavour of the Runtime API.
"""

from __future__ import annotations

import abc
import collections
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from bundler.bundle.manifest import Manifest
from bundler.sandbox import bubblewrap
from bundler.sandbox.environment import lambda_variables
from bundler.sandbox.layout import OPT, TASK_ROOT, Layout
from bundler.sandbox.logs import EnvironmentLog, split_cold_start_logs
from bundler.sandbox.process import FunctionProcess, Spawner, exit_reason
from bundler.sandbox.rapi_protocol import Invocation, Outcome, platform_error
from bundler.sandbox.rapi_server import RuntimeAPIServer
from bundler.sandbox.results import MIB, InvokeResult, Timings, invoke_result

API = TypeVar("API", bound=RuntimeAPIServer)


class Settings(Protocol):
    """The function's configuration as the sandbox holds it.

    Read where it is used, never copied: a caller may change the timeout or add
    variables between invokes, and the next invoke (or the next start) goes by them.
    """

    bundle_dir: Path
    user_env: dict[str, str]
    timeout_s: float
    memory_mb: int
    ephemeral_storage_mb: int
    init_timeout_s: float
    function_name: str
    region: str


class EntrypointError(Exception):
    """The entry point exists but cannot be executed."""


class Lifecycle(abc.ABC, Generic[API]):
    """One sandbox's execution environments, one at a time, served by `api`.

    `invoke` is the lifecycle's own; the core starts an environment (`_start_environment`),
    reports its process's exit to the API (`_fail_held`, per lifecycle), stops it, and
    builds results (`_finish`, `_result`), appending their timings to `timings`.
    """

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        layout: Layout,
        timings: collections.deque[Timings],
        api: API,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.layout = layout
        self.timings = timings
        self._api = api
        self._process: FunctionProcess | None = None
        self._log: EnvironmentLog | None = None
        self._environments = 0
        self._spawned_at: float | None = None
        self._extract_pending = True
        self._lock = threading.Lock()
        self._spawner: Spawner | None = None
        self._closed = False

    @abc.abstractmethod
    def invoke(self, invocation: Invocation) -> InvokeResult:
        """Run `invocation`, starting an environment first when none runs."""

    @classmethod
    @abc.abstractmethod
    def default_init_timeout(cls, timeout_s: float) -> float:
        """The cap on init unless the caller gives one, for a function timeout of `timeout_s`."""

    # -- opening and closing ---------------------------------------------------------------

    def start(self) -> None:
        """Start serving the Runtime API; environments start on the first invoke."""
        self._api.start()
        self._spawner = Spawner()

    def close(self) -> None:
        self.stop()
        self._api.close()
        self._closed = True
        if self._spawner is not None:
            self._spawner.shutdown()
            self._spawner = None

    # -- what the function sees ------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The function's environment variables, as Lambda sets them (reference §2.1)."""
        s = self.settings
        p = self.layout.path
        env = lambda_variables(
            self.manifest.handler, p, api_address=self._api.address,
            function_name=s.function_name, region=s.region, memory_mb=s.memory_mb,
        )  # fmt: skip
        self._adjust_variables(env)
        for extra in (self.manifest.environment, s.user_env):
            env.update({k: p(v) for k, v in extra.items()})
        return env

    def _adjust_variables(self, env: dict[str, str]) -> None:
        """What this lifecycle changes in Lambda's variables (on-demand: nothing)."""

    def command(self, entry: str) -> list[str]:
        """The argv that starts `entry`: under bwrap with Lambda's mounts, or as is."""
        if not self.layout.isolated:
            return [entry]
        tmp_bytes = self.settings.ephemeral_storage_mb * MIB
        return bubblewrap.command(self.layout, self.environment(), entry, tmp_bytes=tmp_bytes)

    # -- the environment's process ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    def wait_ready(self, timeout: float | None, workers: int = 1) -> bool:
        """Wait until `workers` runtime workers wait in /next; False on timeout."""
        if not self.running:
            return False
        return self._api.wait_polling(timeout, count=workers)

    def stop(self) -> None:
        """Kill the function's process tree; the next invoke is a cold start."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
        if self._log is not None:
            self._log.close()

    def _start_environment(
        self, invocation: Invocation, started: float
    ) -> tuple[InvokeResult | None, float | None]:
        """Start a new environment for `invocation` (a cold start): (the result when it
        cannot start, the layout's extract time when this is the first start)."""
        rid = invocation.request_id
        message = None
        try:
            self._spawn()
        except EntrypointError as exc:
            message = f"RequestId: {rid} Error: {exc}"
        if message is not None:
            failed = self._finish(
                invocation,
                platform_error("Runtime.InvalidEntrypoint", message),
                Timings(cold=True, started=started, finished=time.monotonic()),
            )
            return failed, None
        extract_s = None
        if self._extract_pending:
            extract_s, self._extract_pending = self.layout.extract_s, False
        return None, extract_s

    def _spawn(self) -> None:
        """Start a new execution environment (a cold start)."""
        old = self._process
        self.stop()
        generation = self._new_generation(old)
        self._environments += 1
        log_path = self.layout.work / "logs" / f"environment-{self._environments}.log"
        self._log = log = EnvironmentLog(log_path)
        entry = self.layout.entry_point()
        if entry is None:
            raise EntrypointError(
                f"Couldn't find valid bootstrap(s): [{TASK_ROOT}/bootstrap {OPT}/bootstrap]"
            )
        env = None if self.layout.isolated else self.environment()
        self._spawned_at = time.monotonic()
        assert self._spawner is not None and log.file is not None
        try:
            popen = self._spawner.spawn(
                self.command(entry), env=env if env is not None else {},
                cwd=self.layout.work / "task", log=log.file,
            )  # fmt: skip
        except OSError as exc:
            # Unsandboxed, a bootstrap that cannot be executed fails here (under bwrap,
            # inside the sandbox, as an exit): Lambda reports it as the caller's error.
            raise EntrypointError(f"fork/exec {entry}: {(exc.strerror or '').lower()}") from None
        self._process = process = FunctionProcess(popen, isolated=self.layout.isolated)
        process.watch(
            self.settings.memory_mb, lambda status: self._report_exit(status, generation, log)
        )

    def _new_generation(self, old: FunctionProcess | None) -> int:
        """The API forgets the environment `old` ran (stopped already): the generation of
        the one about to start."""
        self._api.reset()
        return self._api.generation

    def _report_exit(self, status: int, generation: int, log: EnvironmentLog | None) -> None:
        """The environment `generation`'s process ended with `status`: fail what it held.

        `log` is that environment's: a watcher may report after a newer one started.
        """
        if self._closed:
            return
        unexecutable = None
        # bwrap exits 1 when it cannot exec, setpriv 126 or 127.
        if self.layout.isolated and status in (1, 126, 127) and log is not None:
            tail = log.tail(1024)
            unexecutable = None if tail is None else bubblewrap.exec_failure(tail)

        def outcome_for(request_id: str) -> Outcome:
            if unexecutable is not None:
                # bwrap could not exec the entry point (bad shebang, CRLF line endings):
                # what Lambda reports when its own fork/exec fails.
                return platform_error(
                    "Runtime.InvalidEntrypoint", f"RequestId: {request_id} Error: {unexecutable}"
                )
            return platform_error(
                "Runtime.ExitError", f"RequestId: {request_id} Error: {self._exit_reason(status)}"
            )

        self._fail_held(outcome_for, generation)

    @abc.abstractmethod
    def _fail_held(self, outcome_for: Callable[[str], Outcome], generation: int) -> None:
        """The environment `generation` ended: fail the invocations it held."""

    def _exit_reason(self, status: int) -> str:
        return exit_reason(status, via_bwrap=self.layout.isolated)

    def _peak_rss(self) -> int | None:
        """The most memory the function's processes held together (FunctionProcess)."""
        process = self._process  # read once: stop() may clear it from another thread
        return None if process is None else process.peak_rss()

    # -- results ---------------------------------------------------------------------------

    def _take_logs(self) -> str:
        return "" if self._log is None else self._log.take()

    def _snapshot_mark(self) -> int | None:
        """SnapStart: where the log stood when init ended (None in other lifecycles)."""
        return None

    def _finish(
        self,
        invocation: Invocation,
        outcome: Outcome,
        timings: Timings,
        peak: int | None = None,
        log_split: int | None = None,
        before_start: str = "",
    ) -> InvokeResult:
        """Build the result; logs are Lambda's: init output, START, invoke output, END, REPORT.

        `before_start`: what an environment that no longer runs logged first (a timed-out
        init that was retried).
        """
        start = 0 if self._log is None else self._log.offset
        logs = self._take_logs()
        init_logs, invoke_logs = "", logs
        if timings.cold:
            init_logs, invoke_logs = split_cold_start_logs(
                logs, start, log_split, self._snapshot_mark(), timings
            )
        return self._result(
            invocation, outcome, timings, peak, before_start + init_logs, invoke_logs
        )

    def _result(
        self,
        invocation: Invocation,
        outcome: Outcome,
        timings: Timings,
        peak: int | None,
        init_logs: str,
        invoke_logs: str,
    ) -> InvokeResult:
        self.timings.append(timings)
        return invoke_result(
            invocation, outcome, timings, peak=peak, memory_mb=self.settings.memory_mb,
            init_logs=init_logs, invoke_logs=invoke_logs,
        )  # fmt: skip
