"""A project's own uv.lock decides its versions: real uv, real releases from the index."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from bundler.build.pipeline import BuildOptions, bundle
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import LockError
from bundler.core.target import Target
from bundler.sources import resolver
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project
from tests.runtime.bundles import needs_python

pytestmark = pytest.mark.network

PYPROJECT = """\
[project]
name = "fn"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = [{deps}]

[tool.uv]
# What lambundle cannot see from the dependencies alone: only uv.lock knows it.
constraint-dependencies = ["six<1.17"]
{sources}
[tool.lambundle]
handler = "app.handler"
"""


def project(
    root: Path, deps: str = '"six", "tomli; python_version < \'3.11\'"', sources: str = ""
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(deps=deps, sources=sources))
    (root / "app.py").write_text("import six\n\ndef handler(event, context):\n    return 1\n")
    return root


def uv_lock(root: Path, python: Path | None = None) -> None:
    uv = resolver.find_uv()
    assert uv is not None, "the test extra installs uv"
    chosen = ["--python", str(python)] if python is not None else []
    subprocess.run([uv, "lock", "--quiet", "--directory", str(root), *chosen], check=True)


def pins(root: Path, target: Target, cache: Cache) -> dict[str, str]:
    lock = lock_project(load_project(root), target, cache=cache)
    return {p.name: p.version for p in lock.pins}


def test_the_versions_are_uv_locks_and_markers_are_the_targets(tmp_path: Path) -> None:
    root = project(tmp_path / "fn")
    uv_lock(root)
    cache = Cache(tmp_path / "cache")
    old = pins(root, Target("3.10"), cache)
    assert old["six"] == "1.16.0"  # the constraint only uv.lock carries
    assert "tomli" in old  # python_version < '3.11' holds on a python3.10 Lambda
    assert pins(root, Target("3.12", "arm64"), cache) == {"six": "1.16.0"}
    # Without its uv.lock, the same project resolves afresh: a newer six.
    (root / "uv.lock").unlink()
    assert pins(root, Target("3.12"), cache)["six"] != "1.16.0"


def test_a_bundle_installs_what_uv_lock_pins(tmp_path: Path) -> None:
    root = project(tmp_path / "fn")
    uv_lock(root)
    result = bundle(
        BuildOptions(src=root, strategy="vendored", target=Target("3.12"),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=Cache(tmp_path / "cache"),
    )  # fmt: skip
    with zipfile.ZipFile(result.out / "function.zip") as zf:
        names = zf.namelist()
    assert "vendor/six-1.16.0.dist-info/METADATA" in names
    assert not any(n.startswith("vendor/tomli") for n in names)


def test_a_stale_uv_lock_is_an_error_that_says_uv_lock(tmp_path: Path) -> None:
    root = project(tmp_path / "fn")
    uv_lock(root)
    project(root, deps='"six", "idna"')  # pyproject changed, uv.lock not
    with pytest.raises(LockError, match=r"(?s)could not export .*uv\.lock.*run `uv lock`"):
        lock_project(load_project(root), Target("3.12"), cache=Cache(tmp_path / "cache"))


def test_a_local_path_dependency_in_uv_lock_is_refused_by_name(tmp_path: Path) -> None:
    helper = tmp_path / "fn" / "libs" / "helper"
    helper.mkdir(parents=True)
    (helper / "pyproject.toml").write_text(
        '[project]\nname = "helper"\nversion = "0.1.0"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    root = project(
        tmp_path / "fn",
        deps='"six", "helper"',
        sources='[tool.uv.sources]\nhelper = { path = "libs/helper" }\n',
    )
    uv_lock(root)
    with pytest.raises(LockError, match=r"pins '.*helper'.*local or direct reference"):
        lock_project(load_project(root), Target("3.12"), cache=Cache(tmp_path / "cache"))


def test_without_uv_a_uv_lock_is_not_silently_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "fn")
    (root / "uv.lock").write_text("version = 1\n")
    monkeypatch.setattr(resolver, "find_uv", lambda: None)
    with pytest.raises(LockError, match=r"uv is not installed to read it"):
        lock_project(load_project(root), Target("3.12"), cache=Cache(tmp_path / "cache"))


@needs_python("3.13")
def test_a_project_that_needs_a_newer_python_than_this_one_is_read_with_the_targets(
    tmp_path: Path,
) -> None:
    """`uv export --locked` wants an interpreter the project's requires-python allows: the
    target's, not this machine's default one (nor one uv would download)."""
    root = project(tmp_path / "fn")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(">=3.10", ">=3.13"))
    found = interpreters.find("3.13")
    assert found is not None
    uv_lock(root, found.path)
    assert pins(root, Target("3.13"), Cache(tmp_path / "cache")) == {"six": "1.16.0"}


def test_a_pure_sdist_only_package_uv_lock_pins_is_built_into_a_wheel(tmp_path: Path) -> None:
    """docopt 0.6.2 publishes only an sdist: built here, by the hash uv.lock lists, as a
    resolved requirement's would be (issue 10); the lock says it is built."""
    root = project(tmp_path / "fn", deps='"six", "docopt==0.6.2"')
    uv_lock(root)
    cache = Cache(tmp_path / "cache")
    lock = lock_project(load_project(root), Target("3.12"), cache=cache)
    assert "# built from sdist: docopt==0.6.2 docopt-0.6.2.tar.gz sha256:" in lock.text
    result = bundle(
        BuildOptions(src=root, strategy="vendored", target=Target("3.12"),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=cache,
    )  # fmt: skip
    with zipfile.ZipFile(result.out / "function.zip") as zf:
        names = zf.namelist()
        wheel = zf.read("vendor/docopt-0.6.2.dist-info/WHEEL").decode()
    assert "vendor/docopt.py" in names
    assert "Tag: py2.py3-none-any" in wheel or "Tag: py3-none-any" in wheel
