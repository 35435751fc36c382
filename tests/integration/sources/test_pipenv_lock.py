"""Pipenv projects: a real Pipfile.lock decides the versions, real wheels come from the index.

The Pipfile.lock fixture was written by real Pipenv (see pipenv_projects/README.md); nothing
here runs Pipenv, so these tests need only the package index.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bundler.build.pipeline import BuildOptions, bundle
from bundler.core.cache import Cache
from bundler.core.errors import LockError
from bundler.core.target import Target
from tests.integration.sources.test_poetry_lock import bundle_and_invoke, shipped
from tests.runtime.bundles import needs_python

pytestmark = pytest.mark.network

FIXTURE = Path(__file__).parent / "pipenv_projects" / "basic"
LOCKED = {
    "requests": "2.32.3",
    "certifi": "2026.10.19.post1",
    "charset-normalizer": "3.5.3",  # a binary wheel per architecture
    "idna": "3.20",
    "urllib3": "2.8.0",
}


def copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "fn"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("README.md"))
    return root


@pytest.mark.parametrize(("python", "arch"), [("3.12", "x86_64"), ("3.10", "arm64")])
def test_a_bundle_installs_exactly_what_pipfile_lock_pins(
    tmp_path: Path, python: str, arch: str
) -> None:
    root = copy_fixture(tmp_path)
    said: list[str] = []
    result = bundle(
        BuildOptions(src=root, strategy="vendored", target=Target(python, arch),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=Cache(tmp_path / "cache"), report=said.append,
    )  # fmt: skip
    dists = shipped(result.out / "function.zip", "vendor/")
    expected = {**LOCKED, "tomli": "2.0.1"} if python == "3.10" else LOCKED  # its marker
    assert {name: version for name, (version, _) in dists.items()} == expected  # no pytest
    machine = "aarch64" if arch == "arm64" else "x86_64"
    assert dists["charset-normalizer"][1].endswith(machine)
    assert any("Pipfile.lock pins them" in line for line in said)


def test_a_pipfile_changed_since_the_lock_is_refused(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    pipfile = root / "Pipfile"
    pipfile.write_text(pipfile.read_text().replace('[packages]\n', '[packages]\nsix = "*"\n'))
    with pytest.raises(LockError, match="changed since .*Pipfile.lock was made: run `pipenv lock`"):
        bundle(
            BuildOptions(src=root, strategy="vendored", target=Target("3.12"),
                         out=tmp_path / "out", bytecode=False, verify=False),
            cache=Cache(tmp_path / "cache"),
        )  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_without_pipfile_lock_the_pipfile_packages_are_resolved(tmp_path: Path) -> None:
    # Before, a Pipfile's packages were silently left out of the bundle.
    root = copy_fixture(tmp_path)
    (root / "Pipfile.lock").unlink()
    result = bundle(
        BuildOptions(src=root, strategy="vendored", target=Target("3.12"),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=Cache(tmp_path / "cache"),
    )  # fmt: skip
    dists = shipped(result.out / "function.zip", "vendor/")
    assert dists["requests"][0] == "2.32.3" and "tomli" not in dists and "pytest" not in dists


@pytest.mark.sandbox
@needs_python("3.12")
def test_the_locked_function_answers_in_the_sandbox(tmp_path: Path) -> None:
    answer = bundle_and_invoke(copy_fixture(tmp_path), tmp_path / "out", "fat-layer")
    assert answer == {"requests": "2.32.3", "tomli": None, "python": "3.12"}


def test_a_requirements_file_beside_the_lock_may_repeat_it_not_add_to_it(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    options = BuildOptions(src=root, strategy="vendored", target=Target("3.12"),
                           out=tmp_path / "out", bytecode=False, verify=False)  # fmt: skip
    # An export of the lock (as `pipenv requirements` writes one) is fine...
    (root / "requirements.txt").write_text("requests==2.32.3\nidna==3.20\n")
    bundle(options, cache=Cache(tmp_path / "cache"))
    # ...a package the lock does not pin would be silently left out: refused instead.
    (root / "requirements.txt").write_text("requests==2.32.3\nsix==1.16.0\n")
    with pytest.raises(LockError, match="requirements.txt asks for six, which Pipfile.lock"):
        bundle(options, cache=Cache(tmp_path / "cache"))
