"""AWS's managed Python runtime (`python3.X`), emulated for the sandbox.

Lambda's python3.X runtimes start `/var/runtime/bootstrap`, a shell script that exports
`AWS_EXECUTION_ENV`, honours `AWS_LAMBDA_EXEC_WRAPPER`, and runs `/var/runtime/bootstrap.py`
with `/var/lang/bin/python3.X`; that script sets up sys.path and hands over to
awslambdaric (reference §2.2, §2.4). Here awslambdaric comes from the package index,
installed once per Python version and architecture into a cache directory that the
sandbox mounts at /var/runtime; the two start files are lambundle's own, written from
that description. The runtime also carries the AWS SDK for Python, installed beside it
and mounted where AWS puts it (bundler.bundle.runtimes): /var/lang/lib/python3.X/
site-packages on python3.11+, /var/runtime itself on python3.10.
"""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bundler.bundle.runtimes import (
    CLIENT_PINS,
    INSTALLED_MARKER,
    RUNTIME_DIR,
    SDK_PINS,
    install_name,
    installs_root,
    managed_runtime,
    pinned_versions,
)
from bundler.core.errors import SandboxError, output_tail
from bundler.core.target import Target

AWSLAMBDARIC_VERSION = "4.2.2"
# awslambdaric and its dependencies, pinned with every file's sha256 (all Pythons and
# architectures): the sandbox installs AWS's client as every other install here, verified.
REQUIREMENTS = CLIENT_PINS
# The AWS SDK for Python (boto3 and its dependencies), pinned likewise.
SDK_REQUIREMENTS = SDK_PINS
_COMPLETE = INSTALLED_MARKER


@dataclasses.dataclass(frozen=True)
class ManagedDirs:
    """One installed managed runtime: `runtime` is mounted at /var/runtime, `sdk` where
    the runtime keeps the SDK (the same directory on python3.10)."""

    runtime: Path
    sdk: Path


def cache_root() -> Path:
    """Under lambundle's one cache root, so LAMBUNDLE_CACHE_DIR moves this too."""
    return installs_root()


def start_script(python: str, bootstrap_py: str, minor: str) -> str:
    """AWS's `/var/runtime/bootstrap`, with the same messages and exit codes (127, 126)."""
    py, script = shlex.quote(python), shlex.quote(bootstrap_py)
    return f"""#!/bin/bash
# lambundle's stand-in for AWS's /var/runtime/bootstrap of the python{minor} runtime.
# https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html
export AWS_EXECUTION_ENV=AWS_Lambda_python{minor}
if [ -z "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
  exec {py} {script}
fi
wrapper="$AWS_LAMBDA_EXEC_WRAPPER"
if [ ! -f "$wrapper" ]; then
  echo "$wrapper: does not exist"
  exit 127
fi
if [ ! -x "$wrapper" ]; then
  echo "$wrapper: is not an executable"
  exit 126
fi
exec -- "$wrapper" {py} {script}
"""


def bootstrap_py(opt_root: str, packages: str | None, sdk: str | None = None) -> str:
    """AWS's `/var/runtime/bootstrap.py`: sys.path in Lambda's order, then awslambdaric.

    `packages` is where awslambdaric lives when it is not next to this script (the
    unsandboxed sandbox); inside the sandbox it is /var/runtime, the script's own dir.
    `sdk` stands in for /var/lang/lib/python3.X/site-packages (python3.11+) where that is
    not the interpreter's own (unsandboxed).
    """
    return f'''"""lambundle's stand-in for AWS's /var/runtime/bootstrap.py (python3.X runtimes)."""

import os
import site
import sys

OPT = {opt_root!r}
PACKAGES = {packages!r}
SDK = {sdk!r}


def main():
    if PACKAGES:
        sys.path.insert(0, PACKAGES)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    version = "%d.%d" % sys.version_info[:2]
    opt_site = OPT + "/python/lib/python" + version + "/site-packages"
    opt_python = OPT + "/python"
    pythonpath_set = "PYTHONPATH" in os.environ
    # Final order: task root, the layer site dirs, then (3.11+) the runtime's own
    # site-packages, in front of /var/runtime.
    if not pythonpath_set:
        if sys.version_info >= (3, 11):
            lang_site = SDK or os.path.join(
                sys.base_prefix, "lib", "python" + version, "site-packages"
            )
            sys.path.insert(0, lang_site)
        sys.path.insert(0, opt_python)
        sys.path.insert(0, opt_site)
    sys.path.insert(0, task_root)
    site.addsitedir(task_root)
    if not pythonpath_set:
        site.addsitedir(opt_site)
        site.addsitedir(opt_python)
        os.environ["PYTHONPATH"] = os.environ["LAMBDA_RUNTIME_DIR"]
    from awslambdaric import __main__ as awslambdaric_main

    awslambdaric_main.main([task_root, os.environ["_HANDLER"]])


if __name__ == "__main__":
    main()
'''


def write_start_files(dest: Path, *, python: str, opt_root: str, packages: str | None,
                      minor: str, sdk: str | None = None) -> Path:
    """Write `bootstrap` (0755) and `bootstrap.py` into `dest`; return the bootstrap."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "bootstrap.py").write_text(bootstrap_py(opt_root, packages, sdk), encoding="utf-8")
    script = dest / "bootstrap"
    script.write_text(start_script(python, str(dest / "bootstrap.py") if packages else
                                   "/var/runtime/bootstrap.py", minor), encoding="utf-8")
    script.chmod(0o755)
    return script


def runtime_dir(target: Target, *, compile_with: Path | None = None,
                cache: Path | None = None) -> Path:
    """The directory to mount at /var/runtime for `target`, installed on first use
    (with the SDK: `install`)."""
    return install(target, compile_with=compile_with, cache=cache).runtime


def install(target: Target, *, compile_with: Path | None = None,
            cache: Path | None = None) -> ManagedDirs:
    """AWS's client and SDK for `target`'s runtime, installed on first use.

    Both are installed from the package index for the target's Python version and
    architecture (binary wheels only: awslambdaric is a C++ extension), every file checked
    against the hashes of `REQUIREMENTS` and `SDK_REQUIREMENTS`, then compiled with the
    target's interpreter when one is given, because /var/runtime and /var/lang are
    read-only and the modules would otherwise be recompiled on every cold start.
    """
    root = cache or cache_root()
    entry = root / install_name(target.python, target.arch)
    if (entry / _COMPLETE).is_file():
        return _dirs(entry, target)
    root.mkdir(parents=True, exist_ok=True)
    # Its own temporary directory, so two threads (an application's functions) or two
    # processes installing the same entry at once do not write into one another's.
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=root))
    try:
        dirs = _dirs(tmp, target)
        _install(target, dirs.runtime, root)
        _install(target, dirs.sdk, root, SDK_REQUIREMENTS)
        sdk_lambda_dir = managed_runtime(target.python).sdk_dir
        if compile_with is not None:
            for path, lambda_path in {dirs.sdk: sdk_lambda_dir, dirs.runtime: RUNTIME_DIR}.items():
                subprocess.run(
                    # -d: tracebacks name the files where Lambda has them.
                    [str(compile_with), "-m", "compileall", "-q", "-d", lambda_path, str(path)],
                    capture_output=True, check=False,
                )
        write_start_files(
            dirs.runtime, python=f"/var/lang/bin/python{target.python}", opt_root="/opt",
            packages=None, minor=target.python,
        )
        (tmp / _COMPLETE).write_text(AWSLAMBDARIC_VERSION + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        tmp.rename(entry)
    except OSError:
        # Another process finished the same install first; theirs is as good as ours.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (entry / _COMPLETE).is_file():
            raise
    return _dirs(entry, target)


def _dirs(entry: Path, target: Target) -> ManagedDirs:
    runtime = entry / "runtime"
    sdk = runtime if managed_runtime(target.python).sdk_in_runtime_dir else entry / "sdk"
    return ManagedDirs(runtime, sdk)


def _install(
    target: Target, dest: Path, cache: Path, requirements: Path | None = None
) -> None:
    """Install `requirements` (AWS's client by default) for `target` into `dest`: with uv
    where it is, pip otherwise or when uv fails (pip then reports what went wrong)."""
    if not _uv_install(target, dest, requirements or REQUIREMENTS):
        _pip_install(target, dest, cache, requirements)


def _uv_install(target: Target, dest: Path, requirements: Path) -> bool:
    """uv-install `requirements` for `target` into `dest`, every file's hash checked as by
    pip; False (and `dest` removed) when uv is not there or fails. uv is lambundle's
    resolver and a dependency of it; on an empty cache it takes 0.5 s here where pip takes
    1.9 s (0.1 s of CPU against 0.7 s), and this install is on the path of a user's first
    `bundle --verify`."""
    uv = _find_uv()
    if uv is None:
        return False
    cmd = [
        uv, "pip", "install", "--quiet", "--no-compile", "--target", str(dest),
        "--python-platform", f"{target.machine}-manylinux_2_17",  # manylinux2014, as pip's
        "--python-version", target.python, "--only-binary", ":all:", "--no-deps",
        "--require-hashes", "-r", str(requirements),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError:
        proc = None
    if proc is None or proc.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        return False
    (dest / ".lock").unlink(missing_ok=True)  # uv's lock of the target directory
    return True


def _find_uv() -> str | None:
    try:
        import uv  # type: ignore[import-not-found,unused-ignore]

        path: str = uv.find_uv_bin()
        return path
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _pip_install(
    target: Target, dest: Path, cache: Path, requirements: Path | None = None
) -> None:
    """pip-install `requirements` (`REQUIREMENTS`, AWS's client, by default) for `target`
    into `dest`; SandboxError if it fails."""
    pins = requirements or REQUIREMENTS
    what = (
        f"awslambdaric {AWSLAMBDARIC_VERSION}" if pins == REQUIREMENTS
        else f"the AWS SDK for Python (boto3 {pinned_versions(pins).get('boto3', '?')})"
    )
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--target", str(dest),
        "--platform", f"manylinux2014_{target.machine}",
        "--python-version", target.python, "--implementation", "cp",
        "--only-binary=:all:", "--no-deps", "--require-hashes", "-r", str(pins),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        msg = f"Could not run pip to install {what} for the managed runtime: {exc}."
        raise SandboxError(msg) from None
    if proc.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        tail = output_tail(proc, 5)
        if "DO NOT MATCH THE HASHES" in proc.stderr.upper():
            fix = (
                f"The index served files whose sha256 is not pinned in {pins}, so "
                "they were refused; check which index pip uses (PIP_INDEX_URL, a mirror)."
            )
        else:
            fix = (
                f"It is downloaded from the package index once and cached in {cache}; "
                "check the network or pip's index settings."
            )
        msg = (
            f"Could not install {what} for python{target.python} "
            f"({target.arch}) to emulate the managed runtime:\n{tail}\n{fix}"
        )
        raise SandboxError(msg)
