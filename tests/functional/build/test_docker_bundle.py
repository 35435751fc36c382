"""`lambundle bundle --docker` end to end, with a runner that plays the container.

This machine has no Docker engine. `ContainerRunner` stands in for `docker`: `build` is
recorded, and `run` executes the command the container would run (the same pip wheel,
the same compiler script) with a local CPython 3.12 in place of Lambda's, its mounts
mapped to the host directories. Everything else is real: the lock (uv, sdists allowed,
from the package index), the hash check of the sdist by pip, the wheel build, the
install, the archives. The sdist is docopt 0.6.2, which publishes no wheel at all.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bundler.build import docker
from bundler.cli import cli, main
from bundler.core import interpreters
from bundler.sources.lock import Pin
from bundler.sources.resolver import find_uv

PY312 = interpreters.find("3.12")
pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(PY312 is None, reason="needs a CPython 3.12 to play the container"),
]

APP = "import docopt\n\n\ndef handler(event, context):\n    return docopt.__version__\n"


class ContainerRunner:
    """Plays `docker build` and `docker run` for bundler.build.docker's commands."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self.calls: list[list[str]] = []
        self.locks: list[dict[str, str]] = []

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] == "build":
            return subprocess.CompletedProcess(argv, 0, "", "")
        assert argv[0] == "run"
        mounts: dict[str, str] = {}
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        workdir = None
        i = 1
        while not argv[i].startswith("lambundle-build:"):
            if argv[i] == "-w":
                workdir = argv[i + 1]
                i += 2
            elif argv[i] == "-v":
                host, container, _mode = argv[i + 1].rsplit(":", 2)
                mounts[container] = host
                i += 2
            elif argv[i] == "-e":
                key, _, value = argv[i + 1].partition("=")
                env[key] = value
                i += 2
            elif argv[i] in ("--platform", "--network", "--user"):
                i += 2
            else:
                i += 1
        env["HOME"] = os.environ.get("HOME", "/tmp")  # the container's /tmp is not ours
        command = argv[i + 1 :]

        def host(arg: str) -> str:
            for container, path in mounts.items():
                arg = arg.replace(container + "/", path + "/")
                if arg == container:
                    arg = path
            return arg

        command = [host(a) for a in command]
        if command[:3] == ["python", "-m", "uv"]:  # the image has lambundle and its uv
            command[:3] = [str(find_uv())]
        elif command[0] == "python":
            command[0] = str(self.python)
        if "/lock" in mounts:
            self.locks.append(
                {p.name: p.read_text() for p in sorted(Path(mounts["/lock"]).iterdir())}
            )
        cwd = host(workdir) if workdir else None
        return subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=cwd, check=False
        )


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="module")
def image_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CPython 3.12 with the image's pip (the Dockerfile installs pip 26.3, whose
    `--build-constraint` checks build dependencies by hash)."""
    assert PY312 is not None
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run([str(PY312.path), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "pip==26.3"],
        check=True,
    )
    return venv / "bin" / "python"


@pytest.fixture
def container(monkeypatch: pytest.MonkeyPatch, image_python: Path) -> ContainerRunner:
    runner = ContainerRunner(image_python)
    monkeypatch.setattr(docker, "SubprocessDockerRunner", lambda: runner)
    return runner


def hide_local_pythons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No CPython 3.12 on PATH, pyenv or uv: only the 'container' has one."""
    empty = tmp_path / "no-pythons"
    empty.mkdir()
    monkeypatch.setenv("PYENV_ROOT", str(empty))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(empty))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert interpreters.find("3.12") is None


def function(tmp_path: Path) -> Path:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text(APP)
    (src / "requirements.txt").write_text("docopt==0.6.2\n")
    return src


def test_an_sdist_is_built_and_everything_compiled_in_the_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, container: ContainerRunner
) -> None:
    src = function(tmp_path)
    hide_local_pythons(tmp_path, monkeypatch)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["bundle", str(src), "--strategy", "vendored", "--docker", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(result.stdout)

    build, *runs = container.calls
    assert build[:5] == ["build", "--platform", "linux/amd64", "--build-arg", "PYTHON=3.12"]
    assert build[-1] == str(docker.BUILD_CONTEXT)
    assert (docker.BUILD_CONTEXT / "Dockerfile").is_file()
    wheel_runs = [r for r in runs if "wheel" in r]
    assert len(wheel_runs) == 1 and "--require-hashes" in wheel_runs[0]
    constraint = wheel_runs[0][wheel_runs[0].index("--build-constraint") + 1]
    assert constraint == "/lock/docopt-build.txt"
    # The lock pins the sdist by its hash, and its build's own dependencies (docopt has no
    # pyproject.toml: setuptools, as pip's default) by theirs; pip verified both.
    (files,) = container.locks
    assert files["docopt.txt"].startswith("docopt==0.6.2 --hash=sha256:")
    assert files["docopt-build.txt"].startswith("setuptools==")
    assert "--hash=sha256:" in files["docopt-build.txt"]
    assert "locking the build dependencies of docopt 0.6.2: setuptools>=40.8.0" in result.stderr

    with zipfile.ZipFile(out / "function.zip") as zf:
        names = set(zf.namelist())
        pyc = zf.read("vendor/__pycache__/docopt.cpython-312.pyc")
        app_pyc = zf.read("__pycache__/app.cpython-312.pyc")
    assert "vendor/docopt.py" in names
    assert any(n.startswith("vendor/docopt-0.6.2.dist-info/") for n in names)
    for data in (pyc, app_pyc):
        assert int.from_bytes(data[4:8], "little") == 1  # unchecked-hash
    assert b"/var/task/vendor/docopt.py" in pyc  # the in-Lambda source path
    manifest = doc["manifest"]
    assert manifest["bytecode"]["mode"] == "unchecked-hash"
    assert "lambundle-build:3.12-x86_64" in manifest["bytecode"]["interpreter"]
    assert manifest["distributions"] == [{"name": "docopt", "version": "0.6.2"}]
    assert any("not verified" in w for w in doc["warnings"])


def test_a_rebuild_reuses_the_container_built_wheel(
    tmp_path: Path, container: ContainerRunner
) -> None:
    src = function(tmp_path)
    args = ["bundle", str(src), "--strategy", "fat-layer", "--docker", "--no-verify"]
    for _ in range(2):
        result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, (result.output, result.exception)
    assert len(container.locks) == 1  # the second build built nothing
    with zipfile.ZipFile(tmp_path / "out" / "layer-1-fat.zip") as zf:
        assert "python/lib/python3.12/site-packages/__pycache__/docopt.cpython-312.pyc" in set(
            zf.namelist()
        )


def test_without_docker_the_error_names_docker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = function(tmp_path)
    # docopt, a pure sdist, is built without Docker (bundler.sources.sdist_build); pywin32
    # has neither a Linux wheel nor an sdist.
    (src / "requirements.txt").write_text("pywin32\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", str(src), "--strategy", "vendored", "--no-verify"])
    err = capsys.readouterr().err
    assert exit_info.value.code != 0
    assert "pywin32" in err and "--docker" in err
    assert not (src / ".lambundle").exists()


def test_a_failing_container_build_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Failing(ContainerRunner):
        def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
            if "wheel" in argv:
                return subprocess.CompletedProcess(list(argv), 1, "", "error: gcc: not found")
            return super().run(argv)

    assert PY312 is not None
    monkeypatch.setattr(docker, "SubprocessDockerRunner", lambda: Failing(PY312.path))
    src = function(tmp_path)
    with pytest.raises(SystemExit):
        main(["bundle", str(src), "--strategy", "vendored", "--docker", "--no-verify"])
    err = capsys.readouterr().err
    assert "Building wheels failed in Docker" in err and "gcc: not found" in err
    assert not (src / ".lambundle").exists()
    assert not list((tmp_path / "cache").glob("docker-wheels/*"))


def test_a_build_dependency_that_does_not_match_its_hash_stops_the_build(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    container: ContainerRunner,
) -> None:
    # As if the index served other bytes for setuptools: pip, given the locked hashes as a
    # build constraint, refuses to build with it.
    locked = docker.build_constraints

    def tampered(*args: Any, **kwargs: Any) -> tuple[Pin, ...]:
        return tuple(
            dataclasses.replace(p, hashes=("sha256:" + "0" * 64,)) for p in locked(*args, **kwargs)
        )

    monkeypatch.setattr(docker, "build_constraints", tampered)
    src = function(tmp_path)
    with pytest.raises(SystemExit):
        main(["bundle", str(src), "--strategy", "vendored", "--docker", "--no-verify"])
    err = capsys.readouterr().err
    assert "Building wheels failed in Docker" in err and "0" * 64 in err
    assert not (src / ".lambundle").exists()
    assert not list((tmp_path / "cache").glob("docker-wheels/*"))


def test_lock_with_docker_pins_the_sdist(tmp_path: Path, container: ContainerRunner) -> None:
    src = function(tmp_path)
    result = CliRunner().invoke(cli, ["lock", str(src), "--docker"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "docopt==0.6.2" in result.stdout and "--hash=sha256:" in result.stdout
    assert "# built from sdist:" not in result.stdout  # Docker builds it
    # Resolved in the image: reading docopt's metadata runs its setup.py.
    (run,) = [c for c in container.calls if c[0] == "run"]
    assert run[run.index("-w") + 1] == "/resolve" and "uv" in run
    # Without --docker a pure sdist is built here (bundler.sources.sdist_build), and the
    # lock says so; a native one would be refused.
    local = CliRunner().invoke(cli, ["lock", str(src)])
    assert local.exit_code == 0, (local.output, local.exception)
    assert "# built from sdist: docopt==0.6.2 docopt-0.6.2.tar.gz sha256:" in local.stdout
