"""Which functions of a template lambundle builds, with which settings, and the errors for
the ones it cannot build: each names the function's logical id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bundler.app.application import read_application
from bundler.core.errors import TemplateError


def app_dir(tmp_path: Path, template: str) -> Path:
    for name in ("a", "b", "node"):
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "script.py").write_text("def handler(event, context):\n    return 1\n")
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


def test_globals_apply_as_sam_applies_them(tmp_path: Path) -> None:
    path = app_dir(tmp_path, """\
        Parameters:
          Mem: {Type: Number, Default: 1024}
        Globals:
          Function:
            Runtime: python3.12
            Handler: app.handler
            Timeout: 10
            MemorySize: !Ref Mem
            Layers: [arn:aws:lambda:us-east-1:123456789012:layer:g:1]
            Environment: {Variables: {A: global, B: global}}
        Resources:
          First:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: a
              Timeout: 20
              Architectures: [arm64]
              Layers: [!Ref Own]
              Environment: {Variables: {B: own, C: !Ref Mem}}
          Second:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: script.py, Handler: script.handler, Runtime: python3.13}
          Own: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: b}}
        """)  # fmt: skip
    app = read_application(path, "pinned")
    first, second = app.functions
    assert first.logical_id == "First"
    assert first.source == tmp_path / "a"
    assert (first.target.python, first.target.arch, first.target.runtime) == (
        "3.12", "arm64", "python3.12",
    )  # fmt: skip
    assert first.timeout == 20
    assert first.memory == {"Ref": "Mem"}
    assert first.environment == {"A": "global", "B": "own", "C": {"Ref": "Mem"}}
    assert first.layers == ("arn:aws:lambda:us-east-1:123456789012:layer:g:1", {"Ref": "Own"})
    assert first.strategy == "pinned"
    assert second.source == tmp_path / "script.py"
    assert (second.handler, second.target.python, second.target.arch) == (
        "script.handler", "3.13", "x86_64",
    )  # fmt: skip
    assert app.skipped == ()


def test_other_functions_are_left_alone_and_say_why(tmp_path: Path) -> None:
    path = app_dir(tmp_path, """\
        Globals: {Function: {Handler: app.handler}}
        Resources:
          Node: {Type: AWS::Serverless::Function, Properties: {CodeUri: node, Runtime: nodejs24.x}}
          Image:
            Type: AWS::Serverless::Function
            Properties: {PackageType: Image}
            Metadata: {DockerContext: ./img, Dockerfile: Dockerfile}
          InS3:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: s3://bucket/key.zip, Runtime: python3.12}
          Zipped:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: built.zip, Runtime: python3.12}
          Inline:
            Type: AWS::Serverless::Function
            Properties: {InlineCode: "def handler(e, c): pass", Runtime: python3.12}
          Make:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: a, Runtime: python3.12}
            Metadata: {BuildMethod: makefile}
          Skip:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: a, Runtime: python3.12}
            Metadata: {lambundle: {skip: true}}
          Plain: {Type: AWS::Lambda::Function, Properties: {Code: node, Runtime: nodejs24.x}}
          PlainS3:
            Type: AWS::Lambda::Function
            Properties: {Code: {S3Bucket: b, S3Key: k}, Runtime: python3.12, Handler: a.h}
          PlainInline:
            Type: AWS::Lambda::Function
            Properties: {Code: {ZipFile: "def h(e, c): pass"}, Runtime: python3.12}
          Bucket: {Type: AWS::S3::Bucket}
        """)  # fmt: skip
    app = read_application(path, "vendored")
    assert app.functions == ()
    assert {s.logical_id: s.reason for s in app.skipped} == {
        "Node": "runtime nodejs24.x",
        "Image": "PackageType Image (a container image: built by `sam build`)",
        "InS3": "CodeUri in S3 (already built)",
        "Zipped": "CodeUri is a zip (already built)",
        "Inline": "InlineCode",
        "Make": "Metadata BuildMethod makefile (built by SAM)",
        "Skip": "Metadata lambundle.skip",
        "Plain": "runtime nodejs24.x",
        "PlainS3": "Code in S3 (already built)",
        "PlainInline": "Code.ZipFile (inline)",
    }


def test_metadata_chooses_a_function_s_strategy_and_build_options(tmp_path: Path) -> None:
    path = app_dir(tmp_path, """\
        Resources:
          A:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: a, Handler: app.handler, Runtime: python3.12}
            Metadata:
              BuildMethod: python3.12
              lambundle: {strategy: fat-layer, slim: true, bytecode: false}
        """)  # fmt: skip
    (fn,) = read_application(path, "pinned").functions
    assert (fn.strategy, fn.slim, fn.bytecode) == ("fat-layer", True, False)


FUNCTION = "Type: AWS::Serverless::Function"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("Properties: {CodeUri: a, Handler: app.handler, Runtime: python3.9}",
         "Function Broken: Runtime python3.9 is not one lambundle builds for; use one of "
         "python3.10"),
        ("Properties: {PackageType: Image, Runtime: python3.12, ImageUri: x}",
         "Function Broken is PackageType: Image"),
        ("Properties: {Handler: app.handler, Runtime: python3.12}",
         "Function Broken has no CodeUri"),
        ("Properties: {CodeUri: missing/, Handler: app.handler, Runtime: python3.12}",
         "Function Broken: CodeUri missing/ does not exist"),
        ("Properties: {CodeUri: template.yaml, Handler: app.handler, Runtime: python3.12}",
         "Function Broken: CodeUri template.yaml is a file but not a .py script"),
        ("Properties: {CodeUri: a, Runtime: python3.12}", "Function Broken has no Handler"),
        ("Properties: {CodeUri: a, Handler: app.handler, Runtime: python3.12, "
         "Architectures: [x86_64, arm64]}", "Function Broken: Architectures must be one of"),
        ("Properties: {CodeUri: a, Handler: app.handler, Runtime: python3.12}\n"
         "    Metadata: {lambundle: {strategy: zipped}}",
         "Function Broken: Metadata lambundle.strategy 'zipped' is not one of"),
        ("Properties: {CodeUri: a, Handler: app.handler, Runtime: python3.12}\n"
         "    Metadata: {lambundle: {strateg: pinned}}",
         "Function Broken: Metadata lambundle.strateg is not a setting"),
        ("Properties: {CodeUri: a, Handler: app.handler, Runtime: python3.12, "
         "Environment: {Variables: !If [C, {A: b}, {A: c}]}}",
         "Function Broken: Environment.Variables must be a mapping"),
    ],
)  # fmt: skip
def test_a_function_lambundle_cannot_build_is_an_error_naming_it(
    tmp_path: Path, resource: str, expected: str
) -> None:
    path = app_dir(tmp_path, f"Resources:\n  Broken:\n    {FUNCTION}\n    {resource}\n")
    with pytest.raises(TemplateError) as raised:
        read_application(path, "pinned")
    assert expected in str(raised.value)


def test_a_plain_cloudformation_function_is_built_from_its_code_without_globals(
    tmp_path: Path,
) -> None:
    path = app_dir(tmp_path, """\
        Globals: {Function: {Timeout: 99}}
        Resources:
          Plain:
            Type: AWS::Lambda::Function
            Properties:
              Code: a/
              Handler: app.handler
              Runtime: python3.13
              Role: arn:aws:iam::123456789012:role/r
              Architectures: [arm64]
              Environment: {Variables: {A: b}}
        """)  # fmt: skip
    (fn,) = read_application(path, "vendored").functions
    assert (fn.kind, fn.code_key, fn.source) == ("AWS::Lambda::Function", "Code", tmp_path / "a")
    assert (fn.target.python, fn.target.arch, fn.timeout) == ("3.13", "arm64", None)
    assert fn.environment == {"A": "b"}


def test_a_plain_cloudformation_function_without_code_names_its_property(tmp_path: Path) -> None:
    path = app_dir(tmp_path, """\
        Resources:
          Plain: {Type: AWS::Lambda::Function, Properties: {Handler: a.h, Runtime: python3.12}}
        """)  # fmt: skip
    with pytest.raises(TemplateError, match="Function Plain has no Code; set it to the"):
        read_application(path, "vendored")
