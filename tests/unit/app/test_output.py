"""The deployable template: built functions pointed at their zips and shared layers, the
rest kept, local paths made relative to the application directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bundler.app.application import read_application
from bundler.app.output import output_template
from bundler.app.sharing import SharedLayer
from bundler.bundle.manifest import Artifact, Manifest
from bundler.core.errors import TemplateError
from bundler.core.target import Target

WRAPPER = {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper"}


def manifest(layers: list[tuple[str, str]], python: str = "3.12") -> Manifest:
    return Manifest(
        strategy="pinned",
        target=Target(python),
        handler="app.handler",
        function=Artifact("function", "function.zip", "f" * 64, 10, 20),
        layers=tuple(
            Artifact(name, f"layer-{i}-{name}.zip", sha, 100, 200)
            for i, (name, sha) in enumerate(layers, start=1)
        ),
        environment=dict(WRAPPER),
        lock_sha256="1" * 64,
    )


def layer(
    name: str, sha: str, used_by: tuple[str, ...], runtime: str = "python3.12"
) -> SharedLayer:
    return SharedLayer(
        file=f"layers/{name}-{sha[:12]}.zip", name=name, strategy="pinned", sha256=sha,
        size=100, unzipped_size=200, lock_sha256="1" * 64 if name == "deps" else None,
        runtimes=(runtime,), architectures=("x86_64",), used_by=used_by,
    )  # fmt: skip


TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    Environment: {Variables: {STAGE: !Ref Stage}}
  Api: {DefinitionUri: api.yaml}
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  One:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: a, Layers: [arn:aws:lambda:us-east-1:123456789012:layer:own:3]}
  Two:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: b, Runtime: python3.13}
  Node:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: node/, Runtime: nodejs24.x, Handler: index.handler}
  NodeHere:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs24.x, Handler: index.handler}
  InS3:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: s3://bucket/code.zip, Runtime: nodejs24.x, Handler: index.handler}
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: shared/}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties: {DefinitionUri: sfn/definition.json}
  Glue:
    Type: AWS::Glue::Job
    Properties: {Command: {Name: glueetl, ScriptLocation: jobs/etl.py}, Role: r}
  Included:
    Type: AWS::SNS::Topic
    Properties:
      Fn::Transform: {Name: AWS::Include, Parameters: {Location: snippets/topic.yaml}}
Outputs:
  Arn: {Value: !GetAtt One.Arn}
"""


@pytest.fixture
def built(tmp_path: Path) -> tuple[dict, Path]:  # type: ignore[type-arg]
    src = tmp_path / "src"
    for name in ("a", "b"):
        (src / name).mkdir(parents=True)
        (src / name / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "template.yaml").write_text(TEMPLATE)
    app = read_application(src / "template.yaml", "pinned")
    out = tmp_path / "out" / "app"
    one = manifest([("runtime", "r" * 64), ("deps", "d" * 64)])
    two = manifest([("runtime", "s" * 64), ("deps", "d" * 64)], python="3.13")
    layers = [
        layer("runtime", "r" * 64, ("One",)),
        layer("deps", "d" * 64, ("One", "Two")),
        layer("runtime", "s" * 64, ("Two",), runtime="python3.13"),
    ]
    template = output_template(
        app, {"One": ("One/function.zip", one), "Two": ("Two/function.zip", two)}, layers, out
    )
    return template, out


def test_built_functions_point_at_their_zip_and_shared_layers_in_the_manifest_order(
    built: tuple[dict, Path],  # type: ignore[type-arg]
) -> None:
    template, _ = built
    resources = template["Resources"]
    one = resources["One"]["Properties"]
    assert one["CodeUri"] == "One/function.zip"
    runtime_312 = "LambundleRuntimeLayerrrrrrrrr"
    runtime_313 = "LambundleRuntimeLayerssssssss"
    deps = "LambundleDepsLayerdddddddd"
    # lambundle's layers first (the manifest's order), then the function's own.
    assert one["Layers"] == [
        {"Ref": runtime_312}, {"Ref": deps}, "arn:aws:lambda:us-east-1:123456789012:layer:own:3",
    ]  # fmt: skip
    assert one["Environment"] == {"Variables": WRAPPER}  # Globals' STAGE still applies
    two = resources["Two"]["Properties"]
    assert two["Layers"] == [{"Ref": runtime_313}, {"Ref": deps}]
    # One LayerVersion per distinct zip; one name per lock, the digest where names repeat.
    props = {k: resources[k]["Properties"] for k in (runtime_312, deps, runtime_313)}
    assert props[deps]["ContentUri"] == "layers/deps-dddddddddddd.zip"
    assert props[deps]["LayerName"] == "lambundle-deps-111111111111"
    assert props[runtime_312]["LayerName"] == "lambundle-runtime-" + "r" * 12
    assert props[runtime_313]["LayerName"] == "lambundle-runtime-" + "s" * 12
    assert props[runtime_313]["CompatibleRuntimes"] == ["python3.13"]
    assert all(resources[k]["Type"] == "AWS::Serverless::LayerVersion" for k in props)


def test_everything_else_is_kept_with_local_paths_relative_to_the_output(
    built: tuple[dict, Path],  # type: ignore[type-arg]
) -> None:
    template, out = built
    resources = template["Resources"]
    up = "../../src"
    assert template["Globals"]["Api"]["DefinitionUri"] == f"{up}/api.yaml"
    stage = {"Variables": {"STAGE": {"Ref": "Stage"}}}
    assert template["Globals"]["Function"]["Environment"] == stage
    assert resources["Node"]["Properties"]["CodeUri"] == f"{up}/node"
    # No CodeUri: `package` would upload the template's directory, which is named now.
    assert resources["NodeHere"]["Properties"]["CodeUri"] == up
    assert resources["InS3"]["Properties"]["CodeUri"] == "s3://bucket/code.zip"
    assert resources["Shared"]["Properties"]["ContentUri"] == f"{up}/shared"
    assert resources["Machine"]["Properties"]["DefinitionUri"] == f"{up}/sfn/definition.json"
    assert resources["Glue"]["Properties"]["Command"]["ScriptLocation"] == f"{up}/jobs/etl.py"
    include = resources["Included"]["Properties"]["Fn::Transform"]["Parameters"]
    assert include["Location"] == f"{up}/snippets/topic.yaml"
    assert template["Outputs"] == {"Arn": {"Value": {"Fn::GetAtt": ["One", "Arn"]}}}
    assert template["Parameters"] == {"Stage": {"Type": "String", "Default": "dev"}}
    assert (out / up / "a").resolve() == (out.parent.parent / "src" / "a").resolve()


def test_a_function_that_sets_the_exec_wrapper_itself_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(textwrap.dedent("""\
        Resources:
          Mine:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: a
              Handler: app.handler
              Runtime: python3.12
              Environment: {Variables: {AWS_LAMBDA_EXEC_WRAPPER: /opt/other}}
        """))  # fmt: skip
    app = read_application(tmp_path / "template.yaml", "vendored")
    with pytest.raises(TemplateError, match="Function Mine sets AWS_LAMBDA_EXEC_WRAPPER"):
        output_template(
            app, {"Mine": ("Mine/function.zip", manifest([("runtime", "r" * 64)]))},
            [layer("runtime", "r" * 64, ("Mine",))], tmp_path / "out",
        )  # fmt: skip
