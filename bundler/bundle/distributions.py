"""Which files of an archive belong to which installed distribution, and how many bytes
each distribution takes there: what `inspect` and the limit error list as the largest.

A file belongs to a distribution when its top-level name, in the site dir that holds the
distribution's `*.dist-info/RECORD`, is one the RECORD lists; so the pyc lambundle
compiles into a package's `__pycache__` count for that package. A top-level module's pyc
sits in the site dir's own `__pycache__` (PEP 3147) and counts for the module's owner.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

PYCACHE = "__pycache__"


def sizes(
    files: Iterable[tuple[str, int]], read: Callable[[str], bytes]
) -> dict[tuple[str, str], int]:
    """Bytes per (name, version) among `files` ((path, size) pairs, one per path);
    `read(path)` gives a RECORD's bytes."""
    files = list(files)
    owners: dict[tuple[str, str], tuple[str, str]] = {}  # (site dir, top name) -> dist
    for name, _ in files:
        path = PurePosixPath(name)
        if path.name != "RECORD" or not path.parent.name.endswith(".dist-info"):
            continue
        site = str(path.parent.parent)
        dist, _, version = path.parent.name[: -len(".dist-info")].partition("-")
        record = read(name).decode("utf-8", "replace")
        for row in csv.reader(io.StringIO(record)):
            if row and row[0] and not row[0].startswith(".."):
                top = PurePosixPath(row[0]).parts[0]
                owners.setdefault((site, top), (dist, version))
    found: dict[tuple[str, str], int] = defaultdict(int)
    for name, size in files:
        owner = _owner(PurePosixPath(name).parts, owners)
        if owner is not None:
            found[owner] += size
    return dict(found)


def _owner(
    parts: tuple[str, ...], owners: dict[tuple[str, str], tuple[str, str]]
) -> tuple[str, str] | None:
    for depth in range(len(parts)):
        site = "/".join(parts[:depth]) or "."
        owner = owners.get((site, parts[depth]))
        if owner is not None:
            return owner
        if parts[depth] == PYCACHE and depth == len(parts) - 2:
            # "six.cpython-312.pyc", "six.cpython-312.opt-1.pyc": the bytecode of six.py
            module = parts[-1].split(".", 1)[0] + ".py"
            return owners.get((site, module))
    return None
