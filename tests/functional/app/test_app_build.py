"""`lambundle bundle template.yaml`: an application of functions without third-party
dependencies, built through the CLI, checked as a deployable template and run by logical
id in the sandbox; and the errors, each naming the function, with nothing half-written."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from bundler.app.document import parse
from bundler.cli import main
from bundler.core import interpreters
from tests.functional.app.checks import check_deployable

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(interpreters.find("3.12") is None, reason="no Python 3.12 to run bundles"),
]

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 5
    Environment:
      Variables: {GREETING: !Ref Greeting}
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      MemorySize: 256
      EphemeralStorage: {Size: 1024}
  ByeFunction:
    Type: AWS::Serverless::Function
    Metadata:
      lambundle: {strategy: fat-layer}
    Properties:
      CodeUri: bye/
      Handler: app.handler
      Environment:
        Variables: {WORD: !Sub "${Greeting}-bye"}
  ScriptFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: tool.py
      Handler: tool.handler
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: node/, Handler: index.handler, Runtime: nodejs24.x}
Outputs:
  HelloArn:
    Value: !GetAtt HelloFunction.Arn
"""

HANDLER = """\
import os


def handler(event, context):
    tmp = os.statvfs("/tmp")
    return {
        "name": context.function_name, "memory": context.memory_limit_in_mb,
        "tmp_mb": tmp.f_blocks * tmp.f_frsize // 2**20,
        "greeting": os.environ.get("GREETING"), "word": os.environ.get("WORD"),
        "event": event,
    }
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "app"
    for name in ("hello", "bye"):
        (src / name).mkdir(parents=True)
        (src / name / "app.py").write_text(HANDLER)
    (src / "tool.py").write_text("# /// script\n# dependencies = []\n# ///\n" + HANDLER)
    (src / "node").mkdir()
    (src / "node" / "index.mjs").write_text("export const handler = async () => 1;\n")
    (src / "template.yaml").write_text(TEMPLATE)
    return src / "template.yaml"


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """`lambundle ARGV` as the console script runs it: exit code, stdout, stderr."""

    def run_cli(*argv: str) -> tuple[int, str, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_cli


def bundle(run: Run, template: Path, *args: str, code: int = 0) -> str:
    found, out, err = run("bundle", str(template), *args)
    assert found == code, out + err
    return out + err


def invoke(
    run: Run, template: Path, logical_id: str, *args: str
) -> dict:  # type: ignore[type-arg]
    code, out, err = run("invoke", str(template), logical_id, *args)
    assert code == 0, out + err
    return dict(json.loads(out))


def test_every_python_function_is_built_and_runs_by_logical_id(
    run: Run, app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shown = bundle(run, app, "--strategy", "pinned", "--out", str(out))
    assert "left alone: NodeFunction (runtime nodejs24.x)" in shown
    manifest = json.loads((out / "app.json").read_text())
    functions = manifest["functions"]
    assert list(functions) == ["HelloFunction", "ByeFunction", "ScriptFunction"]
    assert functions["ByeFunction"]["strategy"] == "fat-layer"  # its Metadata's
    assert functions["HelloFunction"]["strategy"] == "pinned"
    assert all(fn["verified"] for fn in functions.values())
    # No dependencies: the two pinned functions share one runtime layer, the fat one has its own.
    runtime = functions["HelloFunction"]["layers"]
    assert runtime == functions["ScriptFunction"]["layers"]
    assert len(runtime) == 1
    assert functions["ByeFunction"]["layers"] != runtime
    assert manifest["bytes"]["saved"] == (out / runtime[0]).stat().st_size
    assert manifest["skipped"] == {"NodeFunction": "runtime nodejs24.x"}
    for logical_id in functions:  # each bundle directory is a complete bundle
        bundle_json = json.loads((out / logical_id / "bundle.json").read_text())
        for layer in bundle_json["layers"]:
            assert (out / logical_id / layer["file"]).is_file()

    translated = check_deployable(out / "template.yaml", monkeypatch)["Resources"]
    hello = translated["HelloFunction"]["Properties"]
    assert hello["Environment"]["Variables"] == {
        "GREETING": {"Ref": "Greeting"},
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper",
    }
    assert hello["MemorySize"] == 256
    assert len(hello["Layers"]) == 1
    assert translated["NodeFunction"]["Properties"]["Runtime"] == "nodejs24.x"

    # Invoked by logical id, through the built template and through the source one.
    hello_run = invoke(run, out / "template.yaml", "HelloFunction")
    assert hello_run == {
        "name": "HelloFunction", "memory": "256", "tmp_mb": 1024, "greeting": "hello",
        "word": None, "event": {},
    }  # fmt: skip
    bye_run = invoke(run, out / "template.yaml", "ByeFunction", "--env", "GREETING=hi")
    assert (bye_run["greeting"], bye_run["word"], bye_run["memory"]) == ("hi", "hello-bye", "128")
    assert bye_run["tmp_mb"] == 512  # Lambda's default ephemeral storage
    given = invoke(run, out / "template.yaml", "HelloFunction", "--ephemeral-storage", "2048")
    assert given["tmp_mb"] == 2048  # the command line's wins
    shutil.move(out, app.parent / ".lambundle" / "template-pinned")
    assert invoke(run, app, "ScriptFunction")["name"] == "ScriptFunction"


def test_a_failing_function_leaves_the_previous_application_as_it_was(
    run: Run, app: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    bundle(run, app, "--strategy", "vendored", "--out", str(out), "--no-verify")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (app.parent / "bye" / "helpers.py").write_text("import nothing_of_that_name\n")
    (app.parent / "bye" / "app.py").write_text("import helpers\n" + HANDLER)
    shown = bundle(run, app, "--strategy", "vendored", "--out", str(out), code=1)
    assert "Function ByeFunction: --verify: the handler failed to initialise" in shown
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app", "cache", "out"]


@pytest.mark.parametrize(
    ("change", "code", "expected"),
    [
        (("Handler: app.handler\n      MemorySize", "Handler: app.missing\n      MemorySize"), 2,
         "Function HelloFunction: Handler 'app.missing': app.py defines no top-level 'missing'"),
        (("CodeUri: bye/", "CodeUri: gone/"), 2, "Function ByeFunction: CodeUri gone/ does not"),
        (("Runtime: python3.12", "Runtime: python3.8"), 2,
         "Function HelloFunction: Runtime python3.8 is not one lambundle builds for"),
        (("Transform:", "Transform: [unclosed"), 2, "is not a valid YAML template"),
        (("CodeUri: tool.py", "CodeUri: tool.py\n      Layers: [a, b, c, d, e]"), 3,
         "Function ScriptFunction would have 6 layers, 1 of its vendored bundle and 5 of the "
         "template's own; Lambda allows 5"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_naming_the_function_and_nothing_is_written(
    run: Run, app: Path, tmp_path: Path, change: tuple[str, str], code: int, expected: str
) -> None:
    app.write_text(app.read_text().replace(*change))
    out = tmp_path / "out"
    shown = bundle(
        run, app, "--strategy", "vendored", "--out", str(out), "--no-verify", code=code
    )
    assert expected in shown
    assert "Traceback" not in shown
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("cache")) == ["app"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--python", "3.11"], "--python: a template's functions take Handler, Runtime and "
                               "Architectures from the template"),
        (["--handler", "app.h", "--arch", "arm64"], "--handler, --arch: a template's functions"),
    ],
)  # fmt: skip
def test_one_function_options_are_refused_for_a_template(
    run: Run, app: Path, args: list[str], expected: str
) -> None:
    shown = bundle(run, app, "--strategy", "pinned", *args, code=2)
    assert expected in shown


def test_jobs_is_refused_for_one_function(run: Run, app: Path) -> None:
    shown = bundle(run, app.parent / "hello", "--strategy", "pinned", "--jobs", "2", code=2)
    assert "--jobs: only for a SAM template" in shown


def test_an_output_inside_a_function_s_source_is_refused(run: Run, app: Path) -> None:
    inside = app.parent / "hello" / "out"
    shown = bundle(run, app, "--strategy", "pinned", "--out", str(inside), code=2)
    assert "is inside the source of HelloFunction" in shown


def test_serve_runs_a_template_s_function_by_logical_id(
    run: Run, app: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    bundle(run, app, "--strategy", "vendored", "--out", str(out), "--no-verify")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bundler.cli import main; main(sys.argv[1:])",
         "serve", str(out / "template.yaml"), "HelloFunction", "--port", "0"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert f"serving {out / 'HelloFunction'} on " in banner
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        request = urllib.request.Request(url, data=b'{"n": 1}', method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert answer == {
            "name": "HelloFunction", "memory": "256", "tmp_mb": 1024, "greeting": "hello",
            "word": None, "event": {"n": 1},
        }  # fmt: skip
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_json_template_gives_a_json_template_and_json_output(
    run: Run, app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, _ = parse(app.read_text(), "template.yaml")
    as_json = app.with_suffix(".json")
    as_json.write_text(json.dumps(template))
    out = tmp_path / "out"
    code, shown, err = run(
        "bundle", str(as_json), "--strategy", "fat-layer", "--out", str(out), "--no-verify",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(shown)
    assert result["template"] == "template.json"
    assert set(result["functions"]) == {"HelloFunction", "ByeFunction", "ScriptFunction"}
    # No function has dependencies: their fat layers are the same bytes, kept once.
    (layer,) = result["layers"]
    assert layer["used_by"] == ["HelloFunction", "ByeFunction", "ScriptFunction"]
    assert result["bytes"]["saved"] == 2 * layer["size"]
    written = json.loads((out / "template.json").read_text())
    assert written["Resources"]["HelloFunction"]["Properties"]["CodeUri"] == (
        "HelloFunction/function.zip"
    )
    check_deployable(out / "template.json", monkeypatch)


PLAIN = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  PlainFunction:
    Type: AWS::Lambda::Function
    Properties:
      Code: hello/
      Handler: app.handler
      Runtime: python3.12
      MemorySize: 384
      Role: !GetAtt Role.Arn
      Environment:
        Variables: {GREETING: !Ref Stage}
"""


def test_a_plain_cloudformation_template_is_built_with_lambda_layer_versions(
    run: Run, app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = app.with_name("plain.yaml")
    plain.write_text(PLAIN)
    out = tmp_path / "out"
    bundle(run, plain, "--strategy", "pinned", "--out", str(out))
    template = check_deployable(out / "template.yaml", monkeypatch)
    props = template["Resources"]["PlainFunction"]["Properties"]
    assert props["Code"] == "PlainFunction/function.zip"
    (layer_id,) = [k for k, v in template["Resources"].items()
                   if v["Type"] == "AWS::Lambda::LayerVersion"]  # fmt: skip
    layer = template["Resources"][layer_id]
    assert props["Layers"] == [{"Ref": layer_id}]
    assert layer["DeletionPolicy"] == "Retain"
    assert (out / layer["Properties"]["Content"]).is_file()
    answer = invoke(run, out / "template.yaml", "PlainFunction")
    assert (answer["name"], answer["memory"], answer["greeting"]) == (
        "PlainFunction", "384", "dev",
    )  # fmt: skip


def test_two_builds_of_one_application_take_turns(app: Path, tmp_path: Path) -> None:
    from bundler.app.builder import AppOptions, build_application
    from bundler.build.executor import lock_path
    from bundler.core import filelock

    out = tmp_path / "out"
    waiting = threading.Event()
    results: list[object] = []

    def report(message: str) -> None:
        if message.startswith("waiting for another lambundle to finish writing"):
            waiting.set()

    def build() -> None:
        options = AppOptions(app, "vendored", out=out, verify=False)
        try:
            results.append(build_application(options, report=report))
        except BaseException as exc:  # handed to the test's thread
            results.append(exc)

    with filelock.exclusive(lock_path(out)):  # another build holds the output
        thread = threading.Thread(target=build)
        thread.start()
        assert waiting.wait(timeout=60)
        assert not out.exists()
    thread.join(timeout=120)
    assert not isinstance(results[0], BaseException), results[0]
    assert (out / "app.json").is_file()
    assert not lock_path(out).exists()
