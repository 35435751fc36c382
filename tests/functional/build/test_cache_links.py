"""Installed trees are hard links into the per-wheel cache; nothing a build does may write
through them. Real builds (uv, pip, `build`, bytecode, `--slim`) from a local directory
index (no network): two wheels ship the same `ns/__init__.py`, and the function is itself a
package whose wheel ships it a third time."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bundler.build import pipeline as build
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sources.wheels import _changed_file
from tests.unit.sources.test_wheels_install import make_wheel

# The function's own package, built (bundler.sources.confined_build) with an in-tree backend (no
# build requirements to fetch): its wheel holds app.py and its own ns/__init__.py.
BACKEND = '''
import pathlib, zipfile
FILES = {"app.py": "import ns.a, ns.b\\n\\ndef handler(event, context):\\n    return 1\\n",
         "ns/__init__.py": "OWN = 3\\n"}
META = ("Metadata-Version: 2.1\\nName: ownfn\\nVersion: 1.0\\n"
        "Requires-Dist: nsa\\nRequires-Dist: nsb\\n")
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(directory, config_settings=None, metadata_directory=None):
    name = "ownfn-1.0-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(directory, name), "w") as zf:
        for member, text in FILES.items():
            zf.writestr(member, text)
        zf.writestr("ownfn-1.0.dist-info/METADATA", META)
        zf.writestr("ownfn-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nTag: py3-none-any\\n")
        zf.writestr("ownfn-1.0.dist-info/RECORD", "")
    return name
'''
PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "ownfn"
version = "1.0"
dependencies = ["nsa", "nsb"]

[tool.lambundle]
handler = "app.handler"
"""


def test_overlapping_files_never_change_the_cached_wheels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = tmp_path / "links"
    links.mkdir()
    wheels = {
        "nsa": make_wheel(links, {"ns/__init__.py": b"A = 1\n", "ns/a.py": b"X = 1\n",
                                  "ns/tests/test_a.py": b"", "ns/a.pyi": b""}, name="nsa"),
        "nsb": make_wheel(links, {"ns/__init__.py": b"B = 2\n", "ns/b.py": b"Y = 2\n"},
                          name="nsb"),
    }  # fmt: skip
    for key, value in (
        ("UV_CACHE_DIR", tmp_path / "uv"), ("UV_FIND_LINKS", links), ("UV_NO_INDEX", "1"),
        ("PIP_FIND_LINKS", links), ("PIP_NO_INDEX", "1"),
    ):  # fmt: skip
        monkeypatch.setenv(key, str(value))
    src = tmp_path / "fn"
    src.mkdir()
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "backend.py").write_text(BACKEND)
    (src / "app.py").write_text("import ns.a, ns.b\n\ndef handler(event, context):\n    return 1\n")
    cache = Cache(tmp_path / "cache")

    def cached_trees() -> dict[str, Path]:
        installed = tmp_path / "cache" / "installed"
        return {
            name: next(p.parent.parent for p in installed.glob(f"*/site/ns/{name[-1]}.py"))
            for name in wheels
        }

    said: list[str] = []
    for strategy, slim in (("vendored", True), ("fat-layer", False)):
        options = build.BuildOptions(
            src=src, strategy=strategy, target=Target("3.12"), out=tmp_path / strategy,
            slim=slim, verify=False,
        )  # fmt: skip
        out = build.bundle(options, cache=cache, report=said.append).out
        members: dict[str, bytes] = {}
        for path in sorted(out.glob("*.zip")):
            with zipfile.ZipFile(path) as zf:
                members.update((n, zf.read(n)) for n in zf.namelist() if "/ns/" in f"/{n}")
        inits = [n for n in members if n.endswith("ns/__init__.py")]
        assert len(inits) == 1 and members[inits[0]] == b"OWN = 3\n"  # the function's own
        if interpreters.find("3.12") is not None:  # bytecode beside the sources, compiled
            assert any(n.endswith("ns/__pycache__/__init__.cpython-312.pyc") for n in members)
        assert any(n.endswith("ns/tests/test_a.py") for n in members) is not slim
        for name, tree in cached_trees().items():
            assert _changed_file(wheels[name], tree) is None, name
    # `bundle` says what it does while the function's own package builds (once: cached).
    assert [m for m in said if m.startswith("Building the wheel of fn")] != []
