"""`lambundle`'s entry point: what a user sees when something goes wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.bundle import inspect as inspecting
from bundler.cli import main


def fail_with(exc: BaseException) -> object:
    def inspect(*args: object, **kwargs: object) -> None:
        raise exc

    return inspect


def test_an_unexpected_exception_is_one_line_that_asks_for_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(inspecting, "inspect", fail_with(RuntimeError("boom\nmore detail")))
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(tmp_path)])
    assert exit_info.value.code == 70  # sysexits.h EX_SOFTWARE: not the user's input
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("Error: unexpected RuntimeError: boom.")
    assert "bug in lambundle" in err
    assert "run the command again with --debug and report the traceback" in err


def test_debug_shows_the_traceback_of_an_unexpected_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspecting, "inspect", fail_with(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "inspect", str(tmp_path)])


def test_a_bundler_error_stays_one_message_with_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "not a bundle directory" in err
    assert "bug" not in err


def test_ctrl_c_exits_as_a_shell_expects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(inspecting, "inspect", fail_with(KeyboardInterrupt()))
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(tmp_path)])
    assert exit_info.value.code == 130
    assert "Aborted." in capsys.readouterr().err
