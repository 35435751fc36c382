"""The baseline's pip command: the target's platform, binary wheels, hashes, no bytecode."""

from pathlib import Path

import pytest

from bundler.core.errors import UsageError
from bundler.core.target import Target
from bundler.measure.baseline import build_baseline, pip_command


def test_pip_installs_the_lock_for_the_target_without_bytecode():
    cmd = pip_command(Path("lock.txt"), Path("site"), Target("3.13", "arm64"))
    assert cmd[1:4] == ["-m", "pip", "install"]
    for flag in ("--no-compile", "--require-hashes", "--only-binary=:all:", "--no-deps"):
        assert flag in cmd
    assert cmd[cmd.index("--target") + 1] == "site"
    assert cmd[cmd.index("--python-version") + 1] == "3.13"
    assert cmd[cmd.index("--abi") + 1] == "cp313"
    platforms = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--platform"]
    assert platforms[0] == "manylinux_2_34_aarch64"
    assert "manylinux2014_aarch64" in platforms
    assert not [p for p in platforms if "x86_64" in p]
    assert cmd[-2:] == ["-r", "lock.txt"]


def test_the_baseline_needs_a_managed_runtime(tmp_path):
    with pytest.raises(UsageError, match="managed runtime"):
        build_baseline(tmp_path, tmp_path / "out", target=Target(runtime="provided.al2023"))
