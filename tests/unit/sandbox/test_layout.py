"""Where the sandbox lays out bundles (memory-backed /dev/shm when it has room), and how a
laid-out bundle's Lambda paths and entry point are found."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bundler.core.interpreters import Interpreter
from bundler.core.target import Target
from bundler.sandbox import layout
from bundler.sandbox.layout import Layout


def test_shm_is_used_when_it_has_room(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "_SHM", tmp_path)
    assert layout.layout_root(1000) == str(tmp_path)


def test_a_bundle_too_large_for_shm_goes_to_the_temp_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "_SHM", tmp_path)
    free = shutil.disk_usage(tmp_path).free
    assert layout.layout_root(free) is None


def test_no_shm_means_the_temp_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "_SHM", Path(tmp_path, "missing"))
    assert layout.layout_root(0) is None


def laid_out(work: Path, *, isolated: bool, managed: bool = False) -> Layout:
    interpreter = Interpreter(Path("/usr/bin/python3.12"), "3.12.1", Path("/usr"))
    return Layout(
        work, owns_work=False, isolated=isolated, interpreter=interpreter,
        runtime_dir=work / "packages" if managed else None, extract_s=0.0,
    )


def test_under_bwrap_lambda_paths_are_themselves(tmp_path):
    assert laid_out(tmp_path, isolated=True).path("/var/task/app.py") == "/var/task/app.py"


def test_unsandboxed_lambda_paths_are_the_work_dirs_and_the_interpreter(tmp_path):
    path = laid_out(tmp_path, isolated=False).path
    assert path("/var/task") == str(tmp_path / "task")
    assert path("/opt/python/lib") == str(tmp_path / "opt/python/lib")
    assert path("/var/runtime/bootstrap") == str(tmp_path / "runtime/bootstrap")
    assert path("/var/lang/bin") == "/usr/bin"
    assert path("/optimal") == "/optimal", "only whole path components are translated"
    assert path("/etc/hosts") == "/etc/hosts"


def test_the_task_bootstrap_wins_over_a_layers(tmp_path):
    for where in ("task", "opt"):
        bootstrap = tmp_path / where / "bootstrap"
        bootstrap.parent.mkdir()
        bootstrap.write_text("#!/bin/sh\n")
        os.chmod(bootstrap, 0o755)
    assert laid_out(tmp_path, isolated=True).entry_point() == "/var/task/bootstrap"
    os.chmod(tmp_path / "task/bootstrap", 0o644)  # not executable: not an entry point
    assert laid_out(tmp_path, isolated=True).entry_point() == "/opt/bootstrap"
    (tmp_path / "opt/bootstrap").unlink()
    assert laid_out(tmp_path, isolated=True).entry_point() is None


def test_a_managed_runtime_starts_aws_start_script(tmp_path):
    assert laid_out(tmp_path, isolated=True, managed=True).entry_point() == (
        "/var/runtime/bootstrap"
    )
    assert laid_out(tmp_path, isolated=False, managed=True).entry_point() == str(
        tmp_path / "runtime/bootstrap"
    )


def test_the_sdk_goes_over_the_interpreters_site_packages_or_the_sandbox_warns(tmp_path):
    target = Target(python="3.12", runtime="python3.12")
    interpreter = Interpreter(tmp_path / "bin/python3.12", "3.12.1", tmp_path)
    warnings: list[str] = []
    # A distribution's Python (Debian's has dist-packages): nothing to mount over.
    assert layout._sdk_mount(target, interpreter, True, warnings) is None
    assert "boto3 is not provided" in warnings[0] and "--interpreter" in warnings[0]
    (tmp_path / "lib/python3.12/site-packages").mkdir(parents=True)
    warnings.clear()
    assert layout._sdk_mount(target, interpreter, True, warnings) == (
        "/var/lang/lib/python3.12/site-packages"
    )
    assert warnings == []


def test_a_dead_sandboxs_layout_is_swept_and_a_live_ones_kept(tmp_path):
    # A process holds its layout's owner file, as a sandbox does, until it is killed.
    holder = (
        "import sys; from pathlib import Path; from bundler.sandbox import layout\n"
        "fd = layout._claim(Path(sys.argv[1])); print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    works = [tmp_path / f"lambundle-sandbox-{n}" for n in ("alive", "killed")]
    procs = []
    for work in works:
        (work / "task").mkdir(parents=True)
        proc = subprocess.Popen(
            [sys.executable, "-c", holder, str(work)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        procs.append(proc)
    (tmp_path / "lambundle-sandbox-unowned" / "task").mkdir(parents=True)  # being made
    try:
        assert layout.sweep_dead_layouts((str(tmp_path),)) == []
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait()
        assert layout.sweep_dead_layouts((str(tmp_path),)) == [works[1]]
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "lambundle-sandbox-alive", "lambundle-sandbox-unowned"
        ]  # fmt: skip
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_the_sweep_leaves_links_and_other_users_layouts_alone(tmp_path):
    # /dev/shm and /tmp are everyone's: a stranger may plant names that look like ours.
    target = tmp_path / "target"
    (target / "task").mkdir(parents=True)
    (target / ".lambundle-owner").write_text("")  # unlocked: it would look dead
    root = tmp_path / "root"
    root.mkdir()
    (root / "lambundle-sandbox-link").symlink_to(target)
    if os.geteuid() == 0:  # as root, a directory of another user's
        theirs = root / "lambundle-sandbox-theirs"
        theirs.mkdir()
        (theirs / ".lambundle-owner").write_text("")
        os.chown(theirs, 65534, 65534)
    assert layout.sweep_dead_layouts((str(root),)) == []
    assert (target / "task").is_dir()
    assert len(list(root.iterdir())) == (2 if os.geteuid() == 0 else 1)

