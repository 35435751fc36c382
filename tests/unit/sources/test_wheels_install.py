"""Unpacking wheels into a site-packages tree, safely; the cache's tamper check."""

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import WheelError
from bundler.core.target import Target
from bundler.sources.lock import Pin
from bundler.sources.wheels import _cached_pick, _pick_key, install_wheel, record_digest


def make_wheel(
    directory: Path,
    files: dict[str, bytes],
    name: str = "demo",
    version: str = "1.0",
    tag: str = "py3-none-any",
    symlinks: tuple[str, ...] = (),
) -> Path:
    """A wheel with `files`, a METADATA, a WHEEL and a RECORD listing them all."""
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    members[f"{dist_info}/METADATA"] = metadata.encode()
    wheel_meta = f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n"
    members[f"{dist_info}/WHEEL"] = wheel_meta.encode()
    record = "".join(f"{n},{record_digest(d)},{len(d)}\n" for n, d in members.items())
    record += f"{dist_info}/RECORD,,\n"
    members[f"{dist_info}/RECORD"] = record.encode()
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            info = zipfile.ZipInfo(member)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            if member.endswith(".sh"):
                info.external_attr = (stat.S_IFREG | 0o755) << 16
            zf.writestr(info, data)
        for link in symlinks:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_installs_a_site_packages_tree(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        {
            "demo/__init__.py": b"VALUE = 1\n",
            "demo/tool.sh": b"#!/bin/sh\n",
            "demo-1.0.data/purelib/demo_extra.py": b"X = 2\n",
            "demo-1.0.data/platlib/demo_native/__init__.py": b"",
            "demo-1.0.data/scripts/demo-cli": b"#!python\n",
            "demo-1.0.data/data/share/demo.txt": b"data",
        },
    )
    site = tmp_path / "site"
    dist = install_wheel(wheel, site)
    assert dist.name == "demo"
    assert dist.version == "1.0"
    assert dist.wheel == wheel.name
    assert (site / "demo" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (site / "demo_extra.py").read_text() == "X = 2\n"
    assert (site / "demo_native" / "__init__.py").exists()
    assert not (site / "demo-1.0.data").exists()
    assert not (site / "share").exists()
    assert (site / "demo" / "tool.sh").stat().st_mode & 0o777 == 0o755
    assert (site / "demo" / "__init__.py").stat().st_mode & 0o777 == 0o644
    record = (site / "demo-1.0.dist-info" / "RECORD").read_text()
    assert "demo_extra.py," in record
    assert "demo_native/__init__.py," in record
    assert ".data/" not in record
    installed = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert dist.size == installed


def test_record_untouched_without_data_dir(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""})
    with zipfile.ZipFile(wheel) as zf:
        original = zf.read("demo-1.0.dist-info/RECORD")
    install_wheel(wheel, tmp_path / "site")
    assert (tmp_path / "site" / "demo-1.0.dist-info" / "RECORD").read_bytes() == original


@pytest.mark.parametrize(
    ("member", "reason"),
    [("/etc/cron.d/evil", "absolute"), ("demo/../../evil.py", "escapes"), ("..\\evil", "")],
)
def test_refuses_escaping_members_before_writing(tmp_path: Path, member: str, reason: str) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"", member: b"x"})
    site = tmp_path / "site"
    with pytest.raises(WheelError, match="Refusing wheel demo-1.0-py3-none-any.whl") as err:
        install_wheel(wheel, site)
    assert reason in str(err.value)
    assert not site.exists()
    assert not (tmp_path / "evil.py").exists()


def test_refuses_symlinks(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""}, symlinks=("demo/passwd",))
    with pytest.raises(WheelError, match="symlink"):
        install_wheel(wheel, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_refuses_a_corrupt_wheel(tmp_path: Path) -> None:
    bogus = tmp_path / "demo-1.0-py3-none-any.whl"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(WheelError, match="not a readable wheel"):
        install_wheel(bogus, tmp_path / "site")
    with pytest.raises(WheelError, match="not a valid wheel file name"):
        install_wheel(tmp_path / "demo.whl", tmp_path / "site")


def _cache_wheel(cache: Cache, wheel: Path, pin_name: str, target: Target) -> tuple[Pin, str]:
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    cache.put_dir("wheels", sha, lambda tmp: (tmp / wheel.name).write_bytes(wheel.read_bytes()))
    pin = Pin(pin_name, "1.0", (f"sha256:{sha}",))
    pick = json.dumps({"sha256": sha, "filename": wheel.name})
    cache.put_dir("picks", _pick_key(pin, target), lambda tmp: (tmp / "pick.json").write_text(pick))
    return pin, sha


def test_cached_wheel_is_reused_when_intact(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    target = Target("3.12", "x86_64")
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""})
    pin, sha = _cache_wheel(cache, wheel, "demo", target)
    messages: list[str] = []
    found = _cached_pick(pin, target, cache, messages.append)
    assert found == tmp_path / "cache" / "wheels" / sha / wheel.name
    assert messages == []
    # A lock whose hashes do not include the cached file does not use it.
    other = Pin("demo", "1.0", ("sha256:" + "0" * 64,))
    assert _cached_pick(other, target, cache, messages.append) is None


def test_tampered_cached_wheel_is_reported_and_dropped(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    target = Target("3.12", "x86_64")
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""})
    pin, sha = _cache_wheel(cache, wheel, "demo", target)
    cached = tmp_path / "cache" / "wheels" / sha / wheel.name
    with zipfile.ZipFile(cached, "a") as zf:
        zf.writestr("demo/backdoor.py", "import os\n")
    messages: list[str] = []
    assert _cached_pick(pin, target, cache, messages.append) is None
    assert len(messages) == 1
    assert "does not match its sha256" in messages[0]
    assert wheel.name in messages[0]
    assert cache.dir("wheels", sha) is None


@pytest.mark.parametrize(
    "files",
    [
        {"demo/a": b"x", "demo/a/": b""},
        {"demo/a": b"x", "demo/a/b.py": b""},
        {"demo/a/b.py": b"", "demo/a": b"x"},
        {"demo/__init__.py": b"", "demo-1.0.data/purelib/demo": b"x"},
    ],
)
def test_a_path_that_is_both_a_file_and_a_directory_is_refused(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    wheel = make_wheel(tmp_path, files)
    with pytest.raises(WheelError, match=r"'demo(/a)?' is both a file and a directory in it"):
        install_wheel(wheel, tmp_path / "site")
    assert not (tmp_path / "site").exists()  # checked before anything is written


def test_two_wheels_with_a_file_where_the_other_has_a_directory(tmp_path: Path) -> None:
    from bundler.sources.wheels import install_wheels

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_wheel(tmp_path / "a", {"shared/x": b"file"}, name="aaa")
    second = make_wheel(tmp_path / "b", {"shared/x/y.py": b""}, name="bbb")
    for wheels in ([first, second], [second, first]):
        site = tmp_path / f"site-{wheels[0].name}"
        with pytest.raises(WheelError, match=r"installs shared/x where an earlier wheel"):
            install_wheels(wheels, site)


def test_overlapping_wheels_never_write_into_the_cache(tmp_path: Path) -> None:
    # Two locked wheels ship the same namespace `__init__.py`, and the function's own
    # wheel ships it again: the installed tree is hard links into each wheel's cache
    # entry, and every later file must replace the link, not write through it.
    from bundler.sources.lock import Lock
    from bundler.sources.wheels import _changed_file, install

    cache = Cache(tmp_path / "cache")
    target = Target("3.12", "x86_64")
    wheels = {}
    for name, body in (("nsa", b"A = 1\n"), ("nsb", b"B = 2\n"), ("own", b"OWN = 3\n")):
        (tmp_path / name).mkdir()
        wheels[name] = make_wheel(
            tmp_path / name, {"ns/__init__.py": body, f"ns/{name}.py": b""}, name=name
        )
    pins = [_cache_wheel(cache, wheels[n], n, target)[0] for n in ("nsa", "nsb")]
    lock = Lock(text="", pins=tuple(pins))

    def cached_trees() -> dict[str, Path]:
        return {p.parent.parent.parent.name: p.parent.parent for p in
                (tmp_path / "cache" / "installed").glob("*/site/*.dist-info/METADATA")}  # fmt: skip

    for round in range(2):  # the second install reuses the cached trees
        site = tmp_path / f"site{round}"
        install(lock, target, site, cache=cache, local_wheels=[wheels["own"]])
        assert (site / "ns" / "__init__.py").read_bytes() == b"OWN = 3\n"
        assert sorted(p.name for p in (site / "ns").iterdir()) == [
            "__init__.py", "nsa.py", "nsb.py", "own.py"
        ]  # fmt: skip
        trees = cached_trees()
        assert len(trees) == 2
        for name in ("nsa", "nsb"):
            tree = next(t for t in trees.values() if (t / "ns" / f"{name}.py").exists())
            assert _changed_file(wheels[name], tree) is None
