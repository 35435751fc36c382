"""A Lambda execution environment in one local process tree: `Sandbox`, the one class
callers use.

`Sandbox` lays a bundle out as Lambda does (`layout`), picks the function's lifecycle
(`ondemand`, `snapstart`, or `managed_instances` with AWS_LAMBDA_MAX_CONCURRENCY), which
serves the Runtime API on loopback (`rapi_*`) and starts the bundle's entry point under
bubblewrap (`bubblewrap`, `process`) as Lambda's unprivileged user (`identity`) with
Lambda's read-only mounts, a private /tmp of the ephemeral storage's size, the target's
interpreter at /var/lang and Lambda's environment variables (`environment`).
Without bubblewrap it runs unsandboxed in a temporary directory, with the real paths in
the environment, and says so.
"""

from __future__ import annotations

import collections
import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bundler.bundle import limits
from bundler.bundle.manifest import Manifest, load_checked
from bundler.core import interpreters
from bundler.core.errors import RequestTooLargeError, SandboxError, UsageError
from bundler.core.target import host_arch
from bundler.sandbox.bubblewrap import choose_isolation, limits_problem, sizes_tmpfs
from bundler.sandbox.environment import configuration_warnings
from bundler.sandbox.layout import Layout, find_interpreter, lay_out
from bundler.sandbox.managed_instances import ManagedInstances, max_concurrency
from bundler.sandbox.ondemand import OnDemand
from bundler.sandbox.rapi_protocol import Invocation
from bundler.sandbox.results import InvokeResult, Timings
from bundler.sandbox.snapstart import SnapStart

ACCOUNT_ID = "012345678912"
TIMINGS_KEPT = 1_000
# Lambda's ephemeral storage (/tmp): 512 MB unless configured, up to 10,240 MB
# (configuration-ephemeral-storage.html).
EPHEMERAL_STORAGE_MB = 512
EPHEMERAL_STORAGE_RANGE = (512, 10_240)
# The Invoke API refuses a synchronous (RequestResponse) event over 6 MB
# (gettingstarted-limits.html, "Invocation payload").
MAX_REQUEST_BYTES = 6_291_456


def check_ephemeral_storage(size_mb: int) -> int:
    """`size_mb` if Lambda accepts it as a function's ephemeral storage, else UsageError."""
    low, high = EPHEMERAL_STORAGE_RANGE
    if not low <= size_mb <= high:
        msg = (
            f"Ephemeral storage of {size_mb} MB: Lambda accepts {low} to {high} MB; "
            "pass --ephemeral-storage within that range."
        )
        raise UsageError(msg)
    return size_mb


def check_request_size(payload: bytes) -> None:
    """Refuse an event over Lambda's synchronous payload limit, as the Invoke API does."""
    if len(payload) > MAX_REQUEST_BYTES:
        raise RequestTooLargeError(
            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction "
            f"operation (the event has {len(payload)} bytes): Lambda answers such an invoke "
            "413 RequestTooLargeException. Send a smaller event, or pass a reference to the "
            "data (an S3 object) instead of the data."
        )


class Sandbox:
    """A local Lambda for one bundle; use as a context manager.

    `isolate`: True requires bubblewrap, False runs unsandboxed, None uses bubblewrap
    when it works here. `interpreter` picks the Python mounted at /var/lang.
    `snapstart`: the function has SnapStart on (`bundler.sandbox.snapstart`); its init cap
    is then SnapStart's unless `init_timeout_s` is given. `ephemeral_storage_mb` sizes
    /tmp (512 to 10,240, as Lambda's). With AWS_LAMBDA_MAX_CONCURRENCY
    in its variables it is a Lambda Managed Instances function
    (`bundler.sandbox.managed_instances`).

    The settings (`timeout_s`, `memory_mb`, `user_env`, ...) may be changed while it is
    open: each invoke, and each start of an environment, goes by them as they are then.
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
        ephemeral_storage_mb: int = EPHEMERAL_STORAGE_MB,
    ) -> None:
        self.bundle_dir = Path(bundle_dir)
        self.ephemeral_storage_mb = check_ephemeral_storage(ephemeral_storage_mb)
        self.snapstart = snapstart
        self._init_timeout_given = init_timeout_s is not None
        if init_timeout_s is None:
            lifecycle = SnapStart if snapstart else OnDemand
            init_timeout_s = lifecycle.default_init_timeout(timeout_s)
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
        # The most recent invokes' timings: kept for measurements, bounded because a
        # serve may run for millions of invokes.
        self.timings: collections.deque[Timings] = collections.deque(maxlen=TIMINGS_KEPT)
        self.manifest: Manifest | None = None
        self.interpreter: interpreters.Interpreter | None = None
        # > 0 with AWS_LAMBDA_MAX_CONCURRENCY: Lambda Managed Instances.
        self._max_concurrency = 0
        self._layout: Layout | None = None
        self._lifecycle: OnDemand | ManagedInstances | None = None

    # -- set-up ----------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        try:
            self.open()
        except BaseException:  # Ctrl-C or SIGTERM in the middle: remove what open made
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Validate the bundle, find the interpreter, lay out the artifacts, start the API."""
        manifest = load_checked(self.bundle_dir)
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
        self.isolated = choose_isolation(self._isolate, self.warnings)
        if self.isolated and not sizes_tmpfs():
            self.warnings.append(
                "This bubblewrap cannot size a tmpfs (--size needs bubblewrap 0.8): /tmp is "
                f"not limited to the ephemeral storage's {self.ephemeral_storage_mb} MB."
            )
        if self.isolated and (no_limits := limits_problem()) is not None:
            self.warnings.append(no_limits)
        self.interpreter = find_interpreter(target, self._interpreter_path, self.warnings)
        layout = lay_out(
            self.bundle_dir, manifest, work_dir=self._work_arg, isolated=self.isolated,
            interpreter=self.interpreter, warnings=self.warnings,
        )  # fmt: skip
        self._layout = layout
        self.extract_s = layout.extract_s
        try:
            self._lifecycle = self._new_lifecycle(manifest, layout)
            self._lifecycle.start()
        except BaseException:
            # The Runtime API could not listen (no port, no threads): leave nothing behind.
            self.close()
            raise

    def _new_lifecycle(
        self, manifest: Manifest, layout: Layout
    ) -> OnDemand | ManagedInstances:
        if self._max_concurrency:
            return ManagedInstances(self, manifest, layout, self.timings, self._max_concurrency)
        if self.snapstart:
            return SnapStart(self, manifest, layout, self.timings)
        return OnDemand(self, manifest, layout, self.timings)

    def _check_configuration(self, manifest: Manifest) -> None:
        """Pick up Managed Instances; warn about settings and sizes AWS would refuse (the
        bundle still runs here)."""
        configured = {**manifest.environment, **self.user_env}
        self._max_concurrency = max_concurrency(configured)
        if self._max_concurrency:
            if self.snapstart:
                msg = (
                    "SnapStart does not apply to Lambda Managed Instances: drop --snapstart "
                    "or AWS_LAMBDA_MAX_CONCURRENCY."
                )
                raise UsageError(msg)
            if not self._init_timeout_given:
                self.init_timeout_s = ManagedInstances.default_init_timeout(self.timeout_s)
        self.warnings.extend(configuration_warnings(configured))
        found = limits.checks(
            manifest.function.unzipped_size, [layer.unzipped_size for layer in manifest.layers]
        )
        self.warnings.extend(
            f"{c.name}: {c.value:,} exceeds Lambda's limit of {c.limit:,}, so Lambda would "
            "refuse to deploy this bundle; it runs here anyway."
            for c in found
            if c.hard and not c.ok
        )

    def close(self) -> None:
        if self._lifecycle is not None:
            self._lifecycle.close()
            self._lifecycle = None
        if self._layout is not None and self._layout.owns_work:
            self._layout.remove()
            self._layout = None

    # -- the environment -------------------------------------------------------------------

    @property
    def work_dir(self) -> Path:
        assert self._layout is not None, "the sandbox is not open"
        return self._layout.work

    def environment(self) -> dict[str, str]:
        """The function's environment variables, as Lambda sets them (reference §2.1)."""
        assert self._lifecycle is not None, "the sandbox is not open"
        return self._lifecycle.environment()

    def command(self, entry: str) -> list[str]:
        """The argv that starts `entry`: under bwrap with Lambda's mounts, or as is."""
        assert self._lifecycle is not None, "the sandbox is not open"
        return self._lifecycle.command(entry)

    @property
    def running(self) -> bool:
        return self._lifecycle is not None and self._lifecycle.running

    def stop(self) -> None:
        """Kill the function's process tree; the next invoke is a cold start."""
        if self._lifecycle is not None:
            self._lifecycle.stop()

    def wait_ready(self, timeout: float | None, workers: int = 1) -> bool:
        """Wait until `workers` runtime workers wait in /next; False on timeout."""
        if self._lifecycle is None:
            return False
        return self._lifecycle.wait_ready(timeout, workers)

    def wait_in_flight(self, count: int, timeout: float | None) -> bool:
        """Managed Instances: wait until `count` invokes are held by runtime workers."""
        if not isinstance(self._lifecycle, ManagedInstances):
            msg = "Only a sandbox with AWS_LAMBDA_MAX_CONCURRENCY runs invokes concurrently."
            raise UsageError(msg)
        return self._lifecycle.wait_in_flight(count, timeout)

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
        when every worker stays busy for the function's timeout). An event over Lambda's
        6 MB synchronous limit raises RequestTooLargeError, as Invoke refuses it.

        A streamed response calls `on_stream_start(content_type)`, then `on_chunk(data)`
        per chunk as it arrives, from the Runtime API's thread.
        """
        if self._lifecycle is None:
            raise SandboxError("The sandbox is not open; use it as a context manager.")
        payload = payload.encode() if isinstance(payload, str) else payload
        check_request_size(payload)
        if trace_id is None:
            trace_id = (
                f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                f"Parent={uuid.uuid4().hex[:16]};Sampled=0"
            )
        invocation = Invocation(
            payload=payload,
            content_type=content_type,
            timeout_s=self.timeout_s,
            function_arn=(
                f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"
            ),
            trace_id=trace_id,
            client_context=_as_json(client_context),
            cognito_identity=_as_json(cognito_identity),
            tenant_id=tenant_id,
            on_chunk=on_chunk,
            on_stream_start=on_stream_start,
        )
        return self._lifecycle.invoke(invocation)


def _as_json(value: str | Mapping[str, Any] | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(dict(value))
