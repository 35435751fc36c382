"""Wheels for the target, not the host: hash-checked downloads, safe installs.

Which wheels fit a target is `bundler.sources.tags`. A wheel the index (the one pip
installs from, `bundler.sources.index`) lists with one of the lock's sha256 is downloaded
from it directly, several at once, and each is unpacked as soon as it is in (`install`):
starting pip costs more than the transfer of a scientific stack, and unpacking one wheel
overlaps the others' downloads. Whatever the index does not serve that way (another index
or find-links in pip's configuration, a server without PEP 691) goes through `pip download
--require-hashes`, checked against the lock's hashes by pip. Either way every wheel is
checked against the lock's hashes by us before it enters the cache, and nothing is unpacked
that is not in the cache. Wheels are cached by sha256;
a cached wheel whose bytes no longer match its hash (tampered or corrupted) is reported,
dropped and downloaded again. A pin the lock says lambundle builds from its sdist is
built (once, cached by the sdist's sha256) by `bundler.sources.sdist_build`.
"""

from __future__ import annotations

import base64
import concurrent.futures
import csv
import dataclasses
import hashlib
import io
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)

from bundler.bundle.archive import MappedZip, check_member_name, make_dirs, write_file
from bundler.core.cache import Cache, file_sha256
from bundler.core.errors import BundleError, WheelError
from bundler.core.progress import Report, Timings
from bundler.core.target import Target
from bundler.sources import sdist_build, seals
from bundler.sources.index import IndexUnavailable, PackageIndex, WheelSource
from bundler.sources.lock import Lock, Pin, pin_lines

# Which wheels fit a target: imported from here by the rest of lambundle, too.
from bundler.sources.tags import best_wheel as best_wheel
from bundler.sources.tags import describe as describe
from bundler.sources.tags import platform_tags as platform_tags
from bundler.sources.tags import supported_tags as supported_tags
from bundler.sources.tags import wheel_rank as wheel_rank


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One installed distribution: where it came from and how many bytes it installed."""

    name: str
    version: str
    wheel: str  # the wheel's file name, which carries its tags
    size: int  # installed bytes


class NoWheelError(WheelError):
    """No wheel of a pinned distribution fits the target; `name` says which (for --docker)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = canonicalize_name(name)


def no_wheel_message(name: str, version: str | None, target: Target) -> str:
    pinned = f"{name}=={version}" if version else name
    return (
        f"No wheel of {pinned} fits {describe(target)}. lambundle installs binary wheels "
        f"only, so either build it in Lambda's build image with --docker, or pin an older "
        f"version of {name} that publishes a manylinux wheel for {target.machine}."
    )


def check_own_wheel(wheel: Path, target: Target) -> None:
    """Refuse the function's own wheel when it does not fit `target`, saying why: built
    here, a package with native code is compiled for this machine, never for Lambda."""
    if wheel_rank(wheel.name, target) is not None:
        return
    tags = sorted(str(t) for t in parse_wheel_filename(wheel.name)[3])
    native = [t for t in tags if not t.endswith("-none-any")]
    if native:
        msg = (
            f"The function's own wheel {wheel.name} does not fit {describe(target)}: the "
            f"package holds native code, compiled on this machine ({native[0]}), and "
            "lambundle builds the function's own package here only, not in Lambda's build "
            "image (--docker builds dependencies). Move the native part into a package of "
            f"its own, publish it to an index (an sdist, or a manylinux wheel for "
            f"{target.machine}) and require it, so that the function's package is pure Python."
        )
    else:
        msg = (
            f"The function's own wheel {wheel.name} does not fit {describe(target)} (its "
            f"tags: {', '.join(tags)}): make the package build for Python {target.python} "
            "(requires-python, its backend's wheel tags)."
        )
    raise WheelError(msg)



# -- downloads ----------------------------------------------------------------------------


# Called with (canonical name, cached wheel) as each wheel of `fetch` is in the cache.
Fetched = Callable[[str, Path], None]
# Wheels downloaded from the index at once.
_DOWNLOADS = 4


def fetch(
    pins: Iterable[Pin],
    target: Target,
    *,
    cache: Cache,
    report: Report | None = None,
    fetched: Fetched | None = None,
    index: WheelSource | None = None,
) -> dict[str, Path]:
    """The cached wheel file for each pin (by canonical name), downloading what is missing.

    The wheel chosen for (pin, target) is remembered in the cache ("picks"), so the same
    lock always installs the same files on this machine, even offline. `fetched` hears of
    each wheel as soon as it is in the cache, checked, while others may still download;
    `index` is where wheels are downloaded from directly (default: pip's index).
    """
    say = report or (lambda _msg: None)
    found: dict[str, Path] = {}
    missing: list[Pin] = []
    for pin in pins:
        path = _cached_pick(pin, target, cache, say)
        if path is None:
            missing.append(pin)
        else:
            found[canonicalize_name(pin.name)] = path
            if fetched is not None:
                fetched(canonicalize_name(pin.name), path)
    if missing:
        say(f"Downloading {len(missing)} wheel(s) for {describe(target)}")
        found.update(_download(missing, target, cache, fetched, index or PackageIndex()))
    return found


def _pick_key(pin: Pin, target: Target) -> str:
    major, minor = target.glibc
    return Cache.key(
        "pick-v1", canonicalize_name(pin.name), pin.version, target.python, target.arch,
        f"{major}.{minor}",
    )  # fmt: skip


def cached_wheel(pin: Pin, target: Target, cache: Cache) -> Path | None:
    """The wheel the cache holds for (pin, target), checked against its sha256, or None."""
    return _cached_pick(pin, target, cache, lambda _msg: None)


def _cached_pick(pin: Pin, target: Target, cache: Cache, say: Report) -> Path | None:
    pick_dir = cache.dir("picks", _pick_key(pin, target))
    if pick_dir is None:
        return None
    try:
        pick = json.loads((pick_dir / "pick.json").read_text())
        sha, filename = str(pick["sha256"]), str(pick["filename"])
    except (OSError, ValueError, KeyError, TypeError):
        cache.remove("picks", _pick_key(pin, target))
        return None
    if f"sha256:{sha}" not in pin.hashes:
        return None  # this lock allows other files (another index, a re-upload)
    entry = cache.dir("wheels", sha)
    path = entry / filename if entry is not None else None
    if path is None or not path.is_file():
        return None
    if file_sha256(path) != sha:
        say(
            f"Cached wheel {filename} does not match its sha256 (tampered or corrupted); "
            "removing it and downloading it again"
        )
        cache.remove("wheels", sha)
        return None
    return path


def _download(
    pins: list[Pin], target: Target, cache: Cache, fetched: Fetched | None, index: WheelSource
) -> dict[str, Path]:
    """Download `pins`' wheels into the cache: from the index directly where it serves
    them, through pip for the rest; `fetched` hears of each as it is stored."""
    out: dict[str, Path] = {}
    rest: list[Pin] = []
    with concurrent.futures.ThreadPoolExecutor(min(_DOWNLOADS, len(pins))) as pool:
        started = {
            pool.submit(_download_from_index, pin, target, cache, index): pin for pin in pins
        }
        for future in concurrent.futures.as_completed(started):
            pin = started[future]
            path = future.result()
            if path is None:
                rest.append(pin)
                continue
            out[canonicalize_name(pin.name)] = path
            if fetched is not None:
                fetched(canonicalize_name(pin.name), path)
    if rest:
        for name, path in _pip_download(rest, target, cache).items():
            out[name] = path
            if fetched is not None:
                fetched(name, path)
    return out


def _download_from_index(pin: Pin, target: Target, cache: Cache, index: WheelSource) -> Path | None:
    """The pin's wheel downloaded from `index` and stored in the cache (its sha256 checked
    first), or None when the index does not list a fitting wheel with one of the pin's
    hashes or cannot serve it: pip tries then, with its whole configuration."""
    allowed = {h.split(":", 1)[1] for h in pin.hashes if h.startswith("sha256:")}
    try:
        files = index.files(pin.name) or []
    except IndexUnavailable:
        return None
    candidates = {f.filename: f for f in files if f.sha256 in allowed}
    chosen = best_wheel(candidates, target)
    if chosen is None or PurePosixPath(chosen).name != chosen or "\\" in chosen:
        return None
    with tempfile.TemporaryDirectory(prefix="lambundle-dl-") as tmp:
        wheel = Path(tmp, chosen)
        try:
            index.save(candidates[chosen], wheel)
        except (IndexUnavailable, OSError):
            return None
        return _store(wheel, pin, target, cache)


def _pip_download(pins: list[Pin], target: Target, cache: Cache) -> dict[str, Path]:
    by_name: dict[str, Pin] = {canonicalize_name(p.name): p for p in pins}
    with tempfile.TemporaryDirectory(prefix="lambundle-dl-") as tmp:
        reqs = Path(tmp, "requirements.txt")
        reqs.write_text(pin_lines(pins))
        dest = Path(tmp, "wheels")
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--require-hashes", "--only-binary=:all:", "--implementation", "cp",
            "--python-version", target.python, "--abi", target.cp_tag,
            "--dest", str(dest), "-r", str(reqs),
        ]  # fmt: skip
        for tag in platform_tags(target):
            command += ["--platform", tag]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise _download_error(proc.stderr, by_name, target, command)
        out: dict[str, Path] = {}
        for wheel in sorted(dest.glob("*.whl")):
            name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
            pin = by_name.get(name)
            if pin is None:
                continue
            out[name] = _store(wheel, pin, target, cache)
    absent = sorted(set(by_name) - set(out))
    if absent:
        pin = by_name[absent[0]]
        raise NoWheelError(pin.name, no_wheel_message(pin.name, pin.version, target))
    return out


def _store(wheel: Path, pin: Pin, target: Target, cache: Cache) -> Path:
    """Verify a downloaded wheel against the pin and the target, then cache it by sha256."""
    sha = file_sha256(wheel)
    if f"sha256:{sha}" not in pin.hashes:
        msg = (
            f"Downloaded {wheel.name} has sha256 {sha}, which is not among the lock's hashes "
            f"for {pin.name}=={pin.version}; the index served different bytes. "
            "Re-create the lock with 'lambundle lock --refresh' if the release was replaced."
        )
        raise WheelError(msg)
    if wheel_rank(wheel.name, target) is None:
        raise NoWheelError(pin.name, no_wheel_message(pin.name, pin.version, target))

    def put(tmp: Path) -> None:
        (tmp / wheel.name).write_bytes(wheel.read_bytes())

    entry = cache.dir("wheels", sha) or cache.put_dir("wheels", sha, put)

    def put_pick(tmp: Path) -> None:
        (tmp / "pick.json").write_text(json.dumps({"sha256": sha, "filename": wheel.name}))

    key = _pick_key(pin, target)
    cache.remove("picks", key)  # a pick from another lock's hash set is replaced
    cache.put_dir("picks", key, put_pick)
    return entry / wheel.name


def _download_error(
    stderr: str, pins: dict[str, Pin], target: Target, command: list[str]
) -> WheelError:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    text = stderr.lower()
    if "do not match the hashes" in text or ("hash" in text and "mismatch" in text):
        detail = "\n".join(lines[-12:])
        return WheelError(
            "A downloaded wheel does not match the lock's hashes, so it was refused:\n"
            f"{detail}\nThe index served different bytes than when the lock was made; "
            "re-create the lock with 'lambundle lock --refresh' if that is expected."
        )
    for line in lines:
        low = line.lower()
        if "no matching distribution found for" in low:
            requirement = line.rsplit(" for ", 1)[-1].strip()
            name = canonicalize_name(requirement.split("=")[0].strip())
            pin = pins.get(name)
            if pin is not None:
                return NoWheelError(
                    pin.name,
                    no_wheel_message(pin.name, pin.version, target)
                    + " If the lock was made against another index (uv reads its own "
                    "configuration), point pip at it too, e.g. with PIP_INDEX_URL.",
                )
    detail = "\n".join(lines[-12:])
    return WheelError(f"pip download failed:\n{detail}\n(command: {shlex.join(command)})")


# -- installing ---------------------------------------------------------------------------


def install(
    lock: Lock,
    target: Target,
    dest: Path,
    *,
    cache: Cache,
    local_wheels: Iterable[Path] = (),
    report: Report | None = None,
    timings: Timings | None = None,
) -> list[Distribution]:
    """Install every pin of `lock` (and `local_wheels`) for `target` into `dest`.

    `dest` becomes a site-packages tree: pure and platform files at its top, dist-info
    (with RECORD) kept so `importlib.metadata` works. Returns the distributions, sorted.
    `timings` gets the steps "download" and "unpack".
    """
    say = report or (lambda _msg: None)
    steps = timings or Timings()
    built = lock.built_from_sdists
    # Each wheel is unpacked (into its own cache entry) as soon as it is in the cache,
    # while the others download; `dest` is linked together in the lock's order after.
    unpacking: dict[str, concurrent.futures.Future[tuple[Path, Distribution]]] = {}
    first_unpack: list[float] = []
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:

        def unpack(name: str, wheel: Path) -> None:
            first_unpack.append(time.perf_counter())
            unpacking[name] = pool.submit(_installed, wheel, cache, say)

        with steps.step("download"):
            wheels = fetch(
                [p for p in lock.pins if canonicalize_name(p.name) not in built], target,
                cache=cache, report=report, fetched=unpack,
            )  # fmt: skip
        for pin in lock.pins:
            name = canonicalize_name(pin.name)
            if name in built:
                sdist, sha = built[name]
                if f"sha256:{sha}" not in pin.hashes:
                    msg = (
                        f"The lock says {pin.name} is built from {sdist} (sha256 {sha}), but "
                        "pins other hashes for it; lock again with 'lambundle lock --refresh'."
                    )
                    raise WheelError(msg)
                with steps.step("sdist"):
                    wheels[name] = sdist_build.wheel_from_sdist(
                        pin, sha, target, cache=cache, report=say
                    )
                unpack(name, wheels[name])
        ordered = []
        for pin in sorted(lock.pins, key=lambda p: canonicalize_name(p.name)):
            name = canonicalize_name(pin.name)
            say(f"Installing {pin.name} {pin.version} ({wheels[name].name})")
            ordered.append((unpacking[name].result(), wheels[name]))
    dest.mkdir(parents=True, exist_ok=True)
    for (tree, _), wheel in ordered:
        _link_tree(tree, dest, wheel.name)
    out = [dist for (_, dist), _ in ordered]
    for wheel in local_wheels:
        check_own_wheel(Path(wheel), target)
        say(f"Installing {wheel.name} (the function's own package)")
        out.append(install_wheel(Path(wheel), dest))
    # From the first wheel's unpacking on: overlaps "download".
    steps.add("unpack", time.perf_counter() - min(first_unpack, default=time.perf_counter()))
    return sorted(out, key=lambda d: canonicalize_name(d.name))


def install_wheels(
    wheels: Sequence[Path], dest: Path, cache: Cache | None = None, report: Report | None = None
) -> list[Distribution]:
    """`install_wheel` for each wheel, in order (a later wheel's file replaces an earlier's).

    With a `cache`, each wheel is unpacked once, into its own entry keyed by its sha256,
    and `dest` is made of hard links to those files: a lock that changes one pin unpacks
    only that wheel. Without one, the wheels are unpacked into `dest`: at once on every
    CPU when no two write the same path (then order cannot matter), else one by one.
    A cached tree is checked before it is reused (`_installed`).
    """
    if cache is not None:
        say = report or (lambda _msg: None)
        workers = min(len(wheels), os.cpu_count() or 1) or 1
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            trees = list(pool.map(lambda wheel: _installed(wheel, cache, say), wheels))
        dest.mkdir(parents=True, exist_ok=True)
        for (tree, _), wheel in zip(trees, wheels, strict=True):
            _link_tree(tree, dest, wheel.name)
        return [dist for _, dist in trees]
    if len(wheels) > 1 and not _overlapping(wheels):
        workers = min(len(wheels), os.cpu_count() or 1)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda wheel: install_wheel(wheel, dest), wheels))
    return [install_wheel(wheel, dest) for wheel in wheels]


# Bump when what `install_wheel` writes for a wheel changes.
_INSTALLED_VERSION = "installed-v1"


def _installed(wheel: Path, cache: Cache, say: Report) -> tuple[Path, Distribution]:
    """The cache's tree of `wheel` unpacked alone (made on first use), and its distribution.

    A tree is reused only as it was unpacked: its seal (each file's path, size and mtime;
    `bundler.sources.seals`) is compared first, and when it differs every file is checked
    against the wheel's RECORD; a tree that fails is unpacked again from the wheel, whose
    sha256 is the entry's key.
    """
    key = Cache.key(_INSTALLED_VERSION, wheel.name, file_sha256(wheel))
    for _ in range(2):
        entry = cache.dir("installed", key)
        if entry is None:

            def build(tmp: Path) -> None:
                dist = install_wheel(wheel, tmp / "site")
                (tmp / "dist.json").write_text(json.dumps(dataclasses.asdict(dist)))
                seals.write_seal(tmp / "site", tmp)

            entry = cache.put_dir("installed", key, build)
        try:
            dist = Distribution(**json.loads((entry / "dist.json").read_text()))
        except (OSError, ValueError, TypeError):
            cache.remove("installed", key)  # damaged: unpack it again
            continue
        if not seals.is_sealed(entry / "site", entry):
            changed = _changed_file(wheel, entry / "site")
            if changed is not None:
                say(
                    f"The cached files of {wheel.name} were modified ({changed}); "
                    "unpacking the wheel again"
                )
                cache.remove("installed", key)
                continue
            seals.write_seal(entry / "site", entry)  # same bytes: only times changed
        return entry / "site", dist
    msg = f"The cache entry of {wheel.name} is damaged; delete {cache.root} and try again."
    raise WheelError(msg)


def _link_tree(tree: Path, dest: Path, wheel: str) -> None:
    """Put every file of `tree` into `dest` as a hard link (a copy where links are not
    allowed); a file already there is replaced, as unpacking the wheel over it would."""
    for root, dirs, files in os.walk(tree):
        rel = os.path.relpath(root, tree)
        here = dest if rel == "." else dest / rel
        for name in dirs:
            try:
                (here / name).mkdir(exist_ok=True)
            except FileExistsError:  # exist_ok covers directories only
                msg = (
                    f"Wheel {wheel} installs the directory {(here / name).relative_to(dest)} "
                    "where an earlier wheel installed a file; the two cannot be installed "
                    "together."
                )
                raise WheelError(msg) from None
        for name in files:
            src, dst = Path(root, name), here / name
            try:
                _link_or_copy(src, dst)
            except FileExistsError:
                if dst.is_dir():
                    msg = (
                        f"Wheel {wheel} installs the file {dst.relative_to(dest)} where an "
                        "earlier wheel installed a directory; the two cannot be installed "
                        "together."
                    )
                    raise WheelError(msg) from None
                dst.unlink()
                _link_or_copy(src, dst)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:  # another file system, or one without hard links
        shutil.copy2(src, dst)


def _overlapping(wheels: Sequence[Path]) -> bool:
    """True if two wheels would write the same file (or a file where another has a dir)."""
    files: set[str] = set()
    dirs: set[str] = set()
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as zf:
                plan = plan_members(zf.infolist(), wheel.name)
        except (OSError, zipfile.BadZipFile, WheelError):
            return True  # install_wheel reports it, one wheel at a time
        names = {name for _, name in plan if name is not None}
        parents = {str(parent) for name in names for parent in PurePosixPath(name).parents}
        if names & (files | dirs) or parents & files:
            return True
        files |= names
        dirs |= parents
    return False


def install_wheel(wheel: Path, dest: Path) -> Distribution:
    """Unpack one wheel into the site-packages tree `dest`, refusing unsafe members.

    `<name>.data/purelib` and `platlib` land in `dest` (as pip puts them in site-packages);
    `scripts`, `headers` and `data` are dropped, since Lambda has no prefix to put them in.
    Every member is checked before anything is written.
    """
    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        msg = f"{wheel.name} is not a valid wheel file name ({exc})."
        raise WheelError(msg) from None
    try:
        zf = MappedZip(wheel, remedy="delete it and try again")
    except BundleError as exc:
        msg = f"{wheel} is not a readable wheel: {exc}"
        raise WheelError(msg) from None
    with zf:
        plan = plan_members(zf.infos, wheel.name)
        dist_info = _dist_info_dir(plan, wheel.name)
        size = 0
        try:
            make_dirs(dest, [name.rpartition("/")[0] for _, name in plan if name is not None])
            for info, target_name in plan:
                if target_name is None:
                    continue
                executable = bool((info.external_attr >> 16) & 0o111)
                write_file(dest / target_name, zf.read(info), executable)
                size += info.file_size
        except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
            # The wheel itself is consistent (plan_members): an earlier one in `dest` is not.
            where = os.path.relpath(exc.filename, dest) if exc.filename else dest
            msg = (
                f"Wheel {wheel.name} installs {where} where an earlier wheel installed a file "
                "or directory of the same name; the two cannot be installed together."
            )
            raise WheelError(msg) from None
    if any(target_name != info.filename for info, target_name in plan):
        size += _rewrite_record(dest / dist_info / "RECORD", plan)
    return Distribution(name=str(name), version=str(version), wheel=wheel.name, size=size)


def plan_members(
    infos: list[zipfile.ZipInfo], wheel: str
) -> list[tuple[zipfile.ZipInfo, str | None]]:
    """Each file member of a wheel with where installing puts it, relative to site-packages
    (None: dropped); an unsafe or inconsistent wheel is a WheelError."""
    plan: list[tuple[zipfile.ZipInfo, str | None]] = []
    dirs: set[str] = set()
    for info in infos:
        try:
            check_member_name(info.filename)
        except WheelError:
            msg = (
                f"Refusing wheel {wheel}: member {info.filename!r} is an absolute path or "
                "escapes with '..'. The wheel is unsafe; do not install it."
            )
            raise WheelError(msg) from None
        if stat.S_ISLNK(info.external_attr >> 16):
            msg = f"Refusing wheel {wheel}: member {info.filename!r} is a symlink."
            raise WheelError(msg)
        if info.is_dir():
            dirs.add(info.filename.rstrip("/"))
            continue
        parts = PurePosixPath(info.filename).parts
        if parts[0].endswith(".data") and len(parts) > 2:
            scheme = parts[1]
            dest = "/".join(parts[2:]) if scheme in ("purelib", "platlib") else None
            plan.append((info, dest))
        else:
            plan.append((info, info.filename))
    _check_file_or_directory(plan, dirs, wheel)
    return plan


def _check_file_or_directory(
    plan: list[tuple[zipfile.ZipInfo, str | None]], dirs: set[str], wheel: str
) -> None:
    """Refuse a wheel that makes one path both a file and a directory (`pkg/a` next to
    `pkg/a/` or `pkg/a/b`, or a `.data/purelib` file landing on a package directory):
    no install can hold both, and which would win is undefined."""
    files = {name for _, name in plan if name is not None}
    dirs = dirs | {str(parent) for name in files for parent in PurePosixPath(name).parents}
    both = sorted(files & dirs)
    if both:
        msg = (
            f"Refusing wheel {wheel}: {both[0]!r} is both a file and a directory in it. The "
            "wheel is malformed; pin another version of the package, or report it upstream."
        )
        raise WheelError(msg)


def _dist_info_dir(plan: list[tuple[zipfile.ZipInfo, str | None]], wheel: str) -> str:
    dirs = {
        PurePosixPath(info.filename).parts[0]
        for info, _ in plan
        if PurePosixPath(info.filename).parts[0].endswith(".dist-info")
    }
    if len(dirs) != 1:
        msg = f"Wheel {wheel} has {len(dirs)} .dist-info directories; expected exactly one."
        raise WheelError(msg)
    return dirs.pop()


def _rewrite_record(record: Path, plan: list[tuple[zipfile.ZipInfo, str | None]]) -> int:
    """Point RECORD at where `.data` files were installed; return the size change."""
    old = record.read_bytes()
    new = _rewritten_record(old, plan)
    write_file(record, new, executable=False)  # a new file: never into a cached link
    return len(new) - len(old)


def _rewritten_record(old: bytes, plan: list[tuple[zipfile.ZipInfo, str | None]]) -> bytes:
    moved = {info.filename: target for info, target in plan}
    rows = []
    for row in csv.reader(io.StringIO(old.decode("utf-8"))):
        if not row:
            continue
        where = moved.get(row[0], row[0])
        if where is None:
            continue
        rows.append([where, *row[1:]])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _changed_file(wheel: Path, tree: Path) -> str | None:
    """The first file of `tree` (the wheel unpacked by `install_wheel`) that is not what
    the wheel's RECORD says it installs (changed, added or missing), or None.

    RECORD comes from the wheel, which was checked by sha256; its own row has no hash, so
    it is compared with the bytes unpacking it writes.
    """
    try:
        with MappedZip(wheel, remedy="delete it and try again") as zf:
            plan = plan_members(zf.infos, wheel.name)
            dist_info = _dist_info_dir(plan, wheel.name)
            record_info = next(i for i, _ in plan if i.filename == f"{dist_info}/RECORD")
            record = bytes(zf.read(record_info))
    except (BundleError, WheelError, StopIteration):
        return f"{wheel.name} has no readable RECORD"
    moved = {info.filename: target for info, target in plan}
    expected: dict[str, tuple[str, str]] = {}  # installed path: (digest, size)
    for row in csv.reader(io.StringIO(record.decode("utf-8", "replace"))):
        if len(row) >= 3 and row[1]:
            where = moved.get(row[0], row[0])
            if where is not None:
                expected[where] = (row[1], row[2])
    record_name = f"{dist_info}/RECORD"
    if any(target != info.filename for info, target in plan):
        record = _rewritten_record(record, plan)
    found: set[str] = set()
    for root, dirs, files in os.walk(tree):
        # A link to a directory is not walked into: it is one more entry, and refused.
        for name in [*files, *(d for d in dirs if Path(root, d).is_symlink())]:
            found.add(Path(root, name).relative_to(tree).as_posix())
    planned = {target for _, target in plan if target is not None}
    for name in sorted(found ^ planned):
        return f"{name} {'added' if name in found else 'missing'}"
    for name in sorted(planned):
        if (tree / name).is_symlink():
            return f"{name} is a link"
        data = (tree / name).read_bytes()
        if name == record_name:
            if data != record:
                return name
        elif name not in expected or expected[name] != (record_digest(data), str(len(data))):
            return name
    return None


def record_digest(data: bytes) -> str:
    """A RECORD hash field for `data` (urlsafe base64 sha256, unpadded; PEP 376/427)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()
