"""A requirement pinned with --hash locks to those files only, with uv and pip-tools, and a
wrong hash is refused before anything is downloaded, as pip would refuse it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import LockError
from bundler.core.target import Target
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project
from bundler.sources.wheels import fetch

pytestmark = pytest.mark.network

# six 1.16.0's one wheel, as PyPI lists it.
WHEEL = "sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254"
WRONG = "sha256:" + "0" * 64


def function(root: Path, requirements: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "requirements.txt").write_text(requirements)
    return root


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_a_hash_pinned_requirement_locks_to_its_files(tmp_path: Path, resolver: str) -> None:
    src = function(tmp_path / "fn", f"idna==3.7\nsix==1.16.0 --hash={WHEEL} --hash={WRONG}\n")
    cache = Cache(tmp_path / "cache")
    lock = lock_project(load_project(src), Target("3.12"), resolver=resolver, cache=cache)
    pins = {p.name: p for p in lock.pins}
    assert pins["six"].hashes == (WHEEL,)
    assert WRONG not in lock.text and pins["idna"].hashes  # idna is not constrained
    wheels = fetch([pins["six"]], Target("3.12"), cache=cache)
    assert wheels["six"].name == "six-1.16.0-py2.py3-none-any.whl"


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_a_wrong_hash_is_an_error_naming_the_file_and_the_package(
    tmp_path: Path, resolver: str
) -> None:
    src = function(tmp_path / "fn", f"idna==3.7\nsix==1.16.0 \\\n  --hash={WRONG}\n")
    cache = Cache(tmp_path / "cache")
    with pytest.raises(LockError) as err:
        lock_project(load_project(src), Target("3.12"), resolver=resolver, cache=cache)
    message = str(err.value)
    assert f"{src / 'requirements.txt'}:2: no file of six==1.16.0" in message
    assert WHEEL in message  # what the lock has, to compare
    assert not (tmp_path / "cache" / "wheels").exists()
