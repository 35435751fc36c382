"""`lambundle lock` through the real command line: output, reuse, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import cli, main
from bundler.sources.lock import parse_lock


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(cache))
    return cache


def function_dir(root: Path, requirements: str | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text("def handler(event, context):\n    return event\n")
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements)
    return root


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:  # main exits only on failure
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_lock_without_requirements(tmp_path: Path) -> None:
    src = function_dir(tmp_path / "fn", None)
    result = CliRunner().invoke(cli, ["lock", str(src)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Hash-pinned lock of fn")
    assert "python3.12 x86_64 (glibc 2.34)" in result.stdout
    assert parse_lock(result.stdout) == ()


def test_lock_needs_no_handler(tmp_path: Path) -> None:
    src = tmp_path / "lib"
    src.mkdir()
    (src / "util.py").write_text("def helper():\n    pass\n")
    result = CliRunner().invoke(cli, ["lock", str(src)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", [], "does not exist"),
        ("requirements", [], "requirements.txt:2: 'requests>>2' is not a valid requirement"),
        ("include", [], "included requirements file"),
        ("ok", ["--arch", "riscv64"], "Unknown architecture 'riscv64'"),
        ("ok", ["--python", "3.9"], "Unknown Python version '3.9'"),
        ("requires", [], "requires Python >=3.13, but the target is python3.12"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, args: list[str], message: str
) -> None:
    src = tmp_path / "fn"
    if setup == "requirements":
        function_dir(src, "idna\nrequests>>2\n")
    elif setup == "include":
        function_dir(src, "-r nothere.txt\n")
    elif setup == "ok":
        function_dir(src, "idna\n")
    elif setup == "requires":
        function_dir(src, None)
        (src / "pyproject.toml").write_text('[project]\nname="fn"\nrequires-python=">=3.13"\n')
    code, out, err = run_main(["lock", str(src), *args], capsys)
    assert code == 2
    assert message in err
    assert err.startswith("Error: ")
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.network
def test_lock_for_arm64_is_written_reused_and_refreshed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = function_dir(tmp_path / "fn", "requests\n")
    lock_file = tmp_path / "requirements.lock"
    args = ["lock", str(src), "--python", "3.11", "--arch", "arm64", "-o", str(lock_file)]
    code, out, err = run_main(args, capsys)
    assert code == 0, err
    assert out == ""
    assert "Resolving 1 requirement(s) for python3.11 arm64 (glibc 2.26)" in err
    text = lock_file.read_text()
    pins = {p.name: p for p in parse_lock(text)}
    assert {"requests", "idna", "urllib3", "certifi", "charset-normalizer"} <= set(pins)
    assert all(p.hashes and all(h.startswith("sha256:") for h in p.hashes) for p in pins.values())

    code, _, err = run_main(args, capsys)
    assert code == 0
    assert "reused" in err
    assert lock_file.read_text() == text

    code, out, err = run_main([*args[:-2], "--json", "--refresh"], capsys)
    assert code == 0
    assert "Resolving" in err
    document = json.loads(out)
    assert {p["name"] for p in document["pins"]} == set(pins)
    assert len(document["sha256"]) == 64


@pytest.mark.network
def test_both_resolvers_pin_the_same_closure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = function_dir(tmp_path / "fn", "requests==2.32.3\nidna==3.10\n")
    closures = {}
    for resolver in ("uv", "pip-tools"):
        code, out, err = run_main(["lock", str(src), "--resolver", resolver], capsys)
        assert code == 0, err
        assert f"with {resolver}" in out
        closures[resolver] = {(p.name, p.version) for p in parse_lock(out)}
    assert ("requests", "2.32.3") in closures["uv"]
    assert {n for n, _ in closures["uv"]} == {n for n, _ in closures["pip-tools"]}


@pytest.mark.network
def test_a_package_without_wheels_names_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pywin32 publishes Windows wheels only, and no sdist to build (docopt's is built).
    src = function_dir(tmp_path / "fn", "pywin32\n")
    code, _, err = run_main(["lock", str(src), "--arch", "arm64"], capsys)
    assert code == 1
    assert "no version of pywin32" in err
    assert "--docker" in err
    assert "Traceback" not in err


def test_unwritable_output_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = function_dir(tmp_path / "fn", None)
    missing = tmp_path / "no" / "dir" / "x.lock"
    code, _, err = run_main(["lock", str(src), "-o", str(missing)], capsys)
    assert code == 2
    assert "Cannot write the lock to" in err
    assert "Traceback" not in err
