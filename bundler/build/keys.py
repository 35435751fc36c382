"""Cache keys of what the build makes from entries: compiled trees, installed trees and
zips are kept in lambundle's cache (bundler.core.cache) by the content they were made from.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from bundler.bundle.archive import ZipEntry
from bundler.core.cache import Cache

# Bump when the layout of cached trees or the compile step changes.
CACHE_VERSION = "build-v3"


def entries_key(entries: Sequence[ZipEntry], cache: Cache, *parts: str) -> str:
    """The key of a set of entries: their names, modes and contents, in name order."""
    items: list[str] = [CACHE_VERSION, *parts]
    for e in sorted(entries, key=lambda e: e.arcname):
        items += [e.arcname, "x" if e.executable else "-", _content_id(e, cache)]
    return Cache.key(*items)


def _content_id(entry: ZipEntry, cache: Cache) -> str:
    """What identifies an entry's bytes: cache entries never change, so their path does;
    with the stream it may be copied from (a zip's bytes depend on it)."""
    if entry.deflated is not None:
        hint = entry.deflated
        return f"{_content_id(dataclasses.replace(entry, deflated=None), cache)}" + (
            f"|r:{hint.path}:{hint.offset}:{hint.size}"
        )
    if entry.data is not None:
        return "d:" + hashlib.sha256(entry.data).hexdigest()
    assert entry.source is not None
    if entry.source.is_relative_to(cache.root):
        return f"p:{entry.source}"
    return "h:" + hashlib.sha256(entry.source.read_bytes()).hexdigest()
