"""A file edited inside lambundle's cache of unpacked wheels does not ship: the next build
finds it changed and unpacks the hash-checked wheel again, whichever tree it reuses."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bundler.build.pipeline import BuildOptions, bundle
from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sources.resolver import host_python

pytestmark = pytest.mark.network


def shipped(out: Path, name: str) -> bytes:
    for archive in sorted(out.glob("*.zip")):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if member.endswith("/" + name) or member == name:
                    return zf.read(member)
    raise AssertionError(f"{name} is in no zip of {out}")


def test_an_edited_cached_file_never_ships(tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text("six==1.16.0\n")
    cache = Cache(tmp_path / "cache")
    messages: list[str] = []

    def build(strategy: str) -> Path:
        options = BuildOptions(
            src, strategy, Target(host_python()), out=tmp_path / strategy, bytecode=False,
            verify=False,
        )  # fmt: skip
        return bundle(options, cache=cache, report=messages.append).out

    original = shipped(build("vendored"), "six.py")
    (cached,) = (cache.root / "installed").glob("*/site/six.py")
    cached.write_bytes(original.replace(b"import sys", b"import sys; EDITED = 1"))

    # The same lock: the installed tree is reused (its zip is not: another strategy).
    assert shipped(build("fat-layer"), "six.py") == original
    assert any("changed since it was made" in m for m in messages)

    # Another lock: a new tree is made of the unpacked wheels, six's reused from the cache.
    (cached,) = (cache.root / "installed").glob("*/site/six.py")
    cached.write_bytes(original.replace(b"import sys", b"import sys; EDITED = 2"))
    (src / "requirements.txt").write_text("six==1.16.0\nidna==3.7\n")
    assert shipped(build("pinned"), "six.py") == original
    assert any("six-1.16.0-py2.py3-none-any.whl were modified (six.py)" in m for m in messages)
