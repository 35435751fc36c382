"""The compare picture: structure (rows, dots, boxes, bars, labels), never timings."""

import math
import xml.etree.ElementTree as ET

from bundler.measure.plot import PHASES, Row, cold_start_svg, plot_svg
from bundler.measure.report import ColdSample, VariantSamples, build_report

NS = "{http://www.w3.org/2000/svg}"
PHASE_FILLS = ("#a0aec0", "#2b6cb0", "#dd6b20")


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{NS}text")]


def test_svg_has_a_row_per_variant_with_every_sample_and_the_ratio():
    svg = cold_start_svg([
        Row("baseline", [400.0, 420.0, 410.0]),
        Row("fat-layer", [100.0, 120.0], ratio="0.27x the 3.12 baseline"),
        Row("pinned", []),
    ])  # fmt: skip
    root = ET.fromstring(svg)
    assert len(root.findall(f"{NS}circle")) == 5
    found = texts(svg)
    assert "fat-layer" in found and "baseline" in found and "pinned" in found
    assert "median 110 ms" in found
    assert "0.27x the 3.12 baseline" in found
    assert "no samples" in found


def test_samples_are_placed_in_order_along_the_axis():
    root = ET.fromstring(cold_start_svg([Row("a", [10.0, 90.0])]))
    xs = [float(c.get("cx")) for c in root.findall(f"{NS}circle")]
    assert xs[0] < xs[1]


def test_the_picture_says_what_the_box_is():
    legend = [t for t in texts(cold_start_svg([Row("a", [1.0, 2.0])])) if t.startswith("box:")]
    assert len(legend) == 1
    assert "quartile" in legend[0] and "25th-75th percentile" in legend[0]


def _bars(svg: str) -> list[tuple[str, float, float]]:
    """(fill, x, width) of the phase bars, in document order."""
    return [
        (r.get("fill"), float(r.get("x")), float(r.get("width")))
        for r in ET.fromstring(svg).iter(f"{NS}rect")
        if r.get("fill") in PHASE_FILLS and float(r.get("height")) == 18
    ]


def test_each_variant_is_split_into_extract_init_and_first_invoke_in_order():
    svg = cold_start_svg([
        Row("fat-layer", [380.0], phases=[170.0, 200.0, 10.0]),
        Row("baseline", [1200.0], phases=[150.0, 1040.0, 10.0]),
    ])  # fmt: skip
    assert all(phase in texts(svg) for phase in PHASES)
    bars = _bars(svg)
    assert [fill for fill, _, _ in bars] == list(PHASE_FILLS) * 2
    (_, x0, w0), (_, x1, w1), (_, x2, _) = bars[:3]
    # Stacked end to end, each as wide as its share (to the SVG's 0.1 px).
    assert math.isclose(x1, x0 + w0, abs_tol=0.2) and math.isclose(x2, x1 + w1, abs_tol=0.2)
    assert math.isclose(w1 / w0, 200 / 170, rel_tol=0.01)
    # The same scale for both variants: the baseline's init bar is the longer.
    assert bars[4][2] > bars[1][2]
    assert "380 ms in all" in texts(svg)


def test_a_phase_that_was_not_measured_is_left_out_of_the_bar():
    svg = cold_start_svg([Row("pinned", [200.0], phases=[math.nan, 190.0, 10.0])])
    assert [fill for fill, _, _ in _bars(svg)] == list(PHASE_FILLS[1:])
    assert "extract (not measured)" in texts(svg)


def _variant(name, python, total, *, extract=100.0):
    v = VariantSamples(name, 10, 30, python=python)
    v.cold = [ColdSample(extract, total - extract - 2.0, 2.0, 1000.0) for _ in range(3)]
    return v


def _report(**settings):
    report = build_report(
        [_variant("pinned", "3.12", 300.0), _variant("pinned@3.11", "3.11", 280.0),
         _variant("baseline@3.11", "3.11", 1100.0), _variant("baseline", "3.12", 1000.0)],
        baseline="baseline",
        baselines={"3.11": "baseline@3.11", "3.12": "baseline"},
        settings={"src": "examples/large-deps", "cold": 3, "layout_dir": "/dev/shm",
                  **settings},
    )  # fmt: skip
    report["machine"] = {"cpu": "AMD EPYC", "cores": 2, "bwrap": "bubblewrap 0.8.0",
                         "target_pythons": {"3.11": "3.11.2", "3.12": "3.12.1"}}  # fmt: skip
    return report


def test_a_reports_picture_names_date_pythons_machine_and_each_rows_baseline():
    found = texts(plot_svg(_report(date="2026-12-05T07:55:29Z")))
    subtitle = " ".join(found[1:3])
    for part in ("2026-12-05 07:55 UTC", "Python 3.11.2 and 3.12.1", "AMD EPYC, 2 cores",
                 "bubblewrap 0.8.0", "examples/large-deps"):  # fmt: skip
        assert part in subtitle, part
    # The baselines are labelled with their Python; every ratio names the baseline it is to.
    assert "Python 3.12.1, pip --target" in found
    assert "Python 3.11.2, pip --target" in found
    assert "0.30x the 3.12 baseline" in found
    assert "0.25x the 3.11 baseline" in found
    assert "init+1st 0.18x the 3.11 baseline" in found
    # A baseline has no ratio to itself.
    assert not [t for t in found if t.endswith("baseline") and t.startswith("1.00x")]


def test_a_report_without_a_date_says_so():
    assert any("date not recorded" in t for t in texts(plot_svg(_report())))
