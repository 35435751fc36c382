"""`lambundle invoke` as a person reads it and as a program reads it, on bundles the
sandbox runs with lambundle's runtime on the local Python (provided.al2023: no AWS
client to fetch), and on bundle directories that are not what their manifest says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundler.cli import cli, main
from tests.runtime.bundles import make_bundle, needs_python

pytestmark = needs_python("3.12")

APP = (
    "def handler(event, context):\n"
    "    if event.get('fail'):\n"
    "        raise ValueError('asked to fail')\n"
    "    return {'answer': 42}\n"
)


def invoke(*args: str, stdin: bytes = b"{}") -> Result:
    return CliRunner().invoke(cli, ["invoke", *args, "--event", "-"], input=stdin)


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`lambundle invoke ARGS` through the entry point: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["invoke", *args])
    out, err = capsys.readouterr()
    assert isinstance(exit_info.value.code, int)
    return exit_info.value.code, out, err


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path, {"app.py": APP}, "app.handler", runtime="provided.al2023")


def test_the_payload_ends_with_a_newline(bundle: Path) -> None:
    result = invoke(str(bundle))
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b'{"answer": 42}\n'


def test_a_traceback_reads_as_lines_and_stays_raw_in_json(bundle: Path) -> None:
    human = invoke(str(bundle), stdin=b'{"fail": true}')
    assert human.exit_code == 1
    assert "\r" not in human.stderr
    lines = human.stderr.splitlines()
    record = next(i for i, line in enumerate(lines) if "[ERROR] ValueError: asked to fail" in line)
    assert lines[record + 1].startswith("Traceback (most recent call last):")
    machine = invoke(str(bundle), "--json", stdin=b'{"fail": true}')
    assert machine.exit_code == 1
    doc = json.loads(machine.stdout)
    assert json.loads(doc["payload"])["errorType"] == "ValueError"
    assert doc["function_error"] == "Unhandled"
    # One CloudWatch event per record: its lines joined by \r, as the runtime wrote them.
    assert "asked to fail\rTraceback (most recent call last):" in doc["logs"]


def built(src: Path, strategy: str) -> None:
    result = CliRunner().invoke(
        cli, ["bundle", str(src), "--strategy", strategy, "--runtime", "provided.al2023",
              "--python", "3.12", "--no-verify"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_function_directory_with_one_bundle_is_invoked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text(APP)
    built(src, "vendored")
    result = invoke(str(src))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"answer": 42}
    assert f"using the bundle {src / '.lambundle' / 'vendored'}" in result.stderr

    built(src, "fat-layer")
    code, _, err = refused(capsys, str(src))
    assert code == 2
    assert f"{src} has 2 bundles; pass the one you mean as BUNDLE:" in err
    assert str(src / ".lambundle" / "fat-layer") in err
    assert str(src / ".lambundle" / "vendored") in err


def test_a_zip_swapped_under_the_manifest_is_not_run(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = make_bundle(
        tmp_path, {"app.py": "import os\nos.system('echo ran')\n"}, "app.handler",
        runtime="provided.al2023", name="other",
    )  # fmt: skip
    shutil.copyfile(other / "function.zip", bundle / "function.zip")
    code, out, err = refused(capsys, str(bundle))
    assert code == 2
    assert "function.zip is" in err and "rebuild the bundle" in err
    assert "START RequestId" not in err and out == ""
