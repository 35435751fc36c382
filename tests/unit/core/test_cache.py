import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from bundler.core.cache import ENV_VAR, Cache, default_root


def test_key_is_sha256_and_separates_parts() -> None:
    key = Cache.key("ab", "c")
    assert len(key) == 64
    assert int(key, 16) >= 0
    assert key != Cache.key("a", "bc")
    assert key == Cache.key("ab", b"c")
    assert Cache.key() != Cache.key("")


def test_dir_is_none_until_put(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.dir("locks", "k1") is None

    def build(tmp: Path) -> None:
        (tmp / "requirements.txt").write_text("x==1\n")

    entry = cache.put_dir("locks", "k1", build)
    assert entry == tmp_path / "locks" / "k1"
    assert cache.dir("locks", "k1") == entry
    assert (entry / "requirements.txt").read_text() == "x==1\n"


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    def build(tmp: Path) -> None:
        (tmp / "half").write_text("written")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.put_dir("wheels", "abc", build)
    assert cache.dir("wheels", "abc") is None
    assert list((tmp_path / "wheels").iterdir()) == []


def test_existing_entry_wins_over_a_concurrent_build(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    first = cache.put_dir("wheels", "abc", lambda tmp: (tmp / "a").write_text("first"))

    def racing(tmp: Path) -> None:
        (tmp / "a").write_text("second")

    second = cache.put_dir("wheels", "abc", racing)
    assert second == first
    assert (first / "a").read_text() == "first"
    assert sorted(p.name for p in (tmp_path / "wheels").iterdir()) == ["abc"]


def test_remove(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put_dir("picks", "k", lambda tmp: (tmp / "pick.json").write_text("{}"))
    cache.remove("picks", "k")
    assert cache.dir("picks", "k") is None
    cache.remove("picks", "k")  # missing is fine


def test_names_cannot_escape_the_root(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    with pytest.raises(ValueError, match="Invalid cache name"):
        cache.dir("..", "x")
    with pytest.raises(ValueError, match="Invalid cache name"):
        cache.dir("wheels", "../../etc")


def test_root_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "c"))
    assert default_root() == tmp_path / "c"
    assert Cache().root == tmp_path / "c"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "lambundle"


# -- one builder of an entry at a time, across processes ---------------------------------


def _build_slowly(root: str, started: Any, release: Any) -> None:
    """A process that builds ('k', 'e') and holds it until the test releases it."""

    def build(tmp: Path) -> None:
        (tmp / "who").write_text("first")
        started.set()
        assert release.wait(120), "the test never released the first build"

    Cache(Path(root)).put_dir("k", "e", build)


def _build_too(root: str, said: Any) -> None:
    """A second process that wants ('k', 'e'): it must wait and take the first one's."""

    def build(tmp: Path) -> None:
        (tmp / "who").write_text("second")

    entry = Cache(Path(root), report=said.put).put_dir("k", "e", build)
    said.put(f"got {(entry / 'who').read_text()}")


def test_a_second_process_waits_for_an_entry_being_built_and_takes_it(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    started, release, said = ctx.Event(), ctx.Event(), ctx.Queue()
    first = ctx.Process(target=_build_slowly, args=(str(tmp_path), started, release))
    first.start()
    try:
        assert started.wait(120)
        second = ctx.Process(target=_build_too, args=(str(tmp_path), said))
        second.start()
        waiting = said.get(timeout=120)  # said before it blocks on the first's lock
        assert waiting == "waiting for another lambundle to finish the cache entry k/e"
    finally:
        release.set()
        first.join(120)
    assert said.get(timeout=120) == "got first"  # its own build never ran
    second.join(120)
    assert (first.exitcode, second.exitcode) == (0, 0)
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["e"]


def test_put_dir_of_an_existing_entry_does_not_build_it_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    calls = []

    def build(tmp: Path) -> None:
        calls.append(tmp)
        (tmp / "a").write_text("x")

    first = cache.put_dir("wheels", "abc", build)
    assert cache.put_dir("wheels", "abc", build) == first
    assert len(calls) == 1
    assert sorted(p.name for p in (tmp_path / "wheels").iterdir()) == ["abc"]


def test_a_killed_builders_partial_entry_goes_with_the_next_build(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = Cache.key("k")
    final = cache.path("wheels", key)
    final.parent.mkdir(parents=True)
    (final.parent / f".{key}.tmp-k1ll3d" / "half").mkdir(parents=True)  # SIGKILLed
    other = final.parent / f".{Cache.key('other')}.tmp-busy"
    other.mkdir()  # another entry's: its builder may be alive
    cache.put_dir("wheels", key, lambda tmp: (tmp / "f").write_text("x"))
    assert sorted(p.name for p in final.parent.iterdir()) == sorted([key, other.name])
