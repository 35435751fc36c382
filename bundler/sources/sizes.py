"""How many bytes a lock unpacks to, known before anything is downloaded.

Lambda refuses a function whose code and layers unzip to more than 262,144,000 bytes; the
plan check (`bundler.bundle.limits`) finds that once every wheel is downloaded, unpacked
and compiled, which for a scientific stack takes seconds. The lock already says which
wheels will install, and each wheel's central directory says how big its files are, so
the check can come first: the central directory of the wheel the installer will pick is
read from the index with range requests (`bundler.sources.index`), or from the wheel in
the cache, never downloaded whole.

The sum is a lower bound of what the bundle unzips to, never more, so no set that could fit
is refused: it counts the files the installer writes (not `.data/scripts`, `headers` or
`data`, nor RECORD, which installing may shorten), each path once as the later wheel
writes it, without bytecode (the build compiles its own, which only adds) and without
what the caller says it leaves out (`--slim`'s tests and stubs). A pin whose size cannot be
read (an sdist, an index without range requests) counts as 0. A wheel's zipped size is no
bound on its own: a wheel of many small files can be bigger zipped than unzipped.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import zipfile
from collections.abc import Callable, Sequence

from packaging.utils import canonicalize_name

from bundler.bundle import limits
from bundler.core.cache import Cache
from bundler.core.errors import BundleError, WheelError
from bundler.core.progress import Report, quiet
from bundler.core.target import Target
from bundler.sources.index import Index, IndexUnavailable, PackageIndex
from bundler.sources.lock import Lock, Pin
from bundler.sources.sdist_build import built_wheel
from bundler.sources.tags import best_wheel
from bundler.sources.wheels import cached_wheel, plan_members

# What a caller leaves out of the tree it ships (arcname relative to site-packages).
LeaveOut = Callable[[str], bool]
_WORKERS = 8


@dataclasses.dataclass(frozen=True)
class Estimate:
    """At least how many bytes each pin installs, and the pins whose size is unknown."""

    sizes: tuple[tuple[str, str, int], ...]  # (name, version, bytes), in install order
    unknown: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(size for _, _, size in self.sizes)


def estimate(
    lock: Lock,
    target: Target,
    *,
    cache: Cache,
    index: Index | None = None,
    leave_out: LeaveOut | None = None,
) -> Estimate:
    """The lower bound of the unpacked size of `lock`'s wheels for `target` (see above)."""
    index = index or PackageIndex()
    pins = sorted(lock.pins, key=lambda p: canonicalize_name(p.name))  # install's order
    built = lock.built_from_sdists
    with concurrent.futures.ThreadPoolExecutor(min(_WORKERS, len(pins) or 1)) as pool:
        found = list(
            pool.map(lambda pin: _member_sizes(pin, target, cache, index, built), pins)
        )
    written: dict[str, tuple[int, int]] = {}  # path: (pin's position, size); later wins
    unknown = []
    for position, (pin, members) in enumerate(zip(pins, found, strict=True)):
        if members is None:
            unknown.append(pin.name)
            continue
        for path, size in members.items():
            if not _not_shipped(path) and not (leave_out and leave_out(path)):
                written[path] = (position, size)
    per_pin = [0] * len(pins)
    for position, size in written.values():
        per_pin[position] += size
    sizes = tuple((p.name, p.version, n) for p, n in zip(pins, per_pin, strict=True))
    return Estimate(sizes=sizes, unknown=tuple(unknown))


def check_fits(
    lock: Lock,
    target: Target,
    *,
    cache: Cache,
    index: Index | None = None,
    leave_out: LeaveOut | None = None,
    report: Report = quiet,
) -> Estimate:
    """Refuse a lock whose wheels cannot fit in Lambda before any is downloaded, with the
    LimitError the plan check gives; what could fit goes on to be installed and checked
    again, exactly, on the plan."""
    if not lock.pins:
        return Estimate((), ())
    report(f"Reading the unpacked sizes of {len(lock.pins)} wheel(s) before downloading")
    found = estimate(lock, target, cache=cache, index=index, leave_out=leave_out)
    if found.unknown:
        report(
            f"The sizes of {', '.join(found.unknown[:5])}{' ...' if len(found.unknown) > 5 else ''}"
            " are not known before installing; they count as 0 for now"
        )
    report(f"The wheels unpack to at least {found.total:,} bytes")
    check = limits.Check(
        "unzipped function + layers (bytes), at least, read from the wheels before "
        "downloading them",
        found.total,
        limits.MAX_UNZIPPED,
    )
    limits.enforce([check], found.sizes)
    return found


def _not_shipped(path: str) -> bool:
    """Files the installed tree has that no bundle ships: host bytecode (the build compiles
    its own) and RECORD (which installing rewrites, shorter)."""
    name = path.rsplit("/", 1)[-1]
    return (
        name.endswith((".pyc", ".pyo"))
        or "/__pycache__/" in f"/{path}"
        or (name == "RECORD" and path.count("/") == 1 and path.split("/")[0].endswith(".dist-info"))
    )


def _member_sizes(
    pin: Pin, target: Target, cache: Cache, index: Index, built: dict[str, tuple[str, str]]
) -> dict[str, int] | None:
    """Each path the pin's wheel installs with its size, or None when it cannot be read."""
    try:
        if canonicalize_name(pin.name) in built:  # lambundle builds it: cached once built
            local = built_wheel(built[canonicalize_name(pin.name)][1], cache)
            if local is None:
                return None
        else:
            local = cached_wheel(pin, target, cache)
        if local is not None:
            with zipfile.ZipFile(local) as zf:
                return _installed_sizes(zf.infolist(), local.name)
        files = index.files(pin.name) or []
        allowed = {h.split(":", 1)[1] for h in pin.hashes if h.startswith("sha256:")}
        candidates = {f.filename: f for f in files if f.sha256 in allowed}
        chosen = best_wheel(candidates, target)
        if chosen is None:
            return None
        with index.open(candidates[chosen]) as handle, zipfile.ZipFile(handle) as zf:
            return _installed_sizes(zf.infolist(), chosen)
    except (IndexUnavailable, OSError, zipfile.BadZipFile, BundleError, WheelError):
        return None  # the install reads it for real, and reports what is wrong with it


def _installed_sizes(infos: Sequence[zipfile.ZipInfo], wheel: str) -> dict[str, int]:
    return {
        target: info.file_size
        for info, target in plan_members(list(infos), wheel)
        if target is not None
    }

