"""The README's first two commands stay true: they install what CI installs, and the test
command is CI's own and works in a new terminal (without an activated venv)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def first_block() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    return text.split("```sh\n", 1)[1].split("```", 1)[0]


def apt_packages(text: str) -> set[str]:
    found: set[str] = set()
    for match in re.finditer(r"apt-get install ([^&>\n]*)", text):
        found |= {word for word in match.group(1).split() if not word.startswith("-")}
    return found


def pytest_command(text: str) -> str:
    [line] = [line.strip() for line in text.splitlines() if re.search(r"-m pytest\s*$", line)]
    return line


def test_the_setup_installs_what_ci_installs() -> None:
    ci = apt_packages((ROOT / ".ci/run").read_text("utf-8"))
    assert {"bubblewrap", "librsvg2-bin"} <= ci
    assert ci <= apt_packages(first_block())


def test_the_test_command_is_cis_and_needs_no_activated_venv() -> None:
    readme = pytest_command(first_block())
    assert readme == pytest_command((ROOT / ".ci/run").read_text("utf-8"))
    # pytest-timeout (pyproject's `timeout`) is installed in the venv only: a bare
    # `python -m pytest` in a new terminal fails with "Unknown config option: timeout".
    assert readme.startswith(".venv/bin/python ")
