"""`lambundle publish` against moto's server mode: a real Lambda API on loopback.

moto implements everything publish calls (PublishLayerVersion with CodeSha256,
ListLayerVersions, GetLayerVersion, Create/UpdateFunction*, GetFunction for the waiters,
S3 uploads), so these tests use boto3 unmodified; only the order of waits, which moto
cannot show (its updates finish at once), is checked with a fake client in
tests/unit/test_publish.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.aws import publish
from bundler.bundle import manifest as mf
from bundler.cli import main
from tests.functional.aws.publish_bundles import hello, pinned

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

REGION = "eu-west-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto's server on an ephemeral loopback port; its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from moto.server import main; main()",
         "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    url = None
    seen = []
    # Werkzeug prints this line once the socket is listening.
    for line in proc.stdout:
        seen.append(line)
        found = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        proc.wait()
        pytest.fail("moto_server did not start:\n" + "".join(seen))
    # Keep draining its request log so the pipe never fills and blocks the server.
    drain = threading.Thread(target=proc.stdout.read, daemon=True)
    drain.start()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drain.join(timeout=30)


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Fake credentials, no AWS configuration from the host, and an empty moto."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    return moto_server


def client(url: str, service: str) -> Any:
    return boto3.session.Session(region_name=REGION).client(service, endpoint_url=url)


@pytest.fixture
def role(aws: str) -> str:
    iam = client(aws, "iam")
    created = iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument=json.dumps(TRUST))
    return str(created["Role"]["Arn"])


def run_publish(
    url: str, bundle: Path, name: str, role: str, *extra: str,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, dict[str, Any], str]:
    """`lambundle publish --json`: (exit code, parsed stdout or {}, stderr)."""
    argv = ["publish", str(bundle), "--function-name", name, "--role", role,
            "--region", REGION, "--endpoint-url", url, "--json", *extra]
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def test_publish_creates_layers_then_the_function(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = pinned(tmp_path, "one", arch="arm64")
    manifest = mf.load(bundle)
    code, result, _ = run_publish(aws, bundle, "fn-one", role, "--memory", "512",
                                  "--timeout", "20", capsys=capsys)
    assert code == 0
    assert result["created"] is True
    assert manifest.lock_sha256 is not None
    deps = f"lambundle-deps-{manifest.lock_sha256[:12]}"  # named by the lock it holds
    assert [layer["name"] for layer in result["layers"]] == ["lambundle-runtime", deps]
    assert all(layer["published"] for layer in result["layers"])
    assert result["skipped_layers"] == []

    lam = client(aws, "lambda")
    for layer, artifact in zip(result["layers"], manifest.layers, strict=True):
        version = lam.get_layer_version(LayerName=layer["name"], VersionNumber=1)
        assert version["LayerVersionArn"] == layer["arn"]
        assert version["CompatibleRuntimes"] == ["python3.12"]
        assert version["CompatibleArchitectures"] == ["arm64"]
        assert version["Content"]["CodeSha256"] == publish.code_sha256(artifact.sha256)

    config = lam.get_function(FunctionName="fn-one")["Configuration"]
    assert config["FunctionArn"] == result["function_arn"]
    assert config["Runtime"] == "python3.12"
    assert config["Architectures"] == ["arm64"]
    assert config["Handler"] == "app.handler"
    assert config["Role"] == role
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 20
    assert [layer["Arn"] for layer in config["Layers"]] == [
        layer["arn"] for layer in result["layers"]
    ]
    assert config["Environment"]["Variables"] == manifest.environment
    assert config["CodeSha256"] == publish.code_sha256(manifest.function.sha256)


def test_a_second_publish_skips_unchanged_layers_and_updates_the_function(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = hello(tmp_path)
    code, first, _ = run_publish(aws, bundle, "hello", role, capsys=capsys)
    assert code == 0
    assert first["created"] is True

    # New handler code, same runtime layer: rebuild into a fresh directory.
    app = tmp_path / "src" / "app.py"
    app.write_text(app.read_text() + "\nCHANGED = True\n")
    rebuilt = hello(tmp_path, name="hello-2")
    assert mf.load(rebuilt).function.sha256 != mf.load(bundle).function.sha256
    code, second, err = run_publish(aws, rebuilt, "hello", role, "--memory", "1024",
                                    capsys=capsys)
    assert code == 0, err
    assert second["created"] is False
    assert second["function_arn"] == first["function_arn"]
    assert [layer["arn"] for layer in second["layers"]] == [
        layer["arn"] for layer in first["layers"]
    ]
    assert second["skipped_layers"] == ["lambundle-runtime"]
    assert "unchanged" in err

    lam = client(aws, "lambda")
    assert len(lam.list_layer_versions(LayerName="lambundle-runtime")["LayerVersions"]) == 1
    config = lam.get_function(FunctionName="hello")["Configuration"]
    assert config["CodeSha256"] == publish.code_sha256(mf.load(rebuilt).function.sha256)
    assert config["MemorySize"] == 1024


def test_a_pinned_layer_shared_by_two_functions_is_published_once(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    one = pinned(tmp_path, "one", code=b"import big  # one\n")
    two = pinned(tmp_path, "two", code=b"import big  # two\n")
    assert mf.load(one).layers == mf.load(two).layers
    _, first, _ = run_publish(aws, one, "fn-one", role, capsys=capsys)
    code, second, _ = run_publish(aws, two, "fn-two", role, capsys=capsys)
    assert code == 0
    assert second["created"] is True
    lock = mf.load(one).lock_sha256
    assert lock is not None
    deps = f"lambundle-deps-{lock[:12]}"
    assert second["skipped_layers"] == ["lambundle-runtime", deps]

    lam = client(aws, "lambda")
    assert len(lam.list_layer_versions(LayerName=deps)["LayerVersions"]) == 1
    layers = [
        [layer["Arn"] for layer in lam.get_function(FunctionName=name)["Configuration"]["Layers"]]
        for name in ("fn-one", "fn-two")
    ]
    assert layers[0] == layers[1] == [layer["arn"] for layer in first["layers"]]


def test_a_layer_for_another_architecture_is_published_anew(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    x86, arm = hello(tmp_path, name="x86"), hello(tmp_path, arch="arm64", name="arm")
    # The runtime layer's bytes do not depend on the architecture, its metadata does.
    assert mf.load(x86).layers[0].sha256 == mf.load(arm).layers[0].sha256
    run_publish(aws, x86, "fn-x86", role, capsys=capsys)
    code, result, _ = run_publish(aws, arm, "fn-arm", role, capsys=capsys)
    assert code == 0
    assert result["skipped_layers"] == []
    assert result["layers"][0]["arn"].endswith(":2")


def test_a_zip_over_the_direct_upload_limit_needs_an_s3_bucket(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = hello(tmp_path)
    monkeypatch.setattr(publish, "MAX_DIRECT_UPLOAD", 300)  # instead of a 50 MB zip
    code, _, err = run_publish(aws, bundle, "hello", role, capsys=capsys)
    assert code == 2
    size = (bundle / "function.zip").stat().st_size
    assert f"function.zip is {size:,} bytes" in err
    assert "--s3-bucket" in err
    assert "Traceback" not in err
    lam = client(aws, "lambda")
    assert lam.list_layers()["Layers"] == []  # refused before anything was published
    assert lam.list_functions()["Functions"] == []


def test_a_zip_over_the_limit_goes_through_s3(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = hello(tmp_path)
    manifest = mf.load(bundle)
    monkeypatch.setattr(publish, "MAX_DIRECT_UPLOAD", 300)
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
    code, result, err = run_publish(aws, bundle, "hello", role, "--s3-bucket", "artifacts",
                                    capsys=capsys)
    assert code == 0, err
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket="artifacts")["Contents"]}
    layer = manifest.layers[0]
    assert f"lambundle/{layer.sha256}/{layer.file}" in keys
    assert f"lambundle/{manifest.function.sha256}/function.zip" in keys
    lam = client(aws, "lambda")
    version = lam.get_layer_version(LayerName="lambundle-runtime", VersionNumber=1)
    assert version["Content"]["CodeSha256"] == publish.code_sha256(layer.sha256)
    assert result["created"] is True


def test_aws_errors_name_the_function_and_the_fix(
    tmp_path: Path, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = hello(tmp_path)
    code, _, err = run_publish(
        aws, bundle, "hello", "arn:aws:iam::123456789012:role/missing", capsys=capsys
    )
    assert code == 1
    assert "creating function hello failed: InvalidParameterValueException" in err
    assert "--role" in err
    assert "Traceback" not in err


def test_missing_boto3_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = hello(tmp_path)
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` fail
    code, _, err = run_publish("http://127.0.0.1:9", bundle, "hello", "arn:x", capsys=capsys)
    assert code == 2
    assert "pip install 'lambundle[aws]'" in err


def test_no_region_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = hello(tmp_path)
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with pytest.raises(SystemExit) as exited:
        main(["publish", str(bundle), "--function-name", "hello", "--role", "arn:x"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "pass --region or set AWS_REGION" in err
    assert "Traceback" not in err


def test_an_update_keeps_variables_set_on_the_function_and_adds_env(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = hello(tmp_path)
    manifest = mf.load(bundle)
    code, _, err = run_publish(aws, bundle, "keep-env", role, "--env", "STAGE=dev",
                               capsys=capsys)
    assert code == 0, err
    lam = client(aws, "lambda")
    config = lam.get_function_configuration(FunctionName="keep-env")
    assert config["Environment"]["Variables"] == {**manifest.environment, "STAGE": "dev"}
    # Someone sets a variable in the console; the next publish must not lose it.
    lam.update_function_configuration(
        FunctionName="keep-env",
        Environment={"Variables": {**config["Environment"]["Variables"], "TABLE": "orders"}},
    )
    code, _, err = run_publish(aws, bundle, "keep-env", role, "--env", "STAGE=prod",
                               capsys=capsys)
    assert code == 0, err
    variables = lam.get_function_configuration(FunctionName="keep-env")["Environment"]
    assert variables["Variables"] == {**manifest.environment, "STAGE": "prod", "TABLE": "orders"}


def test_env_that_contradicts_the_bundle_is_refused_before_publishing(
    tmp_path: Path, aws: str, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = hello(tmp_path)
    code, _, err = run_publish(aws, bundle, "no-wrapper", role,
                               "--env", "AWS_LAMBDA_EXEC_WRAPPER=/opt/mine", capsys=capsys)
    assert code == 2
    assert "--env AWS_LAMBDA_EXEC_WRAPPER: the bundle needs" in err
    lam = client(aws, "lambda")
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert "no-wrapper" not in names
