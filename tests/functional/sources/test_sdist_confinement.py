"""A pure-Python sdist is built here (bundler.sources.sdist_build), running its build
backend: code from the index. The backend below probes what it can reach and writes the
answers into the wheel it builds: a file outside the build's temporary directory, a TCP
listener on this machine's loopback, the home directory (and the credentials kept in the
user's), and the credentials in lambundle's environment."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import socket
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sources import confined_build, sdist_build
from bundler.sources.lock import Pin

BACKEND = '''
import json, os, pathlib, socket, zipfile
OUTSIDE, PORT, SECRET = {outside!r}, {port}, {secret!r}
def probe():
    found = {{}}
    try:
        pathlib.Path(OUTSIDE).write_text("escaped")
        found["outside"] = "written"
    except OSError as exc:
        found["outside"] = type(exc).__name__
    try:
        socket.create_connection(("127.0.0.1", PORT), 2).close()
        found["network"] = "connected"
    except OSError as exc:
        found["network"] = type(exc).__name__
    cache = pathlib.Path.home() / ".cache" / "backend"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "note").write_text("a backend's habit")
    found["home"] = str(pathlib.Path.home())
    try:
        found["credentials"] = pathlib.Path(SECRET).read_text()
    except OSError as exc:
        found["credentials"] = type(exc).__name__
    found["environ"] = sorted(os.environ)
    return found
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(directory, config_settings=None, metadata_directory=None):
    name = "probe-1.0-py3-none-any.whl"
    meta = "Metadata-Version: 2.1\\nName: probe\\nVersion: 1.0\\n"
    with zipfile.ZipFile(pathlib.Path(directory, name), "w") as zf:
        zf.writestr("probe.json", json.dumps(probe()))
        zf.writestr("probe-1.0.dist-info/METADATA", meta)
        zf.writestr("probe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nTag: py3-none-any\\n")
        zf.writestr("probe-1.0.dist-info/RECORD", "")
    return name
'''
PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def seeded_sdist(tmp_path: Path, cache: Cache, backend: str) -> str:
    path = tmp_path / "probe-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in (("pyproject.toml", PYPROJECT), ("backend.py", backend)):
            data = text.encode()
            info = tarfile.TarInfo(f"probe-1.0/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    cache.put_dir("sdists", sha, lambda tmp: shutil.copy2(path, tmp / path.name))
    return sha


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lambundle-test-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.sandbox
def test_the_build_backend_writes_only_its_temporary_directory_and_has_no_network(
    tmp_path: Path, outside_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if confined_build._confinement() is None:
        pytest.skip("bubblewrap cannot make its namespaces here")
    cache = Cache(tmp_path / "cache")
    # Outside /tmp, which is private in there anyway.
    home, outside = outside_tmp / "home", outside_tmp / "outside.txt"
    secret = home / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text("[default]\naws_secret_access_key = not-for-a-build\n")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    backend = BACKEND.format(outside=str(outside), port=port, secret=str(secret))
    sha = seeded_sdist(tmp_path, cache, backend)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-a-build-either")
    monkeypatch.setenv("PIP_INDEX_URL", "https://user:token@index.example/simple")
    said: list[str] = []
    with listener:
        wheel = sdist_build.wheel_from_sdist(
            Pin("probe", "1.0", (f"sha256:{sha}",)), sha, Target("3.12"), cache=cache,
            report=said.append,
        )  # fmt: skip
    with zipfile.ZipFile(wheel) as zf:
        found = json.loads(zf.read("probe.json"))
    assert not outside.exists()
    assert found["outside"] != "written"
    assert found["network"] != "connected"
    # A backend's habit of writing under HOME lands in the build's temporary directory.
    assert found["home"] != str(home) and not (home / ".cache" / "backend").exists()
    # The user's home directory is empty in there, and our environment's secrets absent.
    assert found["credentials"] == "FileNotFoundError"
    assert "AWS_SECRET_ACCESS_KEY" not in found["environ"]
    assert "PIP_INDEX_URL" not in found["environ"]
    assert not any("unconfined" in m for m in said)
