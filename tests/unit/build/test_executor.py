"""The executor: atomic output, limits before and after writing, verify, Ctrl-C."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import strategies
from bundler.build import executor
from bundler.build.bytecode import Bytecode
from bundler.bundle import limits
from bundler.bundle.archive import ZipEntry
from bundler.bundle.plan import PlanInputs
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, LimitError, UsageError
from bundler.core.target import Target

NONE = Bytecode("none", reason="test")


def plan(body: bytes = b"def handler(e, c):\n    return 1\n") -> strategies.Plan:
    return strategies.get("vendored").plan(
        PlanInputs(
            target=Target(),
            handler="app.handler",
            code=(ZipEntry("app.py", data=body),),
            runtime=(ZipEntry("bootstrap", data=b"#!/bin/sh\n", executable=True),),
        )
    )


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}"))


def test_execute_writes_archives_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = executor.execute(plan(), out, cache=Cache(tmp_path / "c"), bytecode=NONE)
    assert sorted(p.name for p in out.iterdir()) == [
        "bundle.json",
        "function.zip",
        "layer-1-runtime.zip",
    ]
    raw = json.loads((out / "bundle.json").read_text())
    assert raw["strategy"] == "vendored"
    assert raw["function"]["sha256"] == result.function.sha256
    assert raw["bytecode"] == {"mode": "none", "reason": "test"}
    assert leftovers(out) == []


def test_a_rebuild_replaces_the_previous_bundle(tmp_path: Path) -> None:
    out, cache = tmp_path / "out", Cache(tmp_path / "c")
    first = executor.execute(plan(), out, cache=cache, bytecode=NONE)
    second = executor.execute(plan(b"changed = 1\n"), out, cache=cache, bytecode=NONE)
    assert first.function.sha256 != second.function.sha256
    assert json.loads((out / "bundle.json").read_text())["function"]["sha256"] == (
        second.function.sha256
    )
    assert leftovers(out) == []


def test_an_interrupted_build_leaves_the_previous_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", Cache(tmp_path / "c")
    executor.execute(plan(), out, cache=cache, bytecode=NONE)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(path: Path, entries: object, store: object = None) -> None:
        path.write_bytes(b"half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(executor, "write_zip", interrupted)
    with pytest.raises(KeyboardInterrupt):
        executor.execute(plan(b"new = 1\n"), out, cache=cache, bytecode=NONE)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(out) == []


def test_a_failed_verify_leaves_the_previous_bundle(tmp_path: Path) -> None:
    out, cache = tmp_path / "out", Cache(tmp_path / "c")
    executor.execute(plan(), out, cache=cache, bytecode=NONE)
    before = (out / "bundle.json").read_bytes()
    seen: list[Path] = []

    def verifier(bundle_dir: Path) -> None:
        seen.append(bundle_dir)
        assert (bundle_dir / "bundle.json").is_file()
        raise BundlerError("--verify: Runtime.ImportModuleError")

    with pytest.raises(BundlerError, match="ImportModuleError"):
        executor.execute(plan(b"import nope\n"), out, cache=cache, bytecode=NONE, verifier=verifier)
    assert seen and seen[0] != out
    assert (out / "bundle.json").read_bytes() == before
    assert leftovers(out) == []


def test_a_zipped_function_over_the_direct_upload_limit_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lambda takes it through S3; the pipeline warns (tests/functional/build).
    monkeypatch.setattr(limits, "MAX_ZIPPED", 10)
    result = executor.execute(
        plan(), tmp_path / "out", cache=Cache(tmp_path / "c"), bytecode=NONE
    )
    assert result.function.size > 10
    assert (tmp_path / "out" / "function.zip").stat().st_size == result.function.size


def test_the_unzipped_size_is_checked_before_the_output_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_UNZIPPED", 10)
    with pytest.raises(LimitError, match="unzipped function"):
        executor.execute(plan(), tmp_path / "out", cache=Cache(tmp_path / "c"), bytecode=NONE)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path / "out") == []


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="is a file"):
        executor.check_out(tmp_path / "f")
    with pytest.raises(UsageError, match="not writable"):
        executor.check_out(tmp_path / "f" / "sub")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_out_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="not writable"):
            executor.check_out(ro / "out")
    finally:
        ro.chmod(0o700)


def test_a_directory_that_is_not_a_bundle_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="refusing to replace"):
        executor.check_out(tmp_path / "mine")
    executor.check_out(tmp_path / "new" / "dir")  # missing dirs are fine


def test_cached_members_keep_deflated_members_in_the_cache(tmp_path: Path) -> None:
    members = executor.CachedMembers(Cache(tmp_path / "c"))
    assert members.get("k1") is None
    members.put("k1", b"deflated")
    assert members.get("k1") == b"deflated"
    members.put("k1", b"again")  # a damaged member is replaced
    assert members.get("k1") == b"again"
    assert sorted(p.name for p in (tmp_path / "c" / "deflated").iterdir()) == ["k1"]


def test_a_build_killed_between_its_renames_gets_its_previous_output_back(
    tmp_path: Path,
) -> None:
    # SIGKILL after `out` was moved aside and before the new one took its place: the next
    # build puts the previous output back, so a failure of that build still leaves it.
    out = tmp_path / "out"
    executor.execute(plan(), out, cache=Cache(tmp_path / "c"), bytecode=NONE)
    before = sorted(p.name for p in out.iterdir())
    out.rename(tmp_path / ".out.old-k1ll3d")
    (tmp_path / ".out.tmp-k1ll3d").mkdir()  # the new output, never moved in
    said: list[str] = []
    with pytest.raises(RuntimeError), executor.replacing(out, "the bundle", said.append):
        raise RuntimeError("this build fails too")
    assert sorted(p.name for p in out.iterdir()) == before
    assert leftovers(out) == []
    assert any("put back" in m for m in said), said


def test_what_a_killed_build_left_beside_the_output_goes_with_the_next(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    cache = Cache(tmp_path / "c")
    executor.execute(plan(), out, cache=cache, bytecode=NONE)
    for name in (".out.tmp-a", ".out.old-b", ".out.del-c"):  # the output in place
        (tmp_path / name / "sub").mkdir(parents=True)
    (tmp_path / ".other.tmp-d").mkdir()  # another output's: not this build's business
    executor.execute(plan(), out, cache=cache, bytecode=NONE)
    assert leftovers(out) == []
    assert (tmp_path / ".other.tmp-d").is_dir()
    assert (out / "bundle.json").is_file()


def test_another_outputs_temporary_directories_are_not_this_ones(tmp_path: Path) -> None:
    # An output whose name starts like this one's leftovers: its own are left alone.
    out = tmp_path / "out"
    cache = Cache(tmp_path / "c")
    theirs = tmp_path / ".out.tmp-x.tmp-1234abcd"  # the temporary directory of "out.tmp-x"
    theirs.mkdir()
    executor.execute(plan(), out, cache=cache, bytecode=NONE)
    assert theirs.is_dir()


def test_a_planted_link_is_never_put_back_as_the_output(tmp_path: Path) -> None:
    # No output, and a link named like a killed build's previous output: only a directory
    # tempfile made there is put back, never a link to somewhere else.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not a bundle")
    (tmp_path / ".out.old-abcd1234").symlink_to(elsewhere)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), executor.replacing(out, "the bundle"):
        raise RuntimeError("this build fails")
    assert not out.exists()
    assert (elsewhere / "keep.txt").read_text() == "not a bundle"
