"""Pure-Python sdists, built into wheels here when a release publishes no wheel at all.

Some packages exist only as an sdist (docopt 0.6.2); being pure Python, their wheel is the
same on every machine, so there is no need for Lambda's build image (`--docker`) to make
it. When a resolver finds no wheel of a package for the target, lambundle:

1. picks the newest release of it that the requirements allow and that has an sdist but
   no wheel for the target, on the index pip uses (`bundler.sources.index`);
2. fetches that sdist by its sha256 (`bundler.sources.sdists`), and unpacks it;
3. builds it into a wheel in a locked, confined environment
   (`bundler.sources.confined_build`): a venv of this machine's Python holding exactly
   its build requirements, the sdist's `[build-system] requires`, read without running
   anything, locked with hashes for this machine and installed with `pip
   --require-hashes` (and what the backend's `get_requires_for_build_wheel` adds, locked
   the same way, once); the backend runs there with `PIP_NO_INDEX`, no credentials from
   our environment and, where bubblewrap works, no network, a read-only file system and
   an empty home directory;
4. accepts it only if it is pure: every tag `none-any`, no extension module inside; a
   native result is an error that points at `--docker`;
5. resolves again with that wheel offered to the resolver (`--find-links`), which then
   sees its metadata and dependencies like any wheel's.

The lock pins the package to the sdist's sha256 and records the build in a comment line
(`# built from sdist: name==version file sha256:...`, `bundler.sources.lock`); installing
the lock takes the wheel from the cache, where it is kept by the sdist's sha256, or builds
it again the same way (`wheel_from_sdist`).
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from bundler.bundle.archive import check_member_name
from bundler.core.cache import Cache, file_sha256
from bundler.core.errors import LockError, WheelError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources import confined_build, sdists
from bundler.sources import resolver as resolvers
from bundler.sources.index import Index, IndexFile, IndexUnavailable, PackageIndex
from bundler.sources.lock import Lock, Pin, built_line, requirements_for_target, with_hashes
from bundler.sources.tags import describe, wheel_rank

# Bump when how a wheel is built from an sdist changes.
_BUILD_VERSION = "sdist-wheel-v1"
_MAX_BUILDS = 20
_NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")


class SdistBuildError(LockError):
    """An sdist could not be built into a pure wheel."""


def resolve(
    name: str,
    requirements: tuple[str, ...],
    target: Target,
    resolver: resolvers.Resolver,
    *,
    cache: Cache,
    report: Report,
    index: Index | None = None,
) -> str:
    """`bundler.sources.resolver.resolve`, wheels only, except that a package with no
    wheel for the target is built from its sdist when it is pure Python (see above)."""
    index = index or PackageIndex()
    built: dict[str, tuple[Pin, str, Path]] = {}  # name: (pin of the sdist, its file, wheel)
    with tempfile.TemporaryDirectory(prefix="lambundle-built-") as tmp:
        links = Path(tmp)
        while True:
            try:
                body = resolvers.resolve(
                    name, requirements, target, resolver,
                    find_links=links if built else None, index=index,
                )  # fmt: skip
                break
            except resolvers.NoWheelForTarget as exc:
                if exc.package in built:
                    pin = built[exc.package][0]
                    msg = (
                        f"{exc}\nlambundle built {pin.name}=={pin.version} from its sdist, the "
                        f"newest the requirements allow, but the resolution needs another "
                        f"version: pin {pin.name} in the requirements."
                    )
                    raise SdistBuildError(msg) from None
                if len(built) >= _MAX_BUILDS:
                    raise
                found = _sdist_to_build(exc.package, requirements, target, index)
                if found is None:
                    raise
                version, sdist_file = found
                assert sdist_file.sha256 is not None, "only files with a sha256 are chosen"
                pin = Pin(exc.package, str(version), (f"sha256:{sdist_file.sha256}",))
                report(
                    f"{exc.package} {version} publishes no wheel for {describe(target)}: "
                    f"its sdist {sdist_file.filename} is built into a wheel (pure Python only)"
                )
                wheel = wheel_from_sdist(
                    pin, sdist_file.sha256, target, cache=cache, report=report,
                    resolver=resolver.name, index=index,
                )  # fmt: skip
                shutil.copy2(wheel, links / wheel.name)
                built[exc.package] = (pin, sdist_file.filename, wheel)
    return _recorded(body, built)


def build_locked(
    lock: Lock,
    target: Target,
    *,
    cache: Cache,
    report: Report,
    resolver: str = "auto",
    index: Index | None = None,
) -> Lock:
    """`lock` (a project's own uv.lock, poetry.lock or Pipfile.lock, whose versions are
    decided) with each pin that has no wheel for the target built from its sdist, when the
    lock's hashes name that sdist and it is pure Python; the rest as they are (a pin with
    neither goes on to download's error)."""
    already = lock.built_from_sdists
    pins = [p for p in lock.pins if canonicalize_name(p.name) not in already]
    if not pins:
        return lock
    built: dict[str, tuple[Pin, str, Path]] = {}
    for pin, (filename, sha256) in _locked_sdists(pins, target, cache, index).items():
        report(
            f"{pin.name} {pin.version} publishes no wheel for {describe(target)}: its sdist "
            f"{filename}, as the lock's hashes name it, is built into a wheel (pure Python only)"
        )
        wheel = wheel_from_sdist(
            pin, sha256, target, cache=cache, report=report, resolver=resolver, index=index
        )
        sdist_pin = Pin(pin.name, pin.version, (f"sha256:{sha256}",))
        built[canonicalize_name(pin.name)] = (sdist_pin, filename, wheel)
    if not built:
        return lock
    return Lock.from_text(_recorded(lock.text, built), "lock with sdists built")


def _locked_sdists(
    pins: Sequence[Pin], target: Target, cache: Cache, index: Index | None
) -> dict[Pin, tuple[str, str]]:
    """The pins to build from an sdist, with its file name and sha256 (`_locked_sdist`):
    asked of the index once per lock file's pins and target, then remembered, so that an
    unchanged rebuild asks nothing (the hashes fix the files, so the answer cannot change)."""
    glibc = ".".join(map(str, target.glibc))
    key = Cache.key(
        "locked-sdists-v1", target.python, target.arch, glibc,
        *sorted(f"{p.name}=={p.version} {' '.join(sorted(p.hashes))}" for p in pins),
    )  # fmt: skip
    entry = cache.dir("locked-sdists", key)
    if entry is not None:
        try:
            known = json.loads((entry / "sdists.json").read_text(encoding="utf-8"))
            return {
                pin: (str(known[pin.name][0]), str(known[pin.name][1]))
                for pin in pins
                if pin.name in known
            }
        except (OSError, ValueError, TypeError):
            cache.remove("locked-sdists", key)
    index = index or PackageIndex()
    unavailable = False

    def ask(pin: Pin) -> IndexFile | None:
        nonlocal unavailable
        try:
            return _locked_sdist(pin, target, index)
        except IndexUnavailable:
            unavailable = True  # the download says what is wrong with the index
            return None

    with concurrent.futures.ThreadPoolExecutor(min(8, len(pins))) as pool:
        found = dict(zip(pins, pool.map(ask, pins), strict=True))
    chosen: dict[Pin, tuple[str, str]] = {
        pin: (item.filename, item.sha256)
        for pin, item in found.items()
        if item is not None and item.sha256 is not None
    }
    if not unavailable:
        text = json.dumps({pin.name: list(answer) for pin, answer in chosen.items()})

        def put(tmp: Path) -> None:
            (tmp / "sdists.json").write_text(text, encoding="utf-8")

        cache.put_dir("locked-sdists", key, put)
    return chosen


def _locked_sdist(pin: Pin, target: Target, index: Index) -> IndexFile | None:
    """The sdist of `pin`'s version whose sha256 the pin lists, when the index has no
    wheel of that version for the target among the pin's hashes; else None."""
    hashes = {h.removeprefix("sha256:") for h in pin.hashes}
    sdist: IndexFile | None = None
    for item in index.files(pin.name) or ():
        if item.sha256 not in hashes:
            continue
        if item.filename.endswith(".whl"):
            if wheel_rank(item.filename, target) is not None:
                return None
            continue
        try:
            version = parse_sdist_filename(item.filename)[1]
        except InvalidSdistFilename:
            continue
        if version == Version(pin.version) and (sdist is None or item.filename.endswith(".tar.gz")):
            sdist = item
    return sdist


def _recorded(body: str, built: Mapping[str, tuple[Pin, str, Path]]) -> str:
    """The resolver's lock with each built package pinned to its sdist's hash, and a
    comment line that says it is built from it."""
    if not built:
        return body
    pins: dict[str, Pin] = {canonicalize_name(p.name): p for p in Lock.from_text(body, "lock").pins}
    lines = []
    for name, (pin, sdist_file, _) in sorted(built.items()):
        locked = pins.get(name)
        if locked is None or locked.version != pin.version:
            got = locked.version if locked else "nothing"
            msg = (
                f"The resolver pinned {pin.name} to {got}, not the {pin.version} lambundle "
                f"built from its sdist; pin {pin.name}=={pin.version} in the requirements."
            )
            raise SdistBuildError(msg)
        lines.append(built_line(locked.name, pin.version, sdist_file, pin.hashes[0][7:]))
    body = with_hashes(body, {name: built[name][0].hashes for name in built})
    return "".join(lines) + body


def _sdist_to_build(
    package: str, requirements: tuple[str, ...], target: Target, index: Index
) -> tuple[Version, IndexFile] | None:
    """The newest release of `package` the top-level requirements allow that has an sdist
    (with a sha256) and no wheel for the target, or None."""
    try:
        files = index.files(package)
    except IndexUnavailable:
        return None
    if not files:
        return None
    spec = SpecifierSet()
    for text in requirements_for_target(requirements, target):
        req = Requirement(text)
        if canonicalize_name(req.name) == package:
            spec &= req.specifier
    fitting: set[Version] = set()
    candidates: dict[Version, IndexFile] = {}
    for item in files:
        if item.yanked or not _allows(item.requires_python, target):
            continue
        try:
            if item.filename.endswith(".whl"):
                version = parse_wheel_filename(item.filename)[1]
                if wheel_rank(item.filename, target) is not None:
                    fitting.add(version)
                continue
            version = parse_sdist_filename(item.filename)[1]
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        if item.sha256 and (version not in candidates or item.filename.endswith(".tar.gz")):
            candidates[version] = item
    allowed = [v for v in candidates if v not in fitting and spec.contains(v)]
    if not allowed:
        return None
    newest = max(allowed)
    return newest, candidates[newest]


def _allows(requires_python: str | None, target: Target) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(f"{target.python}.0", prereleases=True)
    except InvalidSpecifier:
        return True  # the resolver decides on it


def wheel_from_sdist(
    pin: Pin,
    sha256: str,
    target: Target,
    *,
    cache: Cache,
    report: Report,
    resolver: str = "auto",
    index: Index | None = None,
) -> Path:
    """The pure wheel built from `pin`'s sdist whose sha256 is `sha256`: from the cache,
    where it is kept by that sha256, or built (see the module's docstring)."""
    key = Cache.key(_BUILD_VERSION, sha256)
    wheel = built_wheel(sha256, cache)
    if wheel is not None:
        return wheel
    if cache.dir("sdist-wheels", key) is not None:
        report(f"The cached wheel built from {pin.name}'s sdist changed; building it again")
        cache.remove("sdist-wheels", key)
    sdist = sdists.fetch_sdist(
        Pin(pin.name, pin.version, (f"sha256:{sha256}",)), cache, index
    )

    def build(tmp: Path) -> None:
        report(f"Building {pin.name} {pin.version} from {sdist.name} in an isolated environment")
        wheel = _build(sdist, pin, target, tmp, cache, report, resolver)
        record = {"wheel": wheel.name, "sha256": file_sha256(wheel), "sdist": sdist.name}
        (tmp / "built.json").write_text(json.dumps(record), encoding="utf-8")

    entry = cache.put_dir("sdist-wheels", key, build)
    wheel = _cached_wheel(entry)
    assert wheel is not None, "a fresh entry holds its wheel"
    return wheel


def built_wheel(sha256: str, cache: Cache) -> Path | None:
    """The wheel the cache holds, built from the sdist whose sha256 is `sha256`, or None."""
    entry = cache.dir("sdist-wheels", Cache.key(_BUILD_VERSION, sha256))
    return _cached_wheel(entry) if entry is not None else None


def _cached_wheel(entry: Path) -> Path | None:
    """The entry's wheel if its bytes are the ones recorded when it was built."""
    try:
        record = json.loads((entry / "built.json").read_text(encoding="utf-8"))
        wheel = entry / str(record["wheel"])
        return wheel if file_sha256(wheel) == record["sha256"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _build(
    sdist: Path, pin: Pin, target: Target, out: Path, cache: Cache, report: Report,
    resolver: str,
) -> Path:  # fmt: skip
    """Build `sdist` into one pure wheel in `out` (see the module's docstring)."""
    requires = sdists.build_requirements(sdist)
    subject = confined_build.Subject(
        name=pin.name,
        what=f"{pin.name} {pin.version} from its sdist {sdist.name}",
        error=SdistBuildError,
        if_failed=(
            "It may need a compiler or system libraries: build it in Lambda's build image "
            f"with --docker, or pin a version of {pin.name} that publishes a wheel."
        ),
        if_more="build it with --docker, or pin another version.",
    )
    with tempfile.TemporaryDirectory(prefix="lambundle-sdist-") as tmp:
        work = Path(tmp)
        source = _unpack(sdist, work / "src")
        built = confined_build.build_wheel(
            source, requires, work, subject, cache=cache, report=report, resolver=resolver
        )
        _check_pure(built, pin, target)
        shutil.copy2(built, out / built.name)
    return out / built.name


def _check_pure(wheel: Path, pin: Pin, target: Target) -> None:
    """Accept only a `none-any` wheel of the pin, with no extension module inside."""
    try:
        name, version, _, tags = parse_wheel_filename(wheel.name)
        with zipfile.ZipFile(wheel) as zf:
            native = [
                n for n in zf.namelist()
                if n.endswith(_NATIVE_SUFFIXES) or ".so." in PurePosixPath(n).name
            ]  # fmt: skip
    except (InvalidWheelFilename, OSError, zipfile.BadZipFile) as exc:
        msg = f"Building {pin.name}'s sdist made {wheel.name}, which is not a wheel ({exc})."
        raise SdistBuildError(msg) from None
    if canonicalize_name(name) != canonicalize_name(pin.name) or version != Version(pin.version):
        msg = (
            f"Building {pin.name} {pin.version}'s sdist made {wheel.name}, a wheel of another "
            "project or version; the sdist is not what its name says."
        )
        raise SdistBuildError(msg)
    impure = [str(t) for t in tags if t.abi != "none" or t.platform != "any"]
    if impure or native:
        what = f"tagged {impure[0]}" if impure else f"with {native[0]} inside"
        msg = (
            f"{pin.name} {pin.version} has no wheel for {describe(target)}, and its sdist "
            f"builds {wheel.name}, a native wheel ({what}) for this machine, not for "
            f"Lambda: build it in Lambda's build image with --docker, or pin a version of "
            f"{pin.name} that publishes a manylinux wheel for {target.machine}."
        )
        raise SdistBuildError(msg)
    if wheel_rank(wheel.name, target) is None:
        msg = f"{pin.name}'s sdist builds {wheel.name}, which does not fit {describe(target)}."
        raise SdistBuildError(msg)


def _unpack(sdist: Path, dest: Path) -> Path:
    """Unpack `sdist` into `dest`, refusing unsafe members; its one top-level directory."""
    dest.mkdir(parents=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for name in zf.namelist():
                    check_member_name(name)
                zf.extractall(dest)
        else:
            with tarfile.open(sdist, "r:gz") as tf:
                members = tf.getmembers()
                for member in members:
                    check_member_name(member.name)
                    if not (member.isfile() or member.isdir()):
                        msg = f"{sdist.name}: member {member.name!r} is a link or device."
                        raise SdistBuildError(msg)
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(dest, members=members, filter="data")
                else:  # pragma: no cover - Python < 3.10.12: checked above
                    tf.extractall(dest, members=members)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, WheelError) as exc:
        msg = f"{sdist.name} is not a safe, readable sdist ({exc}); nothing was built."
        raise SdistBuildError(msg) from None
    tops = list(dest.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        msg = f"{sdist.name} does not hold one top-level directory, as an sdist does."
        raise SdistBuildError(msg)
    return tops[0]
