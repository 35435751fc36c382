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
    header, _rule, row, footer = table.splitlines()
    assert header.split()[:2] == ["variant", "zip"]
    assert row.startswith("vendored")
    assert "ratio to the baseline" in footer


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
