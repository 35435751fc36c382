"""`lambundle compare --aws` against moto's server on loopback, with real builds.

Functions and layers are really created, reconfigured and deleted in moto's implementation
of the Lambda API. Only Invoke is answered by the test (`InvokeAnswered`): moto runs a
function only inside Docker, and this machine has no Docker engine. The answer is the one
Lambda gives to `Invoke(LogType=Tail)`: a base64 log tail ending in a REPORT line, with
`Init Duration` exactly when the function's configuration, read back from moto, changed
since its last invoke (when Lambda starts a new execution environment). A function listed
in `failing` answers as Lambda does when its handler raises, or when its init fails.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bundler.aws import publish
from bundler.bundle import manifest as mf
from bundler.cli import cli, main
from tests.functional.aws import test_publish as publish_tests
from tests.functional.aws.test_publish import REGION, client

# moto's server on loopback, fake credentials and an IAM role: the publish tests' fixtures.
moto_server = publish_tests.moto_server
aws = publish_tests.aws
role = publish_tests.role

pytest.importorskip("boto3")
pytest.importorskip("moto")

HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"
VARIANTS = ["fat-layer", "vendored", "pinned", "baseline"]
INIT_MS = {"lambundle-cmp-baseline": 95.5}  # the others start in 60.25 ms
WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"


class InvokeAnswered:
    """moto's Lambda client, except that Invoke is answered here (no Docker to run it)."""

    def __init__(self, real: Any, failing: dict[str, str] | None = None) -> None:
        self._real = real
        self._state: dict[str, str] = {}
        self.invokes: list[dict[str, Any]] = []
        self.failing = failing if failing is not None else {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def invoke(self, **kw: Any) -> dict[str, Any]:
        name = kw["FunctionName"]
        assert kw["LogType"] == "Tail" and kw["InvocationType"] == "RequestResponse"
        config = self._real.get_function_configuration(FunctionName=name)
        what = [config.get(k) for k in ("Environment", "CodeSha256", "Layers", "MemorySize")]
        state = json.dumps(what, sort_keys=True)
        cold = self._state.get(name) != state
        self._state[name] = state
        variables = (config.get("Environment") or {}).get("Variables", {})
        self.invokes.append({"function": name, "cold": cold, "variables": variables,
                             "memory": config["MemorySize"]})  # fmt: skip
        rid = str(uuid.uuid4())
        report = (f"REPORT RequestId: {rid}\tDuration: 3.25 ms\tBilled Duration: 4 ms\t"
                  f"Memory Size: {config['MemorySize']} MB\tMax Memory Used: 42 MB\t")  # fmt: skip
        if cold:
            report += f"Init Duration: {INIT_MS.get(name, 60.25):.2f} ms\t"
        failing = self.failing.get(name)
        if failing == "init":
            # What Lambda logs when the module cannot be imported: an INIT_REPORT with the
            # error, the init retried within the invoke, and the REPORT's status.
            kind = "Runtime.ImportModuleError"
            error = {"errorType": kind, "requestId": rid, "stackTrace": [],
                     "errorMessage": "Unable to import module 'app': No module named 'requests'"}
            logs = (f"INIT_REPORT Init Duration: 80.10 ms\tPhase: init\tStatus: error\t"
                    f"Error Type: {kind}\nSTART RequestId: {rid} Version: $LATEST\n"
                    f"[ERROR] {kind}: {error['errorMessage']}\nEND RequestId: {rid}\n"
                    f"{report}Status: error\tError Type: {kind}\n")  # fmt: skip
        elif failing == "handler":
            error = {"errorType": "KeyError", "errorMessage": "'name'", "requestId": rid,
                     "stackTrace": ['  File "/var/task/app.py", line 2, in handler\n']}
            logs = (f"START RequestId: {rid} Version: $LATEST\n[ERROR] KeyError: 'name'\n"
                    f"END RequestId: {rid}\n{report}\n")  # fmt: skip
        else:
            logs = (f"START RequestId: {rid} Version: $LATEST\nEND RequestId: {rid}\n{report}\n"
                    f"XRAY TraceId: 1-6747a0b2-3c1d\tSegmentId: 1a2b\tSampled: true\n")  # fmt: skip
            return {"StatusCode": 200, "ExecutedVersion": "$LATEST",
                    "LogResult": base64.b64encode(logs.encode()).decode(),
                    "Payload": io.BytesIO(b'"hello"')}  # fmt: skip
        return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "FunctionError": "Unhandled",
                "LogResult": base64.b64encode(logs.encode()).decode(),
                "Payload": io.BytesIO(json.dumps(error).encode())}  # fmt: skip


@pytest.fixture
def failing() -> dict[str, str]:
    """Function name to "handler" (its handler raises) or "init" (its import fails)."""
    return {}


@pytest.fixture
def answered(
    aws: str, monkeypatch: pytest.MonkeyPatch, failing: dict[str, str]
) -> list[InvokeAnswered]:
    """Every Lambda client compare makes answers Invoke itself; the rest is moto."""
    made: list[InvokeAnswered] = []
    real_make = publish.make_clients

    def make(options: publish.PublishOptions) -> publish.Clients:
        clients = real_make(options)
        made.append(InvokeAnswered(clients.lambda_, failing))
        return publish.Clients(made[-1], clients.s3)

    monkeypatch.setattr(publish, "make_clients", make)
    return made


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def src(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """examples/hello in tmp_path, built with a cache of this module's own."""
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(cache_dir))
    out = tmp_path / "hello"
    shutil.copytree(HELLO, out, ignore=shutil.ignore_patterns(".lambundle"))
    return out


def compare_aws(url: str, src: Path, role_arn: str, *extra: str) -> tuple[int, str, str]:
    args = ["compare", str(src), "--aws", "--role", role_arn, "--region", REGION,
            "--endpoint-url", url, "--python", "3.12", *extra]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def layer_versions(url: str) -> dict[str, list[int]]:
    lam = client(url, "lambda")
    return {
        layer["LayerName"]: [
            v["Version"]
            for v in lam.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]
        ]
        for layer in lam.list_layers()["Layers"]
    }


def test_every_variant_is_published_forced_cold_measured_and_deleted(
    aws: str, role: str, src: Path, answered: list[InvokeAnswered], tmp_path: Path
) -> None:
    json_file = tmp_path / "r.json"
    plot = tmp_path / "r.svg"
    code, out, err = compare_aws(aws, src, role, "--cold", "2", "--warm", "3",
                                 "--json", str(json_file), "--plot", str(plot))  # fmt: skip
    assert code == 0, err

    # The table: a row per variant, extraction not measured, Init Duration + Duration.
    lines = out.splitlines()
    extract = lines[0].index("extract")
    assert [line.split()[0] for line in lines[2:6]] == VARIANTS
    assert all(line[extract:].split()[0] == "-" for line in lines[2:6])
    assert "note: extract: not measured on AWS" in out
    assert "note: import-time breakdown: skipped on AWS" in out

    report = json.loads(json_file.read_text())
    assert report["settings"]["where"] == "aws"
    assert report["settings"]["region"] == REGION
    assert report["settings"]["memory_mb"] == 1024
    assert report["machine"]["where"] == "AWS Lambda"
    assert report["machine"]["region"] == REGION and report["machine"]["arch"] == "x86_64"
    assert "cpu" not in report["machine"]  # this host is not the measured machine
    assert report["importtime"] is None
    assert report["failures"] == []
    by_name = {v["name"]: v for v in report["variants"]}
    assert by_name["pinned"]["init_ms"]["median"] == 60.25
    assert by_name["baseline"]["init_ms"]["median"] == 95.5
    for v in by_name.values():
        assert v["extract_ms"]["median"] is None
        assert v["cold_total_ms"]["median"] == v["init_ms"]["median"] + 3.25
        assert v["peak_rss_kb"]["median"] == 42 * 1024
        assert v["warm_ms"]["n"] == 3 and v["warm_ms"]["p50"] == 3.25
    assert by_name["pinned"]["ratio_to_baseline"]["init_ms"] == pytest.approx(60.25 / 95.5)
    assert set(report["aws"]) == {"fat-layer", "vendored", "pinned", "baseline"}
    assert report["aws"]["pinned"]["function"] == "lambundle-cmp-pinned"
    assert report["aws"]["pinned"]["cold_round_trip_ms"]["n"] == 2
    assert "AWS Lambda" in plot.read_text()

    # What Lambda saw: every measured cold start was really cold, each with a new nonce,
    # on top of the manifest's environment; the baseline never had the exec wrapper.
    invokes = answered[-1].invokes
    for name in VARIANTS:
        function = f"lambundle-cmp-{name}"
        seen = [i for i in invokes if i["function"] == function]
        # First invoke after deploy, 2 forced cold starts, 1 before the warm ones, 3 warm.
        assert [i["cold"] for i in seen] == [True, True, True, False, False, False, False]
        nonces = [i["variables"].get("LAMBUNDLE_COLD") for i in seen[1:3]]
        assert None not in nonces and len(set(nonces)) == 2
        assert all(i["memory"] == 1024 for i in seen)
        if name == "baseline":
            assert all(WRAPPER not in i["variables"] for i in seen)
        else:
            assert all(i["variables"][WRAPPER] == "/opt/lambundle/exec-wrapper" for i in seen)

    # Nothing left behind.
    lam = client(aws, "lambda")
    assert lam.list_functions()["Functions"] == []
    assert all(versions == [] for versions in layer_versions(aws).values())
    assert "Nothing left" not in err


def test_keep_leaves_the_functions_and_layers(
    aws: str, role: str, src: Path, answered: list[InvokeAnswered]
) -> None:
    code, out, err = compare_aws(aws, src, role, "--strategies", "pinned", "--no-baseline",
                                 "--cold", "1", "--warm", "0", "--keep", "--memory", "512",
                                 "--prefix", "mine-")  # fmt: skip
    assert code == 0, err
    lam = client(aws, "lambda")
    config = lam.get_function(FunctionName="mine-pinned")["Configuration"]
    assert config["MemorySize"] == 512
    assert "LAMBUNDLE_COLD" in config["Environment"]["Variables"]
    assert config["Environment"]["Variables"][WRAPPER] == "/opt/lambundle/exec-wrapper"
    assert layer_versions(aws) == {"mine-runtime": [1]}  # hello has no dependency layer
    assert "--keep: kept mine-pinned" in out


def test_a_role_lambda_cannot_use_is_one_message_and_nothing_is_left(
    aws: str, src: Path, answered: list[InvokeAnswered], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    json_file = tmp_path / "r.json"
    with pytest.raises(SystemExit) as exited:
        main(["compare", str(src), "--aws", "--role", "arn:aws:iam::123456789012:role/missing",
              "--region", REGION, "--endpoint-url", aws, "--cold", "1", "--warm", "0",
              "--json", str(json_file)])  # fmt: skip
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert "Error: Nothing could be measured on AWS: creating function lambundle-cmp-" in err
    assert "InvalidParameterValueException" in err and "--role" in err
    assert "Traceback" not in err
    assert json.loads(json_file.read_text())["variants"] == []
    # The layers published before the function was refused were deleted again.
    lam = client(aws, "lambda")
    assert lam.list_functions()["Functions"] == []
    assert all(versions == [] for versions in layer_versions(aws).values())


# -- refused before anything is built or created ---------------------------------------------


def run_failing(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    return int(exited.value.code or 0), capsys.readouterr().err


def test_aws_with_no_sandbox_or_layout_dir_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_failing(["compare", str(HELLO), "--aws", "--role", "arn:x", "--no-sandbox"],
                            capsys)  # fmt: skip
    assert code == 2
    assert "--no-sandbox is about the local sandbox; --aws measures on AWS Lambda" in err
    code, err = run_failing(["compare", str(HELLO), "--aws", "--role", "arn:x",
                             "--layout-dir", str(tmp_path)], capsys)  # fmt: skip
    assert code == 2 and "--layout-dir" in err
    assert "building" not in err


def test_aws_without_a_role_says_how_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_failing(["compare", str(HELLO), "--aws", "--region", REGION], capsys)
    assert code == 2
    assert "compare --aws needs --role ARN" in err
    assert "building" not in err and "Traceback" not in err


def test_aws_options_without_aws_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_failing(["compare", str(HELLO), "--role", "arn:x", "--keep"], capsys)
    assert code == 2
    assert "--role, --keep only apply with --aws" in err
    code, err = run_failing(["compare", str(HELLO), "--timeout", "60"], capsys)
    assert code == 2
    assert "--timeout only applies with --aws" in err


@pytest.mark.parametrize("seconds", ["0", "901"])
def test_a_timeout_outside_lambdas_range_is_refused(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_failing(["compare", str(HELLO), "--aws", "--role", "arn:x",
                             "--timeout", seconds], capsys)  # fmt: skip
    assert code == 2
    assert "--timeout" in err and "1<=x<=900" in err
    assert "building" not in err


def test_no_credentials_is_one_message_before_building(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    # Without this boto3 would ask the EC2 instance metadata service, off this machine.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, err = run_failing(["compare", str(HELLO), "--aws", "--role", "arn:x",
                             "--region", REGION], capsys)  # fmt: skip
    assert code == 1
    assert "found no AWS credentials; run `aws configure`" in err
    assert "building" not in err


def test_no_region_says_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    code, err = run_failing(["compare", str(HELLO), "--aws", "--role", "arn:x"], capsys)
    assert code == 1
    assert "pass --region or set AWS_REGION" in err
    assert "building" not in err


# -- --timeout, function errors, S3 uploads --------------------------------------------------


def test_the_timeout_reaches_the_functions(
    aws: str, role: str, src: Path, answered: list[InvokeAnswered], tmp_path: Path
) -> None:
    json_file = tmp_path / "r.json"
    code, _, err = compare_aws(aws, src, role, "--strategies", "pinned", "--no-baseline",
                               "--cold", "1", "--warm", "0", "--keep", "--timeout", "120",
                               "--json", str(json_file))  # fmt: skip
    assert code == 0, err
    config = client(aws, "lambda").get_function(FunctionName="lambundle-cmp-pinned")
    assert config["Configuration"]["Timeout"] == 120
    assert json.loads(json_file.read_text())["settings"]["timeout_s"] == 120


def test_a_raising_handler_is_measured_and_a_failed_init_drops_its_variant(
    aws: str, role: str, src: Path, answered: list[InvokeAnswered], failing: dict[str, str],
    tmp_path: Path,
) -> None:
    failing["lambundle-cmp-pinned"] = "handler"
    failing["lambundle-cmp-vendored"] = "init"
    json_file = tmp_path / "r.json"
    code, out, err = compare_aws(aws, src, role, "--strategies", "pinned,vendored",
                                 "--no-baseline", "--cold", "2", "--warm", "2",
                                 "--json", str(json_file))  # fmt: skip
    assert code == 0, err
    report = json.loads(json_file.read_text())
    (pinned,) = report["variants"]
    assert pinned["name"] == "pinned"
    assert pinned["init_ms"]["n"] == 2 and pinned["init_ms"]["median"] == 60.25
    assert pinned["warm_ms"]["n"] == 2
    assert "pinned (function lambundle-cmp-pinned): the handler raised KeyError" in out
    (failure,) = report["failures"]
    assert failure["variant"] == "vendored"
    assert failure["error"].startswith(
        "vendored (function lambundle-cmp-vendored) failed on AWS before or outside its "
        "handler (init error (Runtime.ImportModuleError)): Runtime.ImportModuleError: "
        "Unable to import module 'app'"
    )
    assert "vendored: cold start 1 failed: vendored (function lambundle-cmp-vendored)" in err
    # The dropped variant's function is deleted like the others.
    assert client(aws, "lambda").list_functions()["Functions"] == []


def bucket_keys(url: str, bucket: str) -> set[str]:
    listed = client(url, "s3").list_objects_v2(Bucket=bucket)
    return {obj["Key"] for obj in listed.get("Contents", [])}


def test_the_s3_uploads_are_deleted_and_only_those(
    aws: str, role: str, src: Path, answered: list[InvokeAnswered], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(publish, "MAX_DIRECT_UPLOAD", 300)  # instead of a 50 MB zip
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="artifacts", Key="notes/readme.txt", Body=b"not ours")
    args = ("--strategies", "pinned", "--no-baseline", "--cold", "1", "--warm", "0",
            "--s3-bucket", "artifacts", "--out", str(tmp_path / "bundles"))  # fmt: skip
    code, out, err = compare_aws(aws, src, role, *args)
    assert code == 0, err
    manifest = mf.load(tmp_path / "bundles" / "pinned")
    function_key = f"lambundle/{manifest.function.sha256}/function.zip"
    layer = manifest.layers[0]
    layer_key = f"lambundle/{layer.sha256}/{layer.file}"
    assert "note: deleted the S3 objects this run uploaded: " in out
    assert f"s3://artifacts/{function_key}" in out and f"s3://artifacts/{layer_key}" in out
    assert bucket_keys(aws, "artifacts") == {"notes/readme.txt"}

    # A key that is there before the run (an earlier publish of the same zip) is kept.
    s3.upload_file(str(tmp_path / "bundles" / "pinned" / "function.zip"), "artifacts",
                   function_key)  # fmt: skip
    code, out, err = compare_aws(aws, src, role, *args)
    assert code == 0, err
    assert f"s3://artifacts/{function_key} existed before this run: kept" in out
    assert bucket_keys(aws, "artifacts") == {"notes/readme.txt", function_key}
