"""A function that is itself a package is built into a wheel here, running its build
backend (bundler.sources.project.build_wheel, through bundler.sources.confined_build): the
same confinement as an sdist's from the index. The backend below, in the function's own
tree (`backend-path`), probes what it can reach and writes the answers into the wheel it
builds: a file outside the build's temporary directory, a TCP listener on this machine's
loopback, the credentials in the user's home directory and in lambundle's environment."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import ProjectError
from bundler.sources import confined_build
from bundler.sources.project import load_project
from tests.functional.sources.test_sdist_confinement import BACKEND

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[tool.lambundle]
handler = "app.handler"
"""


def make_package(root: Path, backend: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "backend.py").write_text(backend)
    (root / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    return root


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lambundle-test-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.sandbox
def test_the_package_s_own_backend_is_confined_like_an_sdist_s(
    tmp_path: Path, outside_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if confined_build._confinement() is None:
        pytest.skip("bubblewrap cannot make its namespaces here")
    home, outside = outside_tmp / "home", outside_tmp / "outside.txt"
    secret = home / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text("[default]\naws_secret_access_key = not-for-a-build\n")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    backend = BACKEND.format(outside=str(outside), port=port, secret=str(secret))
    src = make_package(tmp_path / "svc", backend)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-a-build-either")
    monkeypatch.setenv("PIP_INDEX_URL", "https://user:token@index.example/simple")
    said: list[str] = []
    with listener:
        project = load_project(src, cache=Cache(tmp_path / "cache"), report=said.append)
    (wheel,) = project.local_wheels
    with zipfile.ZipFile(wheel) as zf:
        found = json.loads(zf.read("probe.json"))
    assert not outside.exists()
    assert found["outside"] != "written"
    assert found["network"] != "connected"
    assert found["home"] != str(home) and not (home / ".cache" / "backend").exists()
    assert found["credentials"] == "FileNotFoundError"
    assert "AWS_SECRET_ACCESS_KEY" not in found["environ"]
    assert "PIP_INDEX_URL" not in found["environ"]
    assert not any("unconfined" in m for m in said)
    # Its (empty) build requirements were locked like any; the build ran on a copy.
    assert any(m.startswith("Locking the build requirements of svc") for m in said)
    assert sorted(p.name for p in src.iterdir()) == ["app.py", "backend.py", "pyproject.toml"]


def test_a_build_system_without_requires_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    src = make_package(tmp_path / "svc", "raise SystemExit('the backend ran')\n")
    (src / "pyproject.toml").write_text(PYPROJECT.replace("requires = []\n", ""))
    with pytest.raises(ProjectError, match=r"\[build-system\] has no 'requires'.*requires = \["):
        load_project(src, cache=Cache(tmp_path / "cache"))


@pytest.mark.network
def test_what_the_backend_asks_for_is_locked_once_and_more_is_refused_by_name(
    tmp_path: Path,
) -> None:
    # It asks for setuptools; once that is installed, for a setuptools it cannot have.
    backend = (
        "import importlib.util\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    if importlib.util.find_spec('setuptools') is None:\n"
        "        return ['setuptools>=68']\n"
        "    return ['setuptools<1']\n"
        "def build_wheel(directory, config_settings=None, metadata_directory=None):\n"
        "    raise SystemExit('not reached')\n"
    )
    src = make_package(tmp_path / "svc", backend)
    said: list[str] = []
    with pytest.raises(ProjectError, match=r"keeps asking .*\(setuptools<1\).*\[build-system\]"):
        load_project(src, cache=Cache(tmp_path / "cache"), report=said.append)
    assert "The build backend of svc also asks for setuptools>=68" in said
    assert not list((tmp_path / "cache" / "local-wheels").glob("*"))
