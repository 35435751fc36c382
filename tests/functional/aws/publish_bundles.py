"""Real bundles for the publish and template tests, built in tmp_path without the index."""

from __future__ import annotations

import shutil
from pathlib import Path

import strategies
from bundler.build import executor
from bundler.build import pipeline as build
from bundler.build.bytecode import Bytecode
from bundler.bundle.archive import ZipEntry
from bundler.bundle.plan import Dist, PlanInputs
from bundler.core.cache import Cache
from bundler.core.target import Target

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def hello(tmp_path: Path, strategy: str = "vendored", arch: str = "x86_64",
          name: str = "hello") -> Path:
    """examples/hello, copied once to tmp_path/src, bundled by `bundler.build.pipeline.bundle`.

    No dependencies, no sandbox; the bundle goes to tmp_path/`name`.
    """
    src = tmp_path / "src"
    if not src.exists():
        shutil.copytree(EXAMPLES / "hello", src, ignore=shutil.ignore_patterns(".lambundle"))
    options = build.BuildOptions(
        src=src,
        strategy=strategy,
        target=Target("3.12", arch, ""),
        out=tmp_path / name,
        bytecode=False,
        verify=False,
    )
    return build.bundle(options, cache=Cache(tmp_path / "cache")).out


def pinned(tmp_path: Path, name: str, code: bytes = b"import big\n",
           arch: str = "x86_64") -> Path:
    """A pinned bundle (runtime layer, then a dependency layer) with one fake distribution.

    Two of these with different `code` share the same dependency layer byte for byte, as
    two functions built from one lock do.
    """
    plan = strategies.get("pinned").plan(
        PlanInputs(
            target=Target("3.12", arch, ""),
            handler="app.handler",
            code=(ZipEntry("app.py", data=code + b"def handler(e, c):\n    return e\n"),),
            deps=(
                ZipEntry("big/__init__.py", data=b"VALUE = 1\n"),
                ZipEntry("big-1.0.dist-info/RECORD", data=b"big/__init__.py,sha256=a,10\n"),
            ),
            runtime=(ZipEntry("bootstrap", data=b"#!/bin/sh\n", executable=True),),
            lock_text="big==1.0\n",
            lock_sha256="a" * 64,
            distributions=(Dist("big", "1.0", 10),),
        )
    )
    out = tmp_path / name
    executor.execute(plan, out, cache=Cache(tmp_path / "cache"), bytecode=Bytecode("none"))
    return out
