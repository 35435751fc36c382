"""A vendored function over 50 MB zipped, from real wheels: Lambda takes it through S3
(gettingstarted-limits.html: 50 MB is the limit of a direct upload), so the build warns
and names that route, and `inspect` says to upload it through S3, not that it is over."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.bundle import limits, manifest
from bundler.cli import cli

pytestmark = pytest.mark.network

# numpy and scipy vendored for python3.12 on x86_64: about 57 MB zipped, 183 MB unzipped.
REQUIREMENTS = "numpy==2.5.5\nscipy==1.18.1\n"


def test_a_vendored_function_over_50_mb_builds_with_the_s3_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("import scipy\n\ndef handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text(REQUIREMENTS)
    out = tmp_path / "out"
    built = CliRunner().invoke(
        cli, ["bundle", str(src), "--strategy", "vendored", "--python", "3.12",
              "--arch", "x86_64", "--out", str(out), "--no-verify"],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    function = manifest.load(out).function
    assert function.size > limits.MAX_ZIPPED
    assert f"Warning: function.zip is {function.size:,} bytes zipped" in built.stderr
    assert "lambundle publish --s3-bucket" in built.stderr

    inspected = CliRunner().invoke(cli, ["inspect", str(out)])
    assert inspected.exit_code == 0, inspected.output
    assert "OVER" not in inspected.stdout
    assert f"S3   zipped function.zip (bytes): {function.size:,}" in inspected.stdout
    assert "upload through S3" in inspected.stdout
