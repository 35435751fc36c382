"""Deflated streams taken from another zip (a wheel) as they are, only when they inflate
to the member's exact bytes."""

from __future__ import annotations

import dataclasses
import struct
import zipfile
from pathlib import Path

from bundler.bundle import archive
from bundler.bundle.archive import Deflated, ZipEntry

TEXT = b"def f(x):\n    return x * 2\n" * 400


def wheel(tmp_path: Path) -> Path:
    """A zip written by zipfile (zlib, level 9: not the stream libdeflate would make)."""
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("pkg/mod.py", TEXT)
        zf.writestr(zipfile.ZipInfo("pkg/stored.txt"), b"kept as is")  # ZIP_STORED
    return path


def stream_in(path: Path, name: str) -> bytes:
    """The raw deflate stream of member `name` as the zip at `path` holds it."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = path.read_bytes()
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    return data[start : start + info.compress_size]


def test_raw_streams_lists_deflated_members_only(tmp_path: Path) -> None:
    found = archive.raw_streams(wheel(tmp_path))
    assert set(found) == {"pkg/mod.py"}
    hint = found["pkg/mod.py"]
    assert hint.path.read_bytes()[hint.offset : hint.offset + hint.size] == stream_in(
        hint.path, "pkg/mod.py"
    )


def test_a_matching_stream_is_copied_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_bytes(TEXT)
    hint = archive.raw_streams(wheel(tmp_path))["pkg/mod.py"]
    out = tmp_path / "out.zip"
    archive.write_zip(out, [ZipEntry("vendor/pkg/mod.py", source=source, deflated=hint)])
    assert stream_in(out, "vendor/pkg/mod.py") == stream_in(hint.path, "pkg/mod.py")
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.read("vendor/pkg/mod.py") == TEXT
    # Without the hint the member is libdeflate's own stream: the copy was not a no-op.
    plain = tmp_path / "plain.zip"
    archive.write_zip(plain, [ZipEntry("vendor/pkg/mod.py", source=source)])
    assert stream_in(plain, "vendor/pkg/mod.py") != stream_in(out, "vendor/pkg/mod.py")


def test_a_stream_of_other_bytes_is_not_copied(tmp_path: Path) -> None:
    changed = tmp_path / "mod.py"
    changed.write_bytes(TEXT + b"# changed after unpacking\n")
    hint = archive.raw_streams(wheel(tmp_path))["pkg/mod.py"]
    out = tmp_path / "out.zip"
    archive.write_zip(out, [ZipEntry("pkg/mod.py", source=changed, deflated=hint)])
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.read("pkg/mod.py") == changed.read_bytes()


def test_a_hint_into_a_missing_or_damaged_wheel_is_ignored(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_bytes(TEXT)
    hint = archive.raw_streams(wheel(tmp_path))["pkg/mod.py"]
    gone = dataclasses.replace(hint, path=tmp_path / "gone.whl")
    damaged = tmp_path / "damaged.whl"
    damaged.write_bytes(b"\0" * (hint.offset + hint.size))
    for bad in (gone, dataclasses.replace(hint, path=damaged)):
        out = tmp_path / "out.zip"
        archive.write_zip(out, [ZipEntry("pkg/mod.py", source=source, deflated=bad)])
        with zipfile.ZipFile(out) as zf:
            assert zf.read("pkg/mod.py") == TEXT


def test_the_same_entries_give_the_same_bytes(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_bytes(TEXT)
    hint = archive.raw_streams(wheel(tmp_path))["pkg/mod.py"]
    entries = [
        ZipEntry("pkg/mod.py", source=source, deflated=hint),
        ZipEntry("pkg/other.py", data=b"y = 2\n"),
    ]
    archive.write_zip(tmp_path / "a.zip", entries)
    archive.write_zip(tmp_path / "b.zip", list(reversed(entries)))
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_a_hint_is_part_of_an_archive_key(tmp_path: Path) -> None:
    from bundler.build.keys import entries_key
    from bundler.core.cache import Cache

    source = tmp_path / "mod.py"
    source.write_bytes(TEXT)
    cache = Cache(tmp_path / "cache")
    hint = Deflated(tmp_path / "w.whl", 10, 20)
    plain = [ZipEntry("pkg/mod.py", source=source)]
    hinted = [ZipEntry("pkg/mod.py", source=source, deflated=hint)]
    assert entries_key(plain, cache) != entries_key(hinted, cache)
