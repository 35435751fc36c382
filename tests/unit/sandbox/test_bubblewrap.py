"""Bubblewrap's argv with Lambda's mounts, and what it says when it cannot exec."""

from pathlib import Path

import pytest

from bundler.core.interpreters import Interpreter
from bundler.sandbox import bubblewrap
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
    assert argv[-1] == "/var/runtime/bootstrap"
    assert ("--ro-bind", str(tmp_path / "etc"), "/etc") in pairs  # never the host's /etc
    assert ("--remount-ro", "/", "--chdir") in pairs


def test_tmp_is_sized_writable_and_the_root_read_only(tmp_path, monkeypatch):
    monkeypatch.setattr(bubblewrap, "sizes_tmpfs", lambda: True)
    layout = Layout(tmp_path, owns_work=False, isolated=True, interpreter=None,
                    runtime_dir=None, extract_s=0.0)  # fmt: skip
    argv = command(layout, {}, "/var/task/bootstrap", tmp_bytes=512 * 1024 * 1024)
    tmpfs = argv.index("--tmpfs")
    assert argv[tmpfs - 4 : tmpfs + 2] == [
        "--perms", "1777", "--size", str(512 * 1024 * 1024), "--tmpfs", "/tmp"
    ]
    # Mounts first, then the whole tree read-only: /tmp (its own mount) stays writable.
    assert argv.index("--remount-ro") > argv.index("/var/task")


@pytest.mark.parametrize("setpriv", ["/usr/bin/setpriv", None], ids=["root", "user"])
def test_the_function_is_uid_993_as_root_and_as_any_user(tmp_path, monkeypatch, setpriv):
    monkeypatch.setattr(bubblewrap, "_setpriv", lambda: setpriv)
    which = bubblewrap.shutil.which
    fake = {"prlimit": "/usr/bin/prlimit"}
    monkeypatch.setattr(bubblewrap.shutil, "which", lambda n, *a: fake.get(n) or which(n, *a))
    layout = Layout(tmp_path, owns_work=False, isolated=True, interpreter=None,
                    runtime_dir=None, extract_s=0.0)  # fmt: skip
    argv = command(layout, {}, "/var/task/bootstrap")
    if setpriv:  # root: no user namespace; setpriv becomes the user for real
        entry = argv[argv.index("--") + 1 :]
        assert entry[0] == setpriv and entry[-1] == "/var/task/bootstrap"
        assert {"--reuid=993", "--regid=990", "--clear-groups", "--no-new-privs",
                "--bounding-set=-all"} <= set(entry)  # fmt: skip
        assert "--unshare-user" not in argv
    else:  # a user namespace maps 993 onto the caller's own uid
        assert argv[argv.index("--uid") + 1] == "993"
        assert argv[argv.index("--gid") + 1] == "990"
        assert "--unshare-user" in argv and "setpriv" not in " ".join(argv)
    # Either way, Lambda's 1,024 open files and processes/threads, last before the entry.
    entry = argv[argv.index("--") + 1 :]
    limits = entry.index("/usr/bin/prlimit")
    assert entry[limits:] == [
        "/usr/bin/prlimit", "--nofile=1024:1024", "--nproc=1024:1024", "--", "/var/task/bootstrap"
    ]  # fmt: skip


def test_bwraps_exec_failure_is_lambdas_fork_exec_error():
    tail = "earlier output\nbwrap: execvp /var/task/bootstrap: No such file or directory\n"
    assert exec_failure(tail) == "fork/exec /var/task/bootstrap: no such file or directory"
    assert exec_failure("bwrap: execvp /x: Permission denied\nthen the runtime ran\n") is None
    tail = "setpriv: failed to execute /var/task/bootstrap: Permission denied\n"
    assert exec_failure(tail) == "fork/exec /var/task/bootstrap: permission denied"
    tail = "prlimit: failed to execute /var/task/bootstrap: No such file or directory\n"
    assert exec_failure(tail) == "fork/exec /var/task/bootstrap: no such file or directory"
