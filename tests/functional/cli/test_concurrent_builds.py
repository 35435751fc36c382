"""Two builds into one `--out` at once, as real processes: they take turns, both succeed,
and nothing is left beside the output but the output."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

from tests.functional.cli.processes import read_until, start

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def bundle_args(src: Path, out: Path) -> list[str]:
    return ["bundle", str(src), "--strategy", "vendored", "--out", str(out), "--no-verify"]


def beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


def test_a_second_build_of_one_output_waits_for_the_first(tmp_path: Path) -> None:
    src = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", src)
    out = tmp_path / "out" / "hello"
    out.parent.mkdir()
    # Another build holds the output's lock, `.<name>.lock` beside it, as a running
    # `lambundle bundle` does.
    lock = out.parent / ".hello.lock"
    held = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        proc = start(bundle_args(src, out), tmp_path / "cache")
        assert proc.stderr is not None
        said = read_until(proc.stderr, "waiting for another lambundle")
        assert f"waiting for another lambundle to finish writing {out}" in said, said
        assert not out.exists()  # it waits before it writes anything
    finally:
        os.unlink(lock)  # as the holder does when it is done
        os.close(held)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert json.loads((out / "bundle.json").read_text())["strategy"] == "vendored"
    assert beside(out) == ["hello"]


def test_two_builds_into_one_output_at_once_both_succeed(tmp_path: Path) -> None:
    src = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", src)
    out = tmp_path / "out" / "hello"
    for round_ in range(6):
        # A changed source each round: both builds write zips, not only copy cached ones.
        (src / "app.py").write_text((EXAMPLES / "hello/app.py").read_text() + f"# {round_}\n")
        procs = [
            start(bundle_args(src, out), tmp_path / "cache", cwd=tmp_path) for _ in range(2)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
        assert beside(out) == ["hello"], f"round {round_}"
        assert (out / "bundle.json").is_file()
