"""A plan: which file goes into which artifact of a bundle, before anything is written.

A strategy (`strategies/`) turns `PlanInputs` (the function's code, the installed and
compiled dependency tree, the runtime's files, the target and the lock) into a `Plan`
without side effects (STYLE.md, "Plan, then build"); `bundler.build` writes it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from bundler.bundle.archive import ZipEntry
from bundler.bundle.layer import EXEC_WRAPPER, EXEC_WRAPPER_VARIABLE
from bundler.core.target import Target

TASK_ROOT = "/var/task"
OPT_ROOT = "/opt"

ArtifactKind = Literal["function", "layer"]


@dataclasses.dataclass(frozen=True)
class Dist:
    """An installed distribution, with the bytes it adds to the dependency tree."""

    name: str
    version: str
    size: int = 0


@dataclasses.dataclass(frozen=True)
class PlanInputs:
    """Everything a strategy needs; entries' arcnames are relative to the tree they name.

    `code` is relative to the task root, `deps` to the dependency dir the strategy chose
    with `deps_dir` (pyc already compiled for that location), `runtime` to /opt.
    """

    target: Target
    handler: str
    code: tuple[ZipEntry, ...]
    deps: tuple[ZipEntry, ...] = ()
    runtime: tuple[ZipEntry, ...] = ()
    lock_text: str | None = None
    lock_sha256: str | None = None
    distributions: tuple[Dist, ...] = ()


@dataclasses.dataclass(frozen=True)
class PlannedArtifact:
    """One zip to write: the function or a layer (layers in the order Lambda merges them)."""

    name: str
    kind: ArtifactKind
    file: str
    entries: tuple[ZipEntry, ...]

    @property
    def unzipped_size(self) -> int:
        return sum(entry_size(e) for e in self.entries)


@dataclasses.dataclass(frozen=True)
class Plan:
    strategy: str
    target: Target
    handler: str
    artifacts: tuple[PlannedArtifact, ...]
    sys_path: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()
    lock_sha256: str | None = None
    distributions: tuple[Dist, ...] = ()

    @property
    def function(self) -> PlannedArtifact:
        return next(a for a in self.artifacts if a.kind == "function")

    @property
    def layers(self) -> tuple[PlannedArtifact, ...]:
        return tuple(a for a in self.artifacts if a.kind == "layer")


def plan_from(
    strategy: str,
    inputs: PlanInputs,
    artifacts: tuple[PlannedArtifact, ...],
    sys_path: tuple[str, ...],
) -> Plan:
    """A strategy's plan: its artifacts and loader paths; the rest follows from the inputs."""
    return Plan(
        strategy=strategy,
        target=inputs.target,
        handler=inputs.handler,
        artifacts=artifacts,
        sys_path=sys_path,
        environment=environment(inputs.target),
        lock_sha256=inputs.lock_sha256,
        distributions=inputs.distributions,
    )


def entry_size(entry: ZipEntry) -> int:
    if entry.data is not None:
        return len(entry.data)
    assert entry.source is not None, entry.arcname
    return entry.source.stat().st_size


def prefixed(prefix: str, entries: tuple[ZipEntry, ...]) -> tuple[ZipEntry, ...]:
    """The same entries, moved under `prefix/` inside the archive."""
    return tuple(dataclasses.replace(e, arcname=f"{prefix}/{e.arcname}") for e in entries)


def environment(target: Target) -> tuple[tuple[str, str], ...]:
    """What the function's configuration must set: on managed runtimes, the exec wrapper
    that swaps AWS's client for lambundle's runtime (runtimes-modify.html)."""
    if target.managed:
        return ((EXEC_WRAPPER_VARIABLE, EXEC_WRAPPER),)
    return ()


def opt_site_dir(target: Target) -> str:
    """Lambda's Python layer site dir, absolute (packaging-layers.html)."""
    return f"{OPT_ROOT}/{target.site_packages}"
