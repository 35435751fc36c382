"""Cache keys of what the build makes from entries: compiled trees, installed trees and
zips are kept in lambundle's cache (bundler.core.cache) by the content they were made from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bundler.bundle.archive import ZipEntry
from bundler.core.cache import Cache

# Bump when the layout of cached trees or the compile step changes.
CACHE_VERSION = "build-v3"


def entries_key(entries: Sequence[ZipEntry], cache: Cache, *parts: str) -> str:
    """The key of a set of entries: their names, modes and contents, in name order."""
    items: list[str] = [CACHE_VERSION, *parts]
    # A string prefix, not Path.is_relative_to: an unchanged rebuild keys thousands of
    # entries (numpy + pandas: 7,000), and pathlib's parsing was most of that time.
    root = str(cache.root).rstrip("/") + "/"
    for e in sorted(entries, key=lambda e: e.arcname):
        items += [e.arcname, "x" if e.executable else "-", _content_id(e, root)]
    return Cache.key(*items)


def _content_id(entry: ZipEntry, cache_root: str) -> str:
    """What identifies an entry's bytes: cache entries never change, so their path does;
    with the stream it may be copied from (a zip's bytes depend on it)."""
    if entry.data is not None:
        found = "d:" + hashlib.sha256(entry.data).hexdigest()
    else:
        assert entry.source is not None
        source = str(entry.source)
        if source.startswith(cache_root):
            found = f"p:{source}"
        else:
            found = "h:" + hashlib.sha256(entry.source.read_bytes()).hexdigest()
    if entry.deflated is not None:
        hint = entry.deflated
        found += f"|r:{hint.path}:{hint.offset}:{hint.size}"
    return found
