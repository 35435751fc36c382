"""A template's function run locally: its bundle, and its configuration resolved as
`sam local` resolves it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bundler.app.local import local_function
from bundler.core.errors import TemplateError

TEMPLATE = """\
Parameters:
  Stage: {Type: String, Default: dev}
  Memory: {Type: Number, Default: 512}
  NoDefault: {Type: String}
Globals:
  Function:
    Timeout: 9
    Environment:
      Variables: {STAGE: !Ref Stage, GLOBAL: "yes"}
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: !Ref Memory
      Environment:
        Variables:
          TABLE: !Ref Table
          URL: !Sub "https://${Table}.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
          ARN: !GetAtt Table.Arn
          SECRET: !Ref NoDefault
          COUNT: 3
  Plain:
    Type: AWS::Serverless::Function
    Properties: {}
"""


def built_app(tmp_path: Path, functions: dict[str, str]) -> Path:
    app = tmp_path / "out"
    app.mkdir()
    (app / "template.yaml").write_text(TEMPLATE)
    (app / "app.json").write_text(json.dumps({
        "functions": {fid: {"bundle": bundle} for fid, bundle in functions.items()},
        "skipped": {"Node": "runtime nodejs24.x"},
    }))  # fmt: skip
    return app / "template.yaml"


def test_the_function_s_configuration_comes_from_the_template(tmp_path: Path) -> None:
    template = built_app(tmp_path, {"Fn": "Fn", "Plain": "Plain"})
    fn = local_function(template, "Fn", {"SECRET": "s3cret"})
    assert fn.bundle_dir == tmp_path / "out" / "Fn"
    assert fn.environment == {
        "STAGE": "dev", "GLOBAL": "yes", "TABLE": "Table",
        "URL": "https://Table.us-east-1.amazonaws.com/dev", "COUNT": "3", "SECRET": "s3cret",
    }  # fmt: skip
    assert (fn.memory_mb, fn.timeout_s) == (512, 9)
    assert len(fn.warnings) == 1
    assert "ARN" in fn.warnings[0]
    assert "cannot be resolved locally" in fn.warnings[0]
    plain = local_function(template, "Plain")
    assert (plain.memory_mb, plain.timeout_s) == (128, 9)  # Lambda's default memory


def test_a_source_template_finds_its_one_built_application(tmp_path: Path) -> None:
    source = tmp_path / "template.yaml"
    source.write_text(TEMPLATE)
    with pytest.raises(TemplateError, match="has not been built: run `lambundle bundle"):
        local_function(source, "Fn")
    for strategy in ("pinned", "vendored"):
        app = tmp_path / ".lambundle" / f"template-{strategy}"
        app.mkdir(parents=True)
        (app / "app.json").write_text(json.dumps({"functions": {"Fn": {"bundle": "Fn"}}}))
        if strategy == "pinned":
            assert local_function(source, "Fn").bundle_dir == app / "Fn"
    with pytest.raises(TemplateError, match="built in several strategies; pass the built"):
        local_function(source, "Fn")


@pytest.mark.parametrize(
    ("logical_id", "expected"),
    [
        ("Node", "Function Node is not one lambundle builds (runtime nodejs24.x); the Python "
                 "functions it built: Fn"),
        ("Nope", "no Python function 'Nope'; it built: Fn"),
    ],
)  # fmt: skip
def test_a_function_that_was_not_built_is_one_clear_error(
    tmp_path: Path, logical_id: str, expected: str
) -> None:
    template = built_app(tmp_path, {"Fn": "Fn"})
    with pytest.raises(TemplateError) as raised:
        local_function(template, logical_id)
    assert expected in str(raised.value)


def test_a_bundle_outside_the_application_is_refused(tmp_path: Path) -> None:
    template = built_app(tmp_path, {"Fn": "../../elsewhere"})
    with pytest.raises(TemplateError, match="must be a directory name"):
        local_function(template, "Fn")


def test_a_memory_size_that_is_not_a_number_is_an_error(tmp_path: Path) -> None:
    template = built_app(tmp_path, {"Fn": "Fn"})
    template.write_text(textwrap.dedent(TEMPLATE).replace("Default: 512", "Default: lots"))
    with pytest.raises(TemplateError, match="Function Fn: MemorySize"):
        local_function(template, "Fn")


def test_ephemeral_storage_comes_from_the_template(tmp_path: Path) -> None:
    template = built_app(tmp_path, {"Fn": "Fn", "Plain": "Plain"})
    text = template.read_text().replace(
        "      MemorySize: !Ref Memory\n",
        "      MemorySize: !Ref Memory\n      EphemeralStorage: {Size: 2048}\n",
    )
    template.write_text(text)
    assert local_function(template, "Fn").ephemeral_storage_mb == 2048
    assert local_function(template, "Plain").ephemeral_storage_mb == 512  # Lambda's default


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("{Size: 100}", "EphemeralStorage.Size 100 is outside what Lambda accepts (512-10240"),
        ("{Size: lots}", "EphemeralStorage.Size \"lots\" is not a number"),
        ("2048", "EphemeralStorage must be a mapping with a Size"),
    ],
)
def test_an_ephemeral_storage_lambda_refuses_is_an_error(
    tmp_path: Path, storage: str, expected: str
) -> None:
    template = built_app(tmp_path, {"Fn": "Fn", "Plain": "Plain"})
    text = template.read_text().replace(
        "    Properties: {}\n", f"    Properties:\n      EphemeralStorage: {storage}\n"
    )
    template.write_text(text)
    with pytest.raises(TemplateError) as raised:
        local_function(template, "Plain")
    assert expected in str(raised.value)
