"""The sandbox started by an ordinary user, the way most developers run lambundle: bwrap
makes a user namespace that maps Lambda's uid 993 onto that user, and everything else the
sandbox enforces holds there too. Run as root (as CI runs), the rest of the suite takes the
other path (bwrap as root, then setpriv); this test plays an ordinary user, `nobody`, with
setpriv, on the system's own Python (root's pyenv is out of that user's reach).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.bundles import make_bundle, needs_bwrap

ROOT = Path(__file__).resolve().parents[3]
SYSTEM_PYTHON = Path("/usr/bin/python{}.{}".format(*sys.version_info[:2]))

pytestmark = [
    *needs_bwrap,
    pytest.mark.skipif(os.geteuid() != 0, reason="run as an ordinary user already"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)"),
    pytest.mark.skipif(not SYSTEM_PYTHON.is_file(), reason=f"needs {SYSTEM_PYTHON}"),
]

HANDLER = textwrap.dedent(
    """
    import os, resource

    def handler(event, context):
        try:
            open("/var/task/x", "w")
            task = "writable"
        except OSError as exc:
            task = exc.errno
        with open("/tmp/x", "w") as f:
            f.write("scratch")
        return {
            "ids": [os.getuid(), os.getgid()],
            "limits": [resource.getrlimit(resource.RLIMIT_NOFILE),
                       resource.getrlimit(resource.RLIMIT_NPROC)],
            "task": task,
        }
    """
)

# Run as the ordinary user: open the sandbox, invoke once, say what happened.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from bundler.sandbox import Sandbox
    with Sandbox(Path(sys.argv[1])) as sb:
        result = sb.invoke(b"{}")
        print(json.dumps({"isolated": sb.isolated, "warnings": sb.warnings,
                          "payload": result.payload.decode(), "error": result.error}))
    """
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory `nobody` can use (pytest's own temp dirs are root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="lambundle-unprivileged-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_as_an_ordinary_user_the_function_is_still_lambdas_user_with_lambdas_limits(
    shared_dir: Path,
) -> None:
    nobody = pwd.getpwnam("nobody")
    python = "{}.{}".format(*sys.version_info[:2])
    bundle = make_bundle(
        shared_dir, {"app.py": HANDLER}, "app.handler", runtime="provided.al2023", python=python
    )
    for path in [shared_dir, *shared_dir.rglob("*")]:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(shared_dir),
        "LAMBUNDLE_CACHE_DIR": str(shared_dir / "cache"),
        # This checkout and the test environment's packages, on the system's Python.
        "PYTHONPATH": os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]]),
    }
    proc = subprocess.run(
        [
            "setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
            "--", str(SYSTEM_PYTHON), "-c", SCRIPT, str(bundle),
        ],
        capture_output=True, text=True, env=env, cwd=shared_dir, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["isolated"] is True, seen["warnings"]
    assert seen["error"] is None, seen
    answer = json.loads(seen["payload"])
    assert answer["ids"] == [993, 990]
    assert answer["limits"] == [[1024, 1024], [1024, 1024]]
    assert answer["task"] == 30  # EROFS: /var/task is read-only
