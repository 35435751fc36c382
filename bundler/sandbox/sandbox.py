"""A Lambda execution environment in one local process tree.

`Sandbox` lays a bundle out as Lambda does (layers merged in order into /opt, the
function into /var/task), serves the Runtime API on loopback (`bundler.sandbox.rapi`), and starts
the bundle's entry point under bubblewrap with Lambda's read-only mounts, a private /tmp,
the target's interpreter at /var/lang and Lambda's environment variables. The first
invoke is a cold start; a process that dies, reports an init error or times out is gone
and the next invoke starts a new one. Without bubblewrap it runs unsandboxed in a
temporary directory, with the real paths in the environment, and says so.

With AWS_LAMBDA_MAX_CONCURRENCY=N the environment is a Lambda Managed Instances one: up
to N invokes run at once, one per runtime worker, each with its own timeout; a timeout
or a crashed worker ends only its own invoke (`Sandbox._invoke_concurrent`).

With `snapstart=True` a cold start follows SnapStart's lifecycle (`Sandbox._restore`):
init runs up to the runtime's GET /runtime/restore/next (its before-snapshot hooks ran),
then the environment is "restored" and its after-restore hooks run before the first /next.
No snapshot is taken: the same process goes on, and every cold start runs init again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from bundler.bundle.archive import extract_zip
from bundler.bundle.manifest import Manifest, load
from bundler.core import interpreters
from bundler.core.errors import SandboxError, ThrottledError, UsageError
from bundler.core.target import host_arch
from bundler.sandbox import managed_runtime as managed
from bundler.sandbox.rapi import (
    ConcurrentRuntimeAPI,
    Invocation,
    Outcome,
    Peer,
    RuntimeAPI,
    platform_error,
)

OPT = "/opt"
TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
LANG_DIR = "/var/lang"
# On-demand init may take 10 s before Lambda gives up on it (lambda-runtime-environment.html).
INIT_TIMEOUT_S = 10.0
# SnapStart's init (made when a version is published) may take 130 s or the function's
# timeout, whichever is longer; loading the runtime and the after-restore hooks must finish
# within 10 s (snapstart-runtime-hooks-python.html).
SNAPSTART_INIT_TIMEOUT_S = 130.0
# Managed Instances' init has the same cap, with no retry: 130 s or the function's timeout,
# whichever is longer (lambda-managed-instances-execution-environment.html, "Init phase").
LMI_INIT_TIMEOUT_S = 130.0
RESTORE_TIMEOUT_S = 10.0
ACCOUNT_ID = "012345678912"
_MIB = 1_048_576
# What Lambda reports when its OOM killer ends a function (SIGKILL, as Go's os/exec names it).
_OOM_KILLED = "Runtime exited with error: signal: killed"
# While the function runs, its resident memory is read this often, and the process tree
# killed once it is over the memory size: a runaway allocation is stopped within about
# this long (Lambda's cgroup stops it at once). A spike shorter than this is still caught
# by the peak (VmHWM) read when the invoke ends. The processes are found again every
# _TREE_EVERY reads, since finding them scans all of /proc.
_MEMORY_POLL_S = 0.05
_TREE_EVERY = 10
# How long a worker whose connection closed may take to be seen dead before it counts as
# alive (a runtime may close its connection and answer on a new one).
_WORKER_EXIT_WAIT_S = 2.0
# Linux signal numbers Go's os/exec names in "Runtime exited with error: signal: ...".
_SIGNAL_NAMES: dict[int, str] = {
    int(signal.SIGKILL): "killed",
    int(signal.SIGTERM): "terminated",
    int(signal.SIGSEGV): "segmentation fault",
    int(signal.SIGABRT): "aborted",
    int(signal.SIGBUS): "bus error",
    int(signal.SIGINT): "interrupt",
}

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

_bwrap_checked: dict[str, str | None] = {}
_BWRAP_EXEC_FAILED = re.compile(r"bwrap: execvp (\S+): ([^\n]+)\n?\Z")


def bwrap_problem() -> str | None:
    """None if bubblewrap can create a sandbox here, else why not (checked once)."""
    if "result" not in _bwrap_checked:
        exe = shutil.which("bwrap")
        if exe is None:
            problem: str | None = "bubblewrap (bwrap) is not installed (apt install bubblewrap)"
        else:
            proc = subprocess.run(
                [exe, "--unshare-all", "--share-net", "--ro-bind", "/", "/", "true"],
                capture_output=True, text=True, check=False,
            )
            problem = None if proc.returncode == 0 else (
                f"bwrap cannot create namespaces here ({proc.stderr.strip()})"
            )
        _bwrap_checked["result"] = problem
    return _bwrap_checked["result"]


@dataclasses.dataclass(frozen=True)
class Timings:
    """Monotonic timestamps (`time.monotonic()`) of one invoke, and the spans between.

    `spawned` and `first_next` are set on a cold start only; `extract_s` on the first
    cold start of a sandbox (the layout is made once per sandbox). `snapshot` and
    `restored` on a SnapStart cold start only: when the runtime asked
    /runtime/restore/next (init ends) and when the sandbox answered it (restore begins).
    """

    cold: bool
    started: float
    finished: float
    spawned: float | None = None
    first_next: float | None = None
    handed: float | None = None
    extract_s: float | None = None
    snapshot: float | None = None
    restored: float | None = None

    @property
    def init_s(self) -> float | None:
        """Lambda's Init Duration: spawn to the first `/next`, or with SnapStart to the
        runtime's /runtime/restore/next (INIT_REPORT's figure)."""
        if self.spawned is None:
            return None
        end = self.snapshot if self.snapshot is not None else self.first_next
        return None if end is None else end - self.spawned

    @property
    def restore_s(self) -> float | None:
        """SnapStart's Restore Duration: /runtime/restore/next answered to the first `/next`
        (after-restore hooks included; no snapshot is restored here)."""
        if self.restored is None or self.first_next is None:
            return None
        return self.first_next - self.restored

    @property
    def invoke_s(self) -> float | None:
        """Event handed to the runtime to its answer: Lambda's Duration."""
        return None if self.handed is None else self.finished - self.handed

    @property
    def total_s(self) -> float:
        """The caller's view: invoke called to result (init included when cold)."""
        return self.finished - self.started


@dataclasses.dataclass(frozen=True)
class InvokeResult:
    request_id: str
    payload: bytes
    content_type: str
    function_error: str | None  # "Unhandled", as in X-Amz-Function-Error, or None
    logs: str
    timings: Timings
    init_error: bool = False
    streamed: bool = False
    chunks: tuple[bytes, ...] = ()
    stream_error: tuple[str, bytes] | None = None
    peak_rss: int | None = None  # bytes, the function's process tree

    @property
    def restore_s(self) -> float | None:
        """SnapStart's Restore Duration of this cold start (None otherwise)."""
        return self.timings.restore_s

    @property
    def error(self) -> dict[str, Any] | None:
        """The parsed error ({"errorType", "errorMessage", ...}), or None on success."""
        if self.function_error is None:
            return None
        if self.stream_error is not None:
            error_type, body = self.stream_error
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed
            return {"errorType": error_type, "errorMessage": body.decode("utf-8", "replace")}
        try:
            parsed = json.loads(self.payload)
        except ValueError:
            return {"errorType": "Runtime.Unknown", "errorMessage": self.payload.decode(
                "utf-8", "replace")}
        return parsed if isinstance(parsed, dict) else None

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)


class Sandbox:
    """A local Lambda for one bundle; use as a context manager.

    `isolate`: True requires bubblewrap, False runs unsandboxed, None uses bubblewrap
    when it works here. `interpreter` picks the Python mounted at /var/lang.
    `snapstart`: the function has SnapStart on (module docstring); its init cap is then
    SnapStart's unless `init_timeout_s` is given.
    """

    def __init__(
        self,
        bundle_dir: Path | str,
        *,
        env: Mapping[str, str] | None = None,
        timeout_s: float = 3.0,
        memory_mb: int = 128,
        isolate: bool | None = None,
        interpreter: Path | str | None = None,
        work_dir: Path | str | None = None,
        function_name: str = "function",
        region: str = "us-east-1",
        init_timeout_s: float | None = None,
        snapstart: bool = False,
    ) -> None:
        self.bundle_dir = Path(bundle_dir)
        self.snapstart = snapstart
        self._init_timeout_given = init_timeout_s is not None
        if init_timeout_s is None:
            init_timeout_s = (
                max(SNAPSTART_INIT_TIMEOUT_S, timeout_s) if snapstart else INIT_TIMEOUT_S
            )
        self.user_env = dict(env or {})
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.function_name = function_name
        self.region = region
        self.init_timeout_s = init_timeout_s
        self._isolate = isolate
        self._interpreter_path = Path(interpreter) if interpreter else None
        self._work_arg = Path(work_dir) if work_dir else None
        self.warnings: list[str] = []
        self.isolated = False
        self.extract_s: float | None = None
        self.timings: list[Timings] = []
        self.manifest: Manifest | None = None
        self.interpreter: interpreters.Interpreter | None = None
        self._api: RuntimeAPI | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_path: Path | None = None
        self._log_offset = 0
        self._environments = 0
        self._spawned_at: float | None = None
        self._extract_pending = True
        self._owns_work = False
        self._work: Path | None = None
        self._runtime_dir: Path | None = None
        self._lock = threading.Lock()
        self._spawner: concurrent.futures.ThreadPoolExecutor | None = None
        self._log_split: int | None = None
        self._snapshot_split: int | None = None
        # > 0 with AWS_LAMBDA_MAX_CONCURRENCY: Lambda Managed Instances, up to that many
        # invokes run at once, each in its own runtime worker (`_invoke_concurrent`).
        self._max_concurrency = 0
        # Resident bytes the memory guard saw when it killed an environment, by its pid.
        self._oom_killed: dict[int, int] = {}
        self._lmi: ConcurrentRuntimeAPI | None = None

    # -- set-up ----------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Validate the bundle, find the interpreter, lay out the artifacts, start the API."""
        manifest = load(self.bundle_dir)
        self.manifest = manifest
        target = manifest.target
        if target.arch != host_arch():
            msg = (
                f"{self.bundle_dir} targets {target.arch}, but this machine is {host_arch()}; "
                "the sandbox runs bundles natively. Rebuild with --arch "
                f"{host_arch()} to run it here."
            )
            raise SandboxError(msg)
        self._check_configuration(manifest)
        self._choose_isolation()
        self._find_interpreter()
        self._work = self._work_arg or Path(
            tempfile.mkdtemp(prefix="lambundle-sandbox-", dir=layout_root(_unzipped(manifest)))
        )
        self._owns_work = self._work_arg is None
        try:
            self._lay_out(manifest)
            if target.managed:
                assert self.interpreter is not None
                # Installed from the package index on first use, then cached.
                self._runtime_dir = managed.runtime_dir(
                    target, compile_with=self.interpreter.path
                )
                if not self.isolated:
                    self._write_local_runtime()
        except BaseException:
            self.close()
            raise
        if self._max_concurrency:
            self._lmi = ConcurrentRuntimeAPI(self._max_concurrency)
            self._lmi.identify_peer = self._identify_peer
            self._lmi.log_position = self._log_size
            self._lmi.on_connection_lost = self._worker_lost
            self._api = self._lmi
        else:
            self._api = RuntimeAPI(snapstart=self.snapstart)
            self._api.on_hand_out = self._mark_hand_out
            self._api.on_snapshot = self._mark_snapshot
        self._api.start()
        # bwrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the *thread* that
        # spawned it ends: spawn from one thread that lives as long as the sandbox, not
        # from whichever thread invokes (serve invokes from short-lived request threads).
        self._spawner = concurrent.futures.ThreadPoolExecutor(1, "lambundle-spawn")

    def _check_configuration(self, manifest: Manifest) -> None:
        """Warn about environment settings AWS would refuse; they still apply here."""
        configured = {**manifest.environment, **self.user_env}
        raw = configured.get("AWS_LAMBDA_MAX_CONCURRENCY")
        if raw is not None:
            if not raw.isdigit() or int(raw) < 1:
                msg = f"AWS_LAMBDA_MAX_CONCURRENCY={raw!r} must be a whole number >= 1."
                raise UsageError(msg)
            self._max_concurrency = int(raw)
            if self.snapstart:
                msg = (
                    "SnapStart does not apply to Lambda Managed Instances: drop --snapstart "
                    "or AWS_LAMBDA_MAX_CONCURRENCY."
                )
                raise UsageError(msg)
            if not self._init_timeout_given:
                self.init_timeout_s = max(LMI_INIT_TIMEOUT_S, self.timeout_s)
        reserved = sorted(k for k in configured if k in RESERVED_ENV)
        if reserved:
            self.warnings.append(
                f"{', '.join(reserved)}: reserved by Lambda, which refuses to deploy a "
                "function that sets them; applied here anyway."
            )
        size = sum(len(k.encode()) + len(v.encode()) for k, v in configured.items())
        if size > ENV_LIMIT_BYTES:
            self.warnings.append(
                f"The function's environment variables take {size} bytes; Lambda allows "
                f"{ENV_LIMIT_BYTES} in total and would refuse the configuration."
            )

    def _choose_isolation(self) -> None:
        if self._isolate is False:
            self.warnings.append(
                "Running unsandboxed (isolation turned off): the function sees this "
                "machine's files, and /opt, /var/task are temporary directories."
            )
            return
        problem = bwrap_problem()
        if problem is None:
            self.isolated = True
            return
        if self._isolate:
            msg = f"Cannot isolate the function: {problem}. Install bubblewrap or run unsandboxed."
            raise SandboxError(msg)
        self.warnings.append(
            f"Running unsandboxed: {problem}. The function sees this machine's files, "
            "and /opt, /var/task are temporary directories."
        )

    def _find_interpreter(self) -> None:
        assert self.manifest is not None
        target = self.manifest.target
        self.interpreter = interpreters.find(target.python, self._interpreter_path)
        if target.managed:
            if self.interpreter is None:
                msg = (
                    f"No Python {target.python} interpreter found for the {target.runtime} "
                    f"runtime (looked on PATH, in pyenv and uv). Install one with "
                    f"`pyenv install {target.python}` or `uv python install {target.python}`, "
                    "or pass --interpreter PATH."
                )
                raise SandboxError(msg)
            return
        # OS-only runtimes have no /var/lang on AWS; a bundle without an embedded Python
        # still runs here, on the local one, which AWS would not have.
        if self.interpreter is None:
            self.warnings.append(
                f"No Python {target.python} found to mount at /var/lang; the bootstrap "
                "must bring its own (lambundle bundle --embed-python)."
            )

    def _lay_out(self, manifest: Manifest) -> None:
        assert self._work is not None
        start = time.monotonic()
        opt, task = self._work / "opt", self._work / "task"
        for path in (opt, task, self._work / "logs"):
            path.mkdir(parents=True, exist_ok=True)
        # Lambda merges layers into /opt in the order they are listed; later files win.
        for layer in manifest.layers:
            extract_zip(self.bundle_dir / layer.file, opt)
        extract_zip(self.bundle_dir / manifest.function.file, task)
        self.extract_s = time.monotonic() - start
        target = manifest.target
        if (
            not target.managed
            and self.interpreter is not None
            and not (opt / "lambundle/python/bin/python3").exists()
        ):
            self.warnings.append(
                f"{target.runtime} has no Python on AWS: the sandbox mounts the local "
                f"Python {self.interpreter.version} at /var/lang, so this bundle runs here "
                "but needs --embed-python (or a managed runtime) to run on AWS."
            )

    def _write_local_runtime(self) -> None:
        """Unsandboxed, /var/runtime's start files point at the real paths."""
        assert self.interpreter is not None and self._runtime_dir is not None
        assert self.manifest is not None
        managed.write_start_files(
            self.work_dir / "runtime",
            python=str(self.interpreter.path),
            opt_root=str(self.work_dir / "opt"),
            packages=str(self._runtime_dir),
            minor=self.manifest.target.python,
        )

    def close(self) -> None:
        self.stop()
        if self._api is not None:
            self._api.close()
            self._api = None
            self._lmi = None
        if self._spawner is not None:
            self._spawner.shutdown()
            self._spawner = None
        if self._owns_work and self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    # -- paths and environment -----------------------------------------------------------

    @property
    def work_dir(self) -> Path:
        assert self._work is not None, "the sandbox is not open"
        return self._work

    def _path(self, lambda_path: str) -> str:
        """Where a Lambda path is for the function: itself under bwrap, a temp dir without."""
        if self.isolated:
            return lambda_path
        work = self.work_dir
        interp = self.interpreter
        for prefix, real in (
            (TASK_ROOT, str(work / "task")),
            (RUNTIME_DIR, str(work / "runtime")),
            (LANG_DIR, str(interp.prefix) if interp else LANG_DIR),
            (OPT, str(work / "opt")),
        ):
            if lambda_path == prefix or lambda_path.startswith(prefix + "/"):
                return real + lambda_path[len(prefix):]
        return lambda_path

    def environment(self) -> dict[str, str]:
        """The function's environment variables, as Lambda sets them (reference §2.1)."""
        assert self.manifest is not None and self._api is not None
        p = self._path
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y/%m/%d")
        env = {
            "_HANDLER": self.manifest.handler,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_RUNTIME_API": self._api.address,
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
        if self._max_concurrency:
            # What Lambda sets on Managed Instances (reference §1.10, §2.1).
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        if self.snapstart:
            # snapstart-monitoring.html: the log group and stream variables are not
            # available in SnapStart functions (one snapshot serves many streams).
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
            del env["AWS_LAMBDA_LOG_GROUP_NAME"], env["AWS_LAMBDA_LOG_STREAM_NAME"]
        for extra in (self.manifest.environment, self.user_env):
            env.update({k: p(v) for k, v in extra.items()})
        return env

    def _entry_point(self) -> str | None:
        """The executable Lambda starts, as the function sees it; None if there is none."""
        assert self.manifest is not None
        if self.manifest.target.managed:
            return self._path(RUNTIME_DIR + "/bootstrap")
        work = self.work_dir
        for lambda_path, real in (
            (TASK_ROOT + "/bootstrap", work / "task/bootstrap"),
            (OPT + "/bootstrap", work / "opt/bootstrap"),
        ):
            if real.is_file() and os.access(real, os.X_OK):
                return self._path(lambda_path)
        return None

    def command(self, entry: str) -> list[str]:
        """The argv that starts `entry`: under bwrap with Lambda's mounts, or as is."""
        if not self.isolated:
            return [entry]
        work = self.work_dir
        bwrap = shutil.which("bwrap") or "bwrap"
        argv = [bwrap, "--unshare-all", "--share-net", "--die-with-parent", "--clearenv"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/", name)
            if host.is_symlink():
                argv += ["--symlink", str(host.readlink()), str(host)]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), str(host)]
        argv += [
            "--ro-bind", "/usr", "/usr",
            "--ro-bind", "/etc", "/etc",
            "--proc", "/proc",
            "--dev", "/dev",
            "--tmpfs", "/tmp",
            "--ro-bind", str(work / "opt"), OPT,
            "--ro-bind", str(work / "task"), TASK_ROOT,
        ]
        if self.interpreter is not None:
            argv += ["--ro-bind", str(self.interpreter.prefix), LANG_DIR]
        if self._runtime_dir is not None:
            argv += ["--ro-bind", str(self._runtime_dir), RUNTIME_DIR]
        argv += ["--chdir", TASK_ROOT]
        for key, value in self.environment().items():
            argv += ["--setenv", key, value]
        return [*argv, "--", entry]

    # -- the process -----------------------------------------------------------------------

    def wait_ready(self, timeout: float | None, workers: int = 1) -> bool:
        """Wait until `workers` runtime workers wait in /next; False on timeout."""
        if self._api is None or not self.running:
            return False
        return self._api.wait_polling(timeout, count=workers)

    def wait_in_flight(self, count: int, timeout: float | None) -> bool:
        """Managed Instances: wait until `count` invokes are held by runtime workers."""
        if self._lmi is None:
            msg = "Only a sandbox with AWS_LAMBDA_MAX_CONCURRENCY runs invokes concurrently."
            raise UsageError(msg)
        return self._lmi.wait_in_flight(count, timeout)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _spawn(self) -> None:
        """Start a new execution environment (a cold start)."""
        assert self._api is not None
        old = self._proc
        self.stop()
        if old is not None and self._lmi is not None:
            # Invokes the old environment still held fail before the API forgets them; its
            # watcher thread may not have run yet.
            self._report_exit(old.wait(), self._api.generation)
        self._api.reset()
        self._snapshot_split = None
        generation = self._api.generation
        self._environments += 1
        self._log_path = self.work_dir / "logs" / f"environment-{self._environments}.log"
        self._log = open(self._log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log_offset = 0
        entry = self._entry_point()
        assert entry is not None
        env = None if self.isolated else self.environment()
        self._spawned_at = time.monotonic()
        assert self._spawner is not None
        try:
            proc = self._spawner.submit(
                subprocess.Popen,
                self.command(entry),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env if env is not None else {},
                cwd=self.work_dir / "task",
                start_new_session=True,  # one process group to kill on timeout
            ).result()
        except OSError as exc:
            # Unsandboxed, a bootstrap that cannot be executed fails here (under bwrap,
            # inside the sandbox, as an exit): Lambda reports it as the caller's error.
            raise _EntrypointError(f"fork/exec {entry}: {(exc.strerror or '').lower()}") from None
        self._proc = proc
        ended = threading.Event()
        threading.Thread(
            target=self._watch, args=(proc, generation, ended), name="lambundle-watch",
            daemon=True,
        ).start()  # fmt: skip
        threading.Thread(
            target=self._guard_memory, args=(proc, ended), name="lambundle-memory", daemon=True
        ).start()

    def _watch(
        self, proc: subprocess.Popen[bytes], generation: int, ended: threading.Event
    ) -> None:
        status = proc.wait()
        ended.set()
        self._report_exit(status, generation)

    def _guard_memory(self, proc: subprocess.Popen[bytes], ended: threading.Event) -> None:
        """Lambda's OOM killer: kill the environment once its processes hold more resident
        memory than the memory size. The exit is then reported as every other one is, which
        is how Lambda reports it ("Runtime exited with error: signal: killed")."""
        limit = self.memory_mb * _MIB
        pids: list[int] = []
        polls = 0
        while not ended.wait(_MEMORY_POLL_S):
            if polls % _TREE_EVERY == 0:
                found = _function_processes(proc.pid)
                if found is None:
                    return
                pids = found
            polls += 1
            used = resident_bytes(pids)
            if used > limit:
                self._oom_killed[proc.pid] = used
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return

    def _report_exit(self, status: int, generation: int) -> None:
        """The environment's process ended with `status`: fail what it held."""
        api = self._api
        if api is None:
            return
        unexecutable = self._exec_failure() if self.isolated and status == 1 else None

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

        if self._lmi is not None:
            self._lmi.fail_all(outcome_for, generation)
        else:
            api.fail(outcome_for(api.current_request_id()), generation)

    def _exec_failure(self) -> str | None:
        """`fork/exec PATH: reason` if bwrap's last words were that it could not exec."""
        if self._log_path is None:
            return None
        try:
            with open(self._log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 1024))
                tail = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        found = _BWRAP_EXEC_FAILED.search(tail)
        if found is None:
            return None
        return f"fork/exec {found.group(1)}: {found.group(2).strip().lower()}"

    def _exit_reason(self, status: int) -> str:
        return _exit_reason(status, via_bwrap=self.isolated)

    def stop(self) -> None:
        """Kill the function's process tree; the next invoke is a cold start."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _take_logs(self) -> str:
        if self._log_path is None:
            return ""
        with open(self._log_path, "rb") as f:
            f.seek(self._log_offset)
            data = f.read()
        self._log_offset += len(data)
        return data.decode("utf-8", "replace")

    def _mark_hand_out(self) -> None:
        """Where the log stood when the event went out: init output before, invoke after."""
        try:
            self._log_split = self._log_path.stat().st_size if self._log_path else None
        except OSError:
            self._log_split = None

    def _mark_snapshot(self) -> None:
        """Where the log stood at /runtime/restore/next: init output before, restore after."""
        try:
            self._snapshot_split = self._log_path.stat().st_size if self._log_path else None
        except OSError:
            self._snapshot_split = None

    def _peak_rss(self) -> int | None:
        """Sum of the peak RSS (VmHWM) of the function's processes, bwrap excluded."""
        if self._proc is None:
            return None
        peak = tree_peak_rss(self._proc.pid)
        killed_at = self._oom_killed.get(self._proc.pid)
        if killed_at is None:
            return peak
        return max(peak or 0, killed_at)  # the killed processes' own figures are gone

    # -- invoking --------------------------------------------------------------------------

    def invoke(
        self,
        payload: bytes | str = b"{}",
        content_type: str = "application/json",
        *,
        client_context: str | Mapping[str, Any] | None = None,
        cognito_identity: str | Mapping[str, Any] | None = None,
        tenant_id: str = "",
        trace_id: str | None = None,
        on_chunk: Callable[[bytes], None] | None = None,
        on_stream_start: Callable[[str], None] | None = None,
    ) -> InvokeResult:
        """Invoke the function once, synchronously (RequestResponse), like Lambda.

        Callable from several threads: invokes run one at a time, or up to
        AWS_LAMBDA_MAX_CONCURRENCY at once on Managed Instances (raising ThrottledError
        when every worker stays busy for the function's timeout).

        A streamed response calls `on_stream_start(content_type)`, then `on_chunk(data)`
        per chunk as it arrives, from the Runtime API's thread.
        """
        if self._api is None:
            raise SandboxError("The sandbox is not open; use it as a context manager.")
        invocation = self._new_invocation(
            payload.encode() if isinstance(payload, str) else payload,
            content_type,
            _as_json(client_context),
            _as_json(cognito_identity),
            tenant_id,
            trace_id,
            on_chunk,
            on_stream_start,
        )
        if self._max_concurrency:
            return self._invoke_concurrent(invocation)
        with self._lock:
            return self._invoke(invocation)

    def _invoke(self, invocation: Invocation) -> InvokeResult:
        api = self._api
        assert api is not None
        started = time.monotonic()
        rid = invocation.request_id
        cold = not self.running
        extract_s = None
        if cold:
            failed, extract_s = self._start_environment(invocation, started)
            if failed is not None:
                return failed
        # Cleared before the offer: a runtime already waiting (SnapStart's restore/next)
        # takes the event at once and marks the split before this thread goes on.
        self._log_split = None
        api.offer(invocation)
        restore_timeout: Outcome | None = None
        if cold and self.snapstart:
            handed, restore_timeout = self._restore(api, rid)
        else:
            handed = api.wait_handed(self.init_timeout_s if cold else self.timeout_s)
        before_start, retried_at = "", None
        if (
            cold and not self.snapstart and handed is None and self.running
            and api.wait_outcome(0) is None
        ):
            # On-demand init is capped (10 s); past it Lambda retries the init as part of
            # this first invoke, the two together within the function's timeout
            # (lambda-runtime-environment.html, "Init phase").
            before_start, retried_at = self._retry_init(invocation)
            handed = api.wait_handed(max(0.0, retried_at + self.timeout_s - time.monotonic()))
        log_split = self._log_split if retried_at is None else self._log_offset
        if handed is None:
            outcome = api.wait_outcome(0)
            limit = self.init_timeout_s if cold and retried_at is None else self.timeout_s
        else:
            began = handed if retried_at is None else retried_at
            outcome = api.wait_outcome(max(0.0, began + self.timeout_s - time.monotonic()))
            limit = self.timeout_s
        peak = self._peak_rss()
        if outcome is None and restore_timeout is not None:
            outcome = self._timed_out(rid, limit, restore_timeout)
        elif outcome is None:
            outcome = self._timed_out(rid, limit)
        elif peak is not None and peak > self.memory_mb * _MIB and self._proc is not None:
            # Over its memory size, Lambda's OOM killer ends the process mid-invoke. The
            # peak (VmHWM) is only known afterwards here: report what Lambda would have,
            # drop what the handler returned, and reset the environment.
            self.stop()
            outcome = platform_error(
                "Runtime.ExitError", f"RequestId: {rid} Error: {_OOM_KILLED}"
            )
        elif outcome.kind in ("init_error", "restore_error", "platform") and self._proc:
            # The runtime must exit after an init error, and a platform error (oversized
            # or malformed response, exit) ends the environment: give the process the
            # chance to finish, so its last log lines are in, then reset as Lambda does.
            # The next invoke is a cold start instead of racing a dying process.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2)
            self.stop()
        # A retried init is part of the invoke: in its Duration, with no Init Duration.
        timed_init = cold and retried_at is None
        timings = Timings(
            cold=cold,
            started=started,
            finished=outcome.at,
            spawned=self._spawned_at if timed_init else None,
            first_next=api.first_next_at if timed_init else None,
            handed=handed if retried_at is None or handed is None else retried_at,
            extract_s=extract_s,
            snapshot=api.snapshot_at if timed_init and self.snapstart else None,
            restored=api.restored_at if timed_init and self.snapstart else None,
        )
        split = log_split if handed or retried_at is not None else None
        return self._finish(invocation, outcome, timings, peak, split, before_start)

    def _restore(self, api: RuntimeAPI, request_id: str) -> tuple[float | None, Outcome | None]:
        """SnapStart's cold start: init up to /runtime/restore/next within the init cap,
        then the restore (answered by the API, the invocation being offered) up to the
        first /next within the restore cap.

        Returns when the event was handed out (None if it was not), and the outcome to
        give the invoke if the restore overran its cap (None when it was handed out).
        """
        if not api.wait_snapshot(self.init_timeout_s):
            return None, None  # init overran its cap: the init timeout, as on-demand
        # Returns at once, with None, when init failed (a before-snapshot hook, an exit).
        handed = api.wait_handed(RESTORE_TIMEOUT_S)
        overran = platform_error(
            # What Invoke returns when the restore overruns (API_Invoke.html errors).
            "SnapStartTimeoutException",
            f"RequestId: {request_id} Error: the runtime and its after-restore hooks did not "
            f"finish within {RESTORE_TIMEOUT_S:.2f} seconds of the restore",
        )
        # Used only when the invocation has no outcome either (the restore hung).
        return handed, (overran if handed is None else None)

    def _start_environment(
        self, invocation: Invocation, started: float
    ) -> tuple[InvokeResult | None, float | None]:
        """Start a new environment for `invocation` (a cold start): (the result when it
        cannot start, the layout's extract time when this is the first start)."""
        rid = invocation.request_id
        message = None
        if self._entry_point() is None:
            message = (
                f"RequestId: {rid} Error: Couldn't find valid bootstrap(s): "
                f"[{TASK_ROOT}/bootstrap {OPT}/bootstrap]"
            )
        else:
            try:
                self._spawn()
            except _EntrypointError as exc:
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
            extract_s, self._extract_pending = self.extract_s, False
        return None, extract_s

    def _retry_init(self, invocation: Invocation) -> tuple[str, float]:
        """Init ran past its cap: end that environment with Lambda's INIT_REPORT line, start
        a new one and offer it the same event. (What was logged before START, when.)"""
        assert self._api is not None and self._spawned_at is not None
        now = time.monotonic()
        logs = self._take_logs()
        report = (
            f"INIT_REPORT Init Duration: {(now - self._spawned_at) * 1000:.2f} ms\t"
            "Phase: init\tStatus: timeout\n"
        )
        self._spawn()  # kills the old process first; its exit belongs to the old generation
        self._log_split = None
        self._api.offer(invocation)
        return logs + report, now

    # -- Lambda Managed Instances ----------------------------------------------------------

    def _invoke_concurrent(self, invocation: Invocation) -> InvokeResult:
        """One invoke among up to AWS_LAMBDA_MAX_CONCURRENCY at once in one environment.

        Each invoke has its own request id, deadline, timeout and result; a timeout or a
        crashed worker ends only the invoke it concerns (lambda-managed-instances-
        execution-environment.html). Only starting and ending the environment is
        serialised.
        """
        api = self._lmi
        assert api is not None
        started = time.monotonic()
        rid = invocation.request_id
        timeout_s = invocation.timeout_s
        extract_s = None
        with self._lock:
            cold = not self.running
            if cold:
                failed, extract_s = self._start_environment(invocation, started)
                if failed is not None:
                    return failed
            # Offered under the lock: a new environment cannot replace this one between.
            api.offer(invocation)
            generation = api.generation
            spawned_at = self._spawned_at
            log_path = self._log_path
        initialising = api.first_next_at is None
        # Lambda rejects an invoke when every worker is busy (back-pressure); one local
        # environment cannot send it elsewhere, so it waits for a free worker instead,
        # for as long as the function may run (or init may take), then is throttled.
        wait_s = self.init_timeout_s if initialising else timeout_s
        handed = api.wait_handed_for(invocation, wait_s)
        outcome = api.flight(invocation).outcome
        if handed is None and outcome is None:
            if api.first_next_at is None:
                # Init never finished: no worker polled within the init timeout.
                def init_timed_out(request_id: str) -> Outcome:
                    return platform_error(
                        "Sandbox.Timedout",
                        f"RequestId: {request_id} Error: Task timed out after "
                        f"{self.init_timeout_s:.2f} seconds",
                    )

                self._end_environment(generation, init_timed_out)
                # Unless the environment's end was reported first (then that outcome).
                outcome = api.finish(invocation, init_timed_out(rid))
            elif api.withdraw(invocation):
                msg = (
                    f"Rate Exceeded: all {self._max_concurrency} runtime workers of "
                    f"{self.bundle_dir} stayed busy for {wait_s:.2f} s "
                    "(AWS_LAMBDA_MAX_CONCURRENCY); Lambda throttles such an invoke. "
                    "Retry, or raise AWS_LAMBDA_MAX_CONCURRENCY."
                )
                raise ThrottledError(msg)
            else:
                handed = api.flight(invocation).handed_at  # a worker took it just now
        if outcome is None:
            assert handed is not None
            outcome = api.wait_outcome_for(
                invocation, max(0.0, handed + timeout_s - time.monotonic())
            )
            if outcome is None:
                # The worker is not stopped: Managed Instances do not enforce timeouts,
                # the handler runs on and its late answer gets 410.
                outcome = api.finish(
                    invocation,
                    platform_error(
                        "Sandbox.Timedout",
                        f"RequestId: {rid} Error: Task timed out after {timeout_s:.2f} seconds",
                    ),
                    timed_out=True,
                )
        peak = self._peak_rss()
        if peak is not None and peak > self.memory_mb * _MIB and outcome.kind != "platform":
            # Over the memory size the OOM killer ends the environment (every worker).
            outcome = platform_error("Runtime.ExitError", f"RequestId: {rid} Error: {_OOM_KILLED}")
            self._end_environment(generation)
        elif outcome.kind == "init_error":
            # The workers must exit after an init error; let them, then reset as Lambda does.
            self._end_environment(generation, grace_s=2.0)
        mark = api.flight(invocation).log_mark
        api.forget(invocation)
        timings = Timings(
            cold=cold,
            started=started,
            finished=outcome.at,
            spawned=spawned_at if cold else None,
            first_next=api.first_next_at if cold else None,
            handed=handed,
            extract_s=extract_s,
        )
        init_logs, invoke_logs = split_concurrent_logs(
            log_path, rid, mark if handed else None, cold
        )
        return self._result(invocation, outcome, timings, peak, init_logs, invoke_logs)

    def _end_environment(
        self,
        generation: int,
        outcome_for: Callable[[str], Outcome] | None = None,
        grace_s: float = 0.0,
    ) -> None:
        """Fail what the environment `generation` holds and kill it, if it is current."""
        assert self._lmi is not None
        with self._lock:
            if self._lmi.generation == generation and self._proc is not None:
                if outcome_for is not None:
                    # The outcomes first: the kill must not be reported as an exit.
                    self._lmi.fail_all(outcome_for, generation)
                if grace_s:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._proc.wait(timeout=grace_s)
                self.stop()

    def _log_size(self) -> int | None:
        try:
            return self._log_path.stat().st_size if self._log_path else None
        except OSError:
            return None

    def _identify_peer(self, peer: Peer) -> int | None:
        """The pid of the function's process that holds the connection from `peer`."""
        proc, api = self._proc, self._api
        if proc is None or api is None:
            return None
        host, _, port = api.address.rpartition(":")
        return socket_holder(peer, (host, int(port)), proc.pid)

    def _worker_lost(self, pid: int, held: list[Invocation]) -> None:
        """A connection holding `held` closed: if its worker died, they fail with it."""
        exited, status = wait_exit(pid, _WORKER_EXIT_WAIT_S)
        if not exited or self._lmi is None:
            return
        if status is None:
            reason = "Runtime exited with error: a runtime worker exited"
        else:
            reason = _exit_reason(status, via_bwrap=False)
        for invocation in held:
            self._lmi.finish(
                invocation,
                platform_error(
                    "Runtime.ExitError", f"RequestId: {invocation.request_id} Error: {reason}"
                ),
            )

    def _new_invocation(
        self,
        payload: bytes,
        content_type: str,
        client_context: str,
        cognito_identity: str,
        tenant_id: str,
        trace_id: str | None,
        on_chunk: Callable[[bytes], None] | None,
        on_stream_start: Callable[[str], None] | None,
    ) -> Invocation:
        if trace_id is None:
            trace_id = (
                f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                f"Parent={uuid.uuid4().hex[:16]};Sampled=0"
            )
        return Invocation(
            payload=payload,
            content_type=content_type,
            timeout_s=self.timeout_s,
            function_arn=(
                f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"
            ),
            trace_id=trace_id,
            client_context=client_context,
            cognito_identity=cognito_identity,
            tenant_id=tenant_id,
            on_chunk=on_chunk,
            on_stream_start=on_stream_start,
        )

    def _timed_out(self, request_id: str, limit: float, outcome: Outcome | None = None) -> Outcome:
        assert self._api is not None
        # The outcome first: the kill below must not be reported as the runtime's exit.
        self._api.fail(
            outcome or platform_error(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {limit:.2f} seconds",
            )
        )
        self.stop()
        outcome = self._api.wait_outcome(0)
        assert outcome is not None
        return outcome

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
        start = self._log_offset
        logs = self._take_logs()
        init_logs, invoke_logs = "", logs
        if timings.cold:
            raw = logs.encode()
            cut = len(raw) if log_split is None else max(0, log_split - start)
            init_logs = raw[:cut].decode("utf-8", "replace")
            invoke_logs = raw[cut:].decode("utf-8", "replace")
            if timings.snapshot is not None and timings.init_s is not None:
                # SnapStart: Init Duration moves from REPORT to INIT_REPORT, after init's
                # output; the restore's (after-restore hooks) follows, before START
                # (snapstart-monitoring.html).
                snap = len(raw) if self._snapshot_split is None else self._snapshot_split
                snap = min(max(0, snap - start), cut)
                init_logs = (
                    raw[:snap].decode("utf-8", "replace")
                    + f"INIT_REPORT Init Duration: {timings.init_s * 1000:.2f} ms\n"
                    + raw[snap:cut].decode("utf-8", "replace")
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
        rid = invocation.request_id
        duration_ms = (timings.invoke_s or 0.0) * 1000
        report = (
            f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {self.memory_mb} MB\t"
            f"Max Memory Used: {math.ceil((peak or 0) / _MIB)} MB\t"
        )
        if timings.snapshot is not None:
            # https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html:
            # a SnapStart cold start's REPORT has Restore Duration
            # and Billed Restore Duration, not Init Duration. Lambda bills the restore minus
            # the snapshot's own restoration; with no snapshot here, the two are the same.
            if timings.restore_s is not None:
                restore_ms = timings.restore_s * 1000
                report += (
                    f"Restore Duration: {restore_ms:.2f} ms\t"
                    f"Billed Restore Duration: {math.ceil(restore_ms)} ms\t"
                )
        elif timings.init_s is not None:
            report += f"Init Duration: {timings.init_s * 1000:.2f} ms\t"
        text = (
            f"{init_logs}START RequestId: {rid} Version: $LATEST\n{invoke_logs}"
            f"END RequestId: {rid}\n{report}\n"
        )
        return InvokeResult(
            request_id=rid,
            payload=outcome.payload,
            content_type=outcome.content_type,
            function_error="Unhandled" if outcome.function_error else None,
            logs=text,
            timings=timings,
            init_error=outcome.kind == "init_error",
            streamed=outcome.streamed,
            chunks=outcome.chunks,
            stream_error=outcome.stream_error,
            peak_rss=peak,
        )


class _EntrypointError(Exception):
    """The entry point exists but cannot be executed."""


def _as_json(value: str | Mapping[str, Any] | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(dict(value))


# Lambda's code storage is local and fast; a host disk in a VM can take a millisecond per
# directory it creates, which would make the layout (paid on every cold start here) measure
# the host rather than the bundle. Memory-backed /dev/shm is used when it has ample room.
_SHM = Path("/dev/shm")
_SHM_HEADROOM = 256 * 1024 * 1024


def layout_root(needed_bytes: int) -> str | None:
    """Where sandboxes lay out bundles: /dev/shm when it has room, else the temp dir (None)."""
    try:
        usage = shutil.disk_usage(_SHM)
    except OSError:
        return None
    if not os.access(_SHM, os.W_OK) or usage.free < 2 * needed_bytes + _SHM_HEADROOM:
        return None
    return str(_SHM)


def _unzipped(manifest: Manifest) -> int:
    return sum(a.unzipped_size for a in (manifest.function, *manifest.layers))


def _function_processes(root_pid: int) -> list[int] | None:
    """`root_pid` and its descendants that are not bwrap itself; None if it is gone."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        pid = int(entry.name)
        names[pid] = comm
        children.setdefault(ppid, []).append(pid)
    if root_pid not in names:
        return None
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        if names.get(pid) != "bwrap":
            found.append(pid)
    return found


def resident_bytes(pids: Iterable[int]) -> int:
    """Sum of the resident memory (VmRSS) of `pids` now, in bytes; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


def tree_peak_rss(root_pid: int) -> int | None:
    """Sum of VmHWM over `root_pid`'s descendants that are not bwrap itself, in bytes."""
    pids = _function_processes(root_pid)
    if pids is None:
        return None
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def socket_holder(peer: Peer, server: Peer, root_pid: int) -> int | None:
    """Which of the function's processes holds the TCP connection from `peer` to `server`.

    The Runtime API sees only an address; /proc/net/tcp maps it to a socket inode and
    /proc/PID/fd to its holder. None when it cannot be told (the connection is gone,
    /proc is not readable here).
    """
    try:
        # Both ends, since an old connection from the same port may linger in TIME_WAIT.
        ends = (_proc_net_address(peer), _proc_net_address(server))
        with open("/proc/net/tcp") as table:
            inode = next(
                (f[9] for f in (line.split() for line in table) if (f[1], f[2]) == ends), None
            )
    except (OSError, ValueError):
        return None
    pids = _function_processes(root_pid)
    if not inode or inode == "0" or pids is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                if str(fd.readlink()) == target:
                    return pid
        except OSError:
            continue
    return None


def _proc_net_address(address: Peer) -> str:
    """`host:port` as /proc/net/tcp prints it: the 32-bit word in host byte order, in hex."""
    host, port = address
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def wait_exit(pid: int, timeout: float) -> tuple[bool, int | None]:
    """Wait up to `timeout` for process `pid` (not our child) to end.

    Returns (ended, wait status): the status is read from the zombie while its parent
    has not reaped it yet, else None.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True, None
    except OSError:
        return False, None  # no pidfd here: the invoke is left to its timeout
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if not ready:
        return False, None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True, None
    fields = stat[stat.rindex(")") + 2 :].split()
    # Field 52, exit_code (proc(5)), counted from field 3, the state.
    if fields[0] != "Z" or len(fields) < 50:
        return True, None
    return True, os.waitstatus_to_exitcode(int(fields[49]))


def _exit_reason(status: int, *, via_bwrap: bool) -> str:
    """Lambda's words for a runtime that ended with `status` (Popen's returncode)."""
    if status == 0:
        return "Runtime exited without providing a reason"
    signum = -status if status < 0 else 0
    # bwrap reports a child killed by signal N as exit status 128 + N.
    if via_bwrap and status > 128 and (status - 128) in _SIGNAL_NAMES:
        signum = status - 128
    if signum:
        name = _SIGNAL_NAMES.get(signum, f"signal {signum}")
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {status}"


def split_concurrent_logs(
    log_path: Path | None, request_id: str, mark: int | None, cold: bool
) -> tuple[str, str]:
    """One concurrent invoke's (init, invoke) logs from the environment's shared log.

    Workers share stdout, so the log from the hand-out (`mark`) to now holds the lines
    of every invoke in flight meanwhile. JSON lines (the log format on Managed
    Instances) that name another request id are left out; lines that name none (a
    plain print) cannot be told apart and stay in every overlapping invoke's logs.
    """
    if log_path is None:
        return "", ""
    try:
        data = log_path.read_bytes()
    except OSError:
        return "", ""
    if mark is None:  # never handed out: what there is came from init
        return (data.decode("utf-8", "replace") if cold else ""), ""
    init = data[:mark].decode("utf-8", "replace") if cold else ""
    window = data[mark:]
    lines = window.split(b"\n")
    lines.pop()  # unterminated: another worker is mid-line (this one answered already)
    if mark > 0 and data[mark - 1 : mark] != b"\n" and lines:
        lines.pop(0)  # the end of a line another worker began before the hand-out
    kept = []
    for line in lines:
        if line.startswith(b"{"):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and record.get("requestId", request_id) != request_id:
                continue
        kept.append(line + b"\n")
    return init, b"".join(kept).decode("utf-8", "replace")


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
