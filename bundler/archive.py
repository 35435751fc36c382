"""Reproducible zip archives: the only writer of zips, and a safe extractor.

Same inputs give byte-identical zips: entries sorted by name, one fixed timestamp, fixed
modes (0644, or 0755 for executables), no directory entries, no host metadata. Lambda
extracts a zip's Unix mode bits, so `bootstrap` and wrappers keep 0755.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import mmap
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import deflate  # libdeflate: inflates 2-3x faster than zlib, on the sandbox's cold path

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

    def read_size(self) -> int:
        """The member's uncompressed size, without reading it."""
        if self.data is not None:
            return len(self.data)
        assert self.source is not None, self.arcname
        return self.source.stat().st_size

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
    """Write `entries` to `path` reproducibly; a later entry with the same name wins.

    Members are compressed on every CPU at once (zlib releases the GIL), which is most of
    the time of writing a large layer, and laid out exactly as `zipfile` lays them out
    (the same bytes as `_write_zip_serial` for members under 4 MiB, which tests hold it
    to); larger members are deflated in fixed 1 MiB pieces on all CPUs, so their bytes
    differ from zipfile's but still depend only on the content. Archives that would need
    ZIP64 (over 65,535 members or 4 GiB, far beyond Lambda's limits) go through `zipfile`
    itself.
    """
    by_name = {check_member_name(e.arcname): e for e in entries}
    tmp = path.with_name(path.name + ".part")
    if len(by_name) < _ZIP64_COUNT:
        try:
            _write_zip_parallel(tmp, [by_name[name] for name in sorted(by_name)])
        except _NeedsZip64:
            _write_zip_serial(tmp, by_name)
    else:
        _write_zip_serial(tmp, by_name)
    tmp.replace(path)


# The zip format's fixed-width fields, as zipfile packs them (APPNOTE.TXT 4.3.7, 4.3.12,
# 4.3.16): version 2.0 (deflate), made on Unix, no data descriptors.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20
_UNIX = 3
_UTF8_FLAG = 0x800
_ZIP64_COUNT = 0xFFFF
_ZIP64_SIZE = 0xFFFFFFFF
# Members in flight at once, and input bytes: bounds the memory held by compressed data.
_WINDOW_MEMBERS = 128
_WINDOW_BYTES = 64 << 20
# A member this large is deflated in independent chunks (as pigz does), so one large
# shared object does not keep a single CPU busy while the others wait.
_SPLIT = 4 << 20
_CHUNK = 1 << 20
_WINDOW = 32 << 10  # deflate's history: each chunk is primed with the previous 32 KiB


class _NeedsZip64(Exception):
    pass


def _deflate(entry: ZipEntry) -> tuple[int, int, bytes]:
    """(crc32, uncompressed size, raw deflate stream) of one member, as zipfile makes it."""
    data = entry.read()
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return zlib.crc32(data), len(data), compressor.compress(data) + compressor.flush()


def _deflate_chunk(data: bytes, start: int, end: int) -> bytes:
    """One piece of a split member's deflate stream.

    Primed with the 32 KiB before it and ended by a sync flush (a final flush for the last
    piece), the pieces concatenate into one valid stream; the bytes depend only on the
    data and the fixed chunk size, never on how many CPUs compressed them.
    """
    if start:
        compressor = zlib.compressobj(
            6, zlib.DEFLATED, -15, zdict=data[max(0, start - _WINDOW) : start]
        )
    else:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    last = end >= len(data)
    return compressor.compress(data[start:end]) + compressor.flush(
        zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
    )


@dataclasses.dataclass(frozen=True)
class _Pending:
    """A member being compressed: one future, or a crc32 future and one per chunk."""

    entry: ZipEntry
    size: int
    futures: list[concurrent.futures.Future[Any]]

    def result(self) -> tuple[int, bytes]:
        """(crc32, raw deflate stream), waiting for the workers."""
        if len(self.futures) == 1:
            crc, _, data = self.futures[0].result()
            return crc, data
        return self.futures[0].result(), b"".join(f.result() for f in self.futures[1:])


def _submit(pool: concurrent.futures.ThreadPoolExecutor, entry: ZipEntry) -> _Pending:
    """Start compressing `entry` on the pool."""
    size = len(entry.data) if entry.data is not None else entry.read_size()
    if size < _SPLIT:
        return _Pending(entry, size, [pool.submit(_deflate, entry)])
    data = entry.read()
    futures: list[concurrent.futures.Future[Any]] = [pool.submit(zlib.crc32, data)]
    futures += [
        pool.submit(_deflate_chunk, data, start, min(start + _CHUNK, len(data)))
        for start in range(0, len(data), _CHUNK)
    ]
    return _Pending(entry, len(data), futures)


def _write_zip_parallel(tmp: Path, ordered: list[ZipEntry]) -> None:
    dosdate = (FIXED_DATE[0] - 1980) << 9 | FIXED_DATE[1] << 5 | FIXED_DATE[2]
    dostime = FIXED_DATE[3] << 11 | FIXED_DATE[4] << 5 | FIXED_DATE[5] // 2
    central: list[bytes] = []
    workers = min(os.cpu_count() or 1, 8)
    with open(tmp, "wb") as out, concurrent.futures.ThreadPoolExecutor(workers) as pool:
        queue: collections.deque[_Pending] = collections.deque()
        in_flight = 0
        members = iter(ordered)
        while True:
            # Keep the pool fed up to the window, then write the oldest member, in order.
            for member in members:
                queue.append(_submit(pool, member))
                in_flight += queue[-1].size
                if len(queue) >= _WINDOW_MEMBERS or in_flight >= _WINDOW_BYTES:
                    break
            if not queue:
                break
            pending = queue.popleft()
            in_flight -= pending.size
            entry, size = pending.entry, pending.size
            crc, data = pending.result()
            offset = out.tell()
            if max(size, len(data), offset) >= _ZIP64_SIZE:
                raise _NeedsZip64
            try:
                name, flags = entry.arcname.encode("ascii"), 0
            except UnicodeEncodeError:
                name, flags = entry.arcname.encode("utf-8"), _UTF8_FLAG
            local = _LOCAL.pack(
                b"PK\x03\x04", _VERSION, 0, flags, zipfile.ZIP_DEFLATED, dostime,
                dosdate, crc, len(data), size, len(name), 0,
            )  # fmt: skip
            out.write(local + name)
            out.write(data)
            mode = EXEC_MODE if entry.executable else FILE_MODE
            record = _CENTRAL.pack(
                b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, flags,
                zipfile.ZIP_DEFLATED, dostime, dosdate, crc, len(data), size,
                len(name), 0, 0, 0, 0, (stat.S_IFREG | mode) << 16, offset,
            )  # fmt: skip
            central.append(record + name)
        start_dir = out.tell()
        for record in central:
            out.write(record)
        size_dir = out.tell() - start_dir
        if start_dir + size_dir >= _ZIP64_SIZE:
            raise _NeedsZip64
        out.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), size_dir,
                            start_dir, 0))  # fmt: skip


def _write_zip_serial(tmp: Path, by_name: dict[str, ZipEntry]) -> None:
    """The reference writer: zipfile, one member after another."""
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in sorted(by_name):
            entry = by_name[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so Lambda honours the mode bits
            mode = EXEC_MODE if entry.executable else FILE_MODE
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, entry.read())


def check_member_name(name: str) -> str:
    """Refuse absolute paths and `..` components; return the name unchanged."""
    if not name or name.startswith("/") or ".." in name.split("/") or "\\" in name:
        msg = f"Refusing archive member {name!r}: absolute paths and '..' are not allowed."
        raise WheelError(msg)
    return name


def extract_zip(archive: Path, dest: Path) -> int:
    """Extract `archive` into `dest` safely, keeping exec bits; return the unzipped size.

    Members that are absolute, contain `..`, are symlinks or encrypted are refused before
    anything is written, because a wheel or layer is untrusted input. The sandbox lays out
    a bundle on every cold start, so this is on the path `compare` measures, and it is
    built for that: directories are made once, up front; each member is inflated in one
    call straight from a memory map of the archive (libdeflate, which releases the GIL),
    checked against its CRC-32 and written with its final mode in one open; and the
    members are shared between threads, one per CPU.
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
        if info.flag_bits & 0x1:
            msg = f"Refusing encrypted member {info.filename!r} in {archive.name}."
            raise WheelError(msg)
    files = [i for i in infos if not i.is_dir()]
    dirs = {i.filename.rstrip("/") for i in infos if i.is_dir()}
    dirs.update(i.filename.rpartition("/")[0] for i in files)
    dest.mkdir(parents=True, exist_ok=True)
    for rel in sorted(dirs):  # a parent sorts before its children
        if rel:
            Path(dest, rel).mkdir(parents=True, exist_ok=True)
    if not files:
        return 0
    workers = min(os.cpu_count() or 1, 8, max(1, len(files) // _MIN_FILES_PER_WORKER))
    shares: list[list[zipfile.ZipInfo]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for info in sorted(files, key=lambda i: i.compress_size, reverse=True):
        k = loads.index(min(loads))  # largest first onto the least loaded: even shares
        shares[k].append(info)
        loads[k] += info.file_size + _PER_FILE_COST
    with open(archive, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mm)
    try:
        if workers == 1:
            _extract_share(archive, view, dest, shares[0])
        else:
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(_extract_share, archive, view, dest, s) for s in shares]
                for future in futures:
                    future.result()
    finally:
        view.release()
        with contextlib.suppress(BufferError):  # an error's traceback may hold a slice
            mm.close()
    return sum(i.file_size for i in files)


# Below this many files a thread costs more than it saves; a file's cost in bytes-worth.
_MIN_FILES_PER_WORKER = 64
_PER_FILE_COST = 32 * 1024
_LOCAL_HEADER_SIZE = 30


def _member_data(archive: Path, view: memoryview, info: zipfile.ZipInfo) -> memoryview:
    """The member's stored bytes, found through its local header (APPNOTE.TXT 4.3.7)."""
    start = info.header_offset
    header = bytes(view[start : start + _LOCAL_HEADER_SIZE])
    if len(header) < _LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
        msg = f"{archive} is damaged: no local header for {info.filename!r}; rebuild it."
        raise BundleError(msg)
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    begin = start + _LOCAL_HEADER_SIZE + name_len + extra_len
    data = view[begin : begin + info.compress_size]
    if len(data) != info.compress_size:
        msg = f"{archive} is truncated inside {info.filename!r}; rebuild it."
        raise BundleError(msg)
    return data


def _member_bytes(archive: Path, view: memoryview, info: zipfile.ZipInfo) -> Any:
    """The member's content, inflated and checked against its size and CRC-32."""
    data = _member_data(archive, view, info)
    try:
        if info.compress_type == zipfile.ZIP_STORED:
            content: Any = data
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            content = deflate.deflate_decompress(data, info.file_size) if info.file_size else b""
        else:  # bzip2, lzma: rare in wheels and never written here; zipfile reads them
            with zipfile.ZipFile(archive) as zf:
                content = zf.read(info)
    except (ValueError, RuntimeError, deflate.DeflateError, zipfile.BadZipFile) as exc:
        msg = f"{archive} is damaged: {info.filename!r} does not inflate ({exc}); rebuild it."
        raise BundleError(msg) from None
    if len(content) != info.file_size or deflate.crc32(content) != info.CRC:
        msg = f"{archive} is damaged: {info.filename!r} fails its CRC-32 check; rebuild it."
        raise BundleError(msg)
    return content


def _extract_share(
    archive: Path, view: memoryview, dest: Path, infos: list[zipfile.ZipInfo]
) -> None:
    for info in infos:
        content = memoryview(_member_bytes(archive, view, info))
        executable = (info.external_attr >> 16) & 0o111
        target = f"{dest}/{info.filename}"
        # O_NOFOLLOW: a later layer replaces an earlier file, never writes through a link.
        fd = os.open(target, _WRITE_FLAGS, EXEC_MODE if executable else FILE_MODE)
        try:
            while content:
                content = content[os.write(fd, content) :]
            if executable:
                os.fchmod(fd, EXEC_MODE)  # whatever the umask
        finally:
            os.close(fd)


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zf:
        return sum(i.file_size for i in zf.infolist())
