"""A function that is itself a package: built with `build`, locked, installed with its deps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import ProjectError
from bundler.core.target import Target
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project
from bundler.sources.wheels import install

pytestmark = pytest.mark.network  # `build` fetches setuptools into its isolated env

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "order-service"
version = "0.3.0"
dynamic = ["dependencies"]

[tool.setuptools.dynamic]
dependencies = {file = ["requirements.in"]}

[tool.setuptools]
packages = ["orders"]

[tool.lambundle]
handler = "orders.api.handler"
"""


def make_package(root: Path) -> Path:
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "__init__.py").write_text("")
    (root / "orders" / "api.py").write_text(
        "import idna\n\ndef handler(event, context):\n    return idna.encode('example.com')\n"
    )
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "requirements.in").write_text("idna>=3\n")
    return root


def test_package_is_built_locked_and_installed(tmp_path: Path) -> None:
    src = make_package(tmp_path / "svc")
    cache = Cache(tmp_path / "cache")
    project = load_project(src, cache=cache)
    assert project.name == "order-service"
    assert project.handler == "orders.api.handler"
    assert project.requirements == ("idna>=3",)  # dynamic: read from the built wheel
    assert project.code == ()  # the package ships as its wheel
    (wheel,) = project.local_wheels
    assert wheel.name == "order_service-0.3.0-py3-none-any.whl"
    # The build ran on a copy: the user's directory gets no build/ or egg-info.
    assert sorted(p.name for p in src.iterdir()) == ["orders", "pyproject.toml", "requirements.in"]
    # Unchanged sources reuse the built wheel; a change rebuilds it.
    assert load_project(src, cache=cache).local_wheels == (wheel,)
    (src / "orders" / "api.py").write_text((src / "orders" / "api.py").read_text() + "# x\n")
    assert load_project(src, cache=cache).local_wheels != (wheel,)

    target = Target("3.12", "arm64")
    lock = lock_project(project, target, cache=cache)
    assert [p.name for p in lock.pins] == ["idna"]
    dists = install(lock, target, tmp_path / "site", cache=cache, local_wheels=project.local_wheels)
    assert [d.name for d in dists] == ["idna", "order-service"]
    assert (tmp_path / "site" / "orders" / "api.py").is_file()
    assert (tmp_path / "site" / "order_service-0.3.0.dist-info" / "RECORD").is_file()


def test_a_broken_package_build_is_a_clear_error(tmp_path: Path) -> None:
    src = make_package(tmp_path / "svc")
    broken = PYPROJECT.replace('packages = ["orders"]', 'packages = ["nope"]')
    (src / "pyproject.toml").write_text(broken)
    with pytest.raises(ProjectError, match="Building the wheel of .* failed") as err:
        load_project(src, cache=Cache(tmp_path / "cache"))
    assert "[build-system]" in str(err.value)
    assert not list((tmp_path / "cache" / "local-wheels").glob("*"))
