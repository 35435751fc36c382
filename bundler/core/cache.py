"""lambundle's own content-keyed cache: wheels by sha256, locks by their inputs.

pip's HTTP cache is not enough: it depends on response headers that proxies strip, and it
cannot say "this lock was made from exactly these inputs". Entries here are directories
named by a key; an entry exists only once it is complete, because it is built in a
temporary directory next to it and renamed into place (rename is atomic on one file
system), so a crash or a concurrent build never leaves a half-written entry behind. One
process at a time builds an entry (bundler.core.filelock): another that wants the same
one waits, says so, and takes the finished entry instead of building it again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from bundler.core import filelock, interrupts
from bundler.core.errors import BundlerError
from bundler.core.progress import Report, quiet

ENV_VAR = "LAMBUNDLE_CACHE_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def default_root() -> Path:
    """`$LAMBUNDLE_CACHE_DIR`, else `$XDG_CACHE_HOME/lambundle`, else `~/.cache/lambundle`."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lambundle"


class Cache:
    """Directories keyed by (kind, key) under one root. `report` hears when an entry is
    being built by another process and this one waits for it."""

    def __init__(self, root: Path | None = None, report: Report = quiet) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.report = report

    def path(self, kind: str, key: str) -> Path:
        """Where the entry (kind, key) lives, whether or not it exists."""
        for part in (kind, key):
            if not _NAME.match(part):
                msg = f"Invalid cache name {part!r}: use letters, digits, '.', '_' or '-'."
                raise ValueError(msg)
        return self.root / kind / key

    def dir(self, kind: str, key: str) -> Path | None:
        """The complete entry (kind, key), or None when there is none."""
        path = self.path(kind, key)
        return path if path.is_dir() else None

    def put_dir(self, kind: str, key: str, build: Callable[[Path], None]) -> Path:
        """Create the entry by calling `build(tmpdir)`, then rename it into place.

        If `build` raises, nothing is left behind. While another process builds the same
        entry this one waits, then returns that entry without calling `build`.
        """
        final = self.path(kind, key)
        fix = f"set {ENV_VAR} to a writable directory"
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"Cannot write to the cache at {self.root} ({exc}); {fix}."
            raise BundlerError(msg) from exc

        def waiting() -> None:
            self.report(
                f"waiting for another lambundle to finish the cache entry {kind}/{key[:16]}"
            )

        with filelock.exclusive(final.parent / f".{key}.lock", waiting, fix=fix):
            if final.is_dir():  # built by the process we waited for
                return final
            filelock.clear_leftovers(final.parent, f".{key}.tmp-")  # a killed builder's
            tmp: Path | None = None
            try:
                with interrupts.deferred():  # made and noted for clean-up together
                    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=final.parent))
                build(tmp)
                try:
                    tmp.rename(final)
                except OSError:
                    if not final.is_dir():
                        raise
                    shutil.rmtree(tmp, ignore_errors=True)
            except OSError as exc:
                if tmp is None:
                    msg = f"Cannot write to the cache at {self.root} ({exc}); {fix}."
                    raise BundlerError(msg) from exc
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            except BaseException:
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)
                raise
        return final

    def remove(self, kind: str, key: str) -> None:
        """Drop an entry (a corrupt one, say); missing entries are fine."""
        path = self.path(kind, key)
        if path.is_dir():
            # Rename first so a reader never sees a half-deleted entry as complete.
            doomed = path.with_name(f".del.{path.name}.{os.getpid()}")
            try:
                path.rename(doomed)
            except OSError:
                return
            shutil.rmtree(doomed, ignore_errors=True)

    @staticmethod
    def key(*parts: str | bytes) -> str:
        """sha256 over the parts, each length-prefixed so ("ab", "c") != ("a", "bc")."""
        digest = hashlib.sha256()
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read a MiB at a time: how cached files are named."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
