"""A runtime's exit in Lambda's words (Go's os/exec names, as Lambda reports them)."""

import pytest

from bundler.sandbox.process import OOM_KILLED, exit_reason


@pytest.mark.parametrize(
    ("status", "via_bwrap", "reason"),
    [
        (0, False, "Runtime exited without providing a reason"),
        (3, False, "Runtime exited with error: exit status 3"),
        (-9, False, "Runtime exited with error: signal: killed"),
        (-11, False, "Runtime exited with error: signal: segmentation fault"),
        (-64, False, "Runtime exited with error: signal: signal 64"),
        # bwrap reports a child killed by signal N as exit status 128 + N.
        (137, True, "Runtime exited with error: signal: killed"),
        (137, False, "Runtime exited with error: exit status 137"),
        (129, True, "Runtime exited with error: exit status 129"),  # SIGHUP: not named
    ],
)
def test_exit_reason(status: int, via_bwrap: bool, reason: str) -> None:
    assert exit_reason(status, via_bwrap=via_bwrap) == reason


def test_an_oom_kill_reads_as_a_sigkill() -> None:
    assert exit_reason(-9, via_bwrap=False) == OOM_KILLED
