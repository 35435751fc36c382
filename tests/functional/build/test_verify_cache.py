"""--verify remembers a passed verification by what decides it (issue 10): an unchanged
rebuild does not start the sandbox again; any change to the bundle, the interpreter or
the runtime verifies again; a failure is never remembered."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

from bundler.build import pipeline, verify
from bundler.build.pipeline import BuildOptions
from bundler.bundle import layer
from bundler.bundle.archive import ZipEntry
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError
from bundler.core.target import Target, host_arch
from bundler.sandbox import sandbox as sandbox_module
from tests.runtime.bundles import needs_bwrap

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
HOST = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture
def src(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "hello", tmp_path / "hello")
    return tmp_path / "hello"


def build(src: Path, out: Path, cache: Cache, verifier: object = None) -> pipeline.BuildResult:
    options = BuildOptions(
        src=src, strategy="vendored", target=Target(HOST, host_arch()), out=out, verify=True
    )
    return pipeline.bundle(options, cache=cache, verifier=verifier)  # type: ignore[arg-type]


class Counting:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[Path] = []
        self.fail = fail

    def __call__(self, bundle_dir: Path) -> None:
        self.seen.append(bundle_dir)
        if self.fail:
            raise BundlerError("--verify: the handler failed to initialise")


def test_an_unchanged_rebuild_is_not_verified_again(src: Path, tmp_path: Path) -> None:
    cache, verifier = Cache(tmp_path / "cache"), Counting()
    first = build(src, tmp_path / "out", cache, verifier)
    second = build(src, tmp_path / "out", cache, verifier)
    assert len(verifier.seen) == 1
    assert first.verified and second.verified
    assert second.manifest == first.manifest


def test_a_changed_handler_file_is_verified_again(src: Path, tmp_path: Path) -> None:
    cache, verifier = Cache(tmp_path / "cache"), Counting()
    build(src, tmp_path / "out", cache, verifier)
    (src / "app.py").write_text((src / "app.py").read_text() + "\n# changed\n")
    build(src, tmp_path / "out", cache, verifier)
    assert len(verifier.seen) == 2


def test_a_failed_verification_is_not_remembered(src: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    failing = Counting(fail=True)
    for _ in range(2):
        with pytest.raises(BundlerError, match="failed to initialise"):
            build(src, tmp_path / "out", cache, failing)
    assert len(failing.seen) == 2
    passing = Counting()
    build(src, tmp_path / "out", cache, passing)
    assert len(passing.seen) == 1


def test_the_key_covers_the_interpreter_and_the_runtime(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path / "cache")
    build(src, tmp_path / "out", cache, Counting())
    interp = interpreters.find(HOST)
    assert interp is not None
    key = verify.verification_key(tmp_path / "out", interp)
    assert verify.verification_key(tmp_path / "out", interp) == key
    other_path = dataclasses.replace(interp, path=interp.path.with_name("python-other"))
    other_version = dataclasses.replace(interp, version=interp.version + "1")
    assert verify.verification_key(tmp_path / "out", other_path) != key
    assert verify.verification_key(tmp_path / "out", other_version) != key
    real = layer.runtime_entries

    def changed_runtime() -> list[ZipEntry]:
        return [*real(), ZipEntry("lambundle/_lambundle_runtime/new.py", data=b"")]

    monkeypatch.setattr(verify, "runtime_entries", changed_runtime)
    assert verify.verification_key(tmp_path / "out", interp) != key


def test_a_changed_interpreter_verifies_again(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, verifier = Cache(tmp_path / "cache"), Counting()
    build(src, tmp_path / "out", cache, verifier)
    real = interpreters.find

    def newer(python: str, explicit: Path | None = None) -> interpreters.Interpreter | None:
        found = real(python, explicit)
        return dataclasses.replace(found, version=found.version + "9") if found else None

    monkeypatch.setattr(interpreters, "find", newer)
    build(src, tmp_path / "out", cache, verifier)
    assert len(verifier.seen) == 2


@needs_bwrap[0]
@needs_bwrap[1]
def test_the_sandbox_is_not_started_for_an_unchanged_rebuild(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    cache = Cache(tmp_path / "cache")
    first = build(src, tmp_path / "out", cache)  # the real sandbox verifies
    assert first.verified

    def no_sandbox(self: object) -> None:
        raise AssertionError("the sandbox was started for an unchanged rebuild")

    monkeypatch.setattr(sandbox_module.Sandbox, "open", no_sandbox)
    second = build(src, tmp_path / "out", cache)
    assert second.verified and "verify" in second.timings
    (src / "app.py").write_text((src / "app.py").read_text() + "\n# changed\n")
    with pytest.raises(AssertionError, match="was started"):
        build(src, tmp_path / "out", cache)
