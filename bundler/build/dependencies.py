"""The function's dependencies, locked and installed for the target: the tree the
strategies place, cached by lock (bundler.core.cache).

Locally the lock's wheels are downloaded, hash-checked and unpacked
(bundler.sources.wheels); with a Docker runner (`--docker`) the lock may pin sdists, and
what has no wheel for the target is built in Lambda's build image (bundler.build.docker).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.build import docker as dk
from bundler.build.files import STREAMS, write_listing
from bundler.build.keys import CACHE_VERSION
from bundler.bundle.archive import raw_streams
from bundler.bundle.plan import Dist
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError
from bundler.core.progress import Report, Timings
from bundler.core.target import Target
from bundler.sources.lock import Lock, Pin
from bundler.sources.project import Project
from bundler.sources.wheels import Distribution, check_own_wheel


@dataclasses.dataclass(frozen=True)
class Dependencies:
    """A lock and its installed tree; all None/() for a function without dependencies."""

    lock_text: str | None = None
    lock_sha256: str | None = None
    site: Path | None = None
    distributions: tuple[Dist, ...] = ()


def install_dependencies(
    project: Project,
    target: Target,
    *,
    resolver: str,
    cache: Cache,
    report: Report,
    runner: dk.DockerRunner | None = None,
    timings: Timings | None = None,
) -> Dependencies:
    """Lock `project`'s requirements for `target` and install them, from the cache when
    that lock (and the function's own wheels) were installed before.

    With a Docker `runner`, the lock may pin sdists, and what has no wheel for the target
    is built in the image. `timings` gets the steps "resolve", "download" and "unpack".
    """
    if not project.requirements and not project.local_wheels:
        return Dependencies()
    from bundler.sources.locking import lock_project

    steps = timings or Timings()
    report("locking dependencies")
    with steps.step("resolve"):
        lock = lock_project(
            project,
            target,
            resolver=resolver,
            cache=cache,
            report=report,
            image=dk.ImageResolver(runner, target) if runner is not None else None,
        )
    entry = _installed(lock, project, target, cache, report, runner, steps)
    raw = json.loads((entry / "dists.json").read_text(encoding="utf-8"))
    dists = tuple(
        sorted(
            (Dist(d["name"], d["version"], d["size"]) for d in raw), key=lambda d: d.name.lower()
        )
    )
    return Dependencies(lock.text, lock.sha256, entry / "site", dists)


def _installed(
    lock: Lock,
    project: Project,
    target: Target,
    cache: Cache,
    report: Report,
    runner: dk.DockerRunner | None,
    steps: Timings,
) -> Path:
    """The cache entry holding the lock installed (`site/`) and its distributions
    (`dists.json`), installed now when it is not there yet."""
    from bundler.build.slim import removable
    from bundler.sources import seals
    from bundler.sources.sizes import check_fits
    from bundler.sources.wheels import install

    wheel_parts: list[str | bytes] = []
    for wheel in project.local_wheels:
        wheel_parts += [wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest()]
    key = Cache.key(
        CACHE_VERSION,
        "site",
        lock.sha256,
        target.python,
        target.arch,
        "{}.{}".format(*target.glibc),
        *wheel_parts,
    )
    entry = seals.reusable(cache, "site", key, "site", report)  # unchanged since it was made
    if entry is not None:
        return entry
    # A set that cannot fit in Lambda is refused before anything is downloaded; what --slim
    # may leave out is not counted, so the bound holds with --slim or without.
    check_fits(lock, target, cache=cache, report=report, leave_out=removable)
    report("installing dependencies")

    def build(tmp: Path) -> None:
        if runner is not None:
            with steps.step("install"):
                installed = _install_with_docker(
                    lock, project, target, tmp / "site", cache, runner, report
                )
        else:
            installed = install(
                lock,
                target,
                tmp / "site",
                cache=cache,
                local_wheels=project.local_wheels,
                report=report,
                timings=steps,
            )
            with steps.step("unpack"):
                _write_streams(tmp / STREAMS, lock, project, target, cache)
        dists = [{"name": d.name, "version": d.version, "size": int(d.size)} for d in installed]
        (tmp / "dists.json").write_text(json.dumps(dists, sort_keys=True), encoding="utf-8")
        write_listing(tmp / "site")
        seals.write_seal(tmp / "site", tmp)

    return cache.put_dir("site", key, build)


def _write_streams(path: Path, lock: Lock, project: Project, target: Target, cache: Cache) -> None:
    """Record, for each file of the installed tree, its deflated stream in the wheel it was
    unpacked from (bundler.bundle.archive.Deflated), so the zips copy those streams
    instead of compressing 165 MB again (numpy + scipy). A later wheel's file replaces an
    earlier one's, as in the tree. Files `install_wheel` moved or rewrote (`.data/`,
    RECORD) are left out or fail the check at write time: they are deflated anew.
    """
    from bundler.sources.wheels import fetch

    # Every wheel was fetched (and its sha256 checked) by the install just now, so this
    # finds them in the cache without a download. Should one be missing after all, the
    # tree simply has no hints: every file is deflated, the zip is as correct.
    # Pins built from their sdists here are left out: there is no wheel to fetch for them
    # (their files get no hints and are deflated).
    built = lock.built_from_sdists
    try:
        wheels = fetch(
            [p for p in lock.pins if canonicalize_name(p.name) not in built], target, cache=cache
        )
    except BundlerError:
        return
    ordered = [wheels[name] for name in sorted(wheels)] + [Path(w) for w in project.local_wheels]
    files: dict[str, list[int]] = {}
    for index, wheel in enumerate(ordered):
        for name, hint in raw_streams(wheel).items():
            files[name] = [index, hint.offset, hint.size]
    doc = {"wheels": [str(w) for w in ordered], "files": files}
    path.write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")


def _install_with_docker(
    lock: Lock,
    project: Project,
    target: Target,
    dest: Path,
    cache: Cache,
    runner: dk.DockerRunner,
    report: Report,
) -> list[Distribution]:
    """Install the lock like `bundler.sources.wheels.install`, building wheel-less pins in Docker.

    Wheels that exist for the target are downloaded and verified as always; a pin pip
    finds no fitting wheel for is built from its hash-pinned sdist in the image.
    """
    from packaging.utils import canonicalize_name

    from bundler.sources.wheels import (
        NoWheelError,
        fetch,
        install_wheel,
        install_wheels,
    )

    pins: dict[str, Pin] = {canonicalize_name(p.name): p for p in lock.pins}
    to_build: set[str] = set()
    # One pip run finds the first wheel-less pin; each further run skips the ones found.
    while True:
        try:
            wheels = fetch(
                [p for n, p in pins.items() if n not in to_build], target, cache=cache,
                report=report,
            )  # fmt: skip
            break
        except NoWheelError as exc:
            if exc.name in to_build or exc.name not in pins:
                raise
            to_build.add(exc.name)
    if to_build:
        report(f"building {', '.join(sorted(to_build))} from source in Docker")
        wheels.update(
            dk.wheels_for(runner, target, [pins[n] for n in sorted(to_build)], cache, report)
        )
    dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(pins):
        report(f"Installing {pins[name].name} {pins[name].version} ({wheels[name].name})")
    installed = install_wheels([wheels[name] for name in sorted(pins)], dest, cache)
    for wheel in project.local_wheels:
        check_own_wheel(Path(wheel), target)
        installed.append(install_wheel(Path(wheel), dest))
    return sorted(installed, key=lambda d: canonicalize_name(d.name))
