"""A pure-Python sdist is built here (bundler.sources.sdist_build), running its build
backend: code from the index. The backend below probes what it can reach and writes the
answers into the wheel it builds: a file outside the build's temporary directory, a TCP
listener on this machine's loopback, and the home directory."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sources import sdist_build
from bundler.sources.lock import Pin

BACKEND = '''
import json, os, pathlib, socket, zipfile
def probe():
    found = {}
    try:
        pathlib.Path(os.environ["PROBE_OUTSIDE"]).write_text("escaped")
        found["outside"] = "written"
    except OSError as exc:
        found["outside"] = type(exc).__name__
    try:
        socket.create_connection(("127.0.0.1", int(os.environ["PROBE_PORT"])), 2).close()
        found["network"] = "connected"
    except OSError as exc:
        found["network"] = type(exc).__name__
    cache = pathlib.Path.home() / ".cache" / "backend"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "note").write_text("a backend's habit")
    found["home"] = str(pathlib.Path.home())
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


def seeded_sdist(tmp_path: Path, cache: Cache) -> str:
    path = tmp_path / "probe-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in (("pyproject.toml", PYPROJECT), ("backend.py", BACKEND)):
            data = text.encode()
            info = tarfile.TarInfo(f"probe-1.0/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    cache.put_dir("sdists", sha, lambda tmp: shutil.copy2(path, tmp / path.name))
    return sha


@pytest.mark.sandbox
def test_the_build_backend_writes_only_its_temporary_directory_and_has_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sdist_build._confinement() is None:
        pytest.skip("bubblewrap cannot make its namespaces here")
    cache = Cache(tmp_path / "cache")
    sha = seeded_sdist(tmp_path, cache)
    home, outside = tmp_path / "home", tmp_path / "outside.txt"
    home.mkdir()
    listener = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PROBE_OUTSIDE", str(outside))
    monkeypatch.setenv("PROBE_PORT", str(listener.getsockname()[1]))
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
    assert not any("unconfined" in m for m in said)
