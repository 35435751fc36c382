"""The parallel zip writer lays out exactly the bytes zipfile does."""

from __future__ import annotations

import os
import random
import zipfile
import zlib
from pathlib import Path

import pytest

from bundler import archive
from bundler.archive import ZipEntry


def entries(tmp_path: Path) -> list[ZipEntry]:
    rng = random.Random(7)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(rng.getrandbits(8) for _ in range(300_000)) + b"a" * 500_000)
    out = [
        ZipEntry("pkg/__init__.py", data=b"x = 1\n" * 1000),
        ZipEntry("pkg/empty.py", data=b""),
        ZipEntry("pkg/big.bin", source=big),
        ZipEntry("bootstrap", data=b"#!/bin/sh\nexec true\n", executable=True),
        ZipEntry("données/ünïcode.txt", data="héllo".encode()),
    ]
    # More members than one batch, so batches follow each other.
    out += [ZipEntry(f"many/m{i:03}.py", data=os.urandom(i)) for i in range(150)]
    return out


def test_same_bytes_as_zipfile(tmp_path: Path) -> None:
    ordered = sorted(entries(tmp_path), key=lambda e: e.arcname)
    archive._write_zip_parallel(tmp_path / "parallel.zip", ordered)
    archive._write_zip_serial(tmp_path / "serial.zip", {e.arcname: e for e in ordered})
    assert (tmp_path / "parallel.zip").read_bytes() == (tmp_path / "serial.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "parallel.zip") as zf:
        assert zf.testzip() is None
        assert zf.read("données/ünïcode.txt") == "héllo".encode()
        assert (zf.getinfo("bootstrap").external_attr >> 16) & 0o777 == 0o755


def test_what_would_need_zip64_goes_through_zipfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "_ZIP64_SIZE", 1000)  # every archive is "too big" now
    items = entries(tmp_path)
    archive.write_zip(tmp_path / "out.zip", items)
    archive._write_zip_serial(tmp_path / "serial.zip", {e.arcname: e for e in items})
    assert (tmp_path / "out.zip").read_bytes() == (tmp_path / "serial.zip").read_bytes()
    assert not (tmp_path / "out.zip.part").exists()


def test_large_members_are_split_into_one_valid_reproducible_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shrink the thresholds so a small test exercises the split path: many chunks, each
    # primed with the previous window, some data repeating across chunk borders.
    monkeypatch.setattr(archive, "_SPLIT", 64 * 1024)
    monkeypatch.setattr(archive, "_CHUNK", 16 * 1024)
    rng = random.Random(11)
    block = bytes(rng.getrandbits(8) for _ in range(12_000))
    data = (block * 17) + bytes(rng.getrandbits(8) for _ in range(70_000)) + b"z" * 33_333
    one_stream = zlib.compressobj(6, zlib.DEFLATED, -15)
    whole = len(one_stream.compress(data) + one_stream.flush())
    source = tmp_path / "lib.so"
    source.write_bytes(data)
    members = [ZipEntry("a.py", data=b"print(1)\n"), ZipEntry("lib.so", source=source)]
    written = []
    for cpus in (1, 4):
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        path = tmp_path / f"out-{cpus}.zip"
        archive._write_zip_parallel(path, members)
        written.append(path.read_bytes())
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            assert zf.read("lib.so") == data
            info = zf.getinfo("lib.so")
            # Each 16 KiB chunk starts inside a repeat of a 12 kB block: only a chunk
            # primed with the data before it compresses that as well as one stream does.
            assert info.compress_size < whole * 1.1
    assert written[0] == written[1], "the bytes must not depend on the number of CPUs"
