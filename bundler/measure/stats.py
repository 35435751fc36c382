"""Summaries of timing samples: medians and spread, never a single run."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max, p99 and the sample count of `values` (NaN when empty)."""
    if not values:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "p99": math.nan, "n": 0}
    return {
        "median": percentile(values, 50),
        "min": min(values),
        "max": max(values),
        "p99": percentile(values, 99),
        "n": len(values),
    }


def ratio(value: float, baseline: float) -> float:
    """value / baseline, NaN when either is missing or the baseline is zero."""
    if math.isnan(value) or math.isnan(baseline) or baseline == 0:
        return math.nan
    return value / baseline
