"""Pure-Python sdists built into wheels during locking: which release, how the lock records
it, what is accepted (pure only), and how the lock installs; with fakes, no network."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from bundler.core.cache import Cache
from bundler.core.errors import WheelError
from bundler.core.target import Target
from bundler.sources import resolver as resolvers
from bundler.sources import sdist_build
from bundler.sources.lock import Lock, Pin, built_line
from bundler.sources.wheels import install
from tests.unit.sources.fakes import FakeIndex
from tests.unit.sources.test_wheels_install import make_wheel

SDIST_SHA = "5" * 64
UV = resolvers.Resolver("uv", ["uv"])


def test_the_newest_allowed_release_without_a_wheel_is_chosen() -> None:
    index = FakeIndex()
    index.add("pkg", filename="pkg-0.9.tar.gz", sha256="0" * 64)
    index.add("pkg", filename="pkg-1.0.zip", sha256="1" * 64)
    index.add("pkg", filename="pkg-1.0.tar.gz", sha256="2" * 64)  # preferred to the zip
    index.add("pkg", filename="pkg-1.1-cp312-cp312-win_amd64.whl", sha256="3" * 64)
    index.add("pkg", filename="pkg-1.1.tar.gz", sha256="4" * 64)
    index.add("pkg", filename="pkg-2.0-py3-none-any.whl", sha256="6" * 64)  # fits: not built
    index.add("pkg", filename="pkg-2.0.tar.gz", sha256="7" * 64)
    chosen = sdist_build._sdist_to_build("pkg", ("idna", "pkg<3"), Target("3.12"), index)
    assert chosen is not None and (str(chosen[0]), chosen[1].filename) == ("1.1", "pkg-1.1.tar.gz")
    chosen = sdist_build._sdist_to_build("pkg", ("pkg<1.1",), Target("3.12"), index)
    assert chosen is not None and chosen[1].sha256 == "2" * 64
    assert sdist_build._sdist_to_build("pkg", ("pkg<0.5",), Target("3.12"), index) is None
    assert sdist_build._sdist_to_build("nothing", ("nothing",), Target("3.12"), index) is None



def test_a_lock_file_s_pin_is_built_from_the_sdist_its_hashes_name() -> None:
    """A project's own lock file decided the version: the sdist of that version is built
    only when none of the pin's wheels fits the target, and only the one the pin hashes."""
    index = FakeIndex()
    index.add("pure", filename="pure-1.0.tar.gz", sha256="1" * 64)
    index.add("pure", filename="pure-2.0.tar.gz", sha256="2" * 64)
    index.add("win", filename="win-1.0-cp312-cp312-win_amd64.whl", sha256="3" * 64)
    index.add("win", filename="win-1.0.tar.gz", sha256="4" * 64)
    index.add("fits", filename="fits-1.0-py3-none-any.whl", sha256="5" * 64)
    index.add("fits", filename="fits-1.0.tar.gz", sha256="6" * 64)
    target = Target("3.12")

    def locked(name: str, version: str, *shas: str) -> str | None:
        pin = Pin(name, version, tuple(f"sha256:{sha * 64}" for sha in shas))
        found = sdist_build._locked_sdist(pin, target, index)
        return found.filename if found is not None else None

    assert locked("pure", "1.0", "1") == "pure-1.0.tar.gz"
    assert locked("pure", "1.0", "2") is None  # the hash is another release's
    assert locked("win", "1.0", "3", "4") == "win-1.0.tar.gz"  # no wheel for Linux
    assert locked("fits", "1.0", "5", "6") is None  # a wheel fits: nothing to build
    assert locked("missing", "1.0", "7") is None



def test_which_lock_file_pins_to_build_is_asked_once_then_remembered(tmp_path: Path) -> None:
    index = FakeIndex()
    index.add("pure", filename="pure-1.0.tar.gz", sha256="1" * 64)
    index.add("fits", filename="fits-1.0-py3-none-any.whl", sha256="5" * 64)
    pure, fits = ("pure", "1"), ("fits", "5")
    pins = [Pin(name, "1.0", (f"sha256:{sha * 64}",)) for name, sha in (pure, fits)]
    cache, target = Cache(tmp_path / "cache"), Target("3.12")
    down = FakeIndex(unavailable=True)
    assert sdist_build._locked_sdists(pins, target, cache, down) == {}
    assert sdist_build._locked_sdists(pins, target, cache, down) == {}  # not remembered
    assert len(down.asked) == 4
    expected = {pins[0]: ("pure-1.0.tar.gz", "1" * 64)}
    assert sdist_build._locked_sdists(pins, target, cache, index) == expected
    assert sorted(index.asked) == ["fits", "pure"]
    assert sdist_build._locked_sdists(pins, target, cache, index) == expected
    assert len(index.asked) == 2  # an unchanged lock asks the index nothing more
    assert sdist_build._locked_sdists(pins, Target("3.12", "arm64"), cache, index) == expected
    assert len(index.asked) == 4  # another target asks again


BODY = """\
docopt==0.6.2 \\
    --hash=sha256:aaaa
    # via -r requirements.in
idna==3.7 \\
    --hash=sha256:bbbb
"""


def test_the_lock_pins_the_sdist_and_says_it_is_built() -> None:
    pin = Pin("docopt", "0.6.2", (f"sha256:{SDIST_SHA}",))
    text = sdist_build._recorded(BODY, {"docopt": (pin, "docopt-0.6.2.tar.gz", Path("w"))})
    lock = Lock.from_text(text)
    assert text.startswith(built_line("docopt", "0.6.2", "docopt-0.6.2.tar.gz", SDIST_SHA))
    assert {p.name: p.hashes for p in lock.pins} == {
        "docopt": (f"sha256:{SDIST_SHA}",),
        "idna": ("sha256:bbbb",),
    }
    assert lock.built_from_sdists == {"docopt": ("docopt-0.6.2.tar.gz", SDIST_SHA)}
    other = Pin("docopt", "0.6.1", (f"sha256:{SDIST_SHA}",))
    with pytest.raises(sdist_build.SdistBuildError, match="pinned docopt to 0.6.2, not the 0.6.1"):
        sdist_build._recorded(BODY, {"docopt": (other, "docopt-0.6.1.tar.gz", Path("w"))})


@pytest.fixture
def index() -> FakeIndex:
    index = FakeIndex()
    index.add("docopt", filename="docopt-0.6.2.tar.gz", sha256=SDIST_SHA)
    return index


def no_wheel(package: str) -> resolvers.NoWheelForTarget:
    return resolvers.NoWheelForTarget(f"no wheel of {package} (--docker)", package)


def test_resolving_builds_what_has_no_wheel_then_offers_it(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"docopt.py": b""}, name="docopt", version="0.6.2",
                       tag="py2.py3-none-any")  # fmt: skip
    calls: list[Path | None] = []

    def resolve(*args: object, find_links: Path | None = None, **kw: object) -> str:
        calls.append(find_links)
        if find_links is None:
            raise no_wheel("docopt")
        assert (find_links / wheel.name).is_file()
        return BODY

    built: list[tuple[str, str]] = []

    def wheel_from_sdist(pin: Pin, sha: str, *args: object, **kw: object) -> Path:
        built.append((f"{pin.name}=={pin.version}", sha))
        return wheel

    monkeypatch.setattr(resolvers, "resolve", resolve)
    monkeypatch.setattr(sdist_build, "wheel_from_sdist", wheel_from_sdist)
    said: list[str] = []
    cache = Cache(tmp_path / "c")
    text = sdist_build.resolve(
        "fn", ("docopt",), Target("3.12"), UV, cache=cache, report=said.append, index=index
    )
    assert built == [("docopt==0.6.2", SDIST_SHA)]
    assert calls[0] is None and calls[1] is not None
    assert Lock.from_text(text).built_from_sdists == {"docopt": ("docopt-0.6.2.tar.gz", SDIST_SHA)}
    assert any("docopt-0.6.2.tar.gz is built into a wheel (pure Python only)" in m for m in said)


def test_no_sdist_to_build_keeps_the_resolvers_advice(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    def resolve(*args: object, **kw: object) -> str:
        raise no_wheel("numpy")

    monkeypatch.setattr(resolvers, "resolve", resolve)
    with pytest.raises(resolvers.NoWheelForTarget, match="--docker"):
        sdist_build.resolve("fn", ("numpy",), Target("3.12"), UV, cache=Cache(tmp_path / "c"),
                            report=lambda _: None, index=index)  # fmt: skip


def test_a_built_release_the_resolution_cannot_use_is_explained(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"docopt.py": b""}, name="docopt", version="0.6.2")

    def resolve(*args: object, **kw: object) -> str:
        raise no_wheel("docopt")

    monkeypatch.setattr(resolvers, "resolve", resolve)
    monkeypatch.setattr(sdist_build, "wheel_from_sdist", lambda *a, **k: wheel)
    with pytest.raises(sdist_build.SdistBuildError, match="built docopt==0.6.2 from its sdist.*"
                       "needs another version: pin docopt"):  # fmt: skip
        sdist_build.resolve("fn", ("docopt",), Target("3.12"), UV, cache=Cache(tmp_path / "c"),
                            report=lambda _: None, index=index)  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "files", "message"),
    [
        ("cp312-cp312-linux_x86_64", {"demo/fast.py": b""}, "a native wheel \\(tagged cp312"),
        ("py3-none-any", {"demo/_speed.cpython-312-x86_64-linux-gnu.so": b""}, "with demo/_speed"),
        ("py3-none-any", {"demo/libx.so.1": b""}, "with demo/libx.so.1 inside"),
    ],
)
def test_only_a_pure_wheel_is_accepted(
    tmp_path: Path, tag: str, files: dict[str, bytes], message: str
) -> None:
    wheel = make_wheel(tmp_path, files, tag=tag)
    with pytest.raises(sdist_build.SdistBuildError, match=message) as err:
        sdist_build._check_pure(wheel, Pin("demo", "1.0", ()), Target("3.12"))
    assert "--docker" in str(err.value)


def test_a_wheel_of_another_project_or_python_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""}, tag="py3-none-any")
    sdist_build._check_pure(wheel, Pin("demo", "1.0", ()), Target("3.12"))  # accepted
    with pytest.raises(sdist_build.SdistBuildError, match="another project or version"):
        sdist_build._check_pure(wheel, Pin("demo", "2.0", ()), Target("3.12"))
    py2 = make_wheel(tmp_path, {"demo/__init__.py": b""}, tag="py2-none-any")
    with pytest.raises(sdist_build.SdistBuildError, match="does not fit"):
        sdist_build._check_pure(py2, Pin("demo", "1.0", ()), Target("3.12"))


def tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            tf.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([member("p-1.0/setup.py"), member("../evil")], "not a safe, readable sdist"),
        ([member("p-1.0/setup.py"), member("/etc/x")], "not a safe, readable sdist"),
        ([member("p-1.0/l", tarfile.SYMTYPE, "/etc/passwd")], "is a link or device"),
        ([member("p-1.0/setup.py"), member("q-1.0/setup.py")], "one top-level directory"),
    ],
)
def test_an_unsafe_sdist_is_not_unpacked(
    tmp_path: Path, members: list[tarfile.TarInfo], message: str
) -> None:
    sdist = tar(tmp_path / "p-1.0.tar.gz", members)
    with pytest.raises(sdist_build.SdistBuildError, match=message):
        sdist_build._unpack(sdist, tmp_path / "out")
    assert not (tmp_path / "evil").exists()


def test_installing_a_lock_takes_the_built_wheel_not_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"docopt.py": b"__version__ = '0.6.2'\n"}, name="docopt",
                       version="0.6.2", tag="py2.py3-none-any")  # fmt: skip
    text = built_line("docopt", "0.6.2", "docopt-0.6.2.tar.gz", SDIST_SHA) + (
        f"docopt==0.6.2 --hash=sha256:{SDIST_SHA}\n"
    )
    asked: list[str] = []
    monkeypatch.setattr(sdist_build, "wheel_from_sdist",
                        lambda pin, sha, *a, **k: asked.append(sha) or wheel)  # fmt: skip
    dists = install(Lock.from_text(text), Target("3.12"), tmp_path / "site",
                    cache=Cache(tmp_path / "c"))  # fmt: skip
    assert asked == [SDIST_SHA] and [d.name for d in dists] == ["docopt"]
    assert (tmp_path / "site" / "docopt.py").is_file()
    wrong = text.replace(f"--hash=sha256:{SDIST_SHA}", "--hash=sha256:" + "9" * 64)
    with pytest.raises(WheelError, match="says docopt is built from docopt-0.6.2.tar.gz"):
        install(Lock.from_text(wrong), Target("3.12"), tmp_path / "site2",
                cache=Cache(tmp_path / "c"))  # fmt: skip
