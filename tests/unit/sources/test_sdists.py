"""Sdists for --docker: fetched by hash from the index pip uses, build requirements read."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.sources import sdists
from bundler.sources.lock import Pin


def tar_sdist(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_build_requirements_come_from_the_sdists_pyproject(tmp_path: Path) -> None:
    pyproject = b'[build-system]\nrequires = ["hatchling>=1.20", "Cython"]\n'
    sdist = tar_sdist(
        tmp_path / "pkg-1.0.tar.gz",
        {"pkg-1.0/pyproject.toml": pyproject, "pkg-1.0/sub/pyproject.toml": b"[x"},
    )
    assert sdists.build_requirements(sdist) == ["hatchling>=1.20", "Cython"]
    zipped = tmp_path / "pkg-1.0.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("pkg-1.0/pyproject.toml", pyproject)
    assert sdists.build_requirements(zipped) == ["hatchling>=1.20", "Cython"]


def test_without_a_build_system_it_is_pips_setuptools_default(tmp_path: Path) -> None:
    legacy = tar_sdist(tmp_path / "old-1.0.tar.gz", {"old-1.0/setup.py": b""})
    tools_only = tar_sdist(
        tmp_path / "t-1.0.tar.gz", {"t-1.0/pyproject.toml": b"[tool.black]\nline-length = 99\n"}
    )
    for sdist in (legacy, tools_only):
        assert sdists.build_requirements(sdist) == ["setuptools>=40.8.0"]


def test_an_invalid_build_requirement_is_named(tmp_path: Path) -> None:
    sdist = tar_sdist(
        tmp_path / "p-1.0.tar.gz", {"p-1.0/pyproject.toml": b'[build-system]\nrequires = ["a b"]\n'}
    )
    with pytest.raises(sdists.SdistError, match="build requirement 'a b' is not valid"):
        sdists.build_requirements(sdist)


class _Index(BaseHTTPRequestHandler):
    """A PEP 691 JSON page listing one sdist whose listed hash is `listed`."""

    content = b""
    listed = ""
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        if self.path.endswith("/pkg/"):
            entry = {
                "filename": "pkg-1.0.tar.gz",
                "url": "../../files/pkg-1.0.tar.gz",
                "hashes": {"sha256": self.listed},
            }
            body = json.dumps({"files": [entry]}).encode()
            kind = "application/vnd.pypi.simple.v1+json"
        else:
            body, kind = self.content, "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Index]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{server.server_port}/simple")
    _Index.hits = 0
    yield _Index
    server.shutdown()


def test_an_sdist_is_fetched_by_its_hash_once(tmp_path: Path, index: type[_Index]) -> None:
    data = b"the sdist's bytes"
    index.content, index.listed = data, hashlib.sha256(data).hexdigest()
    pin = Pin("pkg", "1.0", (f"sha256:{index.listed}",))
    cache = Cache(tmp_path / "cache")
    path = sdists.fetch_sdist(pin, cache)
    assert path.read_bytes() == data and index.hits == 2  # the page, then the file
    assert sdists.fetch_sdist(pin, cache) == path and index.hits == 2  # from the cache


def test_bytes_that_do_not_match_the_lock_are_refused(tmp_path: Path, index: type[_Index]) -> None:
    lock_sha = hashlib.sha256(b"what was locked").hexdigest()
    index.content, index.listed = b"something else", lock_sha  # the page claims the lock's
    pin = Pin("pkg", "1.0", (f"sha256:{lock_sha}",))
    with pytest.raises(sdists.SdistError, match="served other bytes"):
        sdists.fetch_sdist(pin, Cache(tmp_path / "cache"))
    assert not (tmp_path / "cache" / "sdists" / lock_sha).exists()


def test_an_sdist_the_index_does_not_list_is_an_error(tmp_path: Path, index: type[_Index]) -> None:
    index.listed = "0" * 64
    pin = Pin("pkg", "1.0", ("sha256:" + "1" * 64,))
    with pytest.raises(sdists.SdistError, match="lists no sdist of pkg==1.0"):
        sdists.fetch_sdist(pin, Cache(tmp_path / "cache"))
