"""The output template as `sam deploy` takes it: AWS's own `aws cloudformation package`
(awscli from the package index, in a venv of its own) uploads every local artifact of it,
unchanged, to S3 (moto's server on loopback), and SAM's translator accepts the packaged
template, as CloudFormation's SAM transform would."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from bundler.core import interpreters
from tests.functional.app.checks import check_deployable
from tests.functional.app.test_app_build import (  # noqa: F401 (fixtures)
    PLAIN,
    Run,
    app,
    bundle,
    run,
)
from tests.functional.aws.test_publish import REGION, aws, moto_server  # noqa: F401 (fixtures)
from tests.functional.aws.test_template import cfn_lint

pytestmark = [
    pytest.mark.network,
    pytest.mark.sandbox,
    pytest.mark.skipif(interpreters.find("3.12") is None, reason="no Python 3.12 to run bundles"),
]


@pytest.fixture(scope="module")
def aws_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("awscli")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "awscli"],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv / "bin" / "aws"


def test_aws_cloudformation_package_takes_the_template_unchanged(
    run: Run,  # noqa: F811
    app: Path,  # noqa: F811
    tmp_path: Path,
    aws: str,  # noqa: F811
    aws_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    bundle(run, app, "--strategy", "pinned", "--out", str(out), "--no-verify")
    s3 = boto3.session.Session(region_name=REGION).client("s3", endpoint_url=aws)
    s3.create_bucket(
        Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    packaged = tmp_path / "packaged.yaml"
    done = subprocess.run(
        [str(aws_cli), "cloudformation", "package", "--template-file", str(out / "template.yaml"),
         "--s3-bucket", "artifacts", "--output-template-file", str(packaged),
         "--endpoint-url", aws],
        capture_output=True, text=True, check=False,
        # `--endpoint-url` is CloudFormation's; S3's comes from the service-wide variable.
        env={**os.environ, "AWS_ENDPOINT_URL": aws},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    template = yaml.safe_load(packaged.read_text())
    built = {"HelloFunction", "ByeFunction", "ScriptFunction"}
    uploaded = 0
    for logical_id, resource in template["Resources"].items():
        key = {"AWS::Serverless::Function": "CodeUri",
               "AWS::Serverless::LayerVersion": "ContentUri"}.get(resource["Type"])  # fmt: skip
        if key is None:
            continue
        uri = resource["Properties"][key]
        assert uri.startswith("s3://artifacts/"), (logical_id, uri)
        body = s3.get_object(Bucket="artifacts", Key=uri.removeprefix("s3://artifacts/"))
        data = body["Body"].read()
        uploaded += 1
        if logical_id in built:  # our zip, uploaded as it is
            local = (out / logical_id / "function.zip").read_bytes()
            assert hashlib.sha256(data).digest() == hashlib.sha256(local).digest()
    # Three functions, the Node.js one (its directory zipped by package), two layers.
    assert uploaded == 6
    check_deployable(packaged, monkeypatch)


def test_a_plain_cloudformation_application_packages_and_lints_clean(
    run: Run,  # noqa: F811
    app: Path,  # noqa: F811
    tmp_path: Path,
    aws: str,  # noqa: F811
    aws_cli: Path,
) -> None:
    plain = app.with_name("plain.yaml")
    plain.write_text(PLAIN)
    out = tmp_path / "out"
    bundle(run, plain, "--strategy", "pinned", "--out", str(out), "--no-verify")
    s3 = boto3.session.Session(region_name=REGION).client("s3", endpoint_url=aws)
    s3.create_bucket(
        Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    packaged = tmp_path / "packaged.yaml"
    done = subprocess.run(
        [str(aws_cli), "cloudformation", "package", "--template-file", str(out / "template.yaml"),
         "--s3-bucket", "artifacts", "--output-template-file", str(packaged)],
        capture_output=True, text=True, check=False, env={**os.environ, "AWS_ENDPOINT_URL": aws},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    template = yaml.safe_load(packaged.read_text())
    code = template["Resources"]["PlainFunction"]["Properties"]["Code"]
    assert set(code) == {"S3Bucket", "S3Key"}
    uploaded = s3.get_object(Bucket="artifacts", Key=code["S3Key"])["Body"].read()
    assert uploaded == (out / "PlainFunction" / "function.zip").read_bytes()
    (layer,) = [v for v in template["Resources"].values()
                if v["Type"] == "AWS::Lambda::LayerVersion"]  # fmt: skip
    assert set(layer["Properties"]["Content"]) == {"S3Bucket", "S3Key"}
    linted = cfn_lint(packaged)  # packaged, nothing local is left: no W3002 either
    assert linted.returncode == 0, linted.stdout + linted.stderr
