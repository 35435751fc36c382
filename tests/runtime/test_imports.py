"""The runtime imports nothing beyond an explicit allow-list on its hot path.

Every import is paid on every cold start of every function, so the test runs the runtime
as Lambda does (the layer layout, started by start.py), lets a handler report
`sys.modules` at its first invoke, and compares with a bare interpreter's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.runtime.fakeapi import FakeRuntimeAPI, stop
from tests.runtime.test_lambundle import _layer, _run_layer

# What the runtime may add to a bare interpreter, and why.
ALLOWED = {
    "_json": "the C JSON codec (json itself pulls in re)",
    "_socket": "the Runtime API client (socket pulls in enum, selectors)",
    "importlib": "import_module, so import-error tracebacks match awslambdaric's",
    "warnings": "imported by importlib",
    "gc": "built in (no file to find): collection relaxed during init, main.INIT_GC_THRESHOLD",
    "app": "the user's handler module",
}

REPORT = "import sys\ndef handler(e, c):\n    return sorted(sys.modules)\n"


def _bare_modules(tmp_path) -> set[str]:
    script = tmp_path / "bare.py"
    script.write_text("import sys\nprint(chr(10).join(sorted(sys.modules)))\n")
    # The same (Lambda-like) environment as the runtime's: no HOME, so site imports pwd.
    env = {"PATH": os.environ["PATH"]}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, env=env, cwd="/"
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_runtime_imports_only_the_allow_list(make_task, tmp_path, log_format):
    task = make_task({"app.py": REPORT})
    opt = tmp_path / "opt"
    _layer(opt)
    api = FakeRuntimeAPI()
    api.queue_event()
    proc = _run_layer(
        [sys.executable, str(opt / "lambundle" / "start.py")],
        task,
        api,
        {"_HANDLER": "app.handler", "AWS_LAMBDA_LOG_FORMAT": log_format},
    )
    try:
        post = api.posts.get(timeout=20)
    finally:
        out = stop(proc)
        api.close()
    loaded = set(post.json())
    bare = _bare_modules(tmp_path)
    ours = {m for m in loaded - bare if not m.startswith("_lambundle_runtime")}
    assert ours <= set(ALLOWED), f"unexpected imports: {sorted(ours - set(ALLOWED))}\n{out}"
    assert "logging" not in loaded, "logging must be imported only when the user imports it"
    assert "http" not in loaded and "socket" not in loaded and "json" not in loaded
