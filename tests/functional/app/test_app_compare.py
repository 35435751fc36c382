"""`lambundle compare template.yaml`: every Python function compared, then the application
in total, with shared zips counted once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundler.cli import main
from bundler.core import interpreters
from tests.functional.app.test_app_build import HANDLER

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(interpreters.find("3.12") is None, reason="no Python 3.12 to run bundles"),
]

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, Handler: app.handler, MemorySize: 256}
Resources:
  First: {Type: AWS::Serverless::Function, Properties: {CodeUri: first/}}
  Second: {Type: AWS::Serverless::Function, Properties: {CodeUri: second/}}
  Node:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: first/, Runtime: nodejs24.x, Handler: index.handler}
"""


def test_every_function_and_the_application_total_are_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(HANDLER)
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    report = tmp_path / "report.json"
    main([
        "compare", str(template), "--strategies", "pinned,vendored", "--cold", "1",
        "--warm", "1", "--no-importtime", "--json", str(report), "--out", str(tmp_path / "w"),
    ])  # fmt: skip
    shown = capsys.readouterr().out
    assert "First:" in shown
    assert "Second:" in shown
    assert "application total" in shown
    found = json.loads(report.read_text())
    assert set(found["functions"]) == {"First", "Second"}
    for result in found["functions"].values():
        assert [v["name"] for v in result["variants"]] == ["pinned", "vendored", "baseline"]
        assert result["settings"]["memory_mb"] == 256  # the template's MemorySize
    total = {row["name"]: row for row in found["total"]}
    assert set(total) == {"pinned", "vendored", "baseline"}
    pinned = total["pinned"]
    assert pinned["functions"] == ["First", "Second"]
    # Both functions' runtime layers are one zip: counted once for the application.
    layer = json.loads((tmp_path / "w" / "First" / "pinned" / "bundle.json").read_text())
    runtime = layer["layers"][0]["size"]
    assert pinned["upload_bytes"] == pinned["separate_bytes"] - runtime
    assert total["baseline"]["upload_bytes"] == total["baseline"]["separate_bytes"]
    first = {v["name"]: v for v in found["functions"]["First"]["variants"]}
    second = {v["name"]: v for v in found["functions"]["Second"]["variants"]}
    assert pinned["cold_total_ms"] == pytest.approx(
        first["pinned"]["cold_total_ms"]["median"] + second["pinned"]["cold_total_ms"]["median"]
    )
    # What Lambda reports, Init plus the first invoke's Duration, summed the same way.
    assert pinned["init_invoke_ms"] == pytest.approx(
        first["pinned"]["init_invoke_ms"]["median"] + second["pinned"]["init_invoke_ms"]["median"]
    )
    for key in ("cold_total_ms", "init_invoke_ms"):
        assert pinned["ratio_to_baseline"][key] == pytest.approx(
            pinned[key] / total["baseline"][key]
        )
    assert "init + 1st ms" in shown


def test_options_compare_has_only_for_one_function_are_refused_for_a_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    with pytest.raises(SystemExit) as exited:
        main(["compare", str(template), "--plot", str(tmp_path / "p.svg"), "--aws"])
    assert exited.value.code == 2
    assert "--plot, --aws: not for a template yet" in capsys.readouterr().err
