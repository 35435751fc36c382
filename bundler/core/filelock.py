"""One lambundle at a time on one output or one cache entry: an flock(2) on a lock file.

Two builds into the same `--out` would otherwise race in the final renames (the loser
fails with "Directory not empty" and leaves its `.old-*` directory behind), and two
processes filling the same cache entry would both do the work. The kernel drops an flock
when its process ends, however it ends, so a killed build never leaves a stale lock.

The lock file is removed when the lock is released, so nothing is left beside the
output. A waiter may then hold a lock on a file that is no longer there, while a newcomer
creates and locks a new one; so after locking, a waiter checks that its file is still the
one at the path, and otherwise starts again.

What a holder killed outright (SIGKILL, the OOM killer, a power cut) left half written,
its next holder removes (`clear_leftovers`): only a holder writes those names.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from bundler.core.errors import BundlerError
from bundler.core.interrupts import deferred


@contextlib.contextmanager
def exclusive(
    path: Path, on_wait: Callable[[], None] | None = None, *, fix: str = ""
) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) while the block runs.

    `on_wait` is called once when another process holds it, before waiting for it. A lock
    file that cannot be created is a BundlerError ending with `fix`.
    """
    fd = -1
    try:
        while True:
            with deferred():  # the file and `fd` come into being together
                fd = _open(path, fix)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                fcntl.flock(fd, fcntl.LOCK_EX)  # Ctrl-C and SIGTERM still interrupt this
            if _still_at(fd, path):
                break
            with deferred():
                os.close(fd)
                fd = -1
        yield
    finally:
        if fd >= 0:
            with deferred():
                _release(fd, path)


def _open(path: Path, fix: str) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        fix = fix or "make its directory writable"
        msg = f"Cannot create the lock file {path} ({exc.strerror}); {fix}."
        raise BundlerError(msg) from None


def _release(fd: int, path: Path) -> None:
    """Close `fd`, removing the lock file if it is ours or nobody's, never another
    holder's (interrupted while waiting, we hold nothing)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours already, or free
        if _still_at(fd, path):
            path.unlink()  # while still holding it: the next locker gets a new file
    except OSError:
        pass  # another process holds it and will remove it, or it is gone
    finally:
        os.close(fd)


def _still_at(fd: int, path: Path) -> bool:
    """Whether the locked file is the one at `path` (its holder did not remove it)."""
    try:
        at_path = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (at_path.st_dev, at_path.st_ino)


def leftovers(parent: Path, prefix: str) -> list[Path]:
    """The directories in `parent` that tempfile made with `prefix` (not links to one)."""
    try:
        return [
            p for p in parent.iterdir()
            if _made_with(p.name, prefix) and p.is_dir() and not p.is_symlink()
        ]  # fmt: skip
    except OSError:
        return []


def clear_leftovers(parent: Path, prefix: str) -> list[Path]:
    """Remove `leftovers(parent, prefix)`: the temporary work of an earlier holder of this
    lock that was killed before it could clean up. Only the lock's holder may call this,
    and only for names that holders alone write. Returns what was removed."""
    found = leftovers(parent, prefix)
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


def _made_with(name: str, prefix: str) -> bool:
    """Whether `name` is `prefix` plus a temporary name's random part (tempfile's letters,
    digits and underscores), not another output's: `.fn.tmp-` must not take the
    `.fn.tmp-x.tmp-1234abcd` of an output called `fn.tmp-x`."""
    rest = name[len(prefix) :]
    return name.startswith(prefix) and rest != "" and rest.replace("_", "").isalnum()
