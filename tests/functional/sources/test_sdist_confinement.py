"""A pure-Python sdist is built here (bundler.sources.sdist_build), running its build
backend: code from the index. The probing backend (tests.functional.sources.probes)
reaches nothing outside the build's temporary directory."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sandbox.bubblewrap import bwrap_problem
from bundler.sources import sdist_build
from bundler.sources.lock import Pin
from tests.functional.sources.probes import assert_reached_nothing, probing

ROOT = Path(__file__).resolve().parents[3]
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


@pytest.mark.sandbox
def test_the_build_backend_writes_only_its_temporary_directory_and_has_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path / "cache")
    said: list[str] = []
    with probing(monkeypatch) as probe:
        sha = seeded_sdist(tmp_path, cache, probe.backend)
        wheel = sdist_build.wheel_from_sdist(
            Pin("probe", "1.0", (f"sha256:{sha}",)), sha, Target("3.12"), cache=cache,
            report=said.append,
        )  # fmt: skip
        assert_reached_nothing(wheel, probe, said)


@pytest.mark.sandbox
def test_the_confinement_works_for_a_lambundle_installed_under_tmp(tmp_path: Path) -> None:
    # A CI checkout's venv under /tmp: /tmp is a fresh tmpfs in there, so the Python the
    # build runs on must be reached through its real installation, not the venv's path.
    problem = bwrap_problem()
    if problem is not None:
        pytest.skip(problem)
    venv = Path(tempfile.mkdtemp(prefix="lambundle-venv-", dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        paths = [str(ROOT), sysconfig.get_paths()["purelib"]]
        script = (
            f"import sys; sys.path[:0] = {paths!r}\n"
            "from bundler.sources import confined_build\n"
            "print(confined_build._confinement() is not None)\n"
        )
        out = subprocess.run(
            [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True,
            check=True,
        ).stdout  # fmt: skip
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    assert out.strip() == "True"
