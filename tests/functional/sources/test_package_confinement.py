"""A function that is itself a package is built into a wheel here, running its build
backend (bundler.sources.project.build_wheel, through bundler.sources.confined_build): the
same confinement as an sdist's from the index. The probing backend
(tests.functional.sources.probes), in the function's own tree (`backend-path`), reaches
nothing outside the build's temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import ProjectError
from bundler.sources import confined_build
from bundler.sources.project import load_project
from tests.functional.sources.probes import assert_reached_nothing, probing

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[tool.lambundle]
handler = "app.handler"
"""


def make_package(root: Path, backend: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "backend.py").write_text(backend)
    (root / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    return root


@pytest.mark.sandbox
def test_the_package_s_own_backend_is_confined_like_an_sdist_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    with probing(monkeypatch) as probe:
        src = make_package(tmp_path / "svc", probe.backend)
        project = load_project(src, cache=Cache(tmp_path / "cache"), report=said.append)
        (wheel,) = project.local_wheels
        assert_reached_nothing(wheel, probe, said)
    # Its (empty) build requirements were locked like any; the build ran on a copy.
    assert any(m.startswith("Locking the build requirements of svc") for m in said)
    assert sorted(p.name for p in src.iterdir()) == ["app.py", "backend.py", "pyproject.toml"]


def test_a_build_system_without_requires_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    src = make_package(tmp_path / "svc", "raise SystemExit('the backend ran')\n")
    (src / "pyproject.toml").write_text(PYPROJECT.replace("requires = []\n", ""))
    with pytest.raises(ProjectError, match=r"\[build-system\] has no 'requires'.*requires = \["):
        load_project(src, cache=Cache(tmp_path / "cache"))


@pytest.mark.network
def test_what_the_backend_asks_for_is_locked_once_and_more_is_refused_by_name(
    tmp_path: Path,
) -> None:
    # It asks for setuptools; once that is installed, for a setuptools it cannot have.
    backend = (
        "import importlib.util\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    if importlib.util.find_spec('setuptools') is None:\n"
        "        return ['setuptools>=68']\n"
        "    return ['setuptools<1']\n"
        "def build_wheel(directory, config_settings=None, metadata_directory=None):\n"
        "    raise SystemExit('not reached')\n"
    )
    src = make_package(tmp_path / "svc", backend)
    said: list[str] = []
    with pytest.raises(ProjectError, match=r"keeps asking .*\(setuptools<1\).*\[build-system\]"):
        load_project(src, cache=Cache(tmp_path / "cache"), report=said.append)
    assert "The build backend of svc also asks for setuptools>=68" in said
    assert not list((tmp_path / "cache" / "local-wheels").glob("*"))


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_the_chosen_resolver_locks_the_packages_build_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resolver: str
) -> None:
    asked: list[str] = []

    def find_resolver(name: str) -> object:
        asked.append(name)
        raise RuntimeError("enough: the resolver was chosen")

    monkeypatch.setattr(confined_build.resolvers, "find_resolver", find_resolver)
    src = make_package(tmp_path / "svc", "raise SystemExit('not reached')\n")
    with pytest.raises(RuntimeError, match="enough"):
        load_project(src, cache=Cache(tmp_path / "cache"), resolver=resolver)
    assert asked == [resolver]
