"""A package the index does not have is said to be missing, not to lack a wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import LockError
from bundler.core.target import Target
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project

pytestmark = pytest.mark.network

MISSING = "lambundle-no-such-package-zq7"


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_a_package_not_on_the_index(tmp_path: Path, resolver: str) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text(f"idna\n{MISSING}\n")
    with pytest.raises(LockError) as err:
        lock_project(load_project(src), Target("3.12"), resolver=resolver,
                     cache=Cache(tmp_path / "cache"))  # fmt: skip
    message = str(err.value)
    assert f"{MISSING} is not on the package index" in message
    assert "--docker" not in message and "manylinux" not in message
