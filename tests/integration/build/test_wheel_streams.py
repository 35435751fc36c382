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
from bundler.sources.lock import Pin

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


def test_wheels_from_the_index_directly_or_through_pip_give_the_same_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bundler.sources import index as index_module

    src = tmp_path / "fn"
    src.mkdir()
    (src / "requirements.txt").write_text("idna==3.10\norjson==3.10.15\n")
    (src / "app.py").write_text(
        "import idna, orjson\n\ndef handler(event, context):\n    return 1\n"
    )
    saved: list[str] = []
    real_save = index_module.PackageIndex.save

    def spy(self: index_module.PackageIndex, file: index_module.IndexFile, dest: Path) -> None:
        saved.append(file.filename)
        real_save(self, file, dest)

    monkeypatch.setattr(index_module.PackageIndex, "save", spy)
    options = BuildOptions(
        src=src, strategy="vendored", target=Target("3.12", host_arch()), out=tmp_path / "a",
        verify=False,
    )  # fmt: skip
    direct = bundle(options, cache=Cache(tmp_path / "cache-a"))
    assert sorted(n.split("-")[0] for n in saved) == ["idna", "orjson"]

    def down(self: index_module.PackageIndex, file: index_module.IndexFile, dest: Path) -> None:
        raise index_module.IndexUnavailable("no direct downloads in this build")

    from bundler.sources import wheels as wheels_module

    through: list[str] = []
    real_pip = wheels_module._pip_download

    def pip(pins: list[Pin], target: Target, cache: Cache) -> dict[str, Path]:
        through.extend(sorted(p.name for p in pins))
        return real_pip(pins, target, cache)

    monkeypatch.setattr(index_module.PackageIndex, "save", down)  # so pip downloads all
    monkeypatch.setattr(wheels_module, "_pip_download", pip)
    through_pip = bundle(
        dataclasses.replace(options, out=tmp_path / "b"), cache=Cache(tmp_path / "cache-b")
    )
    assert through == ["idna", "orjson"]
    assert direct.manifest.bytecode["mode"] == "unchecked-hash"
    assert (tmp_path / "a" / "function.zip").read_bytes() == (
        tmp_path / "b" / "function.zip"
    ).read_bytes()
    assert through_pip.manifest.function.sha256 == direct.manifest.function.sha256
