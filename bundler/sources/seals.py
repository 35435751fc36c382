"""A seal over a tree in the cache: each file's path, size and modification time, hashed.

Unpacked wheels (and the installed trees made of hard links to them) are reused from the
cache without reading them again, so a file edited inside one would ship as it is. Hashing
every file on every reuse would cost what unpacking costs; a seal costs one `lstat` a file.
It is written when the entry is made and compared when the entry is reused: an edit, an
added or a removed file changes it. What it cannot see is an edit that keeps the size and
puts the old modification time back (`touch -r`): that needs someone set on fooling it,
who can write to the cache anyway. Where a full check is cheap to make, the caller makes it
when the seal differs (`bundler.sources.wheels`: each file against the wheel's RECORD).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bundler.core.cache import Cache
from bundler.core.progress import Report

SEAL_FILE = "seal"


def seal_of(tree: Path) -> str:
    """sha256 over (relative path, type, size, mtime in ns) of everything under `tree`."""
    digest = hashlib.sha256()
    pending = [""]
    while pending:
        rel = pending.pop()
        with os.scandir(tree / rel if rel else tree) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                pending.append(name)
                continue
            info = entry.stat(follow_symlinks=False)
            kind = "l" if entry.is_symlink() else "f"
            record = f"{name}\0{kind}\0{info.st_size}\0{info.st_mtime_ns}\n"
            digest.update(record.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def write_seal(tree: Path, entry: Path) -> None:
    """Seal `tree` into `entry/seal`, replacing any earlier seal in one rename."""
    part = entry / f".{SEAL_FILE}.{os.getpid()}"
    part.write_text(seal_of(tree), encoding="utf-8")
    part.replace(entry / SEAL_FILE)


def is_sealed(tree: Path, entry: Path) -> bool:
    """True when `tree` is as it was when `entry/seal` was written (False without one)."""
    try:
        recorded = (entry / SEAL_FILE).read_text(encoding="utf-8")
        return recorded == seal_of(tree)
    except OSError:
        return False


def reusable(cache: Cache, kind: str, key: str, tree: str, report: Report) -> Path | None:
    """The cache entry (kind, key) if its `tree` is as sealed; else it is dropped, said,
    and None is returned, so the caller makes it again."""
    entry = cache.dir(kind, key)
    if entry is None or is_sealed(entry / tree, entry):
        return entry
    report(
        f"The cached tree {entry / tree} changed since it was made (or has no seal); "
        "making it again"
    )
    cache.remove(kind, key)
    return None
