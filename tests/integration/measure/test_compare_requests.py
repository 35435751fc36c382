"""`compare` on a function with a real dependency from the package index.

The baseline must ship the same pins as the strategies (a fair comparison), with no
bytecode, and run on AWS's client (no exec wrapper in its environment).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.bundle.manifest import load
from bundler.cli import cli
from tests.runtime.bundles import needs_python

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.network, pytest.mark.sandbox, needs_python("3.12")]


def test_baseline_ships_the_locks_pins_without_bytecode(tmp_path):
    out = tmp_path / "bundles"
    json_file = tmp_path / "r.json"
    result = CliRunner().invoke(cli, [
        "compare", str(ROOT / "examples" / "requests-fn"), "--strategies", "pinned",
        "--cold", "1", "--warm", "1", "--no-importtime", "--out", str(out),
        "--json", str(json_file),
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(json_file.read_text())
    assert [v["name"] for v in report["variants"]] == ["pinned", "baseline"]

    base, pinned = load(out / "baseline"), load(out / "pinned")
    assert base.strategy == "baseline" and base.layers == ()
    assert "requests" in {name for name, _ in base.distributions}
    assert sorted(base.distributions) == sorted(pinned.distributions)
    assert base.lock_sha256 == pinned.lock_sha256
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in base.environment
    assert base.target.runtime == "python3.12"
    with zipfile.ZipFile(out / "baseline" / base.function.file) as zf:
        names = zf.namelist()
    assert "app.py" in names and "requests/__init__.py" in names
    assert not [n for n in names if n.endswith(".pyc")]


def test_the_baseline_takes_a_pin_built_from_its_sdist(tmp_path):
    # docopt 0.6.2 publishes only an sdist: pip --platform cannot build it, so the baseline
    # installs the pure wheel lambundle built, beside six from the index, and runs it.
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text(
        "import docopt, six\n\ndef handler(event, context):\n    return docopt.__version__\n"
    )
    (src / "requirements.txt").write_text("docopt==0.6.2\nsix==1.16.0\n")
    out, json_file = tmp_path / "bundles", tmp_path / "r.json"
    result = CliRunner().invoke(cli, [
        "compare", str(src), "--strategies", "vendored", "--cold", "1", "--warm", "1",
        "--no-importtime", "--out", str(out), "--json", str(json_file),
    ], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(json_file.read_text())
    assert [v["name"] for v in report["variants"]] == ["vendored", "baseline"]
    assert report["failures"] == []
    base = load(out / "baseline")
    assert sorted(base.distributions) == [("docopt", "0.6.2"), ("six", "1.16.0")]
    with zipfile.ZipFile(out / "baseline" / base.function.file) as zf:
        names = zf.namelist()
    assert {"app.py", "docopt.py", "six.py"} <= set(names)
    assert not [n for n in names if n.endswith(".pyc")]
