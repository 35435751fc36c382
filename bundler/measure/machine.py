"""The machine a compare ran on, for the report (and the README) to cite."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.core import interpreters
from bundler.core.target import PYTHON_VERSIONS


def machine() -> dict[str, Any]:
    """What the numbers were measured on, for the README to cite."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    bwrap = shutil.which("bwrap")
    bwrap_version = None
    if bwrap:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            bwrap_version = subprocess.run(
                [bwrap, "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
    pythons = {}
    for minor in PYTHON_VERSIONS:
        found = interpreters.find(minor)
        if found is not None:
            pythons[minor] = found.version
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "python": sys.version.split()[0],
        "target_pythons": pythons,
        "bwrap": bwrap_version,
        "lambundle": __version__,
    }
