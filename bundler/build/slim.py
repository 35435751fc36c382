"""`--slim`: drop from the dependency tree only what Lambda never imports or reads.

Removed: the test suites that distributions ship inside their packages (`pkg/tests/`,
`pkg/test/`: importable, but the library itself never imports them), type stubs
(`*.pyi`: the import system never loads them), and bytecode compiled for another
interpreter (`__pycache__/*.cpython-311.pyc` in a 3.12 bundle, or any pyc we did not
compile). Never removed: `*.dist-info` (importlib.metadata and entry points need it;
removing it is serverless-python-requirements#296), shared objects (stripping them broke
loading there, #318), top-level modules or packages, data files, licences. `--verify`
then proves the handler still imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from bundler.bundle.archive import ZipEntry

TEST_DIRS = frozenset({"tests", "test"})


def removable(arcname: str) -> bool:
    """True if the file at `arcname` (relative to a site dir) is safe to leave out."""
    parts = PurePosixPath(arcname).parts
    if not parts or parts[0].endswith((".dist-info", ".data")):
        return False
    if arcname.endswith((".so", ".pyd")) or ".so." in parts[-1]:
        return False
    if arcname.endswith(".pyi"):
        return True
    if "__pycache__" in parts[:-1]:
        return True
    # Only below a top-level package: a top-level `tests` package could be the user's.
    return any(part in TEST_DIRS for part in parts[1:-1])


def slim(entries: Iterable[ZipEntry]) -> tuple[tuple[ZipEntry, ...], int]:
    """The entries to keep, and how many were dropped."""
    kept = []
    dropped = 0
    for entry in entries:
        if removable(entry.arcname):
            dropped += 1
        else:
            kept.append(entry)
    return tuple(kept), dropped
