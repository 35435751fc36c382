"""Where the build puts a bundle by default."""

from __future__ import annotations

from pathlib import Path

from bundler.build import pipeline as build


def test_default_out_is_inside_the_source(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text("")
    assert build.default_out(tmp_path, "pinned") == tmp_path / ".lambundle" / "pinned"
    assert build.default_out(script, "vendored") == tmp_path / ".lambundle" / "tool-vendored"
