"""--embed-python: trimming rules, RUNPATH rewriting and glibc reading (pure logic)."""

from __future__ import annotations

import struct
from pathlib import Path, PurePosixPath

import pytest

from bundler.build import embed
from bundler.core.errors import UsageError
from bundler.core.target import Target

PREFIX = "/root/.pyenv/versions/3.12.1"


@pytest.mark.parametrize(
    ("rel", "kept"),
    [
        ("lib/python3.12/os.py", True),
        ("lib/python3.12/json/decoder.py", True),
        ("lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so", True),
        ("lib/libpython3.12.so.1.0", True),
        ("lib/python3.12/test/test_os.py", False),
        ("lib/python3.12/lib2to3/tests/data/bom.py", False),
        ("lib/python3.12/idlelib/idle.py", False),
        ("lib/python3.12/tkinter/__init__.py", False),
        ("lib/python3.12/turtledemo/clock.py", False),
        ("lib/python3.12/ensurepip/__init__.py", False),
        ("lib/python3.12/site-packages/pip/__init__.py", False),
        ("lib/python3.12/__pycache__/os.cpython-312.pyc", False),
        ("lib/python3.12/__pycache__/os.cpython-312.opt-1.pyc", False),
        ("lib/python3.12/__pycache__/os.cpython-311.pyc", False),
        ("lib/python3.12/config-3.12-x86_64-linux-gnu/libpython3.12.a", False),
        ("lib/python3.12/lib-dynload/_testcapi.cpython-312-x86_64-linux-gnu.so", False),
        ("lib/python3.12/lib-dynload/_tkinter.cpython-312-x86_64-linux-gnu.so", False),
        ("lib/libpython3.12.so", False),  # the link-time symlink, not the runtime soname
        ("lib/libpython3.12.a", False),
        ("lib/pkgconfig/python3.pc", False),
        ("include/python3.12/Python.h", False),
        ("share/man/man1/python3.12.1", False),
        ("bin/idle3.12", False),
        ("bin/pip3", False),
    ],
)
def test_trimming_keeps_what_runs_and_drops_the_rest(rel: str, kept: bool) -> None:
    assert embed.keep(PurePosixPath(rel), "3.12") is kept


def elf(runpath: str, extra: str = "libc.so.6", tag: int = 29) -> bytes:
    """A minimal 64-bit little-endian ELF: one PT_LOAD over the file, one PT_DYNAMIC."""
    ehdr_size, phdr_size = 64, 56
    strtab = b"\x00" + extra.encode() + b"\x00" + runpath.encode() + b"\x00"
    dyn_off = ehdr_size + 2 * phdr_size
    dynamic = struct.pack("<qQ", 1, 1)  # DT_NEEDED -> extra
    dynamic += struct.pack("<qQ", tag, 2 + len(extra))  # DT_RUNPATH/DT_RPATH -> runpath
    strtab_off = dyn_off + 4 * 16
    vaddr = 0x400000
    dynamic += struct.pack("<qQ", 5, vaddr + strtab_off)  # DT_STRTAB (an address)
    dynamic += struct.pack("<qQ", 0, 0)
    size = strtab_off + len(strtab)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, ehdr_size, 0, 0, ehdr_size,
                          phdr_size, 2, 64, 0, 0)  # fmt: skip
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, vaddr, vaddr, size, size, 0x1000)
    dyn = struct.pack("<IIQQQQQQ", 2, 6, dyn_off, vaddr + dyn_off, vaddr + dyn_off,
                      len(dynamic), len(dynamic), 8)  # fmt: skip
    return header + load + dyn + dynamic + strtab


def strings(data: bytes) -> list[bytes]:
    return data[64 + 112 + 64 :].split(b"\x00")


def test_an_absolute_runpath_into_the_prefix_becomes_origin_relative() -> None:
    data = elf(f"{PREFIX}/lib")
    new = embed.patch_runpath(data, PREFIX, PurePosixPath("bin/python3"))
    assert new is not None and len(new) == len(data)
    assert strings(new)[:3] == [b"", b"libc.so.6", b"$ORIGIN/../lib"]
    assert new[: 64 + 112 + 64] == data[: 64 + 112 + 64]  # only the string changed


def test_the_origin_climbs_as_deep_as_the_file_sits() -> None:
    data = elf(f"{PREFIX}/lib:/usr/local/lib", tag=15)  # DT_RPATH, with a foreign entry
    rel = PurePosixPath("lib/python3.12/lib-dynload/_ssl.so")
    new = embed.patch_runpath(data, PREFIX, rel)
    assert new is not None
    assert strings(new)[2] == b"$ORIGIN/../../../lib:/usr/local/lib"


@pytest.mark.parametrize(
    ("data", "prefix"),
    [
        (elf("/usr/lib"), PREFIX),  # nothing under the prefix
        (elf("/p/lib"), "/p"),  # "$ORIGIN/../lib" does not fit in "/p/lib"
        (b"#!/bin/sh\n", PREFIX),  # not ELF
    ],
)
def test_nothing_to_patch_returns_none(data: bytes, prefix: str) -> None:
    assert embed.patch_runpath(data, prefix, PurePosixPath("bin/python3")) is None


def test_glibc_needed_reads_symbol_versions() -> None:
    data = elf("x") + b"GLIBC_2.17\x00GLIBC_2.35\x00GLIBC_2.4\x00GLIBC_PRIVATE\x00"
    assert embed.glibc_needed(data) == (2, 35)
    assert embed.glibc_needed(elf("x")) is None
    assert embed.glibc_needed(b"GLIBC_2.99\x00") is None  # not ELF


def test_glibc_warning_only_when_newer_than_the_target() -> None:
    target = Target("3.12", runtime="provided.al2023")
    newer = embed.EmbeddedPython(Path(PREFIX), "3.12.1", (), (2, 35))
    older = embed.EmbeddedPython(Path(PREFIX), "3.12.1", (), (2, 28))
    warning = newer.glibc_warning(target)
    assert warning is not None and "glibc 2.35" in warning and "2.34" in warning
    assert older.glibc_warning(target) is None


def test_refused_outside_provided_fat_layer() -> None:
    with pytest.raises(UsageError, match="strategy is vendored.*--strategy fat-layer"):
        embed.check_allowed(Target("3.12", runtime="provided.al2023"), "vendored")
    with pytest.raises(UsageError, match="python3.12 already has a Python"):
        embed.check_allowed(Target("3.12"), "fat-layer")
    embed.check_allowed(Target("3.12", runtime="provided.al2023"), "fat-layer")
