"""The parallel build's scheduling, with a fake one-function build: at most `jobs` at
once, functions of the same requirements one after the other, the first failure stops
what has not started and names its function."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from bundler.app import builder
from bundler.app.application import Function
from bundler.app.builder import AppOptions, FunctionFailed
from bundler.build.pipeline import BuildResult
from bundler.bundle.manifest import Artifact, Manifest
from bundler.core.cache import Cache
from bundler.core.errors import LockError
from bundler.core.target import Target


def function(logical_id: str) -> Function:
    return Function(logical_id, Path("/src") / logical_id, "app.handler", Target(), "pinned")


class FakeBuild:
    """Records starts and ends; the first `pair` builds meet at a barrier, which only
    two builds running at once can pass."""

    def __init__(self, fail: str | None = None) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.events: list[tuple[str, str]] = []
        self.barrier = threading.Barrier(2, timeout=30)
        self.fail = fail

    def __call__(self, options: Any, **_: Any) -> BuildResult:
        name = options.out.name
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.events.append(("start", name))
        if len([e for e in self.events if e[0] == "start"]) <= 2:
            self.barrier.wait()  # two at once, or a BrokenBarrierError
        with self.lock:
            self.active -= 1
            self.events.append(("end", name))
        if name == self.fail:
            raise LockError(f"no wheel for {name}")
        artifact = Artifact("function", "function.zip", "0" * 64, 1, 1)
        return BuildResult(options.out, Manifest("pinned", Target(), "app.handler", artifact))


def test_groups_build_in_parallel_up_to_jobs_and_a_group_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBuild()
    monkeypatch.setattr(builder, "bundle", fake)
    a, b, c, d = (function(x) for x in "ABCD")
    app: Any = type("App", (), {"functions": (a, b, c, d)})()
    groups = [[a, b], [c], [d]]  # A and B have the same requirements
    built = builder._build_all(
        app, groups, AppOptions(tmp_path / "t.yaml", "pinned", jobs=2), tmp_path,
        Cache(tmp_path / "cache"), lambda _: None, None,
    )  # fmt: skip
    assert list(built) == ["A", "B", "C", "D"]  # the template's order
    assert fake.most == 2
    assert fake.events.index(("end", "A")) < fake.events.index(("start", "B"))


def test_the_first_failure_is_raised_naming_its_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBuild(fail="A")
    monkeypatch.setattr(builder, "bundle", fake)
    a, b, c = (function(x) for x in "ABC")
    app: Any = type("App", (), {"functions": (a, b, c)})()
    with pytest.raises(FunctionFailed) as raised:
        builder._build_all(
            app, [[a, b], [c]], AppOptions(tmp_path / "t.yaml", "pinned", jobs=2), tmp_path,
            Cache(tmp_path / "cache"), lambda _: None, None,
        )  # fmt: skip
    assert str(raised.value) == "Function A: no wheel for A"
    assert raised.value.exit_code == LockError.exit_code
    assert ("start", "B") not in fake.events  # A's group stopped at A
