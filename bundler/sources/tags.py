"""Which wheels fit a Lambda target: platform tags, their order of preference, the best fit.

Lambda runs CPython X.Y on Linux x86_64 or aarch64 with a fixed glibc (2.26 on Amazon
Linux 2, 2.34 on Amazon Linux 2023). A wheel fits when one of its tags is in
`supported_tags(target)`: cpXY/abi3/none ABIs, and `manylinux_2_N_<arch>` platforms with
N up to the glibc ceiling, compared numerically (PEP 600), plus the legacy aliases
manylinux1 (2_5), manylinux2010 (2_12) and manylinux2014 (2_17). musllinux and plain
`linux_*` wheels never fit: Lambda is glibc-based, and `linux_*` promises nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from bundler.core.target import Target

# The oldest glibc a manylinux wheel can target per machine: manylinux1 is glibc 2.5 and
# exists for x86_64 only; aarch64 wheels start at manylinux2014 (glibc 2.17).
_MIN_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
_LEGACY = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}


def platform_tags(target: Target) -> list[str]:
    """Platform tags a wheel may carry for `target`, best (newest glibc) first."""
    machine = target.machine
    major, ceiling = target.glibc
    out: list[str] = []
    for minor in range(ceiling, _MIN_GLIBC_MINOR[machine] - 1, -1):
        out.append(f"manylinux_{major}_{minor}_{machine}")
        for legacy, legacy_minor in _LEGACY.items():
            if legacy_minor == minor and (machine == "x86_64" or legacy == "manylinux2014"):
                out.append(f"{legacy}_{machine}")
    return out


def supported_tags(target: Target) -> list[Tag]:
    """Every wheel tag that installs on `target`, in pip's order of preference."""
    version = tuple(int(p) for p in target.python.split("."))
    platforms = platform_tags(target)
    tags = list(cpython_tags(version, abis=[target.cp_tag], platforms=platforms))
    tags += list(compatible_tags(version, interpreter=target.cp_tag, platforms=platforms))
    return list(dict.fromkeys(tags))


def wheel_rank(filename: str, target: Target) -> int | None:
    """Position of the wheel's best tag in `supported_tags` (lower is better); None: unfit."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    ranks = _rank_table(target)
    found = [ranks[t] for t in tags if t in ranks]
    return min(found) if found else None


_RANKS: dict[Target, dict[Tag, int]] = {}


def _rank_table(target: Target) -> dict[Tag, int]:
    if target not in _RANKS:
        _RANKS[target] = {tag: i for i, tag in enumerate(supported_tags(target))}
    return _RANKS[target]


def best_wheel(filenames: Iterable[str], target: Target) -> str | None:
    """The most specific wheel among `filenames` for `target`, or None if none fits."""
    ranked = [(r, f) for f in filenames if (r := wheel_rank(f, target)) is not None]
    return min(ranked)[1] if ranked else None


def describe(target: Target) -> str:
    major, minor = target.glibc
    return f"CPython {target.python} on Linux {target.machine} (glibc <= {major}.{minor})"
