"""`lock -o FILE` never leaves a half-written file: a real process whose writes fail
part way (a file size limit, as a full disk would)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

from tests.functional.cli.processes import lambundle_command


def limit_file_size() -> None:
    # Files the process writes stop at 100 bytes (EFBIG, as ENOSPC would); SIGXFSZ is
    # ignored (below), so the write fails instead of killing the process.
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))


def test_a_lock_whose_write_fails_leaves_no_part_file(tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return event\n")
    output = tmp_path / "out.lock"
    output.write_text("the previous lock\n")
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited through exec
    try:
        proc = subprocess.run(
            [*lambundle_command(), "lock", str(src), "-o", str(output)],
            capture_output=True, text=True, preexec_fn=limit_file_size,
            # No bytecode written either: it would be cut short by the same limit.
            env={**os.environ, "LAMBUNDLE_CACHE_DIR": str(tmp_path / "cache"),
                 "PYTHONDONTWRITEBYTECODE": "1"},
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGXFSZ, previous)
    assert proc.returncode == 2, proc.stderr
    assert f"Cannot write the lock to {output} (File too large)" in proc.stderr
    assert list(tmp_path.glob("*.part")) == []
    assert output.read_text() == "the previous lock\n"
