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


def test_zipped_function_over_fifty_megabytes_goes_through_s3() -> None:
    # 50 MB is the limit of a direct upload only (gettingstarted-limits.html): Lambda takes
    # a bigger zip from S3, so it is a warning that names that route, never a LimitError.
    found = limits.checks(1, [], function_zipped=limits.MAX_ZIPPED + 1)
    limits.enforce(found, [])
    assert limits.within(found)
    [zipped] = [c for c in found if c.name == "zipped function.zip (bytes)"]
    assert (zipped.ok, zipped.hard) == (False, False)
    [warning] = limits.through_s3([("function.zip", limits.MAX_ZIPPED + 1), ("l.zip", 10)])
    assert warning.startswith("function.zip is 52,428,801 bytes zipped, over the 52,428,800")
    assert "lambundle publish --s3-bucket" in warning and "AWS CLI" in warning


def test_the_limit_error_counts_the_bytecode_of_each_distribution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = b"big/__init__.py,sha256=a,1000000\nbig-1.0.dist-info/RECORD,,\n"
    plan = strategies.get("vendored").plan(
        PlanInputs(
            target=Target(),
            handler="app.handler",
            code=(ZipEntry("app.py", data=b""),),
            deps=(
                ZipEntry("big/__init__.py", data=b"x" * 1_000_000),
                ZipEntry("big/__pycache__/__init__.cpython-312.pyc", data=b"y" * 2_000_000),
                ZipEntry("big-1.0.dist-info/RECORD", data=record),
                ZipEntry("six-1.16.dist-info/RECORD", data=b"six.py,,\n"),
                ZipEntry("six.py", data=b"s" * 100_000),
                ZipEntry("__pycache__/six.cpython-312.pyc", data=b"p" * 200_000),
            ),
            lock_text="big==1.0\n",
            lock_sha256="f" * 64,
            # What the install measured: the sources only, before bytecode was compiled.
            distributions=(Dist("big", "1.0", 1_000_000), Dist("gone", "2", 5)),
        )
    )
    monkeypatch.setattr(limits, "MAX_UNZIPPED", 1_000_000)
    with pytest.raises(LimitError) as info:
        check_plan(plan)
    text = str(info.value)
    assert "big 1.0 (3.0 MB)" in text  # its sources and the pyc compiled for them
    assert "six 1.16 (0.3 MB)" in text  # a top-level module's pyc, in the site's __pycache__
    assert "gone 2 (0.0 MB)" in text  # nothing of it shipped with a RECORD: installed size


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
