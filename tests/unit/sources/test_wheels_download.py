"""Wheels downloaded from the index directly (bundler.sources.wheels._download): checked
against the lock's hashes before they are kept or unpacked, pip for what the index does
not serve, each wheel unpacked as soon as it is in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import bundler.sources.wheels as wheels_module
from bundler.core.cache import Cache
from bundler.core.errors import WheelError
from bundler.core.target import Target
from bundler.sources.index import IndexFile, IndexUnavailable, PackageIndex
from bundler.sources.lock import Pin
from bundler.sources.wheels import fetch, install
from tests.unit.sources.fakes import FakeIndex
from tests.unit.sources.test_sizes import listed, lock_of
from tests.unit.sources.test_wheels_install import make_wheel

TARGET = Target("3.12", "x86_64")


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """pip's downloads replaced by a record of the pins asked for (none fetched)."""
    asked: list[list[str]] = []

    def pip_download(pins: list[Pin], target: Target, cache: Cache) -> dict[str, Path]:
        asked.append(sorted(p.name for p in pins))
        return {}

    monkeypatch.setattr(wheels_module, "_pip_download", pip_download)
    return asked


def two_wheels(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "w").mkdir()
    one = make_wheel(tmp_path / "w", {"one/__init__.py": b"A = 1\n"}, name="one")
    two = make_wheel(tmp_path / "w", {"two/__init__.py": b"B = 2\n"}, name="two")
    return one, two


def test_wheels_the_index_lists_are_downloaded_from_it_and_unpacked(
    tmp_path: Path, no_pip: list[list[str]]
) -> None:
    one, two = two_wheels(tmp_path)
    index = FakeIndex()
    listed(index, one, two)
    cache = Cache(tmp_path / "cache")
    heard: list[str] = []
    found = fetch(
        lock_of(one, two).pins, TARGET, cache=cache, index=index,
        fetched=lambda name, _path: heard.append(name),
    )  # fmt: skip
    assert sorted(index.saved) == sorted([one.name, two.name])
    assert no_pip == []
    assert sorted(heard) == ["one", "two"]
    assert found["one"].read_bytes() == one.read_bytes()
    assert cache.root in found["one"].parents
    # From the cache now: the index is asked nothing.
    down = FakeIndex(unavailable=True)
    assert set(fetch(lock_of(one, two).pins, TARGET, cache=cache, index=down)) == {"one", "two"}
    assert down.asked == []
    site = tmp_path / "site"
    install(lock_of(one, two), TARGET, site, cache=cache)
    assert (site / "one" / "__init__.py").read_bytes() == b"A = 1\n"
    assert (site / "two" / "__init__.py").read_bytes() == b"B = 2\n"


def test_bytes_other_than_the_lock_pins_are_refused_and_not_kept(
    tmp_path: Path, no_pip: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = two_wheels(tmp_path)
    index = FakeIndex()
    listed(index, one, two)
    index.served[two.name] = one.read_bytes()  # listed with two's sha256, serves one's bytes
    monkeypatch.setattr(wheels_module, "PackageIndex", lambda: index)
    cache = Cache(tmp_path / "cache")
    site = tmp_path / "site"
    with pytest.raises(WheelError, match=r"not among the lock's hashes for two==1\.0"):
        install(lock_of(one, two), TARGET, site, cache=cache)
    assert not list(cache.root.glob(f"wheels/*/{two.name}"))
    assert not (site / "two").exists()


def test_what_the_index_does_not_serve_goes_through_pip(
    tmp_path: Path, no_pip: list[list[str]]
) -> None:
    one, two = two_wheels(tmp_path)
    index = FakeIndex()
    listed(index, one)  # two is not on this index (find-links, another index)
    index.add("two", filename=two.name, sha256="0" * 64)  # nor with the pinned hash
    found = fetch(lock_of(one, two).pins, TARGET, cache=Cache(tmp_path / "cache"), index=index)
    assert no_pip == [["two"]]  # the fake pip fetches nothing
    assert index.saved == [one.name] and set(found) == {"one"}
    down = FakeIndex(unavailable=True)
    fetch(lock_of(one, two).pins, TARGET, cache=Cache(tmp_path / "cache2"), index=down)
    assert no_pip[-1] == ["one", "two"]


class _Wheel(BaseHTTPRequestHandler):
    data = b""

    def do_GET(self) -> None:
        if self.path != "/w.whl":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.data)))
        self.end_headers()
        self.wfile.write(self.data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def wheel_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Wheel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_real_index_saves_a_whole_file_over_http(tmp_path: Path, wheel_server: str) -> None:
    _Wheel.data = bytes(range(256)) * 9000  # 2.3 MB: more than one chunk
    real = PackageIndex(wheel_server + "/simple")
    real.save(IndexFile("w.whl", wheel_server + "/w.whl", None), tmp_path / "w.whl")
    assert (tmp_path / "w.whl").read_bytes() == _Wheel.data
    with pytest.raises(IndexUnavailable, match="answered 404"):
        real.save(IndexFile("x.whl", wheel_server + "/x.whl", None), tmp_path / "x.whl")
    with pytest.raises(IndexUnavailable, match="not an HTTP"):
        real.save(IndexFile("x.whl", "file:///etc/passwd", None), tmp_path / "x.whl")
    # An index page that lists fewer bytes than its server sends: the download stops.
    with pytest.raises(IndexUnavailable, match="more than the 1,000 bytes listed"):
        real.save(IndexFile("w.whl", wheel_server + "/w.whl", None, 1000), tmp_path / "y.whl")
    assert (tmp_path / "y.whl").stat().st_size <= 1000
