"""The report of `lambundle compare`: per-variant summaries, ratios to the baseline, a table.

Pure functions over samples; the measuring lives in `bundler.measure.compare`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bundler.measure.stats import ratio, summarize

# init_invoke_ms is what Lambda itself reports of a cold start: Init Duration plus the first
# invoke's Duration (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html);
# cold_total_ms adds the local extraction, which Lambda does before Init and reports nowhere.
COLD_FIELDS = (
    "extract_ms", "init_ms", "first_invoke_ms", "init_invoke_ms", "cold_total_ms", "peak_rss_kb",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ColdSample:
    """One cold start: a fresh sandbox, extract, spawn, init, first invoke."""

    extract_ms: float
    init_ms: float
    first_invoke_ms: float
    peak_rss_kb: float

    @property
    def init_invoke_ms(self) -> float:
        return self.init_ms + self.first_invoke_ms

    @property
    def cold_total_ms(self) -> float:
        return self.extract_ms + self.init_ms + self.first_invoke_ms


@dataclasses.dataclass
class VariantSamples:
    """One variant's samples; `python` (its minor version) picks its baseline."""

    name: str
    zipped_bytes: int = 0
    unzipped_bytes: int = 0
    description: str = ""
    python: str = ""
    cold: list[ColdSample] = dataclasses.field(default_factory=list)
    warm_ms: list[float] = dataclasses.field(default_factory=list)


def schedule(names: Sequence[str], rounds: int) -> list[str]:
    """Interleave variants (A B C A B C ...) so drift on a noisy machine hits all alike."""
    return [name for _ in range(rounds) for name in names]


def _variant_json(v: VariantSamples) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "description": v.description,
        "python": v.python,
        "zipped_bytes": v.zipped_bytes,
        "unzipped_bytes": v.unzipped_bytes,
    }
    for field in COLD_FIELDS:
        out[field] = summarize([getattr(s, field) for s in v.cold])
    warm = summarize(v.warm_ms)
    out["warm_ms"] = {"p50": warm["median"], "p99": warm["p99"], "min": warm["min"],
                      "max": warm["max"], "n": warm["n"]}  # fmt: skip
    out["samples"] = {
        "cold": [{f: getattr(s, f) for f in COLD_FIELDS} for s in v.cold],
        "warm_ms": list(v.warm_ms),
    }
    return out


def build_report(
    variants: Iterable[VariantSamples],
    *,
    baseline: str | None,
    settings: dict[str, Any],
    baselines: Mapping[str, str] | None = None,
    failures: Sequence[dict[str, str]] = (),
    importtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of `compare --json`, every figure also as a ratio to a baseline.

    `baselines` maps a Python minor version to the name of its baseline variant: each
    variant's ratios are to the baseline of its own Python, which its row names, and a
    variant whose Python has no measured baseline has none (a 3.11 start measured against
    a 3.12 baseline would mix the packaging's effect with the interpreter's). Without
    `baselines`, every ratio is to `baseline`, the report's main one.
    """
    rows = [_variant_json(v) for v in variants]
    by_name = {row["name"]: row for row in rows}
    for row in rows:
        name = baseline if baselines is None else baselines.get(row["python"])
        base = by_name.get(name) if name else None
        row["baseline"] = name if base else None
        row["ratio_to_baseline"] = {
            key: ratio(_headline(row, key), _headline(base, key)) if base else math.nan
            for key in ("zipped_bytes", "unzipped_bytes", *COLD_FIELDS, "warm_ms")
        }
    if baselines is None:
        main = by_name.get(baseline or "")
        baselines = {str(main["python"]): main["name"]} if main else {}
    measured = {py: name for py, name in baselines.items() if name in by_name}
    return {
        "baseline": baseline if baseline in by_name else None,
        "baselines": measured,
        "settings": settings,
        "variants": rows,
        "failures": list(failures),
        "importtime": importtime,
    }


def _headline(row: dict[str, Any] | None, key: str) -> float:
    if row is None:
        return math.nan
    value = row[key]
    if isinstance(value, dict):
        return float(value["p50"] if key == "warm_ms" else value["median"])
    return float(value)


def _fmt(value: float, unit: str = "") -> str:
    if math.isnan(value):
        return "-"
    if unit == "MB":
        return f"{value / 1e6:.1f}"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _fmt_ratio(value: float) -> str:
    return "" if math.isnan(value) else f" ({value:.2f}x)"


def render_table(report: dict[str, Any]) -> str:
    """A fixed-width table: medians (min-max) and the ratio to the baseline, then what the
    columns are and which baseline each ratio is to."""
    headers = ["variant", "zip MB", "unzip MB", "extract", "init", "1st invoke",
               "init+1st", "cold total (min-max)", "warm p50", "warm p99", "RSS MB"]  # fmt: skip
    lines = []
    for row in report["variants"]:
        r = row["ratio_to_baseline"]
        cold = row["cold_total_ms"]
        lines.append([
            row["name"],
            _fmt(row["zipped_bytes"], "MB"),
            _fmt(row["unzipped_bytes"], "MB") + _fmt_ratio(r["unzipped_bytes"]),
            _fmt(row["extract_ms"]["median"]),
            _fmt(row["init_ms"]["median"]) + _fmt_ratio(r["init_ms"]),
            _fmt(row["first_invoke_ms"]["median"]),
            _fmt(row["init_invoke_ms"]["median"]) + _fmt_ratio(r["init_invoke_ms"]),
            f"{_fmt(cold['median'])} ({_fmt(cold['min'])}-{_fmt(cold['max'])})"
            + _fmt_ratio(r["cold_total_ms"]),
            _fmt(row["warm_ms"]["p50"]) + _fmt_ratio(r["warm_ms"]),
            _fmt(row["warm_ms"]["p99"]),
            _fmt(row["peak_rss_kb"]["median"] / 1000),
        ])  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines]  # fmt: skip
    out.append("times in ms, medians; init+1st = init + first invoke, what Lambda reports "
               "(Init Duration + Duration); cold total = extract + init+1st")  # fmt: skip
    out += _ratio_legend(report)
    return "\n".join(out)


def _ratio_legend(report: dict[str, Any]) -> list[str]:
    """Which baseline the (Nx) of each row is to, and the rows that have none."""
    baselines: dict[str, str] = report.get("baselines") or {}
    if not baselines:
        return ["no baseline was measured, so there are no ratios (Nx)"]
    named = ", ".join(f"'{name}' for Python {py}" for py, name in sorted(baselines.items()))
    if len(baselines) == 1:
        out = [f"(Nx) = ratio to the baseline {named}"]
    else:
        out = [f"(Nx) = ratio to the baseline of the variant's own Python: {named}"]
    orphans = [row["name"] for row in report["variants"] if row.get("baseline") is None]
    if orphans:
        pythons = sorted({row["python"] for row in report["variants"]
                          if row["name"] in orphans and row["python"]})  # fmt: skip
        out.append(f"no ratio for {', '.join(orphans)}: no baseline of "
                   f"Python {', '.join(pythons) or '?'} was measured")  # fmt: skip
    return out


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+\d+\s+\|\s*(\S+)\s*$")


def parse_importtime(stderr: str, top: int = 15) -> list[dict[str, Any]]:
    """Sum `-X importtime` self times by top-level package, largest first.

    Self time attributes each microsecond to exactly one module, so the per-package sums
    add up to the whole import time without double counting nested imports.
    """
    totals: dict[str, int] = {}
    for line in stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            package = m[2].split(".")[0]
            totals[package] = totals.get(package, 0) + int(m[1])
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [{"package": name, "self_ms": us / 1000} for name, us in ranked]


def dumps(report: dict[str, Any]) -> str:
    """JSON text for scripts and CI: NaN (a figure that could not be measured) becomes null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(report), indent=2, allow_nan=False) + "\n"


def render_footer(report: dict[str, Any]) -> str:
    """What could not be measured, and notes such as running unsandboxed; '' when none."""
    lines = []
    for failure in report.get("failures", []):
        first = (failure.get("error") or "").strip().splitlines() or [""]
        lines.append(f"not measured: {failure['variant']} ({failure['stage']}): {first[0]}")
    lines += [f"note: {note}" for note in report.get("notes", [])]
    return "\n".join(lines)


def render_importtime(report: dict[str, Any], top: int = 8) -> str:
    """The per-package import time of the slowest and the fastest variant, largest first,
    each named by the table's figure that chose it, and said to come from a start of its own.
    """
    found = report.get("importtime") or {}
    if not found.get("breakdowns"):
        return ""
    out = [
        "import times (-X importtime, self time by top-level package): each from one more "
        "cold start after the measured ones, not among the table's samples"
    ]
    for name, data in found["breakdowns"].items():
        role = "highest" if name == found.get("slowest") else "lowest"
        out.append(
            f"import time of {name} ({role} median init+1st in the table, "
            f"{data['median_init_invoke_ms']:.0f} ms): {data['imports_ms']:.0f} ms of imports "
            f"in that start's init+1st of {data['init_invoke_ms']:.0f} ms"
        )
        out += [f"  {p['self_ms']:>8.1f} ms  {p['package']}" for p in data["packages"][:top]]
    return "\n".join(out)
