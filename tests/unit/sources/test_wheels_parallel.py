"""Installing several wheels at once: only when no two write the same path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import WheelError
from bundler.sources import wheels
from tests.unit.sources.test_wheels_install import make_wheel


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_disjoint_wheels_install_in_parallel_to_the_same_tree(tmp_path: Path) -> None:
    built = [
        make_wheel(tmp_path, {f"p{i}/__init__.py": f"x = {i}\n".encode()}, name=f"p{i}")
        for i in range(6)
    ]
    assert not wheels._overlapping(built)
    parallel = wheels.install_wheels(built, tmp_path / "a")
    serial = [wheels.install_wheel(w, tmp_path / "b") for w in built]
    assert parallel == serial  # same distributions, same order
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_wheels_writing_the_same_file_install_in_order(tmp_path: Path) -> None:
    first = make_wheel(tmp_path, {"shared/data.txt": b"first"}, name="aaa")
    second = make_wheel(tmp_path, {"shared/data.txt": b"second"}, name="bbb")
    assert wheels._overlapping([first, second])
    wheels.install_wheels([first, second], tmp_path / "site")
    assert (tmp_path / "site/shared/data.txt").read_bytes() == b"second"  # the later wins


def test_a_file_where_another_wheel_has_a_directory_is_an_overlap(tmp_path: Path) -> None:
    as_file = make_wheel(tmp_path, {"thing": b"file"}, name="aaa")
    as_dir = make_wheel(tmp_path, {"thing/inner.py": b""}, name="bbb")
    assert wheels._overlapping([as_file, as_dir])
    assert wheels._overlapping([as_dir, as_file])


# -- through the cache: each wheel unpacked once, trees made of hard links -------------------


def test_cached_install_makes_the_same_tree_of_links(tmp_path: Path) -> None:
    built = [
        make_wheel(tmp_path, {"p/__init__.py": b"x = 1\n", "p/run.sh": b"#!/bin/sh\n"}, name="p"),
        make_wheel(tmp_path, {"q/__init__.py": b"y = 2\n"}, name="q"),
    ]
    cache = Cache(tmp_path / "cache")
    linked = wheels.install_wheels(built, tmp_path / "a", cache=cache)
    unpacked = wheels.install_wheels(built, tmp_path / "b")
    assert linked == unpacked
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert os.access(tmp_path / "a/p/run.sh", os.X_OK)
    assert (tmp_path / "a/p/__init__.py").stat().st_nlink == 2  # the entry's file and ours


def test_a_changed_set_unpacks_only_the_new_wheel(tmp_path: Path) -> None:
    a, b, c = (make_wheel(tmp_path, {f"{n}/__init__.py": n.encode()}, name=n) for n in "abc")
    cache = Cache(tmp_path / "cache")
    wheels.install_wheels([a, b], tmp_path / "first", cache=cache)
    entries = set((tmp_path / "cache/installed").iterdir())
    wheels.install_wheels([a, c], tmp_path / "second", cache=cache)
    new = set((tmp_path / "cache/installed").iterdir()) - entries
    assert [json.loads((e / "dist.json").read_text())["name"] for e in new] == ["c"]
    first, second = (tmp_path / d / "a/__init__.py" for d in ("first", "second"))
    assert first.stat().st_ino == second.stat().st_ino  # a: linked from the same entry


def test_cached_install_keeps_order_and_refuses_a_file_over_a_directory(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    first = make_wheel(tmp_path, {"shared/data.txt": b"first"}, name="aaa")
    second = make_wheel(tmp_path, {"shared/data.txt": b"second"}, name="bbb")
    wheels.install_wheels([first, second], tmp_path / "site", cache=cache)
    assert (tmp_path / "site/shared/data.txt").read_bytes() == b"second"
    assert (tmp_path / "cache/installed").exists()
    as_dir = make_wheel(tmp_path, {"thing/inner.py": b""}, name="ccc")
    as_file = make_wheel(tmp_path, {"thing": b"file"}, name="ddd")
    with pytest.raises(WheelError, match="ddd-1.0-py3-none-any.whl installs the file thing"):
        wheels.install_wheels([as_dir, as_file], tmp_path / "clash", cache=cache)
    with pytest.raises(WheelError, match="ccc-1.0-py3-none-any.whl installs the directory"):
        wheels.install_wheels([as_file, as_dir], tmp_path / "clash2", cache=cache)


def test_a_damaged_entry_is_unpacked_again(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"p/__init__.py": b""}, name="p")
    cache = Cache(tmp_path / "cache")
    wheels.install_wheels([wheel], tmp_path / "a", cache=cache)
    (entry,) = (tmp_path / "cache/installed").iterdir()
    (entry / "dist.json").write_text("{not json")
    (dist,) = wheels.install_wheels([wheel], tmp_path / "b", cache=cache)
    assert dist.name == "p" and (tmp_path / "b/p/__init__.py").is_file()
