"""A function zip over 50 MB is built with a warning that names the S3 route; the
unzipped size stays a hard limit. Without the package index: the function's own code is
what makes it big (64 MB that do not compress)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bundler.bundle import limits
from bundler.cli import main


def big_function(tmp_path: Path) -> Path:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "model.bin").write_bytes(os.urandom(64_000_000))
    return src


def test_a_function_zip_over_50_mb_is_built_with_the_s3_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    main(["bundle", str(big_function(tmp_path)), "--strategy", "vendored", "--out", str(out),
          "--no-verify"])  # fmt: skip
    err = capsys.readouterr().err
    size = (out / "function.zip").stat().st_size
    assert size > limits.MAX_ZIPPED
    assert f"Warning: function.zip is {size:,} bytes zipped, over the 52,428,800" in err
    assert "lambundle publish --s3-bucket BUCKET" in err and "AWS CLI" in err
    main(["inspect", str(out)])  # exits only when Lambda would refuse the bundle
    assert "S3   zipped function.zip (bytes)" in capsys.readouterr().out


def test_the_unzipped_limit_stays_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(limits, "MAX_UNZIPPED", 60_000_000)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", str(big_function(tmp_path)), "--strategy", "vendored", "--out",
              str(out), "--no-verify"])  # fmt: skip
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert "unzipped function + layers (bytes): 64," in err
    assert "exceeds Lambda's limit of 60,000,000" in err
    assert not out.exists()
