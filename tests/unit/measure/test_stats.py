import math

import pytest

from bundler.measure.stats import percentile, ratio, summarize


def test_percentile_interpolates_between_ranks():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 99) == 10
    assert percentile([3, 1, 2], 0) == 1
    assert percentile([3, 1, 2], 100) == 3
    assert percentile([0, 100], 99) == pytest.approx(99)


def test_summarize_reports_median_and_spread():
    s = summarize([5.0, 1.0, 3.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (3.0, 1.0, 5.0, 3)


def test_summarize_of_nothing_is_nan_not_zero():
    s = summarize([])
    assert s["n"] == 0
    assert math.isnan(s["median"])


def test_ratio_against_a_missing_baseline_is_nan():
    assert ratio(50, 200) == 0.25
    assert math.isnan(ratio(50, 0))
    assert math.isnan(ratio(math.nan, 3))
