"""The one interface every strategy implements.

A strategy is a pure planning step (STYLE.md, "Plan, then build"): given the function's
code, the installed and compiled dependency tree, the runtime's files, the target and
the lock (`PlanInputs`), it decides which file goes into which artifact and what the
loader must add to sys.path (`Plan`, both in `bundler.bundle.plan`). It writes nothing.
"""

from __future__ import annotations

from typing import Protocol

from bundler.bundle.plan import Plan, PlanInputs
from bundler.core.target import Target


class Strategy(Protocol):
    """A way of shipping dependencies; `name` is what `--strategy` takes."""

    name: str

    def deps_dir(self, target: Target) -> str:
        """Where the dependency tree lives inside Lambda (absolute): pyc are compiled for it."""
        ...

    def plan(self, inputs: PlanInputs) -> Plan:
        """Which files go into which artifact; pure, no I/O beyond sizes of sources."""
        ...
