"""Pipfile entries as requirements, Pipenv's Pipfile hash, and Pipfile.lock pins (logic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundler.core.errors import LockError, ProjectError
from bundler.core.target import Target
from bundler.sources import pipenv
from bundler.sources.lock import target_environment

FIXTURE = Path(__file__).parents[2] / "integration" / "sources" / "pipenv_projects" / "basic"


def pipfile(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Pipfile").write_text(text)
    return tmp_path


def test_packages_become_requirements_dev_packages_do_not(tmp_path: Path) -> None:
    root = pipfile(tmp_path, """
[packages]
requests = "*"
pydantic = {version = ">=2,<3", extras = ["email"]}
tomli = {version = "==2.0.1", markers = "python_version < '3.11'"}
uvloop = {version = "*", sys_platform = "== 'linux'"}

[dev-packages]
pytest = "*"
""")
    assert pipenv.requirements(root) == [
        "requests",
        "pydantic[email]<3,>=2",
        'tomli==2.0.1; python_version < "3.11"',
        'uvloop; sys_platform == "linux"',
    ]


@pytest.mark.parametrize(
    "entry", ['{path = "./lib"}', '{git = "https://x/y.git", ref = "v1"}', '{file = "a.whl"}']
)
def test_local_and_vcs_entries_are_refused_by_name(tmp_path: Path, entry: str) -> None:
    root = pipfile(tmp_path, f"[packages]\nmylib = {entry}\n")
    with pytest.raises(ProjectError, match="'mylib' comes from a"):
        pipenv.requirements(root)


def test_the_pipfile_hash_is_the_one_pipenv_recorded() -> None:
    recorded = json.loads((FIXTURE / "Pipfile.lock").read_text())["_meta"]["hash"]["sha256"]
    assert pipenv.pipfile_hash(pipenv.read_pipfile(FIXTURE / "Pipfile")) == recorded


def test_pins_follow_the_targets_markers_and_need_hashes(tmp_path: Path) -> None:
    env310 = {**target_environment(Target("3.10", "x86_64")), "extra": ""}
    env312 = {**target_environment(Target("3.12", "x86_64")), "extra": ""}
    entry = {"hashes": ["sha256:ab"], "markers": "python_version < '3.11'", "version": "==2.0.1"}
    assert pipenv._pin("tomli", entry, env310, tmp_path) == (
        "tomli==2.0.1 \\\n    --hash=sha256:ab\n"
    )
    assert pipenv._pin("tomli", entry, env312, tmp_path) is None
    with pytest.raises(LockError, match="no exact version with hashes"):
        pipenv._pin("tomli", {"version": "==2.0.1", "hashes": []}, env310, tmp_path)
    with pytest.raises(LockError, match="from a editable entry|from a path entry"):
        pipenv._pin("mine", {"editable": True, "path": "."}, env310, tmp_path)


def test_the_pipfiles_python_must_be_the_targets(tmp_path: Path) -> None:
    from bundler.sources.locking import check_requires_python
    from bundler.sources.project import load_project

    root = pipfile(tmp_path, '[packages]\nrequests = "*"\n\n[requires]\npython_version = "3.11"\n')
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    project = load_project(root)
    assert project.requires_python == "==3.11.*"
    check_requires_python(project, Target("3.11"))
    with pytest.raises(ProjectError, match=r"==3.11.\*, but the target is python3.12"):
        check_requires_python(project, Target("3.12"))
