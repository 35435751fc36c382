"""Trees reused from the cache are checked first: a seal over each file's path, size and
mtime, and, when it differs, every file against the wheel's RECORD."""

from __future__ import annotations

import os
from pathlib import Path

from bundler.core.cache import Cache
from bundler.sources import seals
from bundler.sources.wheels import install_wheels
from tests.unit.sources.test_wheels_install import make_wheel


def test_a_seal_changes_with_any_file_added_removed_resized_or_touched(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text("a")
    (tree / "top.py").write_text("t")
    before = seals.seal_of(tree)
    assert seals.seal_of(tree) == before
    a = tree / "pkg" / "a.py"
    times = (a.stat().st_atime_ns, a.stat().st_mtime_ns)
    for change, undo in [
        (lambda: os.utime(a, ns=(1, 1)), lambda: os.utime(a, ns=times)),
        (lambda: a.write_text("longer"), lambda: a.write_text("a")),
        (lambda: (tree / "pkg" / "b.py").write_text(""), lambda: (tree / "pkg" / "b.py").unlink()),
        (lambda: (tree / "top.py").unlink(), lambda: (tree / "top.py").write_text("t")),
    ]:
        change()
        assert seals.seal_of(tree) != before
        undo()
        os.utime(tree / "top.py", ns=times)
        os.utime(a, ns=times)
        before = seals.seal_of(tree)


def test_reusable_drops_an_entry_that_changed(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")

    def build(tmp: Path) -> None:
        (tmp / "site").mkdir()
        (tmp / "site" / "m.py").write_text("x = 1\n")
        seals.write_seal(tmp / "site", tmp)

    entry = cache.put_dir("site", "k", build)
    said: list[str] = []
    assert seals.reusable(cache, "site", "k", "site", said.append) == entry
    (entry / "site" / "m.py").write_text("x = 2  # edited\n")
    assert seals.reusable(cache, "site", "k", "site", said.append) is None
    assert cache.dir("site", "k") is None
    assert "changed since it was made" in said[0]
    # An entry from before seals existed has none: it is made again.
    cache.put_dir("site", "old", lambda tmp: (tmp / "site").mkdir())
    assert seals.reusable(cache, "site", "old", "site", said.append) is None


def installed_entry(cache: Cache) -> Path:
    (entry,) = (cache.root / "installed").iterdir()
    return entry / "site"


def test_a_file_edited_in_the_unpacked_cache_does_not_ship(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"VALUE = 1\n"})
    install_wheels([wheel], tmp_path / "one", cache)
    cached = installed_entry(cache) / "demo" / "__init__.py"
    cached.write_text("VALUE = 'edited'\n")  # in place: the same inode
    said: list[str] = []
    install_wheels([wheel], tmp_path / "two", cache, report=said.append)
    assert (tmp_path / "two" / "demo" / "__init__.py").read_text() == "VALUE = 1\n"
    assert any("demo/__init__.py" in m and "unpacking the wheel again" in m for m in said)


def test_an_added_file_is_found_too(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"VALUE = 1\n"})
    install_wheels([wheel], tmp_path / "one", cache)
    (installed_entry(cache) / "demo" / "evil.pth").write_text("import os\n")
    said: list[str] = []
    install_wheels([wheel], tmp_path / "two", cache, report=said.append)
    assert not (tmp_path / "two" / "demo" / "evil.pth").exists()
    assert any("demo/evil.pth added" in m for m in said)


def test_same_bytes_with_new_times_are_kept_and_sealed_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    wheel = make_wheel(
        tmp_path, {"demo/__init__.py": b"", "demo-1.0.data/purelib/extra.py": b"X = 1\n"}
    )
    install_wheels([wheel], tmp_path / "one", cache)
    site = installed_entry(cache)
    for path in site.rglob("*"):
        os.utime(path, ns=(10**9, 10**9))  # a copy that lost its times, say
    inode = (site / "extra.py").stat().st_ino
    said: list[str] = []
    install_wheels([wheel], tmp_path / "two", cache, report=said.append)
    assert said == []
    assert installed_entry(cache) == site and (site / "extra.py").stat().st_ino == inode
    assert seals.is_sealed(site, site.parent)
