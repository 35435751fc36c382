"""Real wheels from PyPI for x86_64 and arm64 Lambdas: locks, tags, hashes, installs.

Kept small (requests, pydantic-core, one numpy) and sharing one cache per module so the
suite downloads each wheel once.
"""

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

import bundler.sources.wheels as wheels_module
from bundler.core.cache import Cache
from bundler.core.errors import LockError, WheelError
from bundler.core.interpreters import find
from bundler.core.target import Target
from bundler.sources.lock import Lock
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project
from bundler.sources.wheels import Distribution, install

pytestmark = pytest.mark.network

ELF_MACHINE = {"x86_64": 62, "aarch64": 183}
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache(tmp_path_factory.mktemp("cache"))


def function_dir(root: Path, requirements: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements)
    (root / "app.py").write_text("def handler(event, context):\n    return event\n")
    return root


def lowest_glibc(wheel: str, machine: str) -> tuple[int, int] | None:
    """The lowest glibc among the wheel's manylinux tags for `machine` (None: not linux)."""
    platforms = wheel[:-4].split("-")[-1].split(".")
    found = []
    for plat in platforms:
        if m := re.fullmatch(rf"manylinux_(\d+)_(\d+)_{machine}", plat):
            found.append((int(m.group(1)), int(m.group(2))))
        elif m := re.fullmatch(rf"(manylinux\d+)_{machine}", plat):
            found.append(_LEGACY_GLIBC[m.group(1)])
    return min(found) if found else None


def elf_machines(site: Path) -> set[int]:
    machines = set()
    for so in site.rglob("*.so"):
        header = so.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", so
        machines.add(int.from_bytes(header[18:20], "little"))
    return machines


def lock_and_install(
    tmp_path: Path, cache: Cache, requirements: str, target: Target, resolver: str
) -> tuple[Lock, list[Distribution], Path]:
    src = function_dir(tmp_path / "fn", requirements)
    project = load_project(src, cache=cache)
    lock = lock_project(project, target, resolver=resolver, cache=cache)
    site = tmp_path / "site"
    return lock, install(lock, target, site, cache=cache), site


@pytest.mark.parametrize(
    ("python", "ceiling"),
    [("3.12", (2, 34)), ("3.11", (2, 26))],
)
def test_pydantic_core_for_arm64(
    tmp_path: Path, cache: Cache, python: str, ceiling: tuple[int, int]
) -> None:
    target = Target(python, "arm64")
    lock, dists, site = lock_and_install(tmp_path, cache, "pydantic-core\n", target, "uv")
    core = next(d for d in dists if d.name.replace("_", "-") == "pydantic-core")
    assert f"-cp{python.replace('.', '')}-" in core.wheel
    glibc = lowest_glibc(core.wheel, "aarch64")
    assert glibc is not None, core.wheel
    assert glibc <= ceiling
    assert elf_machines(site) == {ELF_MACHINE["aarch64"]}
    assert (site / "pydantic_core").is_dir()
    assert list(site.glob("pydantic_core-*.dist-info/RECORD"))
    assert {p.name for p in lock.pins} >= {"pydantic-core", "typing-extensions"}


def test_numpy_for_x86_64_with_pip_tools(tmp_path: Path, cache: Cache) -> None:
    target = Target("3.12", "x86_64")
    _, dists, site = lock_and_install(tmp_path, cache, "numpy\n", target, "pip-tools")
    (numpy,) = dists
    glibc = lowest_glibc(numpy.wheel, "x86_64")
    assert glibc is not None, numpy.wheel
    assert glibc <= (2, 34)
    assert elf_machines(site) == {ELF_MACHINE["x86_64"]}
    assert numpy.size > 10_000_000
    try:
        python = find("3.12")
    except Exception:  # no local 3.12: the tag checks above still hold
        return
    out = subprocess.run(
        [str(python.path), "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import numpy; print(numpy.__version__)", str(site)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == numpy.version


def test_requests_for_both_architectures_share_pure_wheels(tmp_path: Path, cache: Cache) -> None:
    seen = {}
    for arch in ("x86_64", "arm64"):
        target = Target("3.12", arch)
        _, dists, site = lock_and_install(tmp_path / arch, cache, "requests\n", target, "uv")
        seen[arch] = {d.name: d.wheel for d in dists}
        assert (site / "requests" / "__init__.py").is_file()
        assert all(w.endswith("-none-any.whl") or lowest_glibc(w, target.machine) for w in
                   seen[arch].values())  # fmt: skip
    assert seen["x86_64"]["requests"] == seen["arm64"]["requests"]


def test_tampered_cached_wheel_is_downloaded_again(tmp_path: Path, cache: Cache) -> None:
    target = Target("3.12", "x86_64")
    lock, _, _ = lock_and_install(tmp_path / "a", cache, "idna\n", target, "uv")
    (cached,) = [p for p in cache.root.glob("wheels/*/idna-*.whl")]
    with zipfile.ZipFile(cached, "a") as zf:
        zf.writestr("idna/backdoor.py", "import os\n")
    messages: list[str] = []
    site = tmp_path / "b"
    install(lock, target, site, cache=cache, report=messages.append)
    assert any("does not match its sha256" in m for m in messages)
    assert not (site / "idna" / "backdoor.py").exists()
    assert (site / "idna" / "__init__.py").is_file()


def test_download_with_a_wrong_hash_is_refused(tmp_path: Path, cache: Cache) -> None:
    target = Target("3.12", "arm64")
    src = function_dir(tmp_path / "fn", "idna\n")
    lock = lock_project(load_project(src, cache=cache), target, cache=cache)
    (pin,) = lock.pins
    forged = Lock.from_text(f"idna=={pin.version} --hash=sha256:{'0' * 64}\n")
    private = Cache(tmp_path / "private")  # nothing cached: the download itself is checked
    with pytest.raises(WheelError, match="does not match the lock's hashes"):
        install(forged, target, tmp_path / "site", cache=private)
    assert not (tmp_path / "site" / "idna").exists()


def test_a_package_without_a_wheel_for_the_target_is_a_clear_error(
    tmp_path: Path, cache: Cache
) -> None:
    target = Target("3.12", "arm64")
    # Windows wheels only, and no sdist (a pure sdist would be built: test_sdist_build.py).
    src = function_dir(tmp_path / "fn", "pywin32\n")
    with pytest.raises(LockError) as err:
        lock_project(load_project(src, cache=cache), target, resolver="uv", cache=cache)
    message = str(err.value)
    assert "no version of pywin32" in message
    assert "python3.12 arm64 (glibc 2.34)" in message
    assert "--docker" in message
    # The same at install time, for a lock made elsewhere (here: by hand).
    hand_made = Lock.from_text("docopt==0.6.2 --hash=sha256:" + "1" * 64 + "\n")
    with pytest.raises(WheelError, match=r"No wheel of docopt==0\.6\.2 fits .*--docker"):
        install(hand_made, target, tmp_path / "site", cache=Cache(tmp_path / "private"))


def test_reinstall_from_cache_needs_no_download(
    tmp_path: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target("3.11", "arm64")
    lock, first, _ = lock_and_install(tmp_path / "a", cache, "pydantic-core\n", target, "uv")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("downloaded although every wheel is cached")

    monkeypatch.setattr(wheels_module, "_download", no_network)
    again = install(lock, target, tmp_path / "b", cache=cache)
    assert again == first
