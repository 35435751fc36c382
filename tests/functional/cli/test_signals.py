"""SIGTERM and SIGHUP (a CI cancellation, a closed terminal) clean up as Ctrl-C does: real
`lambundle` processes, signalled once a step of theirs is seen under way, leave nothing
behind, keep the previous output and exit as a shell expects (128 + the signal)."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.functional.cli.processes import poll, start
from tests.runtime.bundles import needs_python

# provided.al2023 on the local Python 3.12 (no AWS client to fetch): the sandbox runs it.
TARGET = ["--runtime", "provided.al2023", "--python", "3.12"]
SLEEPING = "import time\n\ndef handler(event, context):\n    time.sleep(600)\n"
SIGNALS = [signal.SIGTERM, signal.SIGHUP]

pytestmark = needs_python("3.12")


def function_dir(tmp_path: Path) -> tuple[Path, str]:
    """A function whose handler sleeps, with a file that names its sandbox's layout."""
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text(SLEEPING)
    marker = f"marker-{uuid.uuid4().hex}.txt"
    (src / marker).write_text("")
    return src, marker


def layouts(marker: str) -> list[str]:
    """The sandbox layouts holding this test's function, wherever the sandbox put them."""
    found = []
    for root in ("/dev/shm", tempfile.gettempdir()):
        found += glob.glob(f"{root}/lambundle-sandbox-*/task/{marker}")
    return found


def sandboxed_processes(marker: str) -> list[int]:
    """Processes whose environment carries the marker (the function's, under --env)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass  # gone, or not ours to read
    return found


def bundle(src: Path, out: Path, cache: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["bundle", str(src), "--strategy", "vendored", "--out", str(out), *TARGET, *extra]
    return start(args, cache)


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def leftovers(out: Path, cache: Path) -> list[str]:
    """What a build leaves besides its output: temporary and old directories and lock
    files beside it, partial entries and lock files in the cache."""
    beside = [p.name for p in out.parent.iterdir() if p != out]
    partial = [str(p.relative_to(cache)) for p in cache.glob("*/.*")]
    return sorted(beside + partial)


def stop(proc: subprocess.Popen[str], signum: int) -> str:
    """Send `signum` to lambundle alone (`kill PID`) and wait for it to end."""
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    return err


def verifying_a_rebuild(
    tmp_path: Path,
) -> tuple[Path, Path, Path, str, dict[str, bytes], subprocess.Popen[str]]:
    """A bundle built, then a rebuild of a changed function caught while its verify's
    sandbox runs (the handler never returns): (src, out, cache, marker, the first
    bundle's files, the rebuild's process)."""
    src, marker = function_dir(tmp_path)
    out, cache = tmp_path / "out" / "fn", tmp_path / "cache"
    first = bundle(src, out, cache, "--no-verify")
    assert first.wait(300) == 0, first.communicate()[1]
    before = snapshot(out)
    (src / "app.py").write_text(SLEEPING + "# changed\n")
    proc = bundle(src, out, cache, "--verify")
    poll(lambda: layouts(marker) or None, proc, "the verify's sandbox")
    return src, out, cache, marker, before, proc


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_verifying_leaves_the_previous_bundle(tmp_path: Path, signum: int) -> None:
    _, out, cache, marker, before, proc = verifying_a_rebuild(tmp_path)
    assert list(out.parent.glob(".fn.tmp-*")), "the new bundle waits beside the output"
    stop(proc, signum)
    assert snapshot(out) == before
    assert leftovers(out, cache) == []
    assert layouts(marker) == []


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_writing_zips_leaves_no_partial_cache_entry(
    tmp_path: Path, signum: int
) -> None:
    src, _ = function_dir(tmp_path)
    out, cache = tmp_path / "out" / "fn", tmp_path / "cache"
    first = bundle(src, out, cache, "--no-verify")
    assert first.wait(300) == 0, first.communicate()[1]
    before = snapshot(out)
    # 64 MB that do not compress: the new function.zip takes a while to write.
    (src / "blob.bin").write_bytes(os.urandom(64_000_000))
    proc = bundle(src, out, cache, "--no-verify")
    poll(lambda: list(cache.glob("zip/.*")) or None, proc, "a zip being written to the cache")
    stop(proc, signum)
    assert snapshot(out) == before
    assert leftovers(out, cache) == []


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_invoking_removes_the_sandbox(tmp_path: Path, signum: int) -> None:
    src, marker = function_dir(tmp_path)
    out, cache = tmp_path / "out" / "fn", tmp_path / "cache"
    built = bundle(src, out, cache, "--no-verify")
    assert built.wait(300) == 0, built.communicate()[1]
    proc = start(["invoke", str(out), "--timeout", "600", "--env", f"MARKER={marker}"], cache)
    poll(lambda: sandboxed_processes(marker) or None, proc, "the function running")
    stop(proc, signum)
    assert layouts(marker) == []
    assert sandboxed_processes(marker) == []


def test_a_build_killed_outright_is_cleaned_up_by_the_next(tmp_path: Path) -> None:
    # SIGKILL (the OOM killer, a CI runner's hard timeout) cannot be caught: what the
    # build had under way stays, and the next lambundle removes it.
    src, out, cache, marker, before, proc = verifying_a_rebuild(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    assert list(out.parent.glob(".fn.tmp-*")) and layouts(marker), "nothing was cleaned up"
    assert snapshot(out) == before
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    again = bundle(src, out, cache)  # default flags: it verifies, in a sandbox of its own
    assert again.wait(300) == 0, again.communicate()[1]
    assert leftovers(out, cache) == []
    assert layouts(marker) == []
