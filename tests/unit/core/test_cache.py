from pathlib import Path

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
