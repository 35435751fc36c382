"""The files a plan places, as zip entries: the function's own, the installed
dependencies', the runtime's and an embedded Python's. Bytecode the host left in them is
not shipped: bundler.build.bytecode compiles the pyc that are.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path, PurePosixPath

from bundler.build.slim import slim as slim_entries
from bundler.bundle.archive import Deflated, ZipEntry, entries_from_tree
from bundler.bundle.layer import runtime_entries
from bundler.core.progress import Report
from bundler.sources.project import Project

# Where bundles go inside a project by default; never part of the function itself.
DEFAULT_OUT_DIR = ".lambundle"
# Beside `site/` in an installed entry (bundler.build.dependencies): where each of its
# files is already deflated, in the wheel it was unpacked from.
STREAMS = "streams.json"
# Beside `site/` too: its files, so that a rebuild does not walk the tree again.
LISTING = "listing.json"


@dataclasses.dataclass(frozen=True)
class Files:
    """The entries of one build, before the strategy places them."""

    code: tuple[ZipEntry, ...]  # relative to the task root
    deps: tuple[ZipEntry, ...]  # relative to the strategy's dependency directory
    runtime: tuple[ZipEntry, ...]  # relative to /opt
    python: tuple[ZipEntry, ...] = ()  # an embedded CPython, relative to /opt


def gather(
    project: Project,
    site: Path | None,
    python: tuple[ZipEntry, ...],
    *,
    slim: bool,
    report: Report,
) -> Files:
    """The function's files, the installed tree `site` (if any, `--slim` applied), the
    runtime's, and `python` (an embedded Python's)."""
    deps: tuple[ZipEntry, ...] = ()
    if site is not None:
        streams = read_streams(site)
        deps = tuple(
            ZipEntry(e.arcname, source=e.source, executable=e.executable, deflated=hint)
            if (hint := streams.get(e.arcname))
            else e
            for e in site_entries(site)
            if not _is_bytecode(e.arcname)
        )
        if slim:
            deps, dropped = slim_entries(deps)
            report(f"--slim: left out {dropped} files")
    return Files(
        code=code_entries(project), deps=deps, runtime=tuple(runtime_entries()), python=python
    )


def code_entries(project: Project) -> tuple[ZipEntry, ...]:
    """The function's own files, relative to the task root; host bytecode left out."""
    out = []
    for rel in project.code:
        name = PurePosixPath(rel.as_posix())
        if name.parts[0] == DEFAULT_OUT_DIR or _is_bytecode(str(name)):
            continue
        path = project.root / rel
        out.append(ZipEntry(str(name), source=path, executable=os.access(path, os.X_OK)))
    return tuple(out)


def _is_bytecode(arcname: str) -> bool:
    # pyc from the host (pip compiles while installing) are for the wrong interpreter or
    # timestamp-based; ours replace them.
    return arcname.endswith((".pyc", ".pyo")) or "/__pycache__/" in f"/{arcname}"


def read_streams(site: Path) -> dict[str, Deflated]:
    """The `Deflated` hints recorded beside the installed tree `site`
    (bundler.build.dependencies), by path relative to it; none for a tree without them."""
    try:
        doc = json.loads((site.parent / STREAMS).read_text(encoding="utf-8"))
        wheels = [Path(w) for w in doc["wheels"]]
        return {
            name: Deflated(wheels[index], offset, size)
            for name, (index, offset, size) in doc["files"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}  # no hints: every file is deflated as usual


def write_listing(site: Path) -> None:
    """Record the files of the installed tree `site`, beside it, for `site_entries`."""
    listing = [[e.arcname, e.executable] for e in entries_from_tree(site)]
    (site.parent / LISTING).write_text(json.dumps(listing), encoding="utf-8")


def site_entries(site: Path) -> list[ZipEntry]:
    """`entries_from_tree(site)` for an installed tree in the cache, from its listing when
    it has one: the tree never changes once made, and reading 7,000 names (numpy +
    pandas) is several times cheaper than walking and stat-ing them on every rebuild."""
    try:
        listing = json.loads((site.parent / LISTING).read_text(encoding="utf-8"))
        root = str(site)
        return [
            ZipEntry(str(name), source=Path(f"{root}/{name}"), executable=bool(executable))
            for name, executable in listing
        ]
    except (OSError, ValueError, TypeError):
        return entries_from_tree(site)
