"""What a deployable template must pass: cfn-lint, every local path it names existing
where `sam deploy` / `aws cloudformation package` look (beside the template), and SAM's
own translator (aws-sam-translator, what CloudFormation runs for the SAM transform) once
those paths are replaced by the S3 locations `package` would upload them to."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.functional.aws.test_template import cfn_lint

PACKAGED = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Lambda::Function": "Code",
    "AWS::Lambda::LayerVersion": "Content",
}


def check_deployable(template_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The template's resources after SAM's transform (a plain CloudFormation template as
    it is); fails the test on any problem."""
    from samtranslator.translator.transform import transform

    template = yaml.safe_load(template_path.read_text())
    sam = template.get("Transform") == "AWS::Serverless-2016-10-31"
    # W3002: a local path in plain CloudFormation needs `aws cloudformation package`, which
    # is how such a template is deployed (tests/integration/app packages one).
    ignore = [] if sam else ["--ignore-checks", "W3002"]
    linted = cfn_lint(template_path, *ignore)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        key = PACKAGED.get(resource["Type"])
        value = (resource.get("Properties") or {}).get(key)
        if isinstance(value, str) and "://" not in value:
            assert (template_path.parent / value).exists(), f"{key} {value} does not exist"
            resource["Properties"][key] = f"s3://bucket/{Path(value).name}"

    if not sam:
        return dict(template)

    class Policies:
        def load(self) -> dict[str, str]:
            return {}

    # The translator asks boto3 for a region (its pseudo parameters); no call is made.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    translated: dict[str, Any] = transform(packaged, {}, Policies())
    return translated
