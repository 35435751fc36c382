"""A dependency whose own metadata requires another package by a direct reference
(`Requires-Dist: child @ https://...`; PyPI refuses such uploads, other indexes do not) is
refused after resolving, before anything is downloaded or installed, naming the dependency
that asked for it; with both real resolvers, from a local directory index (no network)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bundler.cli import main
from tests.unit.sources.test_wheels_install import make_wheel


def parent_wheel(links: Path, requires: str) -> Path:
    """parentpkg 1.0, whose METADATA says `Requires-Dist: {requires}`."""
    wheel = make_wheel(links, {"parentpkg.py": b"P = 1\n"}, name="parentpkg")
    members = {}
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            members[info.filename] = zf.read(info)
    metadata = "parentpkg-1.0.dist-info/METADATA"
    members[metadata] += f"Requires-Dist: {requires}\n".encode()
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return wheel


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_a_dependencys_direct_reference_is_refused_naming_who_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    resolver: str,
) -> None:
    links, far = tmp_path / "links", tmp_path / "far"
    links.mkdir()
    far.mkdir()
    child = make_wheel(far, {"childpkg.py": b"C = 1\n"}, name="childpkg")
    parent_wheel(links, f"childpkg @ {child.as_uri()}")
    for key, value in (
        ("LAMBUNDLE_CACHE_DIR", tmp_path / "cache"), ("UV_CACHE_DIR", tmp_path / "uv"),
        ("UV_FIND_LINKS", links), ("UV_NO_INDEX", "1"),
        ("PIP_FIND_LINKS", links), ("PIP_NO_INDEX", "1"),
    ):  # fmt: skip
        monkeypatch.setenv(key, str(value))
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("import parentpkg\n\ndef handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text("parentpkg\n")

    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        main(["bundle", str(src), "--strategy", "vendored", "--resolver", resolver,
              "--no-verify", "--no-bytecode", "--out", str(out)])  # fmt: skip
    assert exited.value.code != 0
    message = " ".join(capsys.readouterr().err.split())
    assert "parentpkg 1.0 requires childpkg by a direct reference to a local path" in message
    assert f"childpkg @ {child.as_uri()}" in message
    assert "Pin a version of parentpkg" in message and "Traceback" not in message
    assert not out.exists()
    cache = tmp_path / "cache"
    assert not list(cache.glob("locks/*")) and not list(cache.glob("wheels/*"))
