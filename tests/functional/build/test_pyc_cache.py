"""Compiled trees are cached per top-level package: a changed requirement recompiles its
own package only. Real compiles with a Python 3.12; the compiler is wrapped to record
what it is asked to compile."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.build import bytecode
from bundler.bundle.archive import ZipEntry, entries_from_tree
from bundler.core import interpreters
from bundler.core.cache import Cache

PY312 = interpreters.find("3.12")
pytestmark = pytest.mark.skipif(PY312 is None, reason="no Python 3.12 to compile with")

FILES = {
    "alpha/__init__.py": "A = 1\n",
    "alpha/sub/m.py": "x = 2\n",
    "beta/__init__.py": "B = 1\n",
    "gamma/__init__.py": "",
    "gamma/bad.py": "def (:\n",  # does not compile: ships as source, reported by package
    "solo.py": "S = 1\n",  # lone modules, one a prefix of the other
    "solo_two.py": "T = 1\n",
}


def tree(root: Path, files: dict[str, str]) -> tuple[ZipEntry, ...]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return tuple(entries_from_tree(root))


def recording_compiler() -> tuple[bytecode.Compiler, list[list[str]]]:
    """The real compiler, and the list of what each of its runs was asked to compile."""
    assert PY312 is not None
    real = bytecode.local_compiler(PY312)
    asked: list[list[str]] = []

    def spy(py: tuple[ZipEntry, ...], ddir: str, dest: Path) -> list[str]:
        asked.append(sorted(e.arcname for e in py))
        return real.compile(py, ddir, dest)

    return bytecode.Compiler(real.ident, spy), asked


def test_only_the_changed_package_is_compiled_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    compiler, asked = recording_compiler()
    site = "/opt/python/lib/python3.12/site-packages"

    first, failed = bytecode._pyc_for(tree(tmp_path / "one", FILES), site, compiler, cache)
    assert asked == [sorted(FILES)]
    assert failed == ["gamma/bad.py"]
    names = sorted(e.arcname for e in first)
    assert names == [
        "__pycache__/solo.cpython-312.pyc",
        "__pycache__/solo_two.cpython-312.pyc",
        "alpha/__pycache__/__init__.cpython-312.pyc",
        "alpha/sub/__pycache__/m.cpython-312.pyc",
        "beta/__pycache__/__init__.cpython-312.pyc",
        "gamma/__pycache__/__init__.cpython-312.pyc",
    ]

    # Another install tree (a new lock) in which only beta changed.
    asked.clear()
    changed = {**FILES, "beta/__init__.py": "B = 2\n"}
    second, failed = bytecode._pyc_for(tree(tmp_path / "two", changed), site, compiler, cache)
    assert asked == [["beta/__init__.py"]]
    assert failed == ["gamma/bad.py"]  # remembered with gamma's cached pyc
    assert sorted(e.arcname for e in second) == names
    by_name = {e.arcname: e.read() for e in first}
    again = {e.arcname: e.read() for e in second}
    assert again["alpha/sub/__pycache__/m.cpython-312.pyc"] == by_name[
        "alpha/sub/__pycache__/m.cpython-312.pyc"
    ]
    assert again["beta/__pycache__/__init__.cpython-312.pyc"] != by_name[
        "beta/__pycache__/__init__.cpython-312.pyc"
    ]

    # Unchanged: nothing is compiled, nothing is hashed again.
    asked.clear()
    third, _ = bytecode._pyc_for(tree(tmp_path / "two", changed), site, compiler, cache)
    assert asked == []
    assert sorted(e.arcname for e in third) == names


def test_a_package_dropped_from_the_cache_is_compiled_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    compiler, asked = recording_compiler()
    entries = tree(tmp_path / "site", {"alpha/__init__.py": "A = 1\n", "beta.py": "B = 1\n"})
    bytecode._pyc_for(entries, "/var/task", compiler, cache)
    for package in (cache.root / "pyc-package").iterdir():
        if (package / "tree" / "alpha").exists():
            cache.remove("pyc-package", package.name)
    asked.clear()
    pyc, _ = bytecode._pyc_for(entries, "/var/task", compiler, cache)
    assert asked == [["alpha/__init__.py"]]
    assert sorted(e.arcname for e in pyc) == [
        "__pycache__/beta.cpython-312.pyc",
        "alpha/__pycache__/__init__.cpython-312.pyc",
    ]


def test_an_entry_without_its_package_list_is_rebuilt(tmp_path: Path) -> None:
    assert PY312 is not None
    cache = Cache(tmp_path / "cache")
    compiler = bytecode.local_compiler(PY312)
    entries = tree(tmp_path / "site", {"alpha/__init__.py": "A = 1\n"})
    bytecode._pyc_for(entries, "/var/task", compiler, cache)
    for entry in (cache.root / "pyc").iterdir():
        (entry / "packages.json").unlink()  # as an older lambundle's entry would be
    pyc, _ = bytecode._pyc_for(entries, "/var/task", compiler, cache)
    assert [e.arcname for e in pyc] == ["alpha/__pycache__/__init__.cpython-312.pyc"]
