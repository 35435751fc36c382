"""--slim leaves out only what Lambda never imports or reads."""

from __future__ import annotations

import pytest

from bundler.build.slim import removable, slim
from bundler.bundle.archive import ZipEntry


@pytest.mark.parametrize(
    "name",
    [
        "numpy/_core/tests/test_api.py",
        "numpy/tests/__init__.py",
        "pkg/sub/test/data.json",
        "pydantic/main.pyi",
        "six/__pycache__/six.cpython-311.pyc",
    ],
)
def test_removed(name: str) -> None:
    assert removable(name)


@pytest.mark.parametrize(
    "name",
    [
        "requests-2.32.3.dist-info/RECORD",
        "requests-2.32.3.dist-info/tests/x.py",
        "numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so",
        "numpy/tests/_helper.cpython-312-x86_64-linux-gnu.so",
        "numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so",
        "libfoo.so.1",
        "tests/__init__.py",  # a top-level `tests` package is somebody's code
        "certifi/cacert.pem",
        "pkg/testing/__init__.py",
        "six.py",
        "pkg/py.typed",
    ],
)
def test_kept(name: str) -> None:
    assert not removable(name)


def test_slim_counts_what_it_drops() -> None:
    entries = [ZipEntry("a/tests/t.py", data=b""), ZipEntry("a/__init__.py", data=b"")]
    kept, dropped = slim(entries)
    assert [e.arcname for e in kept] == ["a/__init__.py"]
    assert dropped == 1
