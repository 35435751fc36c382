"""The three strategies' plans: which file goes where, what the loader adds."""

from __future__ import annotations

import json

import pytest

import strategies
from bundler.bundle.archive import ZipEntry
from bundler.bundle.plan import PlanInputs
from bundler.core.errors import UsageError
from bundler.core.target import Target

SITE = "python/lib/python3.12/site-packages"


def inputs(target: Target | None = None, *, deps: bool = True) -> PlanInputs:
    return PlanInputs(
        target=target or Target("3.12", "x86_64"),
        handler="app.handler",
        code=(ZipEntry("app.py", data=b"def handler(e, c): pass\n"),),
        deps=(ZipEntry("six.py", data=b"x = 1\n"),) if deps else (),
        runtime=(
            ZipEntry("bootstrap", data=b"#!/bin/sh\n", executable=True),
            ZipEntry("lambundle/_lambundle_runtime/main.py", data=b""),
        ),
        lock_text="six==1.16.0 --hash=sha256:abc\n" if deps else None,
        lock_sha256="0123456789abcdef" * 4 if deps else None,
    )


def names(plan: strategies.Plan, file: str) -> list[str]:
    artifact = next(a for a in plan.artifacts if a.file == file)
    return sorted(e.arcname for e in artifact.entries)


def data(plan: strategies.Plan, file: str, arcname: str) -> bytes:
    artifact = next(a for a in plan.artifacts if a.file == file)
    entry = next(e for e in artifact.entries if e.arcname == arcname)
    return entry.read()


def test_fat_layer_puts_runtime_and_deps_in_one_layer() -> None:
    plan = strategies.get("fat-layer").plan(inputs())
    assert [a.file for a in plan.artifacts] == ["function.zip", "layer-1-fat.zip"]
    assert names(plan, "function.zip") == ["app.py"]
    assert names(plan, "layer-1-fat.zip") == [
        "bootstrap",
        "lambundle/_lambundle_runtime/main.py",
        "lambundle/paths/fat.json",
        f"{SITE}/six.py",
    ]
    assert json.loads(data(plan, "layer-1-fat.zip", "lambundle/paths/fat.json")) == {
        "sys_path": [SITE]
    }
    assert plan.sys_path == ("/var/task", f"/opt/{SITE}")


def test_vendored_puts_deps_under_vendor_with_a_paths_file() -> None:
    plan = strategies.get("vendored").plan(inputs())
    assert [a.file for a in plan.artifacts] == ["function.zip", "layer-1-runtime.zip"]
    assert names(plan, "function.zip") == [".lambundle/paths.json", "app.py", "vendor/six.py"]
    assert json.loads(data(plan, "function.zip", ".lambundle/paths.json")) == {
        "sys_path": ["vendor"]
    }
    assert names(plan, "layer-1-runtime.zip") == [
        "bootstrap",
        "lambundle/_lambundle_runtime/main.py",
    ]
    assert plan.sys_path == ("/var/task", "/var/task/vendor")


def test_vendored_without_dependencies_has_no_vendor_dir() -> None:
    plan = strategies.get("vendored").plan(inputs(deps=False))
    assert names(plan, "function.zip") == ["app.py"]
    assert plan.sys_path == ("/var/task",)


def test_pinned_adds_a_dependency_layer_carrying_its_lock() -> None:
    plan = strategies.get("pinned").plan(inputs())
    assert [a.file for a in plan.artifacts] == [
        "function.zip",
        "layer-1-runtime.zip",
        "layer-2-deps.zip",
    ]
    assert names(plan, "function.zip") == ["app.py"]
    assert names(plan, "layer-2-deps.zip") == [
        "lambundle/locks/pinned-0123456789ab.txt",
        "lambundle/paths/pinned-0123456789ab.json",
        f"{SITE}/six.py",
    ]
    lock = data(plan, "layer-2-deps.zip", "lambundle/locks/pinned-0123456789ab.txt")
    assert lock == b"six==1.16.0 --hash=sha256:abc\n"
    assert plan.sys_path == ("/var/task", f"/opt/{SITE}")
    assert plan.lock_sha256 == "0123456789abcdef" * 4


def test_pinned_without_dependencies_has_only_the_runtime_layer() -> None:
    plan = strategies.get("pinned").plan(inputs(deps=False))
    assert [a.file for a in plan.artifacts] == ["function.zip", "layer-1-runtime.zip"]


@pytest.mark.parametrize("name", strategies.NAMES)
def test_managed_runtime_sets_the_exec_wrapper(name: str) -> None:
    plan = strategies.get(name).plan(inputs())
    assert dict(plan.environment) == {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper"}


@pytest.mark.parametrize("name", strategies.NAMES)
def test_provided_runtime_sets_no_wrapper(name: str) -> None:
    plan = strategies.get(name).plan(inputs(Target("3.12", "arm64", "provided.al2023")))
    assert dict(plan.environment) == {}
    assert plan.target.arch == "arm64"


@pytest.mark.parametrize("name", strategies.NAMES)
def test_the_function_comes_first_and_the_runtime_ships_with_bootstrap(name: str) -> None:
    plan = strategies.get(name).plan(inputs())
    assert plan.artifacts[0].kind == "function"
    assert all(a.kind == "layer" for a in plan.artifacts[1:])
    bootstraps = [e for layer in plan.layers for e in layer.entries if e.arcname == "bootstrap"]
    assert len(bootstraps) == 1 and bootstraps[0].executable


def test_deps_dirs_are_where_lambda_will_have_them() -> None:
    target = Target("3.11", "x86_64")
    assert strategies.get("vendored").deps_dir(target) == "/var/task/vendor"
    assert (
        strategies.get("fat-layer").deps_dir(target) == "/opt/python/lib/python3.11/site-packages"
    )
    assert strategies.get("pinned").deps_dir(target) == "/opt/python/lib/python3.11/site-packages"


def test_unknown_strategy_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="Unknown strategy 'fat'.*fat-layer, vendored, pinned"):
        strategies.get("fat")
