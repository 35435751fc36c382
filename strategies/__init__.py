"""The dependency-shipping strategies, one module each, behind one interface."""

from __future__ import annotations

from bundler.bundle.plan import Plan, PlanInputs
from bundler.core.errors import UsageError
from strategies.base import Strategy
from strategies.fat_layer import FatLayer
from strategies.pinned import Pinned
from strategies.vendored import Vendored

STRATEGIES: dict[str, Strategy] = {s.name: s for s in (FatLayer(), Vendored(), Pinned())}
NAMES = tuple(STRATEGIES)

__all__ = ["NAMES", "STRATEGIES", "Plan", "PlanInputs", "Strategy", "get"]


def get(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        msg = f"Unknown strategy {name!r}; choose one of {', '.join(NAMES)}."
        raise UsageError(msg) from None
