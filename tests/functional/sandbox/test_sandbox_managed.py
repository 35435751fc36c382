"""The managed-runtime emulation's start files, run by real bash and a real Python."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bundler.core.errors import SandboxError
from bundler.core.target import Target, host_arch
from bundler.sandbox import managed_runtime as managed

# Stands in for the interpreter: prints what it was started with.
FAKE_PYTHON = '#!/bin/sh\necho "python:$*:env=$AWS_EXECUTION_ENV:wrapped=${WRAPPED:-no}"\n'


def write(tmp_path: Path) -> Path:
    fake = tmp_path / "python3.12"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    runtime = tmp_path / "runtime"
    return managed.write_start_files(
        runtime, python=str(fake), opt_root=str(tmp_path / "opt"), packages="/x", minor="3.12"
    )


def start(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_wrapper_starts_bootstrap_py(tmp_path: Path) -> None:
    script = write(tmp_path)
    proc = start(script, {})
    assert proc.returncode == 0
    bootstrap_py = tmp_path / "runtime" / "bootstrap.py"
    assert proc.stdout.strip() == f"python:{bootstrap_py}:env=AWS_Lambda_python3.12:wrapped=no"


def test_wrapper_gets_interpreter_and_script(tmp_path: Path) -> None:
    script = write(tmp_path)
    wrapper = tmp_path / "wrapper"
    wrapper.write_text('#!/bin/sh\nexport WRAPPED=yes\nexec "$@"\n')
    wrapper.chmod(0o755)
    proc = start(script, {"AWS_LAMBDA_EXEC_WRAPPER": str(wrapper)})
    assert proc.returncode == 0
    bootstrap_py = tmp_path / "runtime" / "bootstrap.py"
    assert proc.stdout.strip() == f"python:{bootstrap_py}:env=AWS_Lambda_python3.12:wrapped=yes"


def test_missing_or_non_executable_wrapper(tmp_path: Path) -> None:
    script = write(tmp_path)
    missing = tmp_path / "missing"
    proc = start(script, {"AWS_LAMBDA_EXEC_WRAPPER": str(missing)})
    assert (proc.returncode, proc.stdout.strip()) == (127, f"{missing}: does not exist")
    plain = tmp_path / "plain"
    plain.write_text("")
    proc = start(script, {"AWS_LAMBDA_EXEC_WRAPPER": str(plain)})
    assert (proc.returncode, proc.stdout.strip()) == (126, f"{plain}: is not an executable")


@pytest.mark.parametrize("pythonpath", [None, "/custom"])
def test_bootstrap_py_orders_sys_path_like_aws(tmp_path: Path, pythonpath: str | None) -> None:
    # bootstrap.py with a stand-in awslambdaric that reports sys.path and its arguments.
    packages = tmp_path / "packages"
    (packages / "awslambdaric").mkdir(parents=True)
    (packages / "awslambdaric" / "__init__.py").write_text("")
    (packages / "awslambdaric" / "__main__.py").write_text(
        "import json, os, sys\n"
        "def main(args):\n"
        "    print(json.dumps({'args': args, 'path': sys.path,\n"
        "                      'pythonpath': os.environ.get('PYTHONPATH')}))\n"
    )
    task, opt = tmp_path / "task", tmp_path / "opt"
    site = opt / f"python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
    site.mkdir(parents=True)
    task.mkdir()
    (task / "extra.pth").write_text(str(tmp_path / "from-pth") + "\n")
    (tmp_path / "from-pth").mkdir()
    runtime = tmp_path / "runtime"
    managed.write_start_files(
        runtime,
        python=sys.executable,
        opt_root=str(opt),
        packages=str(packages),
        minor="3.12",
    )
    env = {
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "_HANDLER": "app.handler",
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(
        [sys.executable, str(runtime / "bootstrap.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["args"] == [str(task), "app.handler"]
    path = out["path"]
    assert path[0] == str(task)
    assert str(tmp_path / "from-pth") in path  # .pth files in the task root work
    if pythonpath is None:
        assert path[1:3] == [str(site), str(opt / "python")]
        assert out["pythonpath"] == str(runtime)
    else:
        assert str(site) not in path and out["pythonpath"] == "/custom"


@pytest.mark.network
def test_unknown_awslambdaric_version_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(managed, "AWSLAMBDARIC_VERSION", "0.0.0.404")
    pins = tmp_path / "pins.txt"
    pins.write_text("awslambdaric==0.0.0.404 --hash=sha256:" + "0" * 64 + "\n")
    monkeypatch.setattr(managed, "REQUIREMENTS", pins)
    cache = tmp_path / "cache"
    with pytest.raises(SandboxError, match=r"Could not install awslambdaric 0\.0\.0\.404"):
        managed.runtime_dir(Target("3.12"), cache=cache)
    assert list(cache.iterdir()) == []  # nothing half-installed is left


@pytest.mark.network
def test_a_download_that_does_not_match_the_pinned_hashes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pins = tmp_path / "pins.txt"
    real = managed.REQUIREMENTS.read_text()
    # The real pins with every awslambdaric hash replaced: the index's files match none.
    head, sep, rest = real.partition("simplejson==")
    forged = "\n".join(
        line.split("--hash=")[0] + "--hash=sha256:" + "1" * 64 + " \\"
        if "--hash=" in line
        else line
        for line in head.splitlines()
    )
    pins.write_text(forged + "\n" + sep + rest)
    monkeypatch.setattr(managed, "REQUIREMENTS", pins)
    cache = tmp_path / "cache"
    with pytest.raises(SandboxError, match=r"(?s)Could not install.*sha256 is not pinned"):
        managed.runtime_dir(Target("3.12"), cache=cache)
    assert list(cache.iterdir()) == []


def test_the_managed_pins_are_the_version_the_sandbox_names_and_all_hashed() -> None:
    text = managed.REQUIREMENTS.read_text()
    assert f"awslambdaric=={managed.AWSLAMBDARIC_VERSION} \\" in text
    pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
    assert len(pins) >= 2  # awslambdaric and its dependencies, each pinned
    for pin in pins:
        body = text.split(pin, 1)[1].split("==", 1)[0]
        assert "--hash=sha256:" in body, f"{pin} has no hash"


@pytest.mark.network
@pytest.mark.parametrize("with_uv", [True, False])
def test_awslambdaric_is_installed_with_uv_or_else_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_uv: bool
) -> None:
    installers: list[str] = []
    real_uv, real_pip = managed._uv_install, managed._pip_install

    def uv_install(target: Target, dest: Path, pins: Path) -> bool:
        installers.append("uv")
        return real_uv(target, dest, pins) if with_uv else False

    def pip_install(target: Target, dest: Path, cache: Path, pins: Path | None = None) -> None:
        installers.append("pip")
        real_pip(target, dest, cache, pins)

    monkeypatch.setattr(managed, "_uv_install", uv_install)
    monkeypatch.setattr(managed, "_pip_install", pip_install)
    runtime = managed.runtime_dir(Target("3.12", host_arch()), cache=tmp_path)
    # AWS's client, then the SDK: each by uv, or by pip once uv has failed.
    assert installers == (["uv", "uv"] if with_uv else ["uv", "pip", "uv", "pip"])
    assert (runtime / "awslambdaric" / "__main__.py").is_file()
    assert sorted(p.name for p in runtime.glob("*.dist-info")) == [
        "awslambdaric-4.2.2.dist-info", "simplejson-4.3.0.dist-info",
        "snapshot_restore_py-1.0.0.dist-info",
    ]  # fmt: skip
    assert not (runtime / ".lock").exists()


def test_two_threads_installing_one_entry_each_get_a_whole_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An application's functions verify on threads of one process: each install writes its
    own temporary directory, so neither sees (or removes) the other's half-made one."""
    both_writing = threading.Barrier(2, timeout=30)

    def install(target: Target, dest: Path, cache: Path, requirements: Path | None = None) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / (requirements or managed.REQUIREMENTS).name).write_text("installed\n")
        if requirements is None:
            both_writing.wait()  # both threads are inside their installs now

    monkeypatch.setattr(managed, "_install", install)
    cache = tmp_path / "cache"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        dirs = list(pool.map(lambda _: managed.install(Target("3.12"), cache=cache), range(2)))
    assert dirs[0] == dirs[1]
    assert (dirs[0].runtime / "bootstrap").is_file()
    assert [p.name for p in cache.iterdir()] == [dirs[0].runtime.parent.name]
