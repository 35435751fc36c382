"""A set that cannot fit in Lambda is refused as soon as it is locked, before any wheel is
downloaded, from the sizes its wheels' central directories give; one that fits is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.build.pipeline import BuildOptions, bundle
from bundler.core.cache import Cache
from bundler.core.errors import LimitError
from bundler.core.target import Target

pytestmark = pytest.mark.network


def function(root: Path, requirements: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "requirements.txt").write_text(requirements)
    return root


def test_scipy_pandas_sklearn_pyarrow_is_refused_before_downloading(tmp_path: Path) -> None:
    src = function(tmp_path / "fn", "scipy\npandas\nscikit-learn\npyarrow\n")
    cache = Cache(tmp_path / "cache")
    messages: list[str] = []
    options = BuildOptions(src, "vendored", Target("3.12", "x86_64"), out=tmp_path / "out",
                           bytecode=False, verify=False, resolver="uv")  # fmt: skip
    with pytest.raises(LimitError) as err:
        bundle(options, cache=cache, report=messages.append)
    message = str(err.value)
    assert "exceeds Lambda's limit of 262,144,000" in message
    assert "before downloading" in message and "pyarrow" in message and "scipy" in message
    assert not (tmp_path / "cache" / "wheels").exists()  # nothing downloaded
    assert not (tmp_path / "cache" / "installed").exists()
    assert not (tmp_path / "out").exists()
    assert not any("Downloading" in m for m in messages)


def test_a_set_that_fits_is_built(tmp_path: Path) -> None:
    src = function(tmp_path / "fn", "six==1.16.0\n")
    cache = Cache(tmp_path / "cache")
    messages: list[str] = []
    options = BuildOptions(src, "vendored", Target("3.12", "x86_64"), out=tmp_path / "out",
                           bytecode=False, verify=False)  # fmt: skip
    result = bundle(options, cache=cache, report=messages.append)
    estimated = next(m for m in messages if m.startswith("The wheels unpack to at least"))
    bound = int(estimated.split()[-2].replace(",", ""))
    assert 0 < bound <= result.manifest.function.unzipped_size
