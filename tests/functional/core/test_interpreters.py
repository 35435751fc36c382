"""Finding a target interpreter the way a user's machine has them, cheaply.

Each fake interpreter is a shell script that notes every time it is asked, then runs the
real interpreter running these tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from bundler.core import interpreters

MINOR = "{}.{}".format(*sys.version_info[:2])


def wrapper(path: Path, log: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "$0" >> {log}\nexec {sys.executable} "$@"\n')
    path.chmod(0o755)
    return path


def asked(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing found unless a test puts it there: empty PATH, pyenv and uv directories."""
    for name in ("bin", "pyenv", "uv"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uv"))
    return tmp_path


def test_the_versioned_name_on_path_is_found(machine: Path) -> None:
    exe = wrapper(machine / "bin" / f"python{MINOR}", machine / "log")
    found = interpreters.find(MINOR)
    assert found is not None and found.path == exe and found.minor == MINOR
    assert found.prefix == Path(sys.base_prefix)


def test_pyenv_shims_are_passed_over_for_pyenvs_versions(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = machine / "log"
    shim = wrapper(machine / "pyenv" / "shims" / f"python{MINOR}", log)
    version = f"{MINOR}.99"
    real = wrapper(machine / "pyenv" / "versions" / version / "bin" / f"python{MINOR}", log)
    monkeypatch.setenv("PATH", f"{shim.parent}:{machine / 'bin'}")
    found = interpreters.find(MINOR)
    assert found is not None and found.path == real
    assert str(shim) not in asked(log)


def test_an_answer_is_remembered_until_the_interpreter_changes(machine: Path) -> None:
    log = machine / "log"
    exe = wrapper(machine / "bin" / f"python{MINOR}", log)
    assert interpreters.find(MINOR) == interpreters.find(MINOR)
    assert asked(log) == [str(exe)]
    exe.write_text(exe.read_text() + "# reinstalled\n")  # another size: asked again
    assert interpreters.find(MINOR) is not None
    assert asked(log) == [str(exe), str(exe)]


def test_no_interpreter_is_none_and_a_wrong_explicit_one_is_refused(machine: Path) -> None:
    assert interpreters.find(MINOR) is None
    other = "3.99"
    with pytest.raises(interpreters.UsageError, match=f"the target is {other}"):
        interpreters.find(other, explicit=Path(sys.executable))


def test_pyenvs_version_wins_where_its_shims_come_first_on_path(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shell would start pyenv's Python, not the system's further along PATH (on
    Debian, /usr/bin/python3.11 has no site-packages for the SDK to be mounted over)."""
    log = machine / "log"
    shim = wrapper(machine / "pyenv" / "shims" / f"python{MINOR}", log)
    system = wrapper(machine / "bin" / f"python{MINOR}", log)
    real = wrapper(machine / "pyenv" / "versions" / f"{MINOR}.99" / "bin" / f"python{MINOR}", log)
    monkeypatch.setenv("PATH", f"{shim.parent}:{machine / 'bin'}")
    found = interpreters.find(MINOR)
    assert found is not None and found.path == real
    monkeypatch.setenv("PATH", f"{machine / 'bin'}:{shim.parent}")
    found = interpreters.find(MINOR)
    assert found is not None and found.path == system
    assert str(shim) not in asked(log)


def test_an_unreadable_pyenv_or_uv_directory_is_passed_over(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another user's PYENV_ROOT left in the environment (sudo -u, runuser): its versions
    # directory cannot be listed. As root every directory can, so the refusal is played.
    exe = wrapper(machine / "bin" / f"python{MINOR}", machine / "log")
    glob = Path.glob

    def unreadable(self: Path, pattern: str) -> Any:
        if self.is_relative_to(machine / "pyenv") or self.is_relative_to(machine / "uv"):
            raise PermissionError(13, "Permission denied", str(self))
        return glob(self, pattern)

    monkeypatch.setattr(Path, "glob", unreadable)
    found = interpreters.find(MINOR)
    assert found is not None and found.path == exe
