"""Bytecode compiled ahead of time, for the exact place the source will have in Lambda.

/var/task and /opt are read-only in Lambda and zips carry one fixed timestamp, so
timestamp-checked pyc never validate there and every cold start recompiles (the trap in
aws-lambda-builders#924, serverless#13889). PEP 552 hash-based pyc with
`unchecked-hash` are used as they are. Compiling runs in a subprocess of an interpreter of
the target's minor version (pyc are version-specific), with the in-Lambda path as the
source path recorded in the code objects: what tracebacks show, and what makes the
output the same wherever the build ran.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bundler.bundle.archive import ZipEntry, entries_from_tree
from bundler.core import interpreters
from bundler.core.errors import BundlerError
from bundler.core.interpreters import Interpreter

MODE = "unchecked-hash"

# Runs inside the target interpreter; stdlib only. py_compile rather than `-m compileall`
# because the pyc must go to a separate tree (the sources are in a read-only cache) while
# naming the in-Lambda source path; the behaviour is compileall's per file.
_COMPILER = r"""
import importlib.util, json, os, py_compile, sys
job = json.load(sys.stdin)
failed = []
for rel, src in job["files"]:
    cfile = importlib.util.cache_from_source(os.path.join(job["dest"], rel))
    try:
        py_compile.compile(src, cfile=cfile, dfile=job["ddir"] + "/" + rel, doraise=True,
                           optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except (py_compile.PyCompileError, SyntaxError, ValueError, UnicodeDecodeError):
        failed.append(rel)
json.dump(failed, sys.stdout)
"""


@dataclasses.dataclass(frozen=True)
class Bytecode:
    """How a build compiled: the manifest's `bytecode` field, and why not when it did not."""

    mode: str
    interpreter: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"mode": self.mode}
        if self.interpreter:
            out["interpreter"] = self.interpreter
        if self.reason:
            out["reason"] = self.reason
        return out


def compile_entries(
    entries: Sequence[ZipEntry], ddir: str, dest: Path, interpreter: Interpreter
) -> list[str]:
    """Compile the `.py` entries (arcnames relative to `ddir`) into a pyc tree at `dest`.

    Returns the arcnames that did not compile (Python 2 leftovers in some packages, test
    fixtures with deliberate syntax errors); they ship as source only, as compileall does.
    """
    files = sorted(
        (e.arcname, str(e.source))
        for e in entries
        if e.arcname.endswith(".py") and e.source is not None
    )
    if not files:
        dest.mkdir(parents=True, exist_ok=True)
        return []
    # Each file compiles on its own, so the work splits over one process per CPU (a large
    # tree such as numpy + pandas takes seconds on one core); the output does not depend
    # on the split.
    jobs = max(1, min(os.cpu_count() or 1, len(files) // _MIN_FILES_PER_JOB))
    chunks = [files[i::jobs] for i in range(jobs)]
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda c: _compile_chunk(c, dest, ddir, interpreter), chunks))
    return sorted(rel for failed in results for rel in failed)


# Below this many files per process, starting another interpreter costs more than it saves.
_MIN_FILES_PER_JOB = 200


def _compile_chunk(
    files: list[tuple[str, str]], dest: Path, ddir: str, interpreter: Interpreter
) -> list[str]:
    job = json.dumps({"files": files, "dest": str(dest), "ddir": ddir.rstrip("/")})
    # A fixed hash seed: marshal writes frozenset constants in iteration order, which
    # depends on string hashes.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        proc = subprocess.run(
            [str(interpreter.path), "-I", "-c", _COMPILER],
            input=job,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        msg = (
            f"Compiling bytecode with {interpreter.path} failed: {detail.strip()[-500:]}; "
            "pass another --interpreter or build with --no-bytecode."
        )
        raise BundlerError(msg) from None
    failed: list[str] = json.loads(proc.stdout)
    return failed


def pyc_entries(tree: Path) -> list[ZipEntry]:
    """The pyc of a tree written by `compile_entries`, named relative to that tree."""
    return [e for e in entries_from_tree(tree) if e.arcname.endswith(".pyc")]


def choose(
    python: str, explicit: Path | None, enabled: bool
) -> tuple[Interpreter | None, Bytecode]:
    """The compiling interpreter for target `python`, or None and the reason (a warning)."""
    if not enabled:
        return None, Bytecode("none", reason="--no-bytecode")
    interp = interpreters.find(python, explicit)
    if interp is None:
        reason = (
            f"no Python {python} found on PATH, pyenv or uv; shipping without bytecode "
            f"(slower cold starts). Install Python {python} or pass --interpreter."
        )
        return None, Bytecode("none", reason=reason)
    return interp, Bytecode(MODE, interpreter=interp.version)
