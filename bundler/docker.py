"""The `--docker` path: build sdists and compile bytecode inside a Lambda-matching image.

The image is built from the repository's Dockerfile (AWS's Lambda Python base image plus
lambundle), so the interpreter, glibc and architecture are exactly Lambda's. Everything
goes through one `DockerRunner`, so the commands are tested with a fake runner on machines
without a Docker engine.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bundler.errors import BundlerError, UsageError
from bundler.target import Target


class DockerError(BundlerError):
    """A docker command failed or Docker is not usable here."""


@dataclasses.dataclass(frozen=True)
class Mount:
    host: Path
    container: str
    read_only: bool = True


class DockerRunner(Protocol):
    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]: ...


class SubprocessDockerRunner:
    """Runs the real `docker` client."""

    def __init__(self, docker: str | None = None) -> None:
        found = docker or shutil.which("docker")
        if not found:
            msg = (
                "--docker needs the docker client on PATH and a running Docker engine; "
                "install Docker, or build without --docker."
            )
            raise UsageError(msg)
        self.docker = found

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.docker, *argv], capture_output=True, text=True, check=False)


def image_tag(target: Target) -> str:
    return f"lambundle-build:{target.python}-{target.arch}"


def platform(target: Target) -> str:
    return "linux/arm64" if target.arch == "arm64" else "linux/amd64"


def build_image_argv(target: Target, context: Path) -> list[str]:
    return [
        "build",
        "--platform",
        platform(target),
        "--build-arg",
        f"PYTHON={target.python}",
        "-t",
        image_tag(target),
        str(context),
    ]


def run_argv(target: Target, mounts: Sequence[Mount], command: Sequence[str]) -> list[str]:
    argv = ["run", "--rm", "--platform", platform(target), "--network", "host"]
    for m in mounts:
        argv += ["-v", f"{m.host}:{m.container}:{'ro' if m.read_only else 'rw'}"]
    return [*argv, image_tag(target), *command]


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        msg = f"{what} failed in Docker (exit {result.returncode}):\n{tail}"
        raise DockerError(msg)


def ensure_image(runner: DockerRunner, target: Target, context: Path) -> None:
    """Build the Lambda-matching image for `target` from the Dockerfile in `context`."""
    if not (context / "Dockerfile").is_file():
        msg = f"No Dockerfile in {context}; --docker needs lambundle's Dockerfile."
        raise UsageError(msg)
    _check(runner.run(build_image_argv(target, context)), f"Building {image_tag(target)}")


def build_wheels(
    runner: DockerRunner, target: Target, requirements: Path, out_dir: Path
) -> list[Path]:
    """Build wheels for the hash-pinned `requirements` (sdists included) with Lambda's Python.

    `--require-hashes` holds inside the image too: an sdist is verified against the lock
    before it is built.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    mounts = [
        Mount(requirements.parent, "/lock"),
        Mount(out_dir, "/out", read_only=False),
    ]
    command = [
        "python", "-m", "pip", "wheel", "--no-deps", "--require-hashes",
        "-r", f"/lock/{requirements.name}", "-w", "/out",
    ]  # fmt: skip
    _check(runner.run(run_argv(target, mounts, command)), "Building wheels")
    return sorted(out_dir.glob("*.whl"))


def compile_tree(runner: DockerRunner, target: Target, tree: Path, lambda_path: str) -> None:
    """Compile `tree` in place with Lambda's interpreter, as `lambda_path` inside Lambda."""
    mounts = [Mount(tree, "/tree", read_only=False)]
    command = [
        "python", "-m", "compileall", "-q", "-f", "-j", "0",
        "--invalidation-mode", "unchecked-hash", "-s", "/tree", "-p", lambda_path, "/tree",
    ]  # fmt: skip
    _check(runner.run(run_argv(target, mounts, command)), "Compiling bytecode")
