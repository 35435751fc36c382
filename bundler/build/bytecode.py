"""Bytecode compiled ahead of time, for the exact place the source will have in Lambda.

/var/task and /opt are read-only in Lambda and zips carry one fixed timestamp, so
timestamp-checked pyc never validate there and every cold start recompiles (the trap in
aws-lambda-builders#924, serverless#13889). PEP 552 hash-based pyc with
`unchecked-hash` are used as they are. Compiling runs in a subprocess of an interpreter of
the target's minor version (pyc are version-specific), with the in-Lambda path as the
source path recorded in the code objects: what tracebacks show, and what makes the
output the same wherever the build ran.

Compiled trees are cached by content at two levels (`_pyc_for`): a whole set of sources,
and below it each top-level package by the sha256 of its sources, so a changed
requirement recompiles its own package only.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from bundler.build.files import Files
from bundler.build.keys import CACHE_VERSION, entries_key
from bundler.build.slim import TEST_DIRS
from bundler.bundle.archive import ZipEntry, entries_from_tree
from bundler.bundle.layer import RUNTIME_PACKAGE
from bundler.bundle.plan import OPT_ROOT, TASK_ROOT
from bundler.core import interpreters
from bundler.core.cache import Cache
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


# -- compilers -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Compiler:
    """What compiles bytecode: a local interpreter or Lambda's, in Docker.

    `ident` goes into the cache key of compiled trees; `compile` has the contract of
    `compile_entries` with the pyc tree at `dest / "tree"`.
    """

    ident: tuple[str, ...]
    compile: Callable[[tuple[ZipEntry, ...], str, Path], list[str]]


def local_compiler(interp: Interpreter) -> Compiler:
    return Compiler(
        (str(interp.path), interp.version),
        lambda py, ddir, dest: compile_entries(py, ddir, dest / "tree", interp),
    )


# -- the files that get pyc ----------------------------------------------------------------


def add_pyc(
    files: Files, deps_dir: str, compiler: Compiler, cache: Cache
) -> tuple[Files, list[str], list[str]]:
    """`files` with pyc for their places in Lambda (dependencies in `deps_dir`), and the
    function's and the dependencies' files that did not compile (they ship as source)."""
    # Distributions' own test suites (pkg/tests/, what --slim leaves out) are never
    # imported by a function: they ship as source, without pyc. For pandas that is
    # 1,400 of 1,900 modules, 31 MB of bytecode and most of the compile time.
    suites = tuple(e for e in files.deps if _in_test_suite(e.arcname))
    deps, failed = _with_pyc(
        tuple(e for e in files.deps if not _in_test_suite(e.arcname)), deps_dir, compiler, cache
    )
    code, failed_code = _with_pyc(files.code, TASK_ROOT, compiler, cache)
    # Only the runtime package is imported; start.py runs as a script.
    package = tuple(e for e in files.runtime if e.arcname.startswith(RUNTIME_PACKAGE + "/"))
    runtime = (*files.runtime, *_pyc_for(package, OPT_ROOT, compiler, cache)[0])
    # The embedded standard library, for its place under /opt: the installation's own
    # pyc were timestamp-checked and are not shipped (bundler.build.embed).
    python = (*files.python, *_pyc_for(files.python, OPT_ROOT, compiler, cache)[0])
    compiled = Files(code=code, deps=(*deps, *suites), runtime=runtime, python=python)
    return compiled, failed_code, failed


def _in_test_suite(arcname: str) -> bool:
    """A file inside a distribution's test package (`pkg/tests/...`), by --slim's rule."""
    parts = arcname.split("/")  # arcnames are "/"-separated and relative
    return any(part in TEST_DIRS for part in parts[1:-1]) and not parts[0].endswith(
        (".dist-info", ".data")
    )


def _with_pyc(
    entries: tuple[ZipEntry, ...], ddir: str, compiler: Compiler, cache: Cache
) -> tuple[tuple[ZipEntry, ...], list[str]]:
    pyc, failed = _pyc_for(entries, ddir, compiler, cache)
    return (*entries, *pyc), failed


# -- the pyc cache -------------------------------------------------------------------------


def _pyc_for(
    entries: tuple[ZipEntry, ...], ddir: str, compiler: Compiler, cache: Cache
) -> tuple[list[ZipEntry], list[str]]:
    """pyc entries for `entries` compiled for `ddir`, from the cache when unchanged.

    Two levels: the whole set by its entries (paths inside the cache are ids, so an
    unchanged rebuild hashes nothing), then, on a miss, each top-level package by the
    sha256 of its sources, so a changed requirement recompiles its own package and
    nothing else (bumping requests next to pandas does not recompile pandas).
    """
    py = tuple(e for e in entries if e.arcname.endswith(".py") and e.source is not None)
    ident = ("pyc", ddir, *compiler.ident)
    key = entries_key(py, cache, *ident)
    entry = cache.dir("pyc", key)
    groups = _read_groups(entry, cache) if entry is not None else None
    if groups is None:
        if entry is not None:
            cache.remove("pyc", key)  # a package it names was removed from the cache
        entry = cache.put_dir(
            "pyc", key, lambda tmp: _compile_packages(py, ident, compiler, cache, tmp)
        )
        groups = _read_groups(entry, cache)
        assert groups is not None, "a fresh entry names packages that exist"
    pyc: list[ZipEntry] = []
    failed: list[str] = []
    for package in groups:
        pyc += pyc_entries(package / "tree")
        failed += json.loads((package / "failed.json").read_text(encoding="utf-8"))
    return pyc, sorted(failed)


def _package_of(arcname: str) -> str:
    """The top-level package (or module file) an entry belongs to."""
    return arcname.split("/", 1)[0]


def _take_package(compiled: Path, name: str, tree: Path) -> None:
    """Move package `name`'s pyc from the tree of a compile run into its own `tree`."""
    tree.mkdir()
    if name.endswith(".py"):  # a lone module: its pyc is in the top-level __pycache__
        stem = name[: -len(".py")]
        for pyc in sorted((compiled / "__pycache__").glob(f"{stem}.*.pyc")):
            if pyc.name.count(".") == stem.count(".") + 2:  # stem.<tag>.pyc, not stem.x.<tag>
                (tree / "__pycache__").mkdir(exist_ok=True)
                pyc.rename(tree / "__pycache__" / pyc.name)
    elif (compiled / name).is_dir():
        (compiled / name).rename(tree / name)


def _read_groups(entry: Path, cache: Cache) -> list[Path] | None:
    """The package entries a set's entry names, or None if one is gone (or the entry is
    not one this version wrote)."""
    try:
        keys = json.loads((entry / "packages.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = [cache.dir("pyc-package", k) for k in keys]
    return None if any(p is None for p in found) else [p for p in found if p is not None]


def _compile_packages(
    py: tuple[ZipEntry, ...], ident: tuple[str, ...], compiler: Compiler, cache: Cache, tmp: Path
) -> None:
    """Compile the packages of `py` not yet cached, in one run; record the set's packages."""
    by_package: dict[str, list[ZipEntry]] = {}
    for e in py:
        by_package.setdefault(_package_of(e.arcname), []).append(e)
    keys: dict[str, str] = {}
    for name, members in sorted(by_package.items()):
        items = [CACHE_VERSION, *ident]
        for e in sorted(members, key=lambda e: e.arcname):
            assert e.source is not None
            items += [e.arcname, hashlib.sha256(e.source.read_bytes()).hexdigest()]
        keys[name] = Cache.key(*items)
    missing = [n for n in sorted(keys) if cache.dir("pyc-package", keys[n]) is None]
    if missing:
        work = tmp / "compiled"
        todo = tuple(e for n in missing for e in by_package[n])
        failed = compiler.compile(todo, ident[1], work)
        for name in missing:

            def build(dest: Path, name: str = name) -> None:
                _take_package(work / "tree", name, dest / "tree")
                mine = [f for f in failed if _package_of(f) == name]
                (dest / "failed.json").write_text(json.dumps(mine), encoding="utf-8")

            cache.put_dir("pyc-package", keys[name], build)
        shutil.rmtree(work, ignore_errors=True)
    (tmp / "packages.json").write_text(
        json.dumps([keys[n] for n in sorted(keys)]), encoding="utf-8"
    )
