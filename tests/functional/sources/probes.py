"""A build backend that probes what it can reach and writes the answers into the wheel it
builds, and the assertions that it reached nothing: a file outside the build's temporary
directory, a TCP listener on this machine's loopback, the home directory (and credentials
planted in it), and credentials in lambundle's environment. Used for sdists from the index
and for the function's own package, which share one confinement
(bundler.sources.confined_build)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.sandbox.bubblewrap import bwrap_problem
from bundler.sources import confined_build

BACKEND = """
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
"""


@dataclasses.dataclass(frozen=True)
class Probe:
    backend: str  # the backend's source, aimed at the paths and port below
    home: Path
    outside: Path


@contextlib.contextmanager
def probing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Probe]:
    """A home directory with credentials in it and secrets in the environment, outside
    /tmp (private in there anyway), and a listener on loopback, while the block builds."""
    problem = bwrap_problem()
    if problem is not None:
        pytest.skip(problem)
    # Where bubblewrap works, the build must be confined (not fall back to unconfined).
    assert confined_build._confinement() is not None
    root = Path(tempfile.mkdtemp(prefix="lambundle-test-", dir="/var/tmp"))
    try:
        home, outside = root / "home", root / "outside.txt"
        secret = home / ".aws" / "credentials"
        secret.parent.mkdir(parents=True)
        secret.write_text("[default]\naws_secret_access_key = not-for-a-build\n")
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-a-build-either")
        monkeypatch.setenv("PIP_INDEX_URL", "https://user:token@index.example/simple")
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            backend = BACKEND.format(outside=str(outside), port=port, secret=str(secret))
            yield Probe(backend, home, outside)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def assert_reached_nothing(wheel: Path, probe: Probe, said: list[str]) -> None:
    with zipfile.ZipFile(wheel) as zf:
        found = json.loads(zf.read("probe.json"))
    assert not probe.outside.exists()
    assert found["outside"] != "written"
    assert found["network"] != "connected"
    # A backend's habit of writing under HOME lands in the build's temporary directory.
    assert found["home"] != str(probe.home)
    assert not (probe.home / ".cache" / "backend").exists()
    # The user's home directory is empty in there, and our environment's secrets absent.
    assert found["credentials"] == "FileNotFoundError"
    assert "AWS_SECRET_ACCESS_KEY" not in found["environ"]
    assert "PIP_INDEX_URL" not in found["environ"]
    assert not any("unconfined" in m for m in said)
