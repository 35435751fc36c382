"""A real build from PyPI's wheels copies their deflated streams into the bundle's zip
instead of compressing the files again, and stays byte-identical across rebuilds."""

from __future__ import annotations

import dataclasses
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from bundler.build.files import STREAMS
from bundler.build.pipeline import BuildOptions, bundle
from bundler.core.cache import Cache
from bundler.core.target import Target, host_arch

pytestmark = pytest.mark.network


def raw(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = path.read_bytes()
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    return data[start : start + info.compress_size]


def test_vendored_members_are_the_wheels_own_streams(tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "requirements.txt").write_text("idna==3.10\n")
    (src / "app.py").write_text("import idna\n\ndef handler(event, context):\n    return 1\n")
    cache = Cache(tmp_path / "cache")
    options = BuildOptions(
        src=src, strategy="vendored", target=Target("3.12", host_arch()), out=tmp_path / "out",
        bytecode=False, verify=False,
    )  # fmt: skip
    result = bundle(options, cache=cache)
    assert {"resolve", "download", "unpack", "deflate"} <= set(result.timings)
    (wheel,) = sorted(cache.root.glob("wheels/*/idna-3.10-*.whl"))
    function = tmp_path / "out" / "function.zip"
    assert raw(function, "vendor/idna/core.py") == raw(wheel, "idna/core.py")
    (streams,) = cache.root.glob(f"site/*/{STREAMS}")
    assert "idna/core.py" in streams.read_text()
    # Unchanged inputs, another output and no cached archives: the same bytes.
    for entry in cache.root.glob("zip/*"):
        shutil.rmtree(entry)
    again = bundle(dataclasses.replace(options, out=tmp_path / "again"), cache=cache)
    assert again.manifest.function.sha256 == result.manifest.function.sha256


def test_a_pin_built_from_its_sdist_leaves_the_others_their_streams(tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    # docopt 0.6.2 is published as a pure-Python sdist only: built into a wheel here.
    (src / "requirements.txt").write_text("idna==3.10\ndocopt==0.6.2\n")
    (src / "app.py").write_text("import docopt, idna\n\ndef handler(event, context):\n    return 1")
    cache = Cache(tmp_path / "cache")
    options = BuildOptions(
        src=src, strategy="vendored", target=Target("3.12", host_arch()), out=tmp_path / "out",
        bytecode=False, verify=False,
    )  # fmt: skip
    bundle(options, cache=cache)
    (streams,) = cache.root.glob(f"site/*/{STREAMS}")
    assert "idna/core.py" in streams.read_text()
    (wheel,) = sorted(cache.root.glob("wheels/*/idna-3.10-*.whl"))
    zipped = tmp_path / "out" / "function.zip"
    assert raw(zipped, "vendor/idna/core.py") == raw(wheel, "idna/core.py")
