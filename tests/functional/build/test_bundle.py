"""`lambundle bundle` end to end on the examples without third-party dependencies."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.build import bytecode
from bundler.cli import cli, main
from bundler.core import interpreters

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LOCAL_EXAMPLES = ["hello", "script-empty", "script-hello", "script-echo"]
STRATEGIES = ["fat-layer", "vendored", "pinned"]
HAS_312 = interpreters.find("3.12") is not None


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(cache))
    return cache


def run_bundle(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["bundle", *args, "--no-verify", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    # stdout ends with the JSON document; progress went to stderr.
    return json.loads(result.stdout)


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(EXAMPLES / name, dest / name)
    return dest / name


def members(path: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i for i in zf.infolist()}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("example", LOCAL_EXAMPLES)
def test_every_local_example_in_every_strategy(tmp_path: Path, example: str, strategy: str) -> None:
    src = copy_example(example, tmp_path)
    out = tmp_path / "out"
    doc = run_bundle(str(src), "--strategy", strategy, "--out", str(out))
    manifest = json.loads((out / "bundle.json").read_text())
    assert doc["manifest"] == manifest
    assert manifest["strategy"] == strategy
    assert manifest["handler"] == ("app.handler" if example == "hello" else "script.py")
    assert manifest["environment"] == {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper"}
    files = [manifest["function"]["file"], *(layer["file"] for layer in manifest["layers"])]
    assert sorted(files) == sorted(p.name for p in out.iterdir() if p.suffix == ".zip")

    code = "app" if example == "hello" else "script"
    function = members(out / "function.zip")
    assert f"{code}.py" in function
    if HAS_312:
        assert f"__pycache__/{code}.cpython-312.pyc" in function
        assert manifest["bytecode"]["mode"] == "unchecked-hash"
    layer = members(out / manifest["layers"][0]["file"])
    assert stat.S_IMODE(layer["bootstrap"].external_attr >> 16) == 0o755
    assert stat.S_IMODE(layer["lambundle/exec-wrapper"].external_attr >> 16) == 0o755
    assert "lambundle/start.py" in layer
    assert not any(name.startswith(".lambundle/") for name in function)  # no deps here
    for name, info in [*function.items(), *layer.items()]:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), name


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_builds_are_byte_identical_from_different_places(
    tmp_path: Path, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outs = []
    for place in ("one", "two"):
        monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / place / "cache"))
        src = copy_example("hello", tmp_path / place)
        outs.append(tmp_path / place / "out")
        run_bundle(str(src), "--strategy", strategy, "--out", str(outs[-1]))
    zips = sorted(p.name for p in outs[0].glob("*.zip"))
    assert zips == sorted(p.name for p in outs[1].glob("*.zip"))
    for name in zips:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "bundle.json").read_bytes() == (outs[1] / "bundle.json").read_bytes()


@pytest.mark.skipif(not HAS_312, reason="no Python 3.12 to compile with")
def test_an_unchanged_rebuild_compiles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = copy_example("hello", tmp_path)
    first = run_bundle(str(src), "--strategy", "vendored")

    def refuse(*args: object) -> list[str]:
        raise AssertionError("an unchanged rebuild must come from the cache")

    monkeypatch.setattr(bytecode, "compile_entries", refuse)
    second = run_bundle(str(src), "--strategy", "vendored")
    assert first["manifest"] == second["manifest"]
    assert Path(second["out"]) == src / ".lambundle" / "vendored"
    # An edit is a new input: it must be compiled (and so hits the refusing compiler).
    (src / "app.py").write_text("def handler(event, context):\n    return 2\n")
    result = CliRunner().invoke(cli, ["bundle", str(src), "--strategy", "vendored", "--no-verify"])
    assert isinstance(result.exception, AssertionError)


def test_no_bytecode_ships_sources_only(tmp_path: Path) -> None:
    src = copy_example("hello", tmp_path)
    doc = run_bundle(
        str(src), "--strategy", "fat-layer", "--no-bytecode", "--out", str(tmp_path / "o")
    )
    assert doc["manifest"]["bytecode"] == {"mode": "none", "reason": "--no-bytecode"}
    for path in (tmp_path / "o").glob("*.zip"):
        assert not [n for n in members(path) if n.endswith(".pyc")], path.name


def test_without_a_matching_interpreter_it_warns_and_ships_no_pyc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreters, "find", lambda minor, explicit=None: None)
    src = copy_example("hello", tmp_path)
    result = CliRunner().invoke(
        cli, ["bundle", str(src), "--strategy", "pinned", "--python", "3.13", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "Warning: no Python 3.13 found" in result.stderr
    assert "not verified in the sandbox" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["manifest"]["bytecode"]["mode"] == "none"
    assert doc["manifest"]["target"]["python"] == "3.13"
    assert doc["verified"] is False


def test_provided_runtime_on_arm64(tmp_path: Path) -> None:
    src = copy_example("hello", tmp_path)
    doc = run_bundle(
        str(src), "--strategy", "fat-layer", "--runtime", "provided.al2023", "--arch", "arm64"
    )
    assert doc["manifest"]["target"] == {
        "python": "3.12",
        "arch": "arm64",
        "runtime": "provided.al2023",
        "glibc": "2.34",
    }
    assert doc["manifest"]["environment"] == {}


def test_human_output_names_artifacts(tmp_path: Path) -> None:
    src = copy_example("hello", tmp_path)
    result = CliRunner().invoke(cli, ["bundle", str(src), "--strategy", "pinned", "--no-verify"])
    assert result.exit_code == 0, result.output
    assert "function.zip" in result.stdout and "layer-1-runtime.zip" in result.stdout
    assert "lambundle: writing function.zip" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "fat"], "Invalid value for '--strategy'"),
        (["--strategy", "pinned", "--python", "3.9"], "Unknown Python version '3.9'"),
        (["--strategy", "pinned", "--arch", "mips"], "Unknown architecture 'mips'"),
        (["--strategy", "pinned", "--runtime", "nodejs20.x"], "Unknown runtime 'nodejs20.x'"),
        (["--strategy", "pinned", "--handler", "nope.handler"], "module 'nope' is not in"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    src = copy_example("hello", tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", str(src), *args, "--no-verify"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (src / ".lambundle").exists()


def test_an_out_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = copy_example("hello", tmp_path)
    (tmp_path / "file").write_text("precious")
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", str(src), "--strategy", "vendored", "--out", str(tmp_path / "file")])
    assert exit_info.value.code == 2
    assert "is a file" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "precious"


def test_a_missing_source_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", str(tmp_path / "nope"), "--strategy", "vendored"])
    assert exit_info.value.code == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.skipif(interpreters.find("3.13") is None, reason="no Python 3.13 here")
def test_an_interpreter_of_another_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = interpreters.find("3.13")
    assert other is not None
    src = copy_example("hello", tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", str(src), "--strategy", "vendored", "--interpreter", str(other.path)])
    assert exit_info.value.code == 2
    assert "but the target is 3.12" in capsys.readouterr().err


@pytest.mark.skipif(interpreters.find("3.13") is None, reason="no Python 3.13 here")
def test_an_explicit_interpreter_compiles_for_its_version(tmp_path: Path) -> None:
    other = interpreters.find("3.13")
    assert other is not None
    src = copy_example("hello", tmp_path)
    doc = run_bundle(
        str(src), "--strategy", "vendored", "--python", "3.13", "--interpreter", str(other.path)
    )
    assert doc["manifest"]["bytecode"] == {"mode": "unchecked-hash", "interpreter": other.version}
    assert "__pycache__/app.cpython-313.pyc" in members(Path(doc["out"]) / "function.zip")


@pytest.mark.skipif(not HAS_312, reason="no Python 3.12 here")
def test_a_foreign_architecture_is_built_but_not_verified(tmp_path: Path) -> None:
    from bundler.core.target import host_arch

    other = "arm64" if host_arch() == "x86_64" else "x86_64"
    src = copy_example("hello", tmp_path)
    result = CliRunner().invoke(cli, ["bundle", str(src), "--strategy", "pinned", "--arch", other])
    assert result.exit_code == 0, result.output
    assert f"not verified in the sandbox: the target is {other}" in result.stderr


def test_json_reports_the_time_of_each_step(tmp_path: Path) -> None:
    src = copy_example("hello", tmp_path)
    doc = run_bundle(str(src), "--strategy", "fat-layer", "--out", str(tmp_path / "out"))
    timings = doc["timings"]
    # hello has no dependencies: nothing to resolve, download or unpack; no --verify here.
    expected = {"load", "gather", "deflate", "total"} | ({"compile"} if HAS_312 else set())
    assert set(timings) == expected
    assert all(isinstance(s, float) and s >= 0 for s in timings.values())
    assert timings["total"] >= max(s for step, s in timings.items() if step != "total")
