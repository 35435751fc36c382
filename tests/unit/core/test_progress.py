"""Timings: the seconds per build step that `bundle --json` reports."""

from __future__ import annotations

import pytest

from bundler.core.progress import Timings


def test_a_step_that_runs_twice_adds_up_and_order_is_first_run() -> None:
    timings = Timings()
    timings.add("download", 1.0)
    with timings.step("unpack"):
        pass
    timings.add("download", 0.5)
    assert list(timings.steps) == ["download", "unpack"]
    assert timings.to_json()["download"] == 1.5


def test_a_step_that_fails_is_still_counted() -> None:
    timings = Timings()
    with pytest.raises(RuntimeError), timings.step("verify"):
        raise RuntimeError
    assert "verify" in timings.steps
