"""The orchestration of `compare` with a fake builder and runner: order, failures, variants."""

import contextlib
import math
import re
from pathlib import Path

import pytest

from bundler.core.errors import BundlerError, UsageError
from bundler.measure.compare import CompareOptions, compare_options, run_compare
from bundler.measure.report import (
    ColdSample,
    dumps,
    render_footer,
    render_importtime,
    render_table,
)
from bundler.measure.runner import ColdRun, MeasureError
from bundler.measure.variants import BASELINE, plan_variants

IMPORTTIME_LOG = """\
import time: self [us] | cumulative | imported package
import time:      3000 |       3000 |   numpy.core
import time:      1000 |       4000 | numpy
import time:      2000 |       2000 | pandas
"""


class FakeRunner:
    """Records every call; cold totals come from a table per bundle name."""

    def __init__(self, cold_ms, *, fail_cold=(), fail_warm=(), extract_ms=None):
        self.cold_ms = cold_ms
        self.extract_ms = extract_ms or {}
        self.fail_cold = set(fail_cold)
        self.fail_warm = set(fail_warm)
        self.calls = []

    def cold(self, bundle, env=None):
        name = bundle.name
        self.calls.append(("cold", name, dict(env or {})))
        if name in self.fail_cold:
            raise MeasureError(f"cold start: Runtime.ExitError: {name} crashed")
        total = self.cold_ms[name]
        logs = IMPORTTIME_LOG if env else ""
        extract = self.extract_ms.get(name, 1.0)
        sample = ColdSample(extract_ms=extract, init_ms=total - extract - 1.0,
                            first_invoke_ms=1.0, peak_rss_kb=1000.0)  # fmt: skip
        return ColdRun(sample, logs, ("Running unsandboxed: test",))

    @contextlib.contextmanager
    def warm(self, bundle):
        name = bundle.name
        self.calls.append(("open", name))
        runner = self

        class Session:
            def invoke(self):
                runner.calls.append(("warm", name))
                if name in runner.fail_warm:
                    raise MeasureError("warm invoke: Sandbox.Timedout")
                return 1.5

        yield Session()
        self.calls.append(("close", name))


def builder_for(tmp_path, fail=()):
    def build(variant):
        if variant.name in fail:
            raise BundlerError(f"No wheel for {variant.name}")
        return tmp_path / variant.name.replace("/", "-"), 100, 300

    return build


def options(variants, cold=2, warm=2, **kw):
    return CompareOptions(src=Path("fn"), variants=tuple(variants), cold=cold, warm=warm, **kw)


def test_cold_starts_and_warm_invokes_are_interleaved(tmp_path):
    variants = plan_variants(["fat-layer", "vendored"])
    runner = FakeRunner({"fat-layer": 100, "vendored": 120, "baseline": 300})
    run_compare(options(variants, importtime=False), builder_for(tmp_path), runner)
    cold = [c[1] for c in runner.calls if c[0] == "cold"]
    assert cold == ["fat-layer", "vendored", "baseline"] * 2
    warm = [c[1] for c in runner.calls if c[0] == "warm"]
    assert warm == ["fat-layer", "vendored", "baseline"] * 2
    # Every warm environment is open before the first warm invoke and closed after the last.
    kinds = [c[0] for c in runner.calls if c[0] in ("open", "warm", "close")]
    assert kinds == ["open"] * 3 + ["warm"] * 6 + ["close"] * 3


def test_report_has_every_variant_samples_and_ratios(tmp_path):
    variants = plan_variants(["fat-layer"])
    runner = FakeRunner({"fat-layer": 100, "baseline": 400})
    report = run_compare(options(variants, cold=3, warm=4), builder_for(tmp_path), runner)
    names = [v["name"] for v in report["variants"]]
    assert names == ["fat-layer", BASELINE]
    fat = report["variants"][0]
    assert len(fat["samples"]["cold"]) == 3
    assert len(fat["samples"]["warm_ms"]) == 4
    assert fat["cold_total_ms"]["median"] == 100
    assert fat["ratio_to_baseline"]["cold_total_ms"] == 0.25
    assert fat["zipped_bytes"] == 100 and fat["unzipped_bytes"] == 300
    assert report["baseline"] == BASELINE
    assert report["notes"] == ["Running unsandboxed: test"]
    assert report["settings"]["cold"] == 3


def test_import_breakdown_of_slowest_and_fastest_with_the_profiling_variable(tmp_path):
    variants = plan_variants(["fat-layer", "vendored"])
    runner = FakeRunner({"fat-layer": 100, "vendored": 150, "baseline": 400})
    report = run_compare(options(variants), builder_for(tmp_path), runner)
    profiled = [c for c in runner.calls if c[0] == "cold" and c[2]]
    assert [c[1] for c in profiled] == ["baseline", "fat-layer"]
    assert all(c[2] == {"PYTHONPROFILEIMPORTTIME": "1"} for c in profiled)
    found = report["importtime"]
    assert (found["slowest"], found["fastest"]) == ("baseline", "fat-layer")
    base = found["breakdowns"]["baseline"]
    assert base["packages"][0] == {"package": "numpy", "self_ms": 4.0}
    assert base["imports_ms"] == 6.0
    assert "numpy" in render_importtime(report)
    # The profiled starts are not samples.
    assert len(report["variants"][0]["samples"]["cold"]) == 2


def test_slowest_and_fastest_are_by_init_and_first_invoke_not_extraction(tmp_path):
    variants = plan_variants(["fat-layer"])
    # fat-layer's cold total is the larger, all of it extraction; its init is the smaller.
    runner = FakeRunner({"fat-layer": 500, "baseline": 400}, extract_ms={"fat-layer": 450})
    report = run_compare(options(variants), builder_for(tmp_path), runner)
    assert (report["importtime"]["slowest"], report["importtime"]["fastest"]) == (
        "baseline", "fat-layer")


def _cell(report, name, header):
    """The text of one cell of the rendered table: `name`'s row, `header`'s column."""
    lines = render_table(report).splitlines()
    start = lines[0].index(header)
    row = next(line for line in lines[2:] if line.split()[0] == name)
    return row[start:].split()[0]


def test_the_breakdowns_label_is_the_tables_own_figure_and_its_start_is_named(tmp_path):
    # vendored has the lowest cold total, pinned the lowest init + first invoke (the
    # issue: "(fastest)" named one variant while another had the lowest cold total).
    variants = plan_variants(["vendored", "pinned"])
    runner = FakeRunner({"vendored": 300, "pinned": 320, "baseline": 900},
                        extract_ms={"vendored": 150, "pinned": 200})  # fmt: skip
    report = run_compare(options(variants, warm=0), builder_for(tmp_path), runner)
    assert report["importtime"]["fastest"] == "pinned"
    text = render_importtime(report)
    assert "(fastest)" not in text and "(slowest)" not in text
    table_figure = _cell(report, "pinned", "init+1st")
    assert f"import time of pinned (lowest median init+1st in the table, {table_figure} ms)" in text
    assert f"import time of baseline (highest median init+1st in the table, " \
           f"{_cell(report, 'baseline', 'init+1st')} ms)" in text  # fmt: skip
    # It says the breakdown comes from a start of its own, and gives that start's figure.
    assert "not among the table's samples" in text.splitlines()[0]
    pinned = report["importtime"]["breakdowns"]["pinned"]
    assert pinned["median_init_invoke_ms"] == report["variants"][1]["init_invoke_ms"]["median"]
    assert f"that start's init+1st of {pinned['init_invoke_ms']:.0f} ms" in text


def test_other_pythons_are_compared_with_the_baseline_of_their_own_python(tmp_path):
    variants = plan_variants(["pinned"], pythons=["3.11"])
    runner = FakeRunner({"pinned": 300, "pinned@3.11": 330, "baseline@3.11": 1100,
                         "baseline": 1000})  # fmt: skip
    report = run_compare(options(variants, importtime=False), builder_for(tmp_path), runner)
    rows = {row["name"]: row for row in report["variants"]}
    assert rows["pinned@3.11"]["python"] == "3.11"
    assert rows["pinned@3.11"]["baseline"] == "baseline@3.11"
    assert rows["pinned@3.11"]["ratio_to_baseline"]["cold_total_ms"] == 330 / 1100
    assert rows["pinned"]["ratio_to_baseline"]["cold_total_ms"] == 300 / 1000
    assert report["baseline"] == "baseline"
    assert report["baselines"] == {"3.11": "baseline@3.11", "3.12": "baseline"}


def test_the_report_says_when_it_was_measured(tmp_path):
    runner = FakeRunner({"pinned": 1, "baseline": 2})
    plan = options(plan_variants(["pinned"]), importtime=False)
    report = run_compare(plan, builder_for(tmp_path), runner)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["settings"]["date"])
    assert report["settings"]["python"] == "3.12"


@pytest.mark.parametrize("option", ["json_file", "plot"])
def test_an_output_in_a_missing_directory_is_refused_before_anything_runs(tmp_path, option):
    path = tmp_path / "missing" / "r.svg"
    flag = "--json" if option == "json_file" else "--plot"
    with pytest.raises(UsageError, match=f"{flag} .*missing does not exist"):
        compare_options(Path("fn"), **{option: path})


def test_an_output_whose_directory_is_a_file_or_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="--json .* is not a directory"):
        compare_options(Path("fn"), json_file=tmp_path / "file" / "r.json")
    with pytest.raises(UsageError, match="--json .* that is a directory"):
        compare_options(Path("fn"), json_file=tmp_path)


def test_an_output_directory_that_refuses_files_is_refused(tmp_path, monkeypatch):
    # As root a chmod does not stop a write, so the refusal comes from a stand-in.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("bundler.measure.compare.tempfile.NamedTemporaryFile", refuse)
    with pytest.raises(UsageError, match=r"--json .*r.json: cannot write in .*Permission denied"):
        compare_options(Path("fn"), json_file=tmp_path / "r.json")


def test_a_writable_output_leaves_nothing_behind(tmp_path):
    compare_options(Path("fn"), json_file=tmp_path / "r.json", plot=tmp_path / "r.svg")
    assert list(tmp_path.iterdir()) == []


def test_a_variant_that_fails_to_build_is_reported_and_the_rest_measured(tmp_path):
    variants = plan_variants(["fat-layer", "pinned"])
    runner = FakeRunner({"fat-layer": 100, "baseline": 400})
    report = run_compare(
        options(variants, importtime=False), builder_for(tmp_path, fail={"pinned"}), runner
    )
    assert [v["name"] for v in report["variants"]] == ["fat-layer", BASELINE]
    assert report["failures"] == [
        {"variant": "pinned", "stage": "build", "error": "No wheel for pinned"}
    ]
    assert "pinned" not in {c[1] for c in runner.calls}
    assert "not measured: pinned (build): No wheel for pinned" in render_footer(report)


def test_a_variant_that_does_not_start_is_dropped_after_its_first_failure(tmp_path):
    variants = plan_variants(["fat-layer", "vendored"])
    runner = FakeRunner({"fat-layer": 100, "baseline": 400}, fail_cold={"vendored"})
    report = run_compare(options(variants, cold=3), builder_for(tmp_path), runner)
    assert [c[1] for c in runner.calls if c[0] == "cold" and c[1] == "vendored"] == ["vendored"]
    assert [v["name"] for v in report["variants"]] == ["fat-layer", BASELINE]
    (failure,) = report["failures"]
    assert failure["variant"] == "vendored" and failure["stage"] == "cold start 1"
    assert "Runtime.ExitError" in failure["error"]


def test_a_warm_failure_keeps_the_cold_samples(tmp_path):
    variants = plan_variants(["fat-layer"])
    runner = FakeRunner({"fat-layer": 100, "baseline": 400}, fail_warm={"fat-layer"})
    report = run_compare(options(variants, warm=3, importtime=False), builder_for(tmp_path),
                         runner)  # fmt: skip
    fat = report["variants"][0]
    assert len(fat["samples"]["cold"]) == 2 and fat["samples"]["warm_ms"] == []
    assert report["failures"][0]["stage"] == "warm invoke"
    # Only one failing warm invoke: the session is dropped, the baseline carries on.
    assert len([c for c in runner.calls if c == ("warm", "fat-layer")]) == 1
    assert len(report["variants"][1]["samples"]["warm_ms"]) == 3
    assert math.isnan(fat["warm_ms"]["p50"])
    assert '"p50": null' in dumps(report)


def test_without_a_baseline_ratios_are_missing_not_invented(tmp_path):
    variants = plan_variants(["fat-layer"], baseline=False)
    runner = FakeRunner({"fat-layer": 100})
    report = run_compare(options(variants, importtime=False), builder_for(tmp_path), runner)
    assert report["baseline"] is None
    assert math.isnan(report["variants"][0]["ratio_to_baseline"]["cold_total_ms"])


def test_nothing_built_gives_an_empty_report_with_every_failure(tmp_path):
    variants = plan_variants(["fat-layer"])
    runner = FakeRunner({})
    report = run_compare(
        options(variants), builder_for(tmp_path, fail={"fat-layer", "baseline"}), runner
    )
    assert report["variants"] == []
    assert [f["variant"] for f in report["failures"]] == ["fat-layer", "baseline"]
    assert runner.calls == []


def test_bad_counts_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--cold"):
        run_compare(options(plan_variants(), cold=0), builder_for(tmp_path), FakeRunner({}))


def test_a_report_that_cannot_be_written_after_measuring_is_a_clear_error(tmp_path):
    from bundler.cli.render import write_report

    runner = FakeRunner({"pinned": 1, "baseline": 2})
    plan = options(plan_variants(["pinned"]), importtime=False)
    report = run_compare(plan, builder_for(tmp_path), runner)
    gone = tmp_path / "gone"  # checked before measuring, removed since
    with pytest.raises(UsageError, match=r"Cannot write --json .*r.json"):
        write_report(report, gone / "r.json")
    write_report(report, tmp_path / "r.json")
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["r.json"]
