"""`lambundle compare SRC --aws`: cold starts measured by AWS Lambda itself.

The established way (DESIGN.md, "Shipping to AWS"): each variant is published once as its
own function, then every cold start is forced by changing the function's configuration
(an environment variable holding a fresh nonce; Lambda starts new execution environments
for the next invokes after any configuration change), waiting until LastUpdateStatus is
Successful, and invoking with `LogType=Tail`. The response's `LogResult` is the base64 of
the last 4 KB of the invoke's log, and its REPORT line carries `Duration` and, on a cold
start only, `Init Duration` (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html).

Lambda reports no extraction phase (placing code and layers is neither billed nor
reported), so `extract_ms` is not measured (NaN, `null` in JSON) and the cold total is
Init Duration + Duration. The client-observed round trip of every cold invoke, which does
include that phase and the network, is kept in the report's `aws` block.

A handler that raises is still a measured start, as in the local sandbox
(`bundler.measure.runner._check`): its response carries `FunctionError`, its REPORT line
the figures. A start that failed before the handler ran (an init error, a `Runtime.*` or
`Sandbox.*` error such as a timeout, or no REPORT line at all) has no honest figure and
drops the variant (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
for the INIT_REPORT/REPORT status fields).

Everything this runner creates is deleted at the end (`close`), unless `keep`: functions,
layer versions and the S3 objects it uploaded (`--s3-bucket`). Layer versions it did not
publish (an identical one already existed) and S3 keys that were there before it uploaded
are never deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from bundler import __version__
from bundler.aws import publish
from bundler.aws.reports import (
    PLATFORM_ERRORS,
    InvokeReport,
    decode_logs,
    error_kind,
    error_summary,
    parse_report,
    platform_failure,
)
from bundler.core.errors import PublishError, UsageError
from bundler.core.progress import Report, quiet
from bundler.measure.compare import CompareOptions, NothingMeasured, compare
from bundler.measure.report import ColdSample
from bundler.measure.runner import DEFAULT_MEMORY_MB, ColdRun, MeasureError
from bundler.measure.stats import summarize

COLD_VARIABLE = "LAMBUNDLE_COLD"
DEFAULT_PREFIX = "lambundle-cmp-"
# CPU scales with memory on Lambda (a full vCPU at 1,769 MB); 1024 MB is a common setting.
DEFAULT_MEMORY = DEFAULT_MEMORY_MB
DEFAULT_TIMEOUT = publish.DEFAULT_TIMEOUT
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html: FunctionName.
_FUNCTION_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_FUNCTION_NAME_MAX = 64
EXTRACT_NOTE = (
    "extract: not measured on AWS (Lambda reports no such phase); cold total = Init "
    "Duration + Duration from the REPORT line; warm = Duration (handler time, not a round trip)"
)


@dataclasses.dataclass(frozen=True)
class AwsOptions:
    role: str
    region: str | None = None
    endpoint_url: str | None = None
    memory: int = DEFAULT_MEMORY
    prefix: str = DEFAULT_PREFIX
    s3_bucket: str | None = None
    keep: bool = False
    timeout: int = DEFAULT_TIMEOUT

    def publish_options(self, function_name: str) -> publish.PublishOptions:
        return publish.PublishOptions(
            function_name=function_name, role=self.role, region=self.region,
            endpoint_url=self.endpoint_url, layer_prefix=self.prefix, memory=self.memory,
            timeout=self.timeout, s3_bucket=self.s3_bucket,
        )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class AwsColdSample(ColdSample):
    """A cold start on Lambda: no extraction figure, so the total is init + first invoke."""

    @property
    def cold_total_ms(self) -> float:
        return self.init_ms + self.first_invoke_ms


def function_name(prefix: str, variant: str) -> str:
    """`<prefix><variant>` in Lambda's function-name alphabet, `[a-zA-Z0-9-_]`, 64 at most."""
    name = _FUNCTION_NAME.sub("-", prefix + variant).strip("-") or "function"
    return name[:_FUNCTION_NAME_MAX]


@dataclasses.dataclass
class _Function:
    """A variant published as a function: its name and the manifest's environment."""

    name: str
    variant: str
    environment: dict[str, str]
    round_trips_ms: list[float] = dataclasses.field(default_factory=list)
    first: dict[str, float | None] = dataclasses.field(default_factory=dict)
    handler_errors: int = 0


@dataclasses.dataclass(frozen=True)
class _Invoked:
    report: InvokeReport
    logs: str
    round_trip_ms: float


class AwsRunner:
    """Cold starts and warm invokes on AWS Lambda (`bundler.measure.runner.RemoteRunner`).

    A bundle is published on first use as `<prefix><bundle dir name>` (the compare builder
    names the directory after the variant). `close()` deletes what was created.
    """

    def __init__(
        self,
        options: AwsOptions,
        *,
        arch: str = "x86_64",
        event: bytes = b"{}",
        clients: publish.Clients | None = None,
        report: Report = quiet,
    ) -> None:
        check_role(options)
        self.options = options
        self.arch = arch
        self.event = event
        self.report = report
        self.clients = clients or publish.make_clients(options.publish_options(""))
        self._functions: dict[Path, _Function] = {}
        self._names: dict[str, Path] = {}
        self._nonce = 0
        # A failure that is about the account, not the variant (credentials, permissions,
        # the role): every other variant would fail alike, so it is not tried again.
        self.account_error: str | None = None
        # What this run created, deleted by close(): function names, layer version ARNs,
        # S3 objects (by URL; the first upload of a key decides whether it existed before).
        self.created_functions: list[str] = []
        self.published_layers: list[str] = []
        self.uploads: dict[str, publish.Upload] = {}
        self.notes: list[str] = []

    # -- publishing ----------------------------------------------------------------------

    def _function(self, bundle: Path) -> _Function:
        found = self._functions.get(bundle)
        if found is not None:
            return found
        if self.account_error is not None:
            raise PublishError(f"not published, as the first failed: {self.account_error}")
        try:
            return self._publish(bundle)
        except PublishError as exc:
            if _account_wide(exc):
                self.account_error = str(exc)
            raise

    def _publish(self, bundle: Path) -> _Function:
        name = function_name(self.options.prefix, bundle.name)
        other = self._names.get(name)
        if other is not None and other != bundle:
            msg = (
                f"{bundle.name} and {other.name} would both be published as function {name}; "
                "use a shorter --prefix (function names are cut at 64 characters)."
            )
            raise UsageError(msg)
        popts = self.options.publish_options(name)
        manifest = publish.check_bundle(bundle, popts)
        self.report(f"publishing {bundle.name} as function {name}")
        arns = []
        for artifact in manifest.layers:
            layer = publish.publish_layer(
                self.clients, bundle, manifest, artifact, popts, report=self.report,
                on_upload=self._uploaded,
            )
            if layer.published:
                # Tracked at once, so a later failure still leaves nothing behind.
                self.published_layers.append(layer.arn)
            arns.append(layer.arn)
        if publish.function_exists(self.clients.lambda_, name):
            self.notes.append(
                f"function {name} existed before this run: it was updated and is kept"
            )
        else:
            # Tracked before creating it: a function that never becomes ready is deleted too.
            self.created_functions.append(name)
        publish.deploy_function(
            self.clients, bundle, manifest, arns, popts, report=self.report,
            on_upload=self._uploaded,
        )
        self._names[name] = bundle
        fn = _Function(name, bundle.name, dict(manifest.environment))
        self._functions[bundle] = fn
        # The first invoke after a deploy can be slower than any later cold start (code
        # caches are filled); it is recorded apart, never as a sample.
        first = self._invoke(fn)
        fn.first = {"init_ms": first.report.init_ms, "duration_ms": first.report.duration_ms,
                    "round_trip_ms": first.round_trip_ms}  # fmt: skip
        return fn

    def _uploaded(self, upload: publish.Upload) -> None:
        # Tracked at once, like layers: a later failure still deletes it.
        self.uploads.setdefault(upload.url, upload)

    # -- invoking ------------------------------------------------------------------------

    def _force_cold(self, fn: _Function, env: dict[str, str] | None) -> None:
        """Change the configuration so the next invoke gets a new execution environment."""
        self._nonce += 1
        variables = {**fn.environment, **(env or {}),
                     COLD_VARIABLE: f"{self._nonce}-{secrets.token_hex(4)}"}  # fmt: skip
        client = self.clients.lambda_
        with publish.translated(f"forcing a cold start of function {fn.name}"):
            client.update_function_configuration(
                FunctionName=fn.name, Environment={"Variables": variables}
            )
            publish.wait_until_updated(client, fn.name)

    def _invoke(self, fn: _Function) -> _Invoked:
        with publish.translated(f"invoking function {fn.name}"):
            start = time.perf_counter()
            response = self.clients.lambda_.invoke(
                FunctionName=fn.name, InvocationType="RequestResponse", LogType="Tail",
                Payload=self.event,
            )  # fmt: skip
            payload = response.get("Payload", b"")
            payload = payload.read() if hasattr(payload, "read") else bytes(payload)
            round_trip = (time.perf_counter() - start) * 1000
        logs = decode_logs(response.get("LogResult"))
        function_error = bool(response.get("FunctionError"))
        # As locally (compare._check): a failure of init, the runtime or the platform has no
        # honest figure; the handler's own exception is part of what is measured.
        platform = platform_failure(logs)
        if platform is None and function_error and error_kind(payload).startswith(
            PLATFORM_ERRORS
        ):
            platform = "invoke error"
        if platform is not None:
            error = error_summary(payload) if function_error else "(no error payload)"
            msg = (
                f"{fn.variant} (function {fn.name}) failed on AWS before or outside its "
                f"handler ({platform}): {error}; its log tail:\n{logs.strip()[-1000:]}"
            )
            raise MeasureError(msg)
        found = parse_report(logs)
        if found is None:
            tail = "the invoke's log tail"
            if function_error:
                tail = f"the invoke failed ({error_summary(payload)}) and its log tail"
            msg = (
                f"{fn.variant} (function {fn.name}): {tail} has no REPORT line to read "
                "Duration from; is the function's log format Text or JSON?"
            )
            raise MeasureError(msg)
        if function_error:
            fn.handler_errors += 1
            if fn.handler_errors == 1:
                self.notes.append(
                    f"{fn.variant} (function {fn.name}): the handler raised "
                    f"{error_summary(payload)}; its invokes still count, as locally (the "
                    "REPORT line has their figures)"
                )
        return _Invoked(found, logs, round_trip)

    def cold(self, bundle: Path, env: dict[str, str] | None = None) -> ColdRun:
        fn = self._function(bundle)
        for _attempt in range(2):
            self._force_cold(fn, env)
            invoked = self._invoke(fn)
            if invoked.report.init_ms is not None:
                break
        else:
            restored = invoked.report.restore_ms is not None
            msg = (
                f"{fn.variant} (function {fn.name}): no Init Duration in the REPORT after two "
                "configuration changes, so the invoke was not a cold start"
                + (" (a SnapStart restore)" if restored else "")
                + "; check that the function has no provisioned concurrency or SnapStart."
            )
            raise MeasureError(msg)
        rep = invoked.report
        fn.round_trips_ms.append(invoked.round_trip_ms)
        assert rep.init_ms is not None  # the loop above breaks only with one
        sample = AwsColdSample(
            extract_ms=math.nan,
            init_ms=rep.init_ms,
            first_invoke_ms=rep.duration_ms,
            peak_rss_kb=rep.max_memory_mb * 1024 if rep.max_memory_mb is not None else math.nan,
        )
        return ColdRun(sample, invoked.logs, (EXTRACT_NOTE,))

    @contextlib.contextmanager
    def warm(self, bundle: Path) -> Iterator[_AwsWarm]:
        fn = self._function(bundle)
        # After the cold starts an environment is usually still up; this invoke makes sure.
        self._invoke(fn)
        yield _AwsWarm(self, fn)

    # -- the report and cleanup ----------------------------------------------------------

    def where(self) -> tuple[dict[str, Any], dict[str, Any]]:
        region = str(getattr(self.clients.lambda_.meta, "region_name", None) or "")
        machine = {
            "where": "AWS Lambda",
            "region": region,
            "memory_mb": self.options.memory,
            "arch": self.arch,
            "endpoint_url": self.options.endpoint_url,
            "measured_by": "Lambda's REPORT log lines (Init Duration, Duration, Max Memory "
            "Used); this host only built, published and invoked",
            "lambundle": __version__,
        }
        settings = {"where": "aws", "region": region, "memory_mb": self.options.memory,
                    "timeout_s": self.options.timeout, "prefix": self.options.prefix}  # fmt: skip
        return machine, settings

    def summary(self) -> dict[str, Any]:
        """Per variant: the function, its first invoke after deploy, cold round trips."""
        return {
            fn.variant: {
                "function": fn.name,
                "first_invoke_after_deploy": fn.first,
                "cold_round_trip_ms": summarize(fn.round_trips_ms),
                "cold_round_trip_samples_ms": list(fn.round_trips_ms),
            }
            for fn in self._functions.values()
        }

    def close(self) -> list[str]:
        """Delete the functions, layer versions and S3 objects this run created (unless
        `keep`).

        Returns the cleanup summary: what was kept, which S3 objects were deleted, and every
        failed deletion (never raised) with what to delete by hand.
        """
        ours = [u for u in self.uploads.values() if u.existed is False]
        if self.options.keep:
            kept = [*self.created_functions, *self.published_layers, *(u.url for u in ours)]
            self.uploads.clear()
            return [f"--keep: kept {', '.join(kept)}"] if kept else []
        warnings = []
        client = self.clients.lambda_
        for name in self.created_functions:
            problem = _delete(lambda n=name: client.delete_function(FunctionName=n))
            if problem:
                warnings.append(f"could not delete function {name}: {problem}")
        for arn in self.published_layers:
            layer, _, version = arn.rpartition(":")
            layer_name = layer.rpartition(":")[2]
            problem = _delete(
                lambda n=layer_name, v=version: client.delete_layer_version(
                    LayerName=n, VersionNumber=int(v)
                )
            )
            if problem:
                warnings.append(f"could not delete layer version {arn}: {problem}")
        deleted, left = [], []
        for upload in ours:
            problem = _delete(
                lambda u=upload: self.clients.s3.delete_object(Bucket=u.bucket, Key=u.key)
            )
            if problem:
                warnings.append(f"could not delete {upload.url}: {problem}")
                left.append(upload.url)
            else:
                deleted.append(upload.url)
        if warnings:
            by_hand = "aws lambda delete-function / delete-layer-version"
            if left:
                by_hand += ", " + ", ".join(f"aws s3 rm {url}" for url in left)
            warnings.append(f"delete them by hand ({by_hand}) to stop paying for their storage")
        summary = []
        if deleted:
            summary.append(f"deleted the S3 objects this run uploaded: {', '.join(deleted)}")
        for upload in self.uploads.values():
            if upload.existed is True:
                summary.append(f"{upload.url} existed before this run: kept")
            elif upload.existed is None:
                summary.append(
                    f"kept {upload.url}: S3 refused to say whether it existed before this run "
                    f"(HeadObject); if it did not, delete it by hand (aws s3 rm {upload.url})"
                )
        self.created_functions.clear()
        self.published_layers.clear()
        self.uploads.clear()
        return [*summary, *warnings]

    def __enter__(self) -> AwsRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.notes += self.close()


# Codes that mean every call of this account fails alike; the rest are about one variant.
_ACCOUNT_CODES = {
    "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
    "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId", "AccessDenied",
}  # fmt: skip


def _account_wide(exc: PublishError) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    cause = exc.__cause__
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        code = error.get("Code", "")
        role = code == "InvalidParameterValueException" and "role" in str(error.get("Message"))
        return code in _ACCOUNT_CODES or role
    # No credentials, no connection to the endpoint.
    return isinstance(cause, BotoCoreError)


def _delete(call: Any) -> str:
    """Run one delete call; '' when done or already gone, else what went wrong."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            return ""
        return f"{error.get('Code', 'error')}: {error.get('Message') or exc}"
    except BotoCoreError as exc:
        return str(exc)
    return ""


class _AwsWarm:
    def __init__(self, runner: AwsRunner, fn: _Function) -> None:
        self.runner = runner
        self.fn = fn

    def invoke(self) -> float:
        """One warm invoke; its REPORT's Duration in ms."""
        invoked = self.runner._invoke(self.fn)
        if invoked.report.cold:
            # Lambda may replace an environment at any time; one more try, then give up.
            invoked = self.runner._invoke(self.fn)
            if invoked.report.cold:
                msg = (
                    f"{self.fn.variant} (function {self.fn.name}): two invokes in a row "
                    "started new environments, so there is no warm one to measure."
                )
                raise MeasureError(msg)
        return invoked.report.duration_ms


# -- entry point ---------------------------------------------------------------------------


def aws_options(
    flags: Mapping[str, Any], *, layout_dir: Path | None = None, no_sandbox: bool = False
) -> AwsOptions | None:
    """The AwsOptions of `compare --aws`, None without --aws; refuses options that clash.

    `flags` are compare's --aws options by their parameter names (`aws`, `role`,
    `endpoint_url`, ...); every one but `memory`, which a local compare uses too, needs
    --aws, and --aws needs neither of the local sandbox's `layout_dir` and `no_sandbox`.
    """
    given = [
        f"--{k.replace('_', '-')}" for k, v in flags.items() if k not in ("aws", "memory") and v
    ]
    if not flags["aws"]:
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} only {verb} with --aws.")
        return None
    if layout_dir is not None or no_sandbox:
        flag = "--layout-dir" if layout_dir is not None else "--no-sandbox"
        raise UsageError(f"{flag} is about the local sandbox; --aws measures on AWS Lambda.")
    return AwsOptions(
        role=flags["role"] or "", region=flags["region"], endpoint_url=flags["endpoint_url"],
        memory=flags["memory"] or DEFAULT_MEMORY, prefix=flags["prefix"] or DEFAULT_PREFIX,
        s3_bucket=flags["s3_bucket"], keep=flags["keep"],
        timeout=flags["timeout"] or DEFAULT_TIMEOUT,
    )  # fmt: skip


def check_role(options: AwsOptions) -> None:
    if not options.role:
        msg = (
            "compare --aws needs --role ARN: the execution role the functions run as "
            "(one Lambda can assume, e.g. with the AWSLambdaBasicExecutionRole policy)."
        )
        raise UsageError(msg)


def check_credentials(options: AwsOptions) -> None:
    """Refuse before building anything when boto3 finds no credentials or no region."""
    # Without boto3 a UsageError, without a region a PublishError, each with the fix.
    publish.make_clients(options.publish_options(""))
    import boto3

    if boto3.session.Session(region_name=options.region).get_credentials() is None:
        msg = (
            "compare --aws found no AWS credentials; run `aws configure`, set AWS_PROFILE, "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        )
        raise PublishError(msg)


def compare_on_aws(
    options: CompareOptions,
    aws: AwsOptions,
    *,
    out: Path | None = None,
    event: bytes = b"{}",
    clients: publish.Clients | None = None,
    report: Report = quiet,
) -> dict[str, Any]:
    """`bundler.measure.compare.compare` with every variant measured on AWS Lambda.

    Creates one function per variant (and its layers), invokes each `options.cold` times
    cold and `options.warm` times warm, then deletes them unless `aws.keep`. Raises
    NothingMeasured (carrying the report) when no variant could be measured.
    """
    check_role(aws)
    if clients is None:
        check_credentials(aws)
    options = dataclasses.replace(options, importtime=False)
    runner = AwsRunner(aws, arch=options.arch, event=event, clients=clients, report=report)
    failed: NothingMeasured | None = None
    try:
        try:
            result = compare(options, out=out, runner=runner, report=report)
        except NothingMeasured as exc:
            result, failed = exc.report, exc
    finally:
        cleanup = runner.close()
        for warning in cleanup:
            report(warning)
    result["notes"] = [
        *result.get("notes", []),
        "import-time breakdown: skipped on AWS (an invoke returns only the last 4 KB of its "
        "log); run compare locally for it",
        *runner.notes,
        *cleanup,
    ]
    result["aws"] = runner.summary()
    if failed is not None:
        if runner.account_error is not None:
            # One cause for every variant (credentials, permissions, role): say it once.
            msg = f"Nothing could be measured on AWS: {runner.account_error}"
            raise NothingMeasured(msg, result)
        raise NothingMeasured(str(failed), result)
    return result
