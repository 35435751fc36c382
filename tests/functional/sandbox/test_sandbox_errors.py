"""Bad input to the sandbox: each is one clear error naming the problem and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundler.core.errors import BundleError, SandboxError, UsageError
from bundler.core.target import host_arch
from bundler.sandbox import Sandbox, bubblewrap
from tests.runtime.bundles import make_bundle, needs_python

APP = {"app.py": "def handler(event, context):\n    return 'ok'\n"}


def open_sandbox(bundle: Path, **kwargs: object) -> None:
    with Sandbox(bundle, **kwargs):  # type: ignore[arg-type]
        pass


def test_missing_bundle_dir(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="is not a bundle directory.*lambundle bundle"):
        open_sandbox(tmp_path / "nope")


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"has no bundle\.json"):
        open_sandbox(tmp_path)


def test_malformed_manifest(tmp_path: Path) -> None:
    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="is not valid JSON"):
        open_sandbox(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"schema": 1}))
    with pytest.raises(BundleError, match="is malformed"):
        open_sandbox(tmp_path)


def test_missing_artifact(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False)
    (bundle / "function.zip").unlink()
    with pytest.raises(BundleError, match=r"missing function\.zip.*rebuild"):
        open_sandbox(bundle)


@needs_python("3.12")
def test_corrupt_artifact(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False)
    (bundle / "function.zip").write_bytes(b"not a zip")
    # Refused against bundle.json before anything is extracted.
    with pytest.raises(BundleError, match=r"function\.zip is 9 bytes, but bundle\.json.*rebuild"):
        open_sandbox(bundle, isolate=False)


def test_other_architecture(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False)
    raw = json.loads((bundle / "bundle.json").read_text())
    other = "x86_64" if host_arch() == "arm64" else "arm64"
    raw["target"]["arch"] = other
    (bundle / "bundle.json").write_text(json.dumps(raw))
    with pytest.raises(SandboxError, match=f"targets {other}.*--arch"):
        open_sandbox(bundle)


def test_no_interpreter_names_the_version_and_the_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYENV_ROOT", str(empty))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(empty))
    with pytest.raises(SandboxError) as info:
        open_sandbox(bundle, isolate=False)
    message = str(info.value)
    assert "No Python 3.12 interpreter" in message
    for fix in ("pyenv install 3.12", "uv python install 3.12", "--interpreter"):
        assert fix in message


def test_interpreter_that_is_not_python(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False)
    with pytest.raises(UsageError, match="not a working Python"):
        open_sandbox(bundle, interpreter=tmp_path / "no-python", isolate=False)


@needs_python("3.12")
def test_without_bwrap_runs_unsandboxed_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bundler.core import interpreters

    interp = interpreters.find("3.12")
    assert interp is not None
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no bwrap on PATH
    monkeypatch.setattr(bubblewrap, "_bwrap_checked", {})
    with Sandbox(bundle, interpreter=interp.path) as sb:
        assert not sb.isolated
        assert any("bubblewrap (bwrap) is not installed" in w for w in sb.warnings)
        assert sb.invoke(b"{}").payload == b'"ok"'
    with pytest.raises(SandboxError, match="Cannot isolate"):
        open_sandbox(bundle, interpreter=interp.path, isolate=True)


@needs_python("3.12")
def test_bootstrap_that_cannot_execute_is_invalid_entrypoint(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path, {"bootstrap": "#!/nonexistent/interpreter\n"}, "h.h",
        runtime="provided.al2023", lambundle=False,
    )
    with Sandbox(bundle, isolate=False) as sb:
        result = sb.invoke(b"{}")
        bootstrap = sb.work_dir / "task/bootstrap"
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: fork/exec "
        f"{bootstrap}: no such file or directory",
        "errorType": "Runtime.InvalidEntrypoint",
    }


@needs_python("3.12")
def test_configuration_lambda_would_refuse_is_warned_about(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path, APP, "app.handler", lambundle=False, env={"AWS_REGION": "eu-west-1"}
    )
    with Sandbox(bundle, isolate=False, env={"BIG": "x" * 5000, "_HANDLER": "x.y"}) as sb:
        assert any(
            w.startswith("AWS_REGION, _HANDLER: reserved by Lambda") for w in sb.warnings
        )
        assert any("Lambda allows 4096" in w for w in sb.warnings)


@needs_python("3.12")
def test_a_bundle_over_lambdas_layer_count_is_warned_about_and_runs(tmp_path: Path) -> None:
    # A hand-made or edited bundle.json: the build refuses six layers, Lambda's API too.
    layers = [{f"python/l{n}.py": "X = 1\n"} for n in range(6)]
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=False, layers=layers)
    with Sandbox(bundle, isolate=False) as sb:
        assert any(w.startswith("layers: 6 exceeds Lambda's limit of 5") for w in sb.warnings)
        assert sb.invoke(b"{}").error is None
