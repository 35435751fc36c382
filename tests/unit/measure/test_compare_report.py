import json
import math

import pytest

from bundler.measure.report import (
    ColdSample,
    VariantSamples,
    build_report,
    dumps,
    parse_importtime,
    render_table,
    schedule,
)


def _variant(name, cold_totals, warm, unzipped):
    v = VariantSamples(name, zipped_bytes=unzipped // 3, unzipped_bytes=unzipped)
    v.cold = [ColdSample(extract_ms=1.0, init_ms=t - 3.0, first_invoke_ms=2.0, peak_rss_kb=30000)
              for t in cold_totals]  # fmt: skip
    v.warm_ms = list(warm)
    return v


def test_schedule_interleaves_variants_round_by_round():
    assert schedule(["a", "b", "c"], 2) == ["a", "b", "c", "a", "b", "c"]


def test_report_has_medians_spread_and_ratios_to_the_baseline():
    report = build_report(
        [_variant("baseline", [400, 420, 410], [2, 2, 4], 9_000_000),
         _variant("fat-layer", [100, 110, 130], [1, 1, 1], 12_000_000)],
        baseline="baseline",
        settings={"cold": 3, "warm": 3},
    )  # fmt: skip
    fat = report["variants"][1]
    assert fat["cold_total_ms"] == {"median": 110, "min": 100, "max": 130,
                                    "p99": fat["cold_total_ms"]["p99"], "n": 3}  # fmt: skip
    assert fat["ratio_to_baseline"]["cold_total_ms"] == 110 / 410
    assert fat["ratio_to_baseline"]["warm_ms"] == 0.5
    assert fat["ratio_to_baseline"]["unzipped_bytes"] == 12 / 9
    assert len(fat["samples"]["cold"]) == 3 and fat["samples"]["warm_ms"] == [1, 1, 1]
    assert report["variants"][0]["ratio_to_baseline"]["cold_total_ms"] == 1.0


def test_json_text_is_strict_json_with_null_for_unmeasured_figures():
    report = build_report([_variant("vendored", [50], [], 1000)], baseline=None, settings={})
    text = dumps(report)
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert parsed["variants"][0]["warm_ms"]["p50"] is None
    assert parsed["variants"][0]["cold_total_ms"]["median"] == 50


def test_without_a_baseline_ratios_are_nan_and_the_table_still_renders():
    report = build_report([_variant("vendored", [50], [], 1000)], baseline=None, settings={})
    assert math.isnan(report["variants"][0]["ratio_to_baseline"]["cold_total_ms"])
    table = render_table(report)
    header, _rule, row, _columns, ratios = table.splitlines()
    assert header.split()[:2] == ["variant", "zip"]
    assert row.startswith("vendored") and "x)" not in row
    assert ratios == "no baseline was measured, so there are no ratios (Nx)"


def _on(python, name, cold_totals):
    v = _variant(name, cold_totals, [1], 900)
    v.python = python
    return v


def test_each_variant_is_compared_with_the_baseline_of_its_own_python():
    report = build_report(
        [_on("3.12", "pinned", [300]), _on("3.11", "pinned@3.11", [330]),
         _on("3.11", "baseline@3.11", [1100]), _on("3.12", "baseline", [1000])],
        baseline="baseline",
        baselines={"3.11": "baseline@3.11", "3.12": "baseline"},
        settings={},
    )  # fmt: skip
    rows = {row["name"]: row for row in report["variants"]}
    assert rows["pinned@3.11"]["baseline"] == "baseline@3.11"
    assert rows["pinned@3.11"]["ratio_to_baseline"]["cold_total_ms"] == 330 / 1100
    assert rows["pinned"]["baseline"] == "baseline"
    assert rows["pinned"]["ratio_to_baseline"]["cold_total_ms"] == 300 / 1000
    assert rows["baseline@3.11"]["ratio_to_baseline"]["cold_total_ms"] == 1.0
    assert report["baselines"] == {"3.11": "baseline@3.11", "3.12": "baseline"}
    lines = render_table(report).splitlines()
    assert "330 (330-330) (0.30x)" in lines[3]
    assert lines[-1] == ("(Nx) = ratio to the baseline of the variant's own Python: "
                         "'baseline@3.11' for Python 3.11, 'baseline' for Python 3.12")  # fmt: skip


def test_a_variant_whose_python_has_no_baseline_gets_no_ratio_and_the_table_says_so():
    # baseline@3.13 was planned but failed: pinned@3.13 is not held against 3.12's.
    report = build_report(
        [_on("3.13", "pinned@3.13", [300]), _on("3.12", "baseline", [1000])],
        baseline="baseline",
        baselines={"3.13": "baseline@3.13", "3.12": "baseline"},
        settings={},
    )  # fmt: skip
    row = report["variants"][0]
    assert row["baseline"] is None
    assert math.isnan(row["ratio_to_baseline"]["cold_total_ms"])
    assert report["baselines"] == {"3.12": "baseline"}
    lines = render_table(report).splitlines()
    assert "x)" not in lines[2]
    assert lines[-2] == "(Nx) = ratio to the baseline 'baseline' for Python 3.12"
    assert lines[-1] == "no ratio for pinned@3.13: no baseline of Python 3.13 was measured"


def test_init_plus_first_invoke_is_what_lambda_reports_with_its_own_ratio():
    # _variant: extract 1, first invoke 2, init the rest.
    report = build_report(
        [_variant("baseline", [400], [2], 900), _variant("pinned", [100], [1], 900)],
        baseline="baseline",
        settings={},
    )
    pinned = report["variants"][1]
    assert pinned["init_invoke_ms"]["median"] == 99
    assert pinned["ratio_to_baseline"]["init_invoke_ms"] == 99 / 399
    assert pinned["samples"]["cold"][0]["init_invoke_ms"] == 99
    lines = render_table(report).splitlines()
    column = lines[0].index("init+1st")
    assert lines[3][column:].split()[:2] == ["99", "(0.25x)"]
    assert "what Lambda reports" in lines[4]


def test_table_shows_ratios_next_to_medians():
    report = build_report(
        [_variant("baseline", [400], [2], 900), _variant("pinned", [100], [1], 900)],
        baseline="baseline",
        settings={},
    )
    row = render_table(report).splitlines()[3]
    assert "100 (100-100) (0.25x)" in row


def test_importtime_is_summed_by_top_level_package():
    stderr = "\n".join([
        "import time: self [us] | cumulative | imported package",
        "import time:       500 |        500 |     numpy.core._multiarray_umath",
        "import time:      1500 |       2000 |   numpy.core",
        "import time:      1000 |       3000 | numpy",
        "import time:       200 |        200 | json",
        "something else on stderr",
    ])  # fmt: skip
    assert parse_importtime(stderr) == [
        {"package": "numpy", "self_ms": 3.0},
        {"package": "json", "self_ms": 0.2},
    ]
