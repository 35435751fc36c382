"""Bytecode compiled by a real interpreter of the target version, for in-Lambda paths."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bundler.build import bytecode
from bundler.bundle.archive import ZipEntry
from bundler.core import interpreters

INTERP = interpreters.find("3.12")
needs_312 = pytest.mark.skipif(INTERP is None, reason="no Python 3.12 on this machine")


def sources(root: Path) -> list[ZipEntry]:
    (root / "pkg").mkdir(parents=True)
    files = {
        "app.py": "import pkg\n\ndef handler(e, c):\n    return 'x' in {'a', 'b', 'x'}\n",
        "pkg/__init__.py": "VALUE = 1\n",
        "pkg/broken.py": "def f(:\n",
    }
    for rel, text in files.items():
        (root / rel).write_text(text)
    return [ZipEntry(rel, source=root / rel) for rel in sorted(files)]


@needs_312
def test_pyc_are_unchecked_hash_and_name_the_lambda_path(tmp_path: Path) -> None:
    assert INTERP is not None
    failed = bytecode.compile_entries(
        sources(tmp_path / "src"), "/var/task", tmp_path / "out", INTERP
    )
    assert failed == ["pkg/broken.py"]
    names = sorted(e.arcname for e in bytecode.pyc_entries(tmp_path / "out"))
    assert names == ["__pycache__/app.cpython-312.pyc", "pkg/__pycache__/__init__.cpython-312.pyc"]
    pyc = tmp_path / "out/__pycache__/app.cpython-312.pyc"
    # PEP 552 header: flags word 0b01 = hash-based, do not check the source.
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01
    probe = (
        "import marshal, sys; c = marshal.loads(open(sys.argv[1], 'rb').read()[16:]);"
        "print(c.co_filename)"
    )
    out = subprocess.run(
        [str(INTERP.path), "-c", probe, str(pyc)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "/var/task/app.py"


@needs_312
def test_the_same_sources_compile_to_the_same_bytes_anywhere(tmp_path: Path) -> None:
    assert INTERP is not None
    bytecode.compile_entries(sources(tmp_path / "a/src"), "/opt/x", tmp_path / "a/out", INTERP)
    bytecode.compile_entries(
        sources(tmp_path / "b/elsewhere"), "/opt/x", tmp_path / "b/out", INTERP
    )
    for entry in bytecode.pyc_entries(tmp_path / "a/out"):
        assert entry.read() == (tmp_path / "b/out" / entry.arcname).read_bytes(), entry.arcname


def test_without_an_interpreter_the_reason_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreters, "find", lambda minor, explicit=None: None)
    interp, mode = bytecode.choose("3.13", None, enabled=True)
    assert interp is None
    assert mode.to_json()["mode"] == "none"
    assert "no Python 3.13 found" in mode.reason


def test_no_bytecode_is_recorded_as_such() -> None:
    interp, mode = bytecode.choose("3.12", None, enabled=False)
    assert interp is None
    assert mode.to_json() == {"mode": "none", "reason": "--no-bytecode"}


@needs_312
def test_an_interpreter_of_the_target_version_is_chosen() -> None:
    interp, mode = bytecode.choose("3.12", None, enabled=True)
    assert interp is not None and interp.minor == "3.12"
    assert mode.to_json() == {"mode": "unchecked-hash", "interpreter": interp.version}
