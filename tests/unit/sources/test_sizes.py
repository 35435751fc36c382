"""The unpacked size of a lock, read before anything is downloaded, and the early refusal
of a set that cannot fit: with a fake index, and a real one on loopback for range reads."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bundler.bundle import limits
from bundler.core.cache import Cache
from bundler.core.errors import LimitError
from bundler.core.target import Target
from bundler.sources import index as index_module
from bundler.sources import sizes
from bundler.sources.lock import Lock, built_line
from bundler.sources.wheels import fetch
from tests.unit.sources.fakes import FakeIndex
from tests.unit.sources.test_wheels_install import make_wheel


def sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def lock_of(*wheels: Path, extra: str = "") -> Lock:
    lines = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{name}=={version} --hash={sha(wheel)}\n")
    return Lock.from_text(extra + "".join(lines))


def listed(index: FakeIndex, *wheels: Path) -> None:
    for wheel in wheels:
        index.add(wheel.name.split("-")[0], wheel)


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


def test_it_counts_what_installing_writes(tmp_path: Path, index: FakeIndex) -> None:
    wheel = make_wheel(
        tmp_path,
        {
            "demo/__init__.py": b"x" * 1000,
            "demo/__pycache__/__init__.cpython-312.pyc": b"p" * 500,  # the build's own
            "demo-1.0.data/purelib/extra.py": b"e" * 200,  # lands in site-packages
            "demo-1.0.data/scripts/demo": b"s" * 5000,  # dropped by the installer
            "demo-1.0.data/data/share/big": b"d" * 5000,  # dropped too
        },
    )
    listed(index, wheel)
    found = sizes.estimate(lock_of(wheel), Target(), cache=Cache(tmp_path / "c"), index=index)
    metadata = len("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    wheel_file = len("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    assert found.sizes == (("demo", "1.0", 1000 + 200 + metadata + wheel_file),)
    assert found.unknown == ()


def test_a_path_two_wheels_write_counts_once_and_leave_out_applies(
    tmp_path: Path, index: FakeIndex
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_wheel(tmp_path / "a", {"shared/x.py": b"1" * 100, "a/tests/t.py": b"t" * 50},
                       name="aaa")  # fmt: skip
    second = make_wheel(tmp_path / "b", {"shared/x.py": b"2" * 300}, name="bbb")
    listed(index, first, second)
    cache = Cache(tmp_path / "c")
    lock = lock_of(first, second)
    found = sizes.estimate(lock, Target(), cache=cache, index=index)
    slimmed = sizes.estimate(
        lock, Target(), cache=cache, index=index, leave_out=lambda p: "/tests/" in p
    )
    by_name = {name: size for name, _, size in found.sizes}
    assert by_name["bbb"] - by_name["aaa"] == 300 - 50 - len("aaa") + len("bbb")
    assert found.total - slimmed.total == 50


def test_the_wheel_the_installer_picks_for_the_target(tmp_path: Path, index: FakeIndex) -> None:
    arm = make_wheel(tmp_path, {"n/big.so": b"a" * 4000}, name="n",
                     tag="cp312-cp312-manylinux_2_17_aarch64")  # fmt: skip
    x86 = make_wheel(tmp_path, {"n/big.so": b"x" * 9000}, name="n",
                     tag="cp312-cp312-manylinux_2_17_x86_64")  # fmt: skip
    listed(index, arm, x86)
    lock = Lock.from_text(f"n==1.0 --hash={sha(arm)} --hash={sha(x86)}\n")
    cache = Cache(tmp_path / "c")
    arm_size = sizes.estimate(lock, Target("3.12", "arm64"), cache=cache, index=index).total
    x86_size = sizes.estimate(lock, Target("3.12", "x86_64"), cache=cache, index=index).total
    assert x86_size - arm_size == 5000 + len("x86_64") - len("aarch64")  # the WHEEL tag too


def test_what_cannot_be_read_counts_as_zero_and_is_named(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"x"})
    sdist_only = "old==0.1 --hash=sha256:" + "1" * 64 + "\n"
    built = built_line("mine", "2.0", "mine-2.0.tar.gz", "2" * 64)
    lock = lock_of(wheel, extra=built + sdist_only + "mine==2.0 --hash=sha256:" + "2" * 64 + "\n")
    index = FakeIndex()
    listed(index, wheel)
    index.add("old", filename="old-0.1.tar.gz", sha256="1" * 64)
    found = sizes.estimate(lock, Target(), cache=Cache(tmp_path / "c"), index=index)
    assert found.unknown == ("mine", "old")
    assert "mine" not in index.asked  # built from its sdist: nothing to ask
    down = sizes.estimate(lock, Target(), cache=Cache(tmp_path / "c"), index=FakeIndex(True))
    assert down.total == 0 and set(down.unknown) == {"demo", "mine", "old"}


def test_a_cached_wheel_is_read_from_the_cache(tmp_path: Path, index: FakeIndex) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"x" * 10})
    listed(index, wheel)
    cache = Cache(tmp_path / "c")
    lock = lock_of(wheel)
    first = sizes.estimate(lock, Target(), cache=cache, index=index)
    # Put it in the cache the way a download does, then ask again: no index needed.
    from bundler.sources import wheels

    wheels._store(wheel, lock.pins[0], Target(), cache)
    again = FakeIndex()
    assert sizes.estimate(lock, Target(), cache=cache, index=again) == first
    assert again.asked == [] and fetch(lock.pins, Target(), cache=cache)


def test_a_set_that_cannot_fit_is_refused_with_the_plans_error(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = make_wheel(tmp_path, {"big/data.bin": b"\0" * 40_000}, name="big")
    small = make_wheel(tmp_path, {"small/__init__.py": b"s" * 100}, name="small")
    listed(index, big, small)
    monkeypatch.setattr(limits, "MAX_UNZIPPED", 30_000)
    said: list[str] = []
    with pytest.raises(LimitError) as err:
        sizes.check_fits(lock_of(big, small), Target(), cache=Cache(tmp_path / "c"),
                         index=index, report=said.append)  # fmt: skip
    message = str(err.value)
    assert message.startswith("The bundle exceeds Lambda's limits:\n  unzipped function + layers")
    assert "exceeds Lambda's limit of 30,000" in message
    assert "largest distributions: big 1.0" in message
    assert err.value.exit_code == 3
    assert not (tmp_path / "c" / "wheels").exists()
    # Under the limit: no error, and the estimate is what it says.
    monkeypatch.setattr(limits, "MAX_UNZIPPED", 50_000)
    assert sizes.check_fits(lock_of(big, small), Target(), cache=Cache(tmp_path / "c"),
                            index=index).total > 40_000  # fmt: skip


def test_a_zipped_size_is_no_bound_but_the_estimate_is(tmp_path: Path, index: FakeIndex) -> None:
    # Many tiny files: the wheel is bigger zipped than unpacked; the estimate is not.
    files = {f"tiny/m{i:04d}.py": b"" for i in range(300)}
    wheel = make_wheel(tmp_path, files, name="tiny")
    listed(index, wheel)
    found = sizes.estimate(lock_of(wheel), Target(), cache=Cache(tmp_path / "c"), index=index)
    site = tmp_path / "site"
    from bundler.sources.wheels import install_wheel

    install_wheel(wheel, site)
    installed = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert wheel.stat().st_size > installed >= found.total


# -- range reads of a real HTTP server ----------------------------------------------------


class _Files(BaseHTTPRequestHandler):
    data = b""
    ranges = True
    requested: list[str] = []
    sent = 0

    def do_GET(self) -> None:
        spec = self.headers.get("Range", "")
        type(self).requested.append(spec)
        if not self.ranges or not spec:
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.data)))
            self.end_headers()
            self.wfile.write(self.data)
            return
        first, last = spec.removeprefix("bytes=").split("-")
        size = len(self.data)
        start, end = (size - int(last), size - 1) if not first else (int(first), int(last))
        start = max(start, 0)
        body = self.data[start : end + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        type(self).sent += len(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def files_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Files.requested = []
    _Files.ranges = True
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_central_directory_is_read_by_ranges_not_the_whole_wheel(
    tmp_path: Path, files_server: str
) -> None:
    import os

    payload = {f"pkg/f{i}.bin": os.urandom(20_000) for i in range(60)}  # 1.2 MB, incompressible
    wheel = make_wheel(tmp_path, payload, name="pkg")
    _Files.data = wheel.read_bytes()
    real = index_module.PackageIndex(files_server + "/simple")
    for size in (len(_Files.data), None):  # PEP 700's size, or learnt from the first range
        item = index_module.IndexFile(wheel.name, files_server + "/f.whl", None, size)
        with real.open(item) as handle, zipfile.ZipFile(handle) as zf:
            assert sum(i.file_size for i in zf.infolist()) > 1_200_000
    assert all(spec.startswith("bytes=") for spec in _Files.requested)
    assert _Files.sent < len(_Files.data) / 2  # twice the tail, not twice the wheel
    _Files.ranges = False
    item = index_module.IndexFile(wheel.name, files_server + "/f.whl", None, None)
    with pytest.raises(index_module.IndexUnavailable, match="answered 200 to a range request"):
        real.open(item)


def test_pips_index_is_read_once_while_a_resolve_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    index_module._read_configured_index.cache_clear()
    calls: list[list[str]] = []
    started, release = threading.Event(), threading.Event()

    def run(argv: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        started.set()
        release.wait(10)
        return subprocess.CompletedProcess(argv, 0, "https://mirror.invalid/simple\n", "")

    monkeypatch.setattr(index_module.subprocess, "run", run)
    try:
        index_module.read_configuration_early()
        assert started.wait(10)
        asked: list[str] = []
        waiter = threading.Thread(target=lambda: asked.append(index_module.index_url()))
        waiter.start()  # asks while pip is still being read: waits for that read
        release.set()
        waiter.join(10)
        assert asked == ["https://mirror.invalid/simple"]
        assert index_module.index_url() == "https://mirror.invalid/simple"
        assert len(calls) == 1
    finally:
        release.set()
        index_module._read_configured_index.cache_clear()
