"""What `lambundle compare` measures: variants of one function, each a strategy (or the
pip --target baseline, bundler.measure.baseline) with its build options, named
`STRATEGY[/no-pyc][/slim][@3.X]`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from bundler.core.errors import UsageError
from bundler.core.target import PYTHON_VERSIONS

STRATEGIES = ("fat-layer", "vendored", "pinned")
BASELINE = "baseline"
_VARIANT = re.compile(
    r"^(?P<strategy>[a-z-]+)(?P<mods>(/(no-pyc|slim))*)(@(?P<python>3\.\d+))?$"
)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way to ship the function: a strategy (or the baseline) and its build options."""

    name: str
    strategy: str
    python: str
    bytecode: bool = True
    slim: bool = False

    @property
    def description(self) -> str:
        if self.strategy == BASELINE:
            return (
                f"pip install --target into function.zip, no bytecode, awslambdaric "
                f"(python{self.python})"
            )
        parts = [self.strategy, f"python{self.python}"]
        parts.append("bytecode" if self.bytecode else "no bytecode")
        if self.slim:
            parts.append("--slim")
        return ", ".join(parts)


def parse_variant(spec: str, python: str) -> Variant:
    """`fat-layer`, `fat-layer/no-pyc`, `vendored/slim`, `pinned@3.13`, `baseline@3.13`."""
    m = _VARIANT.match(spec.strip())
    if m is None or m["strategy"] not in (*STRATEGIES, BASELINE):
        msg = (
            f"Unknown variant {spec!r}; write STRATEGY[/no-pyc][/slim][@3.X] with STRATEGY "
            f"one of {', '.join((*STRATEGIES, BASELINE))}, e.g. fat-layer/no-pyc or pinned@3.13."
        )
        raise UsageError(msg)
    mods = [x for x in (m["mods"] or "").split("/") if x]
    if m["strategy"] == BASELINE and mods:
        msg = f"Variant {spec!r}: the baseline is always without bytecode and not slimmed."
        raise UsageError(msg)
    version = m["python"] or python
    if version not in PYTHON_VERSIONS:
        msg = f"Variant {spec!r}: Python {version} is not a Lambda runtime ({PYTHON_VERSIONS})."
        raise UsageError(msg)
    name = m["strategy"] + "".join(f"/{x}" for x in ("no-pyc", "slim") if x in mods)
    if m["python"] and m["python"] != python:
        name += f"@{version}"
    return Variant(
        name=name,
        strategy=m["strategy"],
        python=version,
        bytecode="no-pyc" not in mods,
        slim="slim" in mods,
    )


def plan_variants(
    strategies: Sequence[str] = STRATEGIES,
    extra: Sequence[str] = (),
    *,
    python: str = "3.12",
    pythons: Sequence[str] = (),
    baseline: bool = True,
) -> list[Variant]:
    """The variants to measure: the strategies, extras, other Pythons, then the baselines.

    `pythons` adds every strategy again for each other minor version. With `baseline`,
    every Python a variant runs on gets its own baseline (`baseline@3.X`, then `baseline`
    for `python`), so that each ratio compares packagings on one interpreter.
    """
    specs = [*strategies, *extra]
    for other in pythons:
        if other != python:
            specs += [f"{s}@{other}" for s in strategies]
    out: dict[str, Variant] = {}
    for spec in specs:
        variant = parse_variant(spec, python)
        out.setdefault(variant.name, variant)
    if baseline:
        others = [v.python for v in out.values() if v.python != python]
        for version in [*dict.fromkeys(others), python]:
            variant = parse_variant(f"{BASELINE}@{version}", python)
            out.setdefault(variant.name, variant)
    return list(out.values())
