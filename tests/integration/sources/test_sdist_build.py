"""Pure-Python sdists are built into wheels with real `build`, setuptools and the index:
docopt 0.6.2 (an sdist only) locks and installs with uv and pip-tools; a native result, and
a backend that keeps asking for more build requirements, are refused."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sources import sdist_build
from bundler.sources.lock import Pin
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project
from bundler.sources.wheels import install

pytestmark = pytest.mark.network

DOCOPT_SDIST = "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491"


def test_docopt_is_built_locked_and_installed_with_both_resolvers(tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("import docopt\ndef handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text("docopt\nsix==1.16.0\n")
    cache = Cache(tmp_path / "cache")
    target = Target("3.12")
    texts = []
    for resolver in ("uv", "pip-tools"):
        said: list[str] = []
        lock = lock_project(load_project(src), target, resolver=resolver, cache=cache,
                            report=said.append)  # fmt: skip
        pins = {p.name: p for p in lock.pins}
        assert pins["docopt"].version == "0.6.2"
        assert pins["docopt"].hashes == (f"sha256:{DOCOPT_SDIST}",)
        assert lock.built_from_sdists == {"docopt": ("docopt-0.6.2.tar.gz", DOCOPT_SDIST)}
        built = [m for m in said if m.startswith("Building docopt 0.6.2")]
        assert len(built) == (1 if resolver == "uv" else 0)  # then cached by the sdist's sha
        texts.append(lock.text)
        site = tmp_path / f"site-{resolver}"
        dists = install(lock, target, site, cache=cache)
        assert {d.name: d.wheel for d in dists}["docopt"] == "docopt-0.6.2-py2.py3-none-any.whl"
        assert (site / "docopt.py").is_file() and (site / "six.py").is_file()
    assert all("# built from sdist: docopt==0.6.2 docopt-0.6.2.tar.gz" in t for t in texts)


def sdist(tmp_path: Path, name: str, files: dict[str, str]) -> tuple[Path, str]:
    path = tmp_path / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def seeded(cache: Cache, path: Path, sha: str) -> None:
    """The sdist in the cache, as if fetched by its hash from the index."""
    cache.put_dir("sdists", sha, lambda tmp: shutil.copy2(path, tmp / path.name))


NATIVE_SETUP = """\
from setuptools import setup
from setuptools.dist import Distribution

class Binary(Distribution):
    def has_ext_modules(self):
        return True

setup(name="nat", version="1.0", py_modules=["nat"], distclass=Binary)
"""


def test_a_native_result_is_refused_and_points_at_docker(tmp_path: Path) -> None:
    path, sha = sdist(tmp_path, "nat", {"setup.py": NATIVE_SETUP, "nat.py": "X = 1\n"})
    cache = Cache(tmp_path / "cache")
    seeded(cache, path, sha)
    with pytest.raises(sdist_build.SdistBuildError) as err:
        sdist_build.wheel_from_sdist(Pin("nat", "1.0", (f"sha256:{sha}",)), sha, Target("3.12"),
                                     cache=cache, report=lambda _: None)  # fmt: skip
    message = str(err.value)
    assert "nat 1.0 has no wheel for CPython 3.12" in message and "a native wheel" in message
    assert "--docker" in message
    assert sdist_build.built_wheel(sha, cache) is None  # nothing cached


BACKEND = """\
from setuptools.build_meta import *  # noqa: F403
from setuptools.build_meta import build_wheel  # noqa: F401

def get_requires_for_build_wheel(config_settings=None):
    try:
        import six  # noqa: F401
    except ImportError:
        return ["six"]
    return {after_six}
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "backend"
backend-path = ["."]

[project]
name = "dyn"
version = "1.0"

[tool.setuptools]
py-modules = ["dyn"]
"""


@pytest.mark.parametrize("after_six", ["[]", "['idna']"])
def test_what_the_backend_asks_for_is_locked_once_then_refused(
    tmp_path: Path, after_six: str
) -> None:
    files = {"pyproject.toml": PYPROJECT, "dyn.py": "X = 1\n",
             "backend.py": BACKEND.format(after_six=after_six)}  # fmt: skip
    path, sha = sdist(tmp_path, "dyn", files)
    cache = Cache(tmp_path / "cache")
    seeded(cache, path, sha)
    said: list[str] = []
    pin = Pin("dyn", "1.0", (f"sha256:{sha}",))

    def build() -> Path:
        return sdist_build.wheel_from_sdist(pin, sha, Target("3.12"), cache=cache,
                                            report=said.append)  # fmt: skip

    if after_six == "[]":
        assert build().name == "dyn-1.0-py3-none-any.whl"
        assert any("The build backend of dyn also asks for six" in m for m in said)
        assert any("Locking the build requirements of dyn: setuptools>=61, six" in m for m in said)
    else:
        with pytest.raises(sdist_build.SdistBuildError, match=r"keeps asking for more build "
                           r"requirements \(idna\)"):  # fmt: skip
            build()
