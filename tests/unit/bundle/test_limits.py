"""Lambda's limits, checked on plans before anything is written."""

from __future__ import annotations

import pytest

import strategies
from bundler.build.executor import check_plan, unzipped_size
from bundler.bundle import limits
from bundler.bundle.archive import ZipEntry
from bundler.bundle.plan import Dist, PlanInputs
from bundler.core.errors import LimitError
from bundler.core.target import Target


def test_checks_pass_at_exactly_the_limit() -> None:
    found = limits.checks(limits.MAX_UNZIPPED - 50, [10] * 5, function_zipped=limits.MAX_ZIPPED)
    assert all(c.ok for c in found)
    limits.enforce(found, [])


def test_unzipped_over_the_limit_names_the_largest_distributions() -> None:
    found = limits.checks(200_000_000, [62_144_001])
    dists = [
        ("numpy", "2.1.0", 60_000_000),
        ("six", "1.16.0", 30_000),
        ("pandas", "2.2", 70_000_000),
    ]
    with pytest.raises(LimitError) as info:
        limits.enforce(found, dists)
    text = str(info.value)
    assert "262,144,001 exceeds Lambda's limit of 262,144,000" in text
    assert text.index("pandas 2.2 (70.0 MB)") < text.index("numpy 2.1.0 (60.0 MB)")
    assert info.value.exit_code == 3


def test_six_layers_are_too_many() -> None:
    with pytest.raises(LimitError, match="layers: 6 exceeds"):
        limits.enforce(limits.checks(1, [1] * 6), [])


def test_zipped_function_over_fifty_megabytes() -> None:
    with pytest.raises(LimitError, match="zipped function.zip"):
        limits.enforce(limits.checks(1, [], function_zipped=limits.MAX_ZIPPED + 1), [])


def test_largest_orders_by_size_then_name() -> None:
    assert limits.largest([("b", "1", 5), ("a", "1", 5), ("c", "1", 9)], n=2) == [
        ("c", "1", 9),
        ("a", "1", 5),
    ]


def big_plan(tmp_path, size: int):  # type: ignore[no-untyped-def]
    # A sparse file: big by stat, no disk used, so the limit check reads real sizes.
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(size)
    return strategies.get("vendored").plan(
        PlanInputs(
            target=Target(),
            handler="app.handler",
            code=(ZipEntry("app.py", data=b""),),
            deps=(ZipEntry("bigpkg/data.bin", source=big),),
            lock_text="bigpkg==1\n",
            lock_sha256="f" * 64,
            distributions=(Dist("bigpkg", "1", size),),
        )
    )


def test_a_plan_over_the_unzipped_limit_is_refused_before_writing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = big_plan(tmp_path, limits.MAX_UNZIPPED + 1)
    with pytest.raises(LimitError, match="bigpkg 1"):
        check_plan(plan)


def test_a_plan_within_the_limits_passes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check_plan(big_plan(tmp_path, 1_000_000))


def test_unzipped_size_counts_a_name_once() -> None:
    entries = [ZipEntry("a", data=b"12345"), ZipEntry("a", data=b"12")]
    assert unzipped_size(entries) == 2
