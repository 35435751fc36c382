"""`lambundle template`: a SAM template that cfn-lint accepts and that matches the manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bundler.aws import publish
from bundler.bundle import manifest as mf
from bundler.cli import cli, main
from tests.functional.aws.publish_bundles import hello, pinned

yaml = pytest.importorskip("yaml")


def cfn_lint(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """cfn-lint (the `test` extra) on `path`, as its console script runs it."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
         str(path), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def write_template(bundle: Path, out: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["template", str(bundle), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    return dict(json.loads(text) if out.suffix == ".json" else yaml.safe_load(text))


def check_matches(template: dict[str, Any], bundle: Path, template_dir: Path) -> None:
    manifest = mf.load(bundle)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    resources = template["Resources"]
    layers = [k for k, v in resources.items() if v["Type"] == "AWS::Serverless::LayerVersion"]
    functions = [v for v in resources.values() if v["Type"] == "AWS::Serverless::Function"]
    assert len(layers) == len(manifest.layers)
    assert len(functions) == 1
    arch = manifest.target.arch
    for logical, artifact in zip(layers, manifest.layers, strict=True):
        props = resources[logical]["Properties"]
        assert (template_dir / props["ContentUri"]).resolve() == (bundle / artifact.file).resolve()
        assert props["CompatibleRuntimes"] == [manifest.target.runtime]
        assert props["CompatibleArchitectures"] == [arch]
        assert props["RetentionPolicy"] == "Retain"
        assert props["LayerName"] == publish.layer_name(
            "lambundle-", artifact.name, manifest.lock_sha256
        )
    fn = functions[0]["Properties"]
    assert (template_dir / fn["CodeUri"]).resolve() == (bundle / "function.zip").resolve()
    assert fn["Handler"] == manifest.handler
    assert fn["Runtime"] == manifest.target.runtime
    assert fn["Architectures"] == [arch]
    assert fn["Layers"] == [{"Ref": logical} for logical in layers]  # the manifest's order
    assert fn["Environment"]["Variables"] == manifest.environment
    assert isinstance(fn["MemorySize"], int)
    assert isinstance(fn["Timeout"], int)


def test_a_pinned_bundle_template_passes_cfn_lint(tmp_path: Path) -> None:
    bundle = pinned(tmp_path, "pinned", arch="arm64")
    out = tmp_path / "deploy" / "template.yaml"
    out.parent.mkdir()
    template = write_template(bundle, out, "--function-name", "my-fn")
    check_matches(template, bundle, out.parent)
    assert template["Resources"]["FunctionMyFn"]["Properties"]["FunctionName"] == "my-fn"
    assert list(template["Resources"])[:2] == ["Layer1Runtime", "Layer2Deps"]
    linted = cfn_lint(out)
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_the_hello_example_template_passes_cfn_lint(tmp_path: Path, suffix: str) -> None:
    bundle = hello(tmp_path, strategy="fat-layer")
    out = tmp_path / f"template{suffix}"
    template = write_template(bundle, out)
    check_matches(template, bundle, tmp_path)
    assert "FunctionName" not in template["Resources"]["Function"]["Properties"]
    linted = cfn_lint(out)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path) -> None:
    bundle = hello(tmp_path)
    out = tmp_path / "template.yaml"
    write_template(bundle, out)
    out.write_text(out.read_text().replace("MemorySize: 256", 'MemorySize: "lots"'))
    assert cfn_lint(out).returncode != 0


def test_without_output_the_yaml_goes_to_stdout_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = hello(tmp_path, strategy="pinned")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["template", str(bundle)])
    assert result.exit_code == 0, result.output
    check_matches(yaml.safe_load(result.output), bundle, tmp_path)
    assert 'CodeUri: "hello/function.zip"' in result.output


def test_a_missing_bundle_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["template", str(tmp_path / "nope")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "is not a bundle directory" in err
    assert "Traceback" not in err


def test_a_zip_swapped_under_the_manifest_gets_no_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A template points SAM at the zips to upload: they must be the ones bundle.json
    # describes, as for invoke, inspect and publish.
    bundle = hello(tmp_path, strategy="vendored")
    (bundle / "function.zip").write_bytes((bundle / "layer-1-runtime.zip").read_bytes())
    out = tmp_path / "template.yaml"
    with pytest.raises(SystemExit) as exited:
        main(["template", str(bundle), "-o", str(out)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "function.zip is" in err and "not the zip this bundle was built with" in err
    assert "rebuild the bundle" in err and "Traceback" not in err
    assert not out.exists()
