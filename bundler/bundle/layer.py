"""What lambundle's runtime puts into a layer, and the loader's path files.

The runtime package `runtime/` ships as `/opt/lambundle/_lambundle_runtime/` (a private
name, so a user's own `runtime.py` still imports), with its entry points: `/opt/bootstrap`
for OS-only runtimes and `/opt/lambundle/exec-wrapper` for managed ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import runtime
from bundler.bundle.archive import ZipEntry
from bundler.bundle.manifest import FUNCTION_PATHS, LAYER_PATHS_DIR

RUNTIME_SOURCE = Path(runtime.__file__).parent
RUNTIME_PACKAGE = "lambundle/_lambundle_runtime"
EXEC_WRAPPER = "/opt/lambundle/exec-wrapper"
# The function configuration variable that makes a managed runtime start the wrapper.
EXEC_WRAPPER_VARIABLE = "AWS_LAMBDA_EXEC_WRAPPER"
# The pinned strategy's dependency layer carries its hash-pinned lock here (under /opt).
LOCKS_DIR = "lambundle/locks"


def runtime_entries() -> list[ZipEntry]:
    """The runtime's files, as they go into a layer (paths relative to /opt)."""
    entries = [
        ZipEntry(f"{RUNTIME_PACKAGE}/{path.name}", source=path)
        for path in sorted(RUNTIME_SOURCE.glob("*.py"))
        if path.name != "__main__.py"
    ]
    scripts = RUNTIME_SOURCE / "layer"
    entries += [
        ZipEntry("bootstrap", source=scripts / "bootstrap", executable=True),
        ZipEntry("lambundle/exec-wrapper", source=scripts / "exec-wrapper", executable=True),
        ZipEntry("lambundle/start.py", source=scripts / "start.py"),
    ]
    return entries


def layer_paths_entry(layer_name: str, sys_path: list[str]) -> ZipEntry:
    """The file telling the loader which dirs of a layer go on sys.path (relative to /opt)."""
    data = json.dumps({"sys_path": sys_path}, sort_keys=True).encode()
    return ZipEntry(f"{LAYER_PATHS_DIR}/{layer_name}.json", data=data)


def function_paths_entry(sys_path: list[str]) -> ZipEntry:
    """The file telling the loader which dirs of the function go on sys.path."""
    data = json.dumps({"sys_path": sys_path}, sort_keys=True).encode()
    return ZipEntry(FUNCTION_PATHS, data=data)
