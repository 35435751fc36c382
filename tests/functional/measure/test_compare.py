"""`lambundle compare` through the CLI on real builds and the real sandbox; no timing asserts.

The managed runtime's awslambdaric (the baseline runs on it; the strategies start through
it too) comes from the package index on first use, hence the network mark.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import cli, main
from bundler.core import interpreters
from tests.runtime.bundles import needs_python

ROOT = Path(__file__).resolve().parents[3]
HELLO = ROOT / "examples" / "hello"
VARIANTS = ["fat-layer", "vendored", "pinned", "baseline"]
COLD_FIELDS = ["extract_ms", "init_ms", "first_invoke_ms", "init_invoke_ms", "cold_total_ms",
               "peak_rss_kb"]

pytestmark = [pytest.mark.sandbox, needs_python("3.12"), pytest.mark.network]


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def run_failing(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Through `main`, which turns a BundlerError into its message and exit code."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def hello_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    src = tmp / "hello"
    shutil.copytree(HELLO, src)
    code, out, err = run([
        "compare", str(src), "--cold", "2", "--warm", "2", "--memory", "256",
        "--json", str(tmp / "r.json"), "--plot", str(tmp / "r.svg"),
    ])  # fmt: skip
    return code, out, err, tmp


def test_table_has_a_row_per_variant_and_the_import_breakdown(hello_run):
    code, out, err, _ = hello_run
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["variant", "zip"]
    assert set(lines[1]) <= {"-", " "}
    rows = [line.split()[0] for line in lines[2:6]]
    assert rows == VARIANTS
    # Every non-baseline row shows its ratio to the baseline; the baseline its own 1.00x.
    assert all("x)" in line for line in lines[2:6])
    assert "(Nx) = ratio to the baseline 'baseline' for Python 3.12" in out
    assert "import time of" in out and "highest median init+1st in the table" in out
    # Progress went to stderr while it ran.
    assert "cold 2/2 baseline" in err and "cold 1/2 fat-layer" in err


def test_json_has_every_variant_every_field_and_every_sample(hello_run):
    code, _, err, tmp = hello_run
    assert code == 0, err
    report = json.loads((tmp / "r.json").read_text())
    assert [v["name"] for v in report["variants"]] == VARIANTS
    assert report["baseline"] == "baseline"
    assert report["failures"] == []
    for v in report["variants"]:
        assert v["zipped_bytes"] > 0 and v["unzipped_bytes"] > 0
        for field in COLD_FIELDS:
            summary = v[field]
            assert summary["n"] == 2
            assert summary["min"] <= summary["median"] <= summary["max"]
        assert v["warm_ms"]["n"] == 2 and v["warm_ms"]["p50"] <= v["warm_ms"]["p99"]
        assert len(v["samples"]["cold"]) == 2 and len(v["samples"]["warm_ms"]) == 2
        assert set(v["samples"]["cold"][0]) == set(COLD_FIELDS)
        assert set(v["ratio_to_baseline"]) >= {"cold_total_ms", "init_ms", "warm_ms"}
    base = report["variants"][-1]
    assert base["ratio_to_baseline"]["cold_total_ms"] == 1.0
    assert "pip install --target" in base["description"]
    assert report["settings"]["memory_mb"] == 256
    machine = report["machine"]
    assert {"cpu", "cores", "kernel", "python", "bwrap"} <= set(machine)
    assert machine["target_pythons"]["3.12"].startswith("3.12.")
    found = report["importtime"]
    assert found["slowest"] in VARIANTS
    assert found["breakdowns"][found["slowest"]]["packages"]


def test_svg_has_one_row_per_variant(hello_run):
    code, _, err, tmp = hello_run
    assert code == 0, err
    root = ET.parse(tmp / "r.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text or "" for t in root.iter(f"{ns}text")]
    # Once among the cold starts, once among the phases.
    for name in VARIANTS:
        assert texts.count(name) == 2
    # Every cold sample is a dot: 4 variants x 2 cold starts.
    assert len(list(root.iter(f"{ns}circle"))) == 8
    ratios = [t for t in texts if t.endswith("x the 3.12 baseline")]
    assert len([t for t in ratios if not t.startswith("init+1st")]) == 3
    assert len([t for t in ratios if t.startswith("init+1st")]) == 3
    assert any(t.startswith("Python 3.12.") and t.endswith(", pip --target") for t in texts)


def test_a_missing_interpreter_is_reported_and_the_rest_measured(tmp_path):
    missing = next((v for v in ("3.11", "3.14", "3.10") if interpreters.find(v) is None), None)
    if missing is None:
        pytest.skip("every Lambda Python is installed here")
    json_file = tmp_path / "r.json"
    code, out, err = run([
        "compare", str(HELLO), "--strategies", "fat-layer", "--no-baseline",
        "--variants", f"vendored@{missing}", "--cold", "1", "--warm", "0", "--no-importtime",
        "--json", str(json_file),
    ])  # fmt: skip
    assert code == 0, err
    assert f"not measured: vendored@{missing} (build): No Python {missing}" in out
    report = json.loads(json_file.read_text())
    assert [v["name"] for v in report["variants"]] == ["fat-layer"]
    assert report["failures"][0]["variant"] == f"vendored@{missing}"
    assert report["baseline"] is None


def test_nothing_measured_is_an_error_with_the_reasons(tmp_path, capsys):
    src = tmp_path / "broken"
    src.mkdir()
    (src / "app.py").write_text(textwrap.dedent("""
        raise RuntimeError("configuration missing")

        def handler(event, context):
            return event
    """))
    json_file = tmp_path / "r.json"
    code, _, err = run_failing([
        "compare", str(src), "--strategies", "fat-layer", "--cold", "2", "--warm", "1",
        "--json", str(json_file),
    ], capsys)  # fmt: skip
    assert code == 1
    assert "Nothing could be measured" in err and "fat-layer" in err
    report = json.loads(json_file.read_text())
    assert report["variants"] == []
    stages = {(f["variant"], f["stage"]) for f in report["failures"]}
    assert stages == {("fat-layer", "cold start 1"), ("baseline", "cold start 1")}
    assert all("configuration missing" in f["error"] or "Runtime." in f["error"]
               for f in report["failures"])  # fmt: skip


def test_a_plot_format_it_cannot_write_is_refused_before_measuring(tmp_path, capsys):
    code, _, err = run_failing(["compare", str(HELLO), "--plot", str(tmp_path / "r.pdf")],
                               capsys)  # fmt: skip
    assert code == 2
    assert "--plot" in err and ".svg" in err
    assert "building" not in err


def test_a_json_file_it_cannot_write_is_refused_before_measuring(capsys):
    code, _, err = run_failing(["compare", str(HELLO), "--json", "/nonexistent/r.json"], capsys)
    assert code == 2
    assert "--json /nonexistent/r.json: /nonexistent does not exist" in err
    assert "Traceback" not in err and "building" not in err


def test_a_json_file_it_cannot_write_is_refused_before_a_template_is_measured(tmp_path, capsys):
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Hello:\n"
        "    Type: AWS::Serverless::Function\n"
        f"    Properties: {{CodeUri: {HELLO}, Handler: app.handler, Runtime: python3.12}}\n"
    )
    code, _, err = run_failing(["compare", str(template), "--json", "/nonexistent/r.json"],
                               capsys)  # fmt: skip
    assert code == 2
    assert "--json /nonexistent/r.json: /nonexistent does not exist" in err
    assert "comparing" not in err and "building" not in err


@needs_python("3.11")
def test_another_python_is_compared_with_its_own_baseline(tmp_path):
    json_file = tmp_path / "r.json"
    code, out, err = run([
        "compare", str(HELLO), "--strategies", "vendored", "--pythons", "3.11", "--cold", "1",
        "--warm", "0", "--no-importtime", "--json", str(json_file),
    ])  # fmt: skip
    assert code == 0, err
    report = json.loads(json_file.read_text())
    rows = {v["name"]: v for v in report["variants"]}
    assert list(rows) == ["vendored", "vendored@3.11", "baseline@3.11", "baseline"]
    assert rows["vendored@3.11"]["baseline"] == "baseline@3.11"
    assert rows["vendored"]["baseline"] == "baseline"
    assert "python3.11" in rows["baseline@3.11"]["description"]
    own = rows["vendored@3.11"]["cold_total_ms"]["median"]
    base = rows["baseline@3.11"]["cold_total_ms"]["median"]
    assert rows["vendored@3.11"]["ratio_to_baseline"]["cold_total_ms"] == own / base
    assert ("(Nx) = ratio to the baseline of the variant's own Python: 'baseline@3.11' for "
            "Python 3.11, 'baseline' for Python 3.12") in out  # fmt: skip


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs rsvg-convert")
def test_png_plot_through_rsvg_convert(tmp_path):
    png = tmp_path / "r.png"
    code, _, err = run([
        "compare", str(HELLO), "--strategies", "vendored", "--no-baseline", "--cold", "1",
        "--warm", "0", "--no-importtime", "--plot", str(png),
    ])  # fmt: skip
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unsandboxed_runs_say_so_under_the_table(tmp_path):
    json_file = tmp_path / "r.json"
    code, out, err = run([
        "compare", str(HELLO), "--strategies", "vendored", "--cold", "1", "--warm", "1",
        "--no-importtime", "--no-sandbox", "--json", str(json_file),
    ])  # fmt: skip
    assert code == 0, err
    assert "note: Running unsandboxed" in out
    report = json.loads(json_file.read_text())
    assert [v["name"] for v in report["variants"]] == ["vendored", "baseline"]
    assert any("unsandboxed" in note for note in report["notes"])
