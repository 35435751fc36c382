"""The parallel zip writer: what zipfile reads, the same bytes whatever the CPU count."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

import pytest

from bundler.bundle import archive
from bundler.bundle.archive import ZipEntry


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


def test_zipfile_reads_what_the_parallel_writer_lays_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ordered = sorted(entries(tmp_path), key=lambda e: e.arcname)
    written = []
    for cpus in (1, 4):
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        archive._write_zip_parallel(tmp_path / f"parallel-{cpus}.zip", ordered)
        written.append((tmp_path / f"parallel-{cpus}.zip").read_bytes())
    assert written[0] == written[1], "the bytes must not depend on the number of CPUs"
    archive._write_zip_serial(tmp_path / "serial.zip", {e.arcname: e for e in ordered})
    with (
        zipfile.ZipFile(tmp_path / "parallel-1.zip") as ours,
        zipfile.ZipFile(tmp_path / "serial.zip") as reference,
    ):
        assert ours.testzip() is None
        assert ours.namelist() == reference.namelist()
        for info in reference.infolist():
            mine = ours.getinfo(info.filename)
            assert ours.read(mine) == reference.read(info)
            assert (mine.CRC, mine.file_size, mine.date_time) == (
                info.CRC,
                info.file_size,
                info.date_time,
            )
            assert (mine.external_attr, mine.create_system, mine.flag_bits) == (
                info.external_attr,
                info.create_system,
                info.flag_bits,
            )
        assert ours.read("données/ünïcode.txt") == "héllo".encode()
        assert (ours.getinfo("bootstrap").external_attr >> 16) & 0o777 == 0o755


def test_what_would_need_zip64_goes_through_zipfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "_ZIP64_SIZE", 1000)  # every archive is "too big" now
    items = entries(tmp_path)
    archive.write_zip(tmp_path / "out.zip", items)
    archive._write_zip_serial(tmp_path / "serial.zip", {e.arcname: e for e in items})
    assert (tmp_path / "out.zip").read_bytes() == (tmp_path / "serial.zip").read_bytes()
    assert not (tmp_path / "out.zip.part").exists()


class DictStore:
    """A MemberStore in memory, counting what it is asked (logic only)."""

    def __init__(self) -> None:
        self.members: dict[str, bytes] = {}
        self.gets = 0
        self.puts = 0

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return self.members.get(key)

    def put(self, key: str, deflated: bytes) -> None:
        self.puts += 1
        self.members[key] = deflated


def test_a_member_store_gives_the_same_bytes_and_deflates_large_members_once(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    big = bytes(rng.getrandbits(8) for _ in range(200_000)) * 8  # 1.6 MB, over the threshold
    items = [ZipEntry("lib/big.so", data=big), ZipEntry("small.py", data=b"x = 1\n")]
    archive.write_zip(tmp_path / "plain.zip", items)
    store = DictStore()
    archive.write_zip(tmp_path / "first.zip", items, store)
    assert (store.gets, store.puts) == (1, 1)  # only the large member goes through it
    # Another zip with the same content under another name: taken from the store.
    renamed = [ZipEntry("vendor/lib/big.so", data=big), *items[1:]]
    archive.write_zip(tmp_path / "second.zip", renamed, store)
    assert (store.gets, store.puts) == (2, 1)
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "plain.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "second.zip") as zf:
        assert zf.testzip() is None and zf.read("vendor/lib/big.so") == big


def test_a_damaged_stored_member_is_deflated_again_not_shipped(tmp_path: Path) -> None:
    big = bytes(range(256)) * 8192  # 2 MiB
    store = DictStore()
    archive.write_zip(tmp_path / "a.zip", [ZipEntry("big.bin", data=big)], store)
    (key,) = store.members
    store.members[key] = store.members[key][:-10] + b"garbage!!!"
    archive.write_zip(tmp_path / "b.zip", [ZipEntry("big.bin", data=big)], store)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert store.puts == 2
