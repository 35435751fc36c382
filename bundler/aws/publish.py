"""`lambundle publish`: the layers, then the function, to AWS Lambda with boto3.

The same steps as README's "Deploying with the AWS CLI", in the manifest's layer order:

1. each layer is published unless a recent version of the same layer name already holds
   exactly this zip for this runtime and architecture. Lambda reports a layer version's
   `CodeSha256` as the base64 of the zip's sha256 (bundle.json has it in hex), so a pinned
   dependency layer shared by many functions is published once;
2. the function is created, or its code and then its configuration are updated, waiting
   for Lambda to finish one update before starting the next (a second update while one is
   in progress fails with ResourceConflictException).

Zips over the direct-upload limit go through S3 (`--s3-bucket`). boto3 is an optional
extra (`lambundle[aws]`), imported only here. Every botocore failure is translated where
it enters into a PublishError naming the function or layer and the fix.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bundler.bundle import limits
from bundler.bundle import manifest as mf
from bundler.bundle.layer import EXEC_WRAPPER, EXEC_WRAPPER_VARIABLE
from bundler.core.errors import PublishError, UsageError
from bundler.core.progress import Report, quiet

DEFAULT_LAYER_PREFIX = "lambundle-"
DEFAULT_MEMORY = 256
DEFAULT_TIMEOUT = 30
# How many of a layer's newest versions are checked for the same content: enough for a
# layer shared by a few functions built from different locks, few enough to stay quick.
RECENT_LAYER_VERSIONS = 10
# A function update takes seconds; the bounded poll gives up after about five minutes.
WAIT = {"Delay": 2, "MaxAttempts": 150}
# Read at call time so a test can lower it instead of writing a 50 MB zip.
MAX_DIRECT_UPLOAD = limits.MAX_ZIPPED
_LAYER_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
# https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html: LayerName.
_LAYER_NAME_MAX = 64
_ARCHES = {"x86_64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


@dataclasses.dataclass(frozen=True)
class PublishOptions:
    function_name: str
    role: str
    region: str | None = None
    endpoint_url: str | None = None
    layer_prefix: str = DEFAULT_LAYER_PREFIX
    memory: int = DEFAULT_MEMORY
    timeout: int = DEFAULT_TIMEOUT
    s3_bucket: str | None = None
    # The user's own variables (`--env`), set next to the manifest's.
    environment: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class LayerResult:
    """One layer of the bundle: the version the function uses, and whether it is new."""

    name: str
    file: str
    arn: str
    published: bool

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class PublishResult:
    function_name: str
    function_arn: str
    created: bool
    layers: tuple[LayerResult, ...]

    @property
    def skipped(self) -> tuple[LayerResult, ...]:
        return tuple(layer for layer in self.layers if not layer.published)

    def to_json(self) -> dict[str, Any]:
        return {
            "function_name": self.function_name,
            "function_arn": self.function_arn,
            "created": self.created,
            "layers": [layer.to_json() for layer in self.layers],
            "skipped_layers": [layer.name for layer in self.skipped],
        }


@dataclasses.dataclass(frozen=True)
class Upload:
    """A zip put in S3 for Lambda to read. `existed`: the key was there before the upload
    (the key names the content, so an earlier publish may have put it), None when S3 would
    not say (HeadObject refused)."""

    bucket: str
    key: str
    existed: bool | None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


# Told of every S3 upload, by a caller that deletes its uploads afterwards (compare --aws).
UploadHook = Callable[[Upload], None]


@dataclasses.dataclass(frozen=True)
class Clients:
    """The boto3 clients publish uses; unit tests pass fakes with the same methods."""

    lambda_: Any
    s3: Any


def layer_name(prefix: str, artifact: str, lock_sha256: str | None = None) -> str:
    """`<prefix><artifact>` in Lambda's layer-name alphabet, `[a-zA-Z0-9-_]+`.

    A layer holding dependencies ("deps", "fat") is named by its lock too,
    `<prefix><artifact>-<lock sha256, 12>`: functions with the same lock share one layer
    name and its versions, and unrelated locks do not pile their versions onto one name
    (where the reuse check, which reads the newest versions, would stop finding them).
    """
    if lock_sha256 and artifact in DEPENDENCY_LAYERS:
        artifact = f"{artifact}-{lock_sha256[:12]}"
    name = _LAYER_NAME.sub("-", prefix + artifact).strip("-") or "layer"
    return name[:_LAYER_NAME_MAX]


# The strategies' layers that carry the locked dependencies (strategies/).
DEPENDENCY_LAYERS = frozenset({"deps", "fat"})


def code_sha256(hex_digest: str) -> str:
    """Lambda's CodeSha256 (base64 of the raw digest) for bundle.json's hex sha256."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def lambda_arch(arch: str) -> str:
    return _ARCHES.get(arch, arch)


def make_clients(options: PublishOptions) -> Clients:
    """boto3 clients for the options' region and endpoint; boto3 is an optional extra."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError:
        msg = (
            "publishing needs boto3, which is not installed; "
            "install it with `pip install 'lambundle[aws]'`."
        )
        raise UsageError(msg) from None
    try:
        session = boto3.session.Session(region_name=options.region)
        return Clients(
            lambda_=session.client("lambda", endpoint_url=options.endpoint_url),
            s3=session.client("s3", endpoint_url=options.endpoint_url),
        )
    except BotoCoreError as exc:
        msg = f"cannot set up the AWS clients ({exc}); pass --region or set AWS_REGION."
        raise PublishError(msg) from exc


def publish(
    bundle_dir: Path,
    options: PublishOptions,
    *,
    clients: Clients | None = None,
    report: Report = quiet,
) -> PublishResult:
    """Publish BUNDLE's layers (unless already there) and create or update its function."""
    manifest = check_bundle(bundle_dir, options)
    clients = clients or make_clients(options)
    layers = tuple(
        _publish_layer(clients, bundle_dir, manifest, artifact, options, report)
        for artifact in manifest.layers
    )
    arn, created = _deploy_function(
        clients, bundle_dir, manifest, [layer.arn for layer in layers], options, report
    )
    return PublishResult(options.function_name, arn, created, layers)


# -- the steps of `publish`, for a caller that tracks what it creates (compare --aws) -------


def check_bundle(bundle_dir: Path, options: PublishOptions) -> mf.Manifest:
    """BUNDLE's manifest, refused before anything is published when its zips are not the
    ones it describes, when over Lambda's limits, or when `--env` contradicts it."""
    manifest = mf.load_checked(bundle_dir)
    environment(manifest, options)
    limits.enforce(
        limits.checks(
            manifest.function.unzipped_size, [a.unzipped_size for a in manifest.layers]
        ),
        (),
    )
    _check_uploads(bundle_dir, manifest, options)
    return manifest


def publish_layer(
    clients: Clients,
    bundle_dir: Path,
    manifest: mf.Manifest,
    artifact: mf.Artifact,
    options: PublishOptions,
    *,
    report: Report = quiet,
    on_upload: UploadHook | None = None,
) -> LayerResult:
    """One layer of the bundle, published unless a recent version holds the same zip."""
    return _publish_layer(clients, bundle_dir, manifest, artifact, options, report, on_upload)


def deploy_function(
    clients: Clients,
    bundle_dir: Path,
    manifest: mf.Manifest,
    layer_arns: list[str],
    options: PublishOptions,
    *,
    report: Report = quiet,
    on_upload: UploadHook | None = None,
) -> tuple[str, bool]:
    """Create the function or update it, waiting until it is ready; (ARN, created)."""
    return _deploy_function(
        clients, bundle_dir, manifest, layer_arns, options, report, on_upload
    )


def function_exists(client: Any, name: str) -> bool:
    """Whether the Lambda function `name` exists (failures other than not-found raise)."""
    return _function_exists(client, name)


def translated(what: str, fix: str = "") -> contextlib.AbstractContextManager[None]:
    """botocore failures inside the block as a PublishError about `what`, with a fix."""
    return _translated(what, fix or _CREDENTIALS)


def wait_until_updated(client: Any, name: str) -> None:
    """Wait until the function's LastUpdateStatus is Successful; call it inside `translated`."""
    _wait(client, "function_updated_v2", name)


def _check_uploads(bundle_dir: Path, manifest: mf.Manifest, options: PublishOptions) -> None:
    """Refuse before publishing anything when a zip is too big to upload without S3."""
    if options.s3_bucket:
        return
    for artifact in (manifest.function, *manifest.layers):
        size = _size(bundle_dir / artifact.file)
        if size > MAX_DIRECT_UPLOAD:
            msg = (
                f"{artifact.file} is {size:,} bytes, over Lambda's {MAX_DIRECT_UPLOAD:,}-byte "
                "limit for a direct upload; pass --s3-bucket BUCKET (in the function's region) "
                "to upload it through S3."
            )
            raise UsageError(msg)


def _size(path: Path) -> int:
    return path.stat().st_size


@contextmanager
def _translated(what: str, fix: str) -> Iterator[None]:
    """Turn a botocore failure inside the block into a PublishError about `what`."""
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        text = error.get("Message") or str(exc)
        hint = _HINTS.get(code, fix)
        msg = f"{what} failed: {code}: {text}; {hint}"
        raise PublishError(msg) from exc
    except WaiterError as exc:
        msg = (
            f"{what}: the function did not become ready ({exc}); its StateReason and "
            "LastUpdateStatusReason (`aws lambda get-function`) say why."
        )
        raise PublishError(msg) from exc
    except BotoCoreError as exc:
        msg = f"{what} failed: {exc}; {fix}"
        raise PublishError(msg) from exc


_HINTS = {
    "AccessDeniedException": "the credentials need lambda:* (and s3:PutObject with --s3-bucket).",
    "UnrecognizedClientException": "check the AWS credentials (aws configure, AWS_PROFILE).",
    "InvalidSignatureException": "check the AWS credentials (aws configure, AWS_PROFILE).",
    "ExpiredTokenException": "refresh the AWS credentials.",
    "InvalidParameterValueException": "check --role (an IAM role Lambda can assume) and the "
    "bundle's runtime and handler.",
    "RequestEntityTooLargeException": "pass --s3-bucket to upload through S3.",
    "ResourceConflictException": "another update is in progress; run publish again.",
    "TooManyRequestsException": "Lambda is throttling; run publish again.",
    "NoSuchBucket": "create the bucket or pass another --s3-bucket.",
}
_CREDENTIALS = "check the AWS credentials (aws configure, AWS_PROFILE) and --region/--endpoint-url."


def _code(
    clients: Clients, bundle_dir: Path, artifact: mf.Artifact, options: PublishOptions,
    what: str, on_upload: UploadHook | None = None,
) -> dict[str, Any]:
    """The `Code`/`Content` argument: the zip itself, or where it was put in S3.

    `publish` keeps its uploads: Lambda copies the code when the function or layer version
    is created, so nothing needs them afterwards, but they are the record of what was
    deployed. Only a caller that passes `on_upload` (compare --aws, whose functions are
    throwaway) deletes them again; it is told whether the key existed before, so that an
    object it did not upload is never deleted.
    """
    path = bundle_dir / artifact.file
    if _size(path) <= MAX_DIRECT_UPLOAD or not options.s3_bucket:
        return {"ZipFile": path.read_bytes()}
    bucket = options.s3_bucket
    key = f"lambundle/{artifact.sha256}/{artifact.file}"
    with _translated(f"{what}: uploading {artifact.file} to s3://{bucket}/{key}",
                     _CREDENTIALS):
        existed = _object_exists(clients.s3, bucket, key) if on_upload else None
        clients.s3.upload_file(str(path), bucket, key)
    if on_upload is not None:
        on_upload(Upload(bucket, key, existed))
    return {"S3Bucket": bucket, "S3Key": key}


def _object_exists(s3: Any, bucket: str, key: str) -> bool | None:
    """Whether s3://bucket/key exists; None when S3 will not say (403 without s3:ListBucket)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return False if code in ("404", "NoSuchKey", "NotFound") else None
    return True


def _publish_layer(
    clients: Clients,
    bundle_dir: Path,
    manifest: mf.Manifest,
    artifact: mf.Artifact,
    options: PublishOptions,
    report: Report,
    on_upload: UploadHook | None = None,
) -> LayerResult:
    name = layer_name(options.layer_prefix, artifact.name, manifest.lock_sha256)
    runtime = manifest.target.runtime
    arch = lambda_arch(manifest.target.arch)
    what = f"publishing layer {name} ({artifact.file})"
    with _translated(what, _CREDENTIALS):
        existing = find_layer_version(clients.lambda_, name, artifact.sha256, runtime, arch)
    if existing is not None:
        report(f"layer {name}: unchanged, using {existing}")
        return LayerResult(name, artifact.file, existing, published=False)
    report(f"publishing layer {name} from {artifact.file}")
    content = _code(clients, bundle_dir, artifact, options, what, on_upload)
    with _translated(what, _CREDENTIALS):
        response = clients.lambda_.publish_layer_version(
            LayerName=name,
            Description=f"lambundle {manifest.strategy} {artifact.name} layer",
            Content=content,
            CompatibleRuntimes=[runtime],
            CompatibleArchitectures=[arch],
        )
    return LayerResult(name, artifact.file, str(response["LayerVersionArn"]), published=True)


def find_layer_version(
    client: Any, name: str, sha256_hex: str, runtime: str, arch: str
) -> str | None:
    """The ARN of a recent version of layer `name` with this content, runtime and arch.

    ListLayerVersions does not return CodeSha256, so each candidate is read with
    GetLayerVersion; only the newest RECENT_LAYER_VERSIONS compatible ones are looked at.
    """
    wanted = code_sha256(sha256_hex)
    candidates: list[dict[str, Any]] = []
    for page in client.get_paginator("list_layer_versions").paginate(LayerName=name):
        candidates.extend(
            v
            for v in page.get("LayerVersions", [])
            if runtime in v.get("CompatibleRuntimes", [])
            and arch in v.get("CompatibleArchitectures", [])
        )
    candidates.sort(key=lambda v: int(v["Version"]), reverse=True)
    for version in candidates[:RECENT_LAYER_VERSIONS]:
        found = client.get_layer_version(LayerName=name, VersionNumber=int(version["Version"]))
        if found.get("Content", {}).get("CodeSha256") == wanted:
            return str(found["LayerVersionArn"])
    return None


def _deploy_function(
    clients: Clients,
    bundle_dir: Path,
    manifest: mf.Manifest,
    layer_arns: list[str],
    options: PublishOptions,
    report: Report,
    on_upload: UploadHook | None = None,
) -> tuple[str, bool]:
    """Create the function, or update its code then its configuration; (ARN, created)."""
    client = clients.lambda_
    name = options.function_name
    arch = lambda_arch(manifest.target.arch)
    config: dict[str, Any] = {
        "FunctionName": name,
        "Role": options.role,
        "Handler": manifest.handler,
        "Runtime": manifest.target.runtime,
        "Layers": layer_arns,
        "Environment": {"Variables": environment(manifest, options)},
        "MemorySize": options.memory,
        "Timeout": options.timeout,
    }
    what = f"deploying function {name}"
    code = _code(clients, bundle_dir, manifest.function, options, what, on_upload)
    if not _function_exists(client, name):
        report(f"creating function {name}")
        with _translated(f"creating function {name}", _CREDENTIALS):
            response = client.create_function(
                **config, Architectures=[arch], Code=code, PackageType="Zip"
            )
            _wait(client, "function_active_v2", name)
        return str(response["FunctionArn"]), True
    report(f"updating function {name}: code")
    with _translated(f"updating the code of function {name}", _CREDENTIALS):
        _wait(client, "function_updated_v2", name)
        client.update_function_code(FunctionName=name, Architectures=[arch], **code)
        _wait(client, "function_updated_v2", name)
    report(f"updating function {name}: configuration")
    with _translated(f"updating the configuration of function {name}", _CREDENTIALS):
        current = client.get_function_configuration(FunctionName=name)
        variables = (current.get("Environment") or {}).get("Variables") or {}
        config["Environment"] = {
            "Variables": merged_environment(variables, config["Environment"]["Variables"])
        }
        response = client.update_function_configuration(**config)
        _wait(client, "function_updated_v2", name)
    return str(response["FunctionArn"]), False


def environment(manifest: mf.Manifest, options: PublishOptions) -> dict[str, str]:
    """The variables publish sets: the manifest's, then the user's `--env`.

    A `--env` that would change what the bundle needs (the exec wrapper) is refused.
    """
    variables = dict(manifest.environment)
    for key, value in options.environment:
        if key in manifest.environment and manifest.environment[key] != value:
            msg = (
                f"--env {key}: the bundle needs {key}={manifest.environment[key]} to start "
                "lambundle's runtime; leave it out, or rebuild with another --runtime."
            )
            raise UsageError(msg)
        variables[key] = value
    return variables


def merged_environment(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    """A published function's variables after an update: what publish sets wins, variables
    the user set on the function stay, and lambundle's exec wrapper goes when the new bundle
    does not use it (it would name a file no longer in /opt)."""
    kept = {
        key: value
        for key, value in current.items()
        if not (key == EXEC_WRAPPER_VARIABLE and value == EXEC_WRAPPER)
    }
    return {**kept, **wanted}


def _function_exists(client: Any, name: str) -> bool:
    from botocore.exceptions import ClientError

    with _translated(f"looking up function {name}", _CREDENTIALS):
        try:
            client.get_function(FunctionName=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return False
            raise
    return True


def _wait(client: Any, waiter: str, name: str) -> None:
    """Wait until Lambda has finished applying the last change (bounded by WAIT)."""
    client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig=WAIT)
