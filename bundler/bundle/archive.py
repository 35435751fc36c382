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
import errno
import hashlib
import mmap
import os
import stat
import struct
import threading
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

import deflate  # libdeflate: inflates 2-3x faster than zlib, on the sandbox's cold path

from bundler.core.errors import BundleError, WheelError

# The earliest date a zip can carry; what shiv and most reproducible builds use.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXEC_MODE = 0o755


@dataclasses.dataclass(frozen=True)
class Deflated:
    """Where a member's content may already be deflated: a raw deflate stream inside
    another zip (the wheel a dependency's file was unpacked from), `size` bytes at
    `offset`. A hint, never trusted: `write_zip` copies the stream only when it inflates
    to exactly the member's bytes."""

    path: Path
    offset: int
    size: int


@dataclasses.dataclass(frozen=True)
class ZipEntry:
    """One file of an archive: its path inside the zip and where its bytes come from."""

    arcname: str
    data: bytes | None = None
    source: Path | None = None
    executable: bool = False
    deflated: Deflated | None = None

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
    """Every regular file under `root`, named `prefix/relative/path`, executables kept;
    symlinks are left out. One `lstat` a file: every rebuild walks the installed trees."""
    out: list[ZipEntry] = []
    base = prefix.rstrip("/") + "/" if prefix else ""

    def walk(directory: str, rel: str) -> None:
        with os.scandir(directory) as it:
            found = sorted(it, key=lambda e: e.name)
        files = [e for e in found if e.is_file(follow_symlinks=False)]
        for e in files:
            executable = bool(e.stat(follow_symlinks=False).st_mode & stat.S_IXUSR)
            out.append(ZipEntry(base + rel + e.name, source=Path(e.path), executable=executable))
        for e in found:
            if e.is_dir(follow_symlinks=False):
                walk(e.path, f"{rel}{e.name}/")

    walk(str(root), "")
    return out


class MemberStore(Protocol):
    """Deflated members kept between builds, by a key of their content (`member_key`)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, deflated: bytes) -> None: ...


def member_key(data: bytes) -> str:
    """What identifies a member's deflated bytes: its content, the level, the compressor."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest}-{_LEVEL}-libdeflate-{deflate.__version__}"


def write_zip(path: Path, entries: Iterable[ZipEntry], store: MemberStore | None = None) -> None:
    """Write `entries` to `path` reproducibly; a later entry with the same name wins.

    Members are deflated with libdeflate at level 6 on every CPU at once (it releases the
    GIL and is about 2.8 times as fast as zlib at that level, with slightly smaller
    output), and laid out as `zipfile` lays out members, without data descriptors. The
    bytes depend only on the entries (content, and `deflated` hints) and on libdeflate's
    version, which the `deflate` requirement pins to a range. Archives that would need
    ZIP64 (over 65,535 members or 4 GiB, far beyond Lambda's limits) go through `zipfile`.

    An entry with a `deflated` hint (a dependency's file and its stream in the wheel it
    came from, which the lock pins by sha256) takes that stream as it is when it inflates
    to the entry's bytes, instead of compressing them again.

    With a `store`, other members of at least 64 KiB are deflated once and then taken from
    it: the same shared objects recur in every strategy's zip and in every rebuild, and
    hashing them is cheaper than deflating them. The bytes are the same.
    """
    by_name = {check_member_name(e.arcname): e for e in entries}
    tmp = path.with_name(path.name + ".part")
    if len(by_name) < _ZIP64_COUNT:
        try:
            _write_zip_parallel(tmp, [by_name[name] for name in sorted(by_name)], store)
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
_LEVEL = 6


class _NeedsZip64(Exception):
    pass


# From this size up a member is looked up by content (sha256, read, inflate-check): 4-5x
# cheaper than deflating it again. Smaller ones are many (three quarters of numpy+pandas'
# files) and a tenth of the bytes; for them a cache entry's file costs more than it saves.
_STORE_MIN = 64 << 10


def _deflate(entry: ZipEntry, store: MemberStore | None = None) -> tuple[int, int, bytes]:
    """(crc32, uncompressed size, raw deflate stream) of one member."""
    data = entry.read()
    if entry.deflated is not None:
        reused = _reuse(entry.deflated, data)
        if reused is not None:
            return deflate.crc32(data), len(data), reused
    if store is None or len(data) < _STORE_MIN:
        return deflate.crc32(data), len(data), bytes(deflate.deflate_compress(data, _LEVEL))
    crc, key = deflate.crc32(data), member_key(data)
    deflated = store.get(key)
    if deflated is None or not _inflates_to(deflated, len(data), crc):
        # Missing, or damaged on disk: a zip is never written from a bad cached member.
        deflated = bytes(deflate.deflate_compress(data, _LEVEL))
        store.put(key, deflated)
    return crc, len(data), deflated


def _reuse(hint: Deflated, data: bytes) -> bytes | None:
    """The hinted raw stream if it inflates to exactly `data`, else None (deflate anew).

    A wheel's members are already deflated, and inflating is about seven times as fast as
    deflating at level 6 (numpy + scipy: 0.24 s against 1.67 s on one core here), so
    copying a checked stream makes most of a dependency-heavy zip without compressing it.
    """
    try:
        with open(hint.path, "rb") as f:
            raw = os.pread(f.fileno(), hint.size, hint.offset)
        same = len(raw) == hint.size and deflate.deflate_decompress(raw, len(data)) == data
    except (OSError, deflate.DeflateError, ValueError):
        return None  # the wheel is gone from the cache, or the stream is not this file's
    return raw if same else None


def raw_streams(path: Path) -> dict[str, Deflated]:
    """Each deflated file member of the zip at `path`, by name, as a `Deflated` hint."""
    out: dict[str, Deflated] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as f:
        for info in zf.infolist():
            if info.is_dir() or info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 1:
                continue
            header = os.pread(f.fileno(), _LOCAL_HEADER_SIZE, info.header_offset)
            if len(header) < _LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
                continue  # damaged: no hint, the member is deflated anew
            name_len, extra_len = struct.unpack_from("<HH", header, 26)
            offset = info.header_offset + _LOCAL_HEADER_SIZE + name_len + extra_len
            out[info.filename] = Deflated(path, offset, info.compress_size)
    return out


def _inflates_to(deflated: bytes, size: int, crc: int) -> bool:
    try:
        data = deflate.deflate_decompress(deflated, size)
    except (deflate.DeflateError, ValueError):
        return False
    return len(data) == size and deflate.crc32(data) == crc


@dataclasses.dataclass(frozen=True)
class _Pending:
    """A member being compressed on the pool."""

    entry: ZipEntry
    size: int
    future: concurrent.futures.Future[tuple[int, int, bytes]]

    def result(self) -> tuple[int, bytes]:
        """(crc32, raw deflate stream), waiting for the worker."""
        crc, _, data = self.future.result()
        return crc, data


def _submit(
    pool: concurrent.futures.ThreadPoolExecutor, entry: ZipEntry, store: MemberStore | None
) -> _Pending:
    """Start compressing `entry` on the pool."""
    size = len(entry.data) if entry.data is not None else entry.read_size()
    return _Pending(entry, size, pool.submit(_deflate, entry, store))


def _write_zip_parallel(
    tmp: Path, ordered: list[ZipEntry], store: MemberStore | None = None
) -> None:
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
                queue.append(_submit(pool, member, store))
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
    """Refuse absolute paths, `..` components, backslashes and NUL; return the name unchanged."""
    if (
        not name
        or name.startswith("/")
        or ".." in name.split("/")
        or "\\" in name
        or "\x00" in name
    ):
        msg = f"Refusing archive member {name!r}: absolute paths and '..' are not allowed."
        raise WheelError(msg)
    return name


def check_members(
    archive: Path, infos: Sequence[zipfile.ZipInfo], max_bytes: int | None = None
) -> None:
    """Refuse, before anything is written, what no lambundle build puts in a zip: unsafe
    names, symlinks, encrypted members, or more bytes than `max_bytes` (bundle.json's
    unzipped size) once extracted. A bundle directory or a wheel is untrusted input."""
    for info in infos:
        check_member_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            msg = f"Refusing symlink {info.filename!r} in {archive.name}."
            raise WheelError(msg)
        if info.flag_bits & 0x1:
            msg = f"Refusing encrypted member {info.filename!r} in {archive.name}."
            raise WheelError(msg)
    declared = sum(i.file_size for i in infos)
    if max_bytes is not None and declared > max_bytes:
        _too_big(archive, max_bytes)


def _too_big(archive: Path, max_bytes: int) -> NoReturn:
    msg = (
        f"{archive} unpacks to more than the {max_bytes:,} bytes its bundle.json records; "
        "it is not the zip the bundle was built with. Rebuild the bundle with "
        "`lambundle bundle SRC`."
    )
    raise BundleError(msg)


class MappedZip:
    """A zip read the fast way: the central directory through `zipfile`, each member
    inflated in one call straight from a memory map of the file (libdeflate, which
    releases the GIL, so threads can share one `MappedZip`) and checked against its size
    and CRC-32. `remedy` ends the message of a damaged archive ("rebuild it")."""

    def __init__(self, path: Path, remedy: str = "rebuild it") -> None:
        self.path, self.remedy = path, remedy
        try:
            with zipfile.ZipFile(path) as zf:
                self.infos = zf.infolist()
            with open(path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            msg = f"{path} is not a readable zip archive ({exc}); {remedy}."
            raise BundleError(msg) from None
        self._view = memoryview(self._map)

    def __enter__(self) -> MappedZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._view.release()
        with contextlib.suppress(BufferError):  # an error's traceback may hold a slice
            self._map.close()

    def read(self, info: zipfile.ZipInfo) -> Any:
        """The member's content: bytes, or a memoryview of a stored member."""
        data = self._stored(info)
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                content: Any = data
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                size = info.file_size
                content = deflate.deflate_decompress(data, size) if size else b""
            else:  # bzip2, lzma: rare in wheels and never written here; zipfile reads them
                with zipfile.ZipFile(self.path) as zf:
                    content = zf.read(info)
        except (ValueError, RuntimeError, deflate.DeflateError, zipfile.BadZipFile) as exc:
            self._damaged(f"{info.filename!r} does not inflate ({exc})")
        if len(content) != info.file_size or deflate.crc32(content) != info.CRC:
            self._damaged(f"{info.filename!r} fails its CRC-32 check")
        return content

    def _stored(self, info: zipfile.ZipInfo) -> memoryview:
        """The member's stored bytes, found through its local header (APPNOTE.TXT 4.3.7)."""
        start = info.header_offset
        header = bytes(self._view[start : start + _LOCAL_HEADER_SIZE])
        if len(header) < _LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
            self._damaged(f"no local header for {info.filename!r}")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        begin = start + _LOCAL_HEADER_SIZE + name_len + extra_len
        data = self._view[begin : begin + info.compress_size]
        if len(data) != info.compress_size:
            self._damaged(f"truncated inside {info.filename!r}")
        return data

    def _damaged(self, what: str) -> NoReturn:
        msg = f"{self.path} is damaged: {what}; {self.remedy}."
        raise BundleError(msg)


_LOCAL_HEADER_SIZE = 30
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW


def write_file(path: str | Path, content: Any, executable: bool) -> None:
    """Create or replace `path` with `content`, 0755 or 0644.

    A file already at `path` is unlinked and a new one created, never opened for writing:
    installed trees are hard links into the cache (bundler.sources.wheels), and writing
    into such a file would change the cached copy under every other build that links it.
    Likewise a later layer replaces an earlier file; a symlink at `path` is refused
    (ELOOP, as O_NOFOLLOW), never followed nor replaced.
    """
    view = memoryview(content)
    mode = EXEC_MODE if executable else FILE_MODE
    try:
        fd = os.open(path, _WRITE_FLAGS, mode)
    except FileExistsError:
        if Path(path).is_symlink():
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None
        Path(path).unlink()  # a directory raises IsADirectoryError: the caller reports it
        fd = os.open(path, _WRITE_FLAGS, mode)
    try:
        while view:
            view = view[os.write(fd, view) :]
        if executable:
            os.fchmod(fd, EXEC_MODE)  # whatever the umask
    finally:
        os.close(fd)


def make_dirs(dest: Path, dirs: Iterable[str]) -> None:
    """Create `dest` and the directories `dirs` (relative, "/"-separated) under it, once."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in sorted(set(dirs)):  # sorted: a parent before its children
        if rel:
            Path(dest, rel).mkdir(parents=True, exist_ok=True)


def extract_zip(archive: Path, dest: Path, max_bytes: int | None = None) -> int:
    """Extract `archive` into `dest` safely, keeping exec bits; return the unzipped size.

    Members that are absolute, contain `..`, are symlinks or encrypted are refused before
    anything is written, because a wheel or layer is untrusted input. With `max_bytes`
    (the manifest's unzipped size) a zip that declares more is refused up front, and the
    bytes are counted as they are written, so no more than that ever reaches `dest`,
    whatever the zip's headers claim. The sandbox lays out a bundle on every cold start,
    so this is on the path `compare` measures, and it is built for that: directories are
    made once, up front, and the members are read through a `MappedZip` and written in
    one open each, shared between threads, one per CPU.
    """
    with MappedZip(archive) as zf:
        check_members(archive, zf.infos, max_bytes)
        files = [i for i in zf.infos if not i.is_dir()]
        budget = _Budget(archive, max_bytes)
        try:
            # "a/b/c.py" needs "a/b"; so does the directory member "a/b/".
            make_dirs(dest, [i.filename.rpartition("/")[0] for i in zf.infos])
            _extract_files(zf, files, dest, budget)
        except OSError as exc:
            msg = f"Cannot extract {archive} into {dest} ({exc})."
            raise BundleError(msg) from None
    return budget.written


class _Budget:
    """Bytes written so far, shared by the extracting threads; refuses past `max_bytes`."""

    def __init__(self, archive: Path, max_bytes: int | None) -> None:
        self.archive, self.max_bytes = archive, max_bytes
        self.written = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        with self._lock:
            if self.max_bytes is not None and self.written + size > self.max_bytes:
                _too_big(self.archive, self.max_bytes)
            self.written += size


def _extract_files(
    zf: MappedZip, files: list[zipfile.ZipInfo], dest: Path, budget: _Budget
) -> None:
    workers = min(os.cpu_count() or 1, 8, max(1, len(files) // _MIN_FILES_PER_WORKER))
    shares: list[list[zipfile.ZipInfo]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for info in sorted(files, key=lambda i: i.compress_size, reverse=True):
        k = loads.index(min(loads))  # largest first onto the least loaded: even shares
        shares[k].append(info)
        loads[k] += info.file_size + _PER_FILE_COST

    def extract(share: list[zipfile.ZipInfo]) -> None:
        for info in share:
            executable = bool((info.external_attr >> 16) & 0o111)
            content = zf.read(info)
            budget.take(len(content))
            write_file(f"{dest}/{info.filename}", content, executable)

    if workers == 1:
        extract(shares[0])
    else:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(extract, share) for share in shares]:
                future.result()


# Below this many files a thread costs more than it saves; a file's cost in bytes-worth.
_MIN_FILES_PER_WORKER = 64
_PER_FILE_COST = 32 * 1024


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zf:
        return sum(i.file_size for i in zf.infolist())
