"""Reproducible zip archives: the only writer of zips, and a safe extractor.

Same inputs give byte-identical zips: entries sorted by name, one fixed timestamp, fixed
modes (0644, or 0755 for executables), no directory entries, no host metadata. Lambda
extracts a zip's Unix mode bits, so `bootstrap` and wrappers keep 0755.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from bundler.errors import BundleError, WheelError

# The earliest date a zip can carry; what shiv and most reproducible builds use.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXEC_MODE = 0o755


@dataclasses.dataclass(frozen=True)
class ZipEntry:
    """One file of an archive: its path inside the zip and where its bytes come from."""

    arcname: str
    data: bytes | None = None
    source: Path | None = None
    executable: bool = False

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None, self.arcname
        return self.source.read_bytes()


def entries_from_tree(root: Path, prefix: str = "") -> list[ZipEntry]:
    """Every regular file under `root`, named `prefix/relative/path`, executables kept."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            arcname = f"{prefix.rstrip('/')}/{rel}" if prefix else rel
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            out.append(ZipEntry(arcname, source=path, executable=executable))
    return out


def write_zip(path: Path, entries: Iterable[ZipEntry]) -> None:
    """Write `entries` to `path` reproducibly; a later entry with the same name wins."""
    by_name = {check_member_name(e.arcname): e for e in entries}
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in sorted(by_name):
            entry = by_name[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so Lambda honours the mode bits
            mode = EXEC_MODE if entry.executable else FILE_MODE
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, entry.read())
    tmp.replace(path)


def check_member_name(name: str) -> str:
    """Refuse absolute paths and `..` components; return the name unchanged."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name:
        msg = f"Refusing archive member {name!r}: absolute paths and '..' are not allowed."
        raise WheelError(msg)
    return name


def extract_zip(archive: Path, dest: Path) -> int:
    """Extract `archive` into `dest` safely, keeping exec bits; return the unzipped size.

    Members that are absolute, contain `..`, or are symlinks are refused before anything
    is written, because a wheel or layer is untrusted input.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"{archive} is not a readable zip archive ({exc}); rebuild it."
        raise BundleError(msg) from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            check_member_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                msg = f"Refusing symlink {info.filename!r} in {archive.name}."
                raise WheelError(msg)
        total = 0
        for info in infos:
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            total += info.file_size
            mode = (info.external_attr >> 16) & 0o777
            if mode & 0o111:
                target.chmod(EXEC_MODE)
        return total


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zf:
        return sum(i.file_size for i in zf.infolist())
