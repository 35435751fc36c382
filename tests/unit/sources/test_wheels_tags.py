"""Which wheels fit which Lambda: architecture x glibc ceiling x CPython minor."""

from pathlib import Path

import pytest

from bundler.core.errors import WheelError
from bundler.core.target import Target
from bundler.sources.wheels import (
    best_wheel,
    check_own_wheel,
    platform_tags,
    supported_tags,
    wheel_rank,
)

PY311_X86 = Target("3.11", "x86_64")  # Amazon Linux 2: glibc 2.26
PY311_ARM = Target("3.11", "arm64")
PY312_X86 = Target("3.12", "x86_64")  # Amazon Linux 2023: glibc 2.34
PY312_ARM = Target("3.12", "arm64")


def test_platform_tags_x86_64_al2() -> None:
    tags = platform_tags(PY311_X86)
    assert tags[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_27_x86_64" not in tags
    assert "manylinux_2_28_x86_64" not in tags
    for legacy in ("manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"):
        assert legacy in tags
    assert tags[-1] in ("manylinux_2_5_x86_64", "manylinux1_x86_64")
    assert not any("aarch64" in t or "musllinux" in t or t.startswith("linux_") for t in tags)


def test_platform_tags_aarch64_al2023() -> None:
    tags = platform_tags(PY312_ARM)
    assert tags[0] == "manylinux_2_34_aarch64"
    assert "manylinux_2_35_aarch64" not in tags
    assert "manylinux2014_aarch64" in tags
    # aarch64 wheels start at glibc 2.17; there are no manylinux1/2010 aarch64 wheels.
    assert "manylinux1_aarch64" not in tags
    assert "manylinux_2_16_aarch64" not in tags
    assert all(t.endswith("_aarch64") for t in tags)


def test_provided_al2023_uses_the_newer_glibc() -> None:
    assert platform_tags(Target("3.11", "x86_64", "provided.al2023"))[0] == (
        "manylinux_2_34_x86_64"
    )


def test_supported_tags_prefer_the_exact_abi() -> None:
    tags = [str(t) for t in supported_tags(PY312_X86)]
    assert tags[0] == "cp312-cp312-manylinux_2_34_x86_64"
    assert tags.index("cp312-abi3-manylinux_2_34_x86_64") > 0
    assert "py3-none-any" in tags
    assert "cp313-abi3-manylinux_2_34_x86_64" not in tags


@pytest.mark.parametrize(
    ("filename", "target", "fits"),
    [
        # PEP 600 numeric comparison against the ceiling, per architecture.
        ("numpy-2.1.0-cp312-cp312-manylinux_2_28_aarch64.whl", PY312_ARM, True),
        ("numpy-2.1.0-cp311-cp311-manylinux_2_28_aarch64.whl", PY311_ARM, False),
        ("x-1-cp311-cp311-manylinux_2_26_x86_64.whl", PY311_X86, True),
        ("x-1-cp312-cp312-manylinux_2_35_x86_64.whl", PY312_X86, False),
        ("x-1-cp312-cp312-manylinux_2_5_x86_64.whl", PY312_X86, True),
        # Legacy aliases.
        ("x-1-cp311-cp311-manylinux2014_aarch64.whl", PY311_ARM, True),
        ("x-1-cp311-cp311-manylinux1_x86_64.whl", PY311_X86, True),
        ("x-1-cp311-cp311-manylinux2010_x86_64.whl", PY311_X86, True),
        # Wrong architecture, wrong libc, unportable linux tag.
        ("x-1-cp312-cp312-manylinux_2_17_x86_64.whl", PY312_ARM, False),
        ("x-1-cp312-cp312-musllinux_1_2_x86_64.whl", PY312_X86, False),
        ("x-1-cp312-cp312-linux_x86_64.whl", PY312_X86, False),
        ("x-1-cp312-cp312-macosx_11_0_arm64.whl", PY312_ARM, False),
        # ABIs: abi3 from older minors fits, newer does not; other minors' cpXY do not.
        ("cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl", PY312_X86, True),
        ("x-1-cp313-abi3-manylinux_2_17_x86_64.whl", PY312_X86, False),
        ("x-1-cp311-cp311-manylinux_2_17_x86_64.whl", PY312_X86, False),
        ("x-1-cp312-cp312t-manylinux_2_17_x86_64.whl", PY312_X86, False),
        ("x-1-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", Target("3.10"), False),
        # Pure wheels.
        ("requests-2.32.3-py3-none-any.whl", PY311_ARM, True),
        ("six-1.16.0-py2.py3-none-any.whl", PY312_X86, True),
        ("x-1-py2-none-any.whl", PY312_X86, False),
        ("not-a-wheel.tar.gz", PY312_X86, False),
    ],
)
def test_wheel_fits(filename: str, target: Target, fits: bool) -> None:
    assert (wheel_rank(filename, target) is not None) is fits


def test_compressed_tag_sets_fit_when_any_tag_fits() -> None:
    name = (
        "charset_normalizer-3.4.0-cp311-cp311-manylinux2014_aarch64."
        "manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl"
    )
    assert wheel_rank(name, PY311_ARM) is not None


def test_best_wheel_prefers_newest_glibc_then_binary() -> None:
    files = [
        "pydantic_core-2.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "pydantic_core-2.0-cp312-cp312-manylinux_2_28_aarch64.whl",
        "pydantic_core-2.0-cp312-cp312-musllinux_1_1_aarch64.whl",
        "pydantic_core-2.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "pydantic_core-2.0-py3-none-any.whl",
    ]
    assert best_wheel(files, PY312_ARM) == files[1]
    # cp312 wheels do not fit 3.11: the pure wheel is the only candidate.
    assert best_wheel(files, PY311_ARM) == files[4]
    al2 = [f.replace("cp312", "cp311") for f in files[:2]]
    assert best_wheel(al2, PY311_ARM) == al2[0]  # 2_28 is above AL2's glibc 2.26
    assert best_wheel(files, PY312_X86) == files[3]
    assert best_wheel(["x-1-cp312-cp312-win_amd64.whl"], PY312_X86) is None


def test_an_own_wheel_that_does_not_fit_says_why() -> None:
    target = Target("3.12", "arm64")
    check_own_wheel(Path("svc-1.0-py3-none-any.whl"), target)  # pure: fits
    with pytest.raises(WheelError, match=r"native code, compiled on this machine .*manylinux"):
        check_own_wheel(Path("svc-1.0-cp312-cp312-linux_aarch64.whl"), target)
    with pytest.raises(WheelError, match=r"its tags: py2-none-any.*Python 3.12"):
        check_own_wheel(Path("svc-1.0-py2-none-any.whl"), target)
