"""`--docker` locks: an sdist's metadata is read in Lambda's build image, never here.

uv and pip-compile build an sdist's metadata to learn its dependencies, which runs its
`setup.py` or build backend. The sdist here has an in-tree build backend that writes a
marker saying where it ran; the index is a local directory (no network). The runner plays
the container: it runs the command it is given with the mounts mapped to host directories
and `WHERE=container` set, so the marker tells the two apart.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.build import docker
from bundler.cli import cli
from bundler.sources.resolver import find_uv

BACKEND = '''
import os, pathlib, zipfile
pathlib.Path(os.environ["LAMBUNDLE_TEST_MARKER"]).write_text(os.environ.get("WHERE", "host"))
META = "Metadata-Version: 2.1\\nName: runscode\\nVersion: 1.0\\n"
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(directory, config_settings=None):
    d = pathlib.Path(directory, "runscode-1.0.dist-info")
    d.mkdir()
    (d / "METADATA").write_text(META)
    return d.name
def build_wheel(directory, config_settings=None, metadata_directory=None):
    name = "runscode-1.0-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(directory, name), "w") as zf:
        zf.writestr("runscode.py", "X = 1\\n")
        zf.writestr("runscode-1.0.dist-info/METADATA", META)
        zf.writestr("runscode-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nTag: py3-none-any\\n")
        zf.writestr("runscode-1.0.dist-info/RECORD", "")
    return name
'''
PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def make_sdist(links: Path) -> Path:
    links.mkdir()
    path = links / "runscode-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, text in (
            ("pyproject.toml", PYPROJECT),
            ("backend.py", BACKEND),
            ("PKG-INFO", "Metadata-Version: 2.1\nName: runscode\nVersion: 1.0\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(f"runscode-1.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


class FakeContainer:
    """Plays `docker build` (recorded) and `docker run` (the command, mounts mapped)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] == "build":
            return subprocess.CompletedProcess(argv, 0, "", "")
        mounts: dict[str, str] = {}
        env = {**os.environ, "WHERE": "container"}
        workdir = None
        i = 1
        while not argv[i].startswith("lambundle-build:"):
            if argv[i] == "-v":
                host, container, _ = argv[i + 1].rsplit(":", 2)
                mounts[container] = host
            elif argv[i] == "-e":
                key, _, value = argv[i + 1].partition("=")
                env[key] = value
            elif argv[i] == "-w":
                workdir = argv[i + 1]
            i += 1 if argv[i] == "--rm" else 2
        command = argv[i + 1 :]
        if command[:3] == ["python", "-m", "uv"]:
            command[:3] = [str(find_uv())]
        elif command[0] == "python":
            command[0] = sys.executable
        cwd = mounts[workdir] if workdir else None
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_a_docker_lock_reads_the_sdists_metadata_in_the_image_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resolver: str
) -> None:
    links = tmp_path / "links"
    sdist = make_sdist(links)
    marker = tmp_path / "marker"
    for key, value in (
        ("LAMBUNDLE_CACHE_DIR", tmp_path / "cache"), ("UV_CACHE_DIR", tmp_path / "uv"),
        ("LAMBUNDLE_TEST_MARKER", marker), ("UV_FIND_LINKS", links), ("UV_NO_INDEX", "1"),
        ("PIP_FIND_LINKS", links), ("PIP_NO_INDEX", "1"),
    ):  # fmt: skip
        monkeypatch.setenv(key, str(value))
    container = FakeContainer()
    monkeypatch.setattr(docker, "SubprocessDockerRunner", lambda: container)
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("import runscode\n\ndef handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text("runscode\n")

    result = CliRunner().invoke(cli, ["lock", str(src), "--docker", "--resolver", resolver])
    assert result.exit_code == 0, (result.output, result.exception)

    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    assert "runscode==1.0" in result.stdout and f"--hash=sha256:{sha}" in result.stdout
    assert marker.read_text() == "container"  # the backend ran, and only in the "image"
    build, run = container.calls
    assert build[0] == "build" and run[run.index("-w") + 1] == "/resolve"
    assert "in Lambda's build image" in result.stderr
