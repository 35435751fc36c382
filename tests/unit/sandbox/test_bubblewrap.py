"""Bubblewrap's argv with Lambda's mounts, and what it says when it cannot exec."""

from pathlib import Path

from bundler.core.interpreters import Interpreter
from bundler.sandbox.bubblewrap import command, exec_failure
from bundler.sandbox.layout import Layout


def test_lambdas_mounts_and_nothing_of_the_callers_environment(tmp_path):
    layout = Layout(
        tmp_path, owns_work=False, isolated=True,
        interpreter=Interpreter(Path("/py/bin/python3.12"), "3.12.1", Path("/py")),
        runtime_dir=tmp_path / "packages", extract_s=0.0,
    )
    argv = command(layout, {"A": "1"}, "/var/runtime/bootstrap")
    pairs = list(zip(argv, argv[1:], argv[2:], strict=False))
    assert ("--ro-bind", str(tmp_path / "opt"), "/opt") in pairs
    assert ("--ro-bind", str(tmp_path / "task"), "/var/task") in pairs
    assert ("--ro-bind", "/py", "/var/lang") in pairs
    assert ("--ro-bind", str(tmp_path / "packages"), "/var/runtime") in pairs
    assert ("--setenv", "A", "1") in pairs
    assert {"--clearenv", "--die-with-parent"} <= set(argv)
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"
    assert argv[-2:] == ["--", "/var/runtime/bootstrap"]


def test_bwraps_exec_failure_is_lambdas_fork_exec_error():
    tail = "earlier output\nbwrap: execvp /var/task/bootstrap: No such file or directory\n"
    assert exec_failure(tail) == "fork/exec /var/task/bootstrap: no such file or directory"
    assert exec_failure("bwrap: execvp /x: Permission denied\nthen the runtime ran\n") is None
