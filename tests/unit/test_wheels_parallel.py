"""Installing several wheels at once: only when no two write the same path."""

from __future__ import annotations

from pathlib import Path

from bundler import wheels
from tests.unit.test_wheels_install import make_wheel


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
