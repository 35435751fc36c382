"""Which dependency files ship without pyc: distributions' own test suites."""

from __future__ import annotations

import pytest

from bundler.build.bytecode import _in_test_suite


@pytest.mark.parametrize(
    ("arcname", "suite"),
    [
        ("pandas/tests/frame/test_api.py", True),
        ("numpy/_core/tests/test_numeric.py", True),
        ("pkg/test/helpers.py", True),
        ("pandas/core/frame.py", False),
        ("pandas/_testing/__init__.py", False),  # importable helpers, not a suite
        ("numpy/testing/__init__.py", False),
        ("tests/__init__.py", False),  # a top-level package could be the user's own
        ("tests.py", False),
        ("foo-1.0.dist-info/tests/x.py", False),
    ],
)
def test_only_files_inside_a_packages_test_suite(arcname: str, suite: bool) -> None:
    assert _in_test_suite(arcname) is suite
