"""A function that is itself a package: built into a wheel with its build requirements
hash-locked (bundler.sources.confined_build), locked, installed with its deps."""

from __future__ import annotations

import email.parser
import zipfile
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import ProjectError
from bundler.core.target import Target
from bundler.sources.lock import Lock
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project
from bundler.sources.wheels import install

pytestmark = pytest.mark.network  # its build requirements (setuptools) come from the index

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
    said: list[str] = []
    project = load_project(src, cache=cache, report=said.append)
    assert project.name == "order-service"
    assert project.handler == "orders.api.handler"
    assert project.requirements == ("idna>=3",)  # dynamic: read from the built wheel
    assert project.code == ()  # the package ships as its wheel
    (wheel,) = project.local_wheels
    assert wheel.name == "order_service-0.3.0-py3-none-any.whl"
    # Its build requirements were locked with hashes, and the setuptools that made the
    # wheel (its WHEEL file says which) is the one that lock pins.
    assert "Locking the build requirements of svc: setuptools>=68" in said
    (entry,) = (tmp_path / "cache" / "build-locks").iterdir()
    build_lock = Lock.from_text((entry / "requirements.txt").read_text(), "build lock")
    (setuptools,) = build_lock.pins
    assert setuptools.name == "setuptools" and setuptools.hashes
    assert all(h.startswith("sha256:") for h in setuptools.hashes)
    with zipfile.ZipFile(wheel) as zf:
        generator = email.parser.Parser().parsestr(
            zf.read("order_service-0.3.0.dist-info/WHEEL").decode()
        )["Generator"]
    assert generator == f"setuptools ({setuptools.version})"
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
