"""The report of `lambundle compare`: per-variant summaries, ratios to the baseline, a table.

Pure functions over samples; the measuring lives in `bundler.measure.compare`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bundler.measure.stats import ratio, summarize

COLD_FIELDS = ("extract_ms", "init_ms", "first_invoke_ms", "cold_total_ms", "peak_rss_kb")


@dataclasses.dataclass(frozen=True)
class ColdSample:
    """One cold start: a fresh sandbox, extract, spawn, init, first invoke."""

    extract_ms: float
    init_ms: float
    first_invoke_ms: float
    peak_rss_kb: float

    @property
    def cold_total_ms(self) -> float:
        return self.extract_ms + self.init_ms + self.first_invoke_ms


@dataclasses.dataclass
class VariantSamples:
    name: str
    zipped_bytes: int = 0
    unzipped_bytes: int = 0
    description: str = ""
    cold: list[ColdSample] = dataclasses.field(default_factory=list)
    warm_ms: list[float] = dataclasses.field(default_factory=list)


def schedule(names: Sequence[str], rounds: int) -> list[str]:
    """Interleave variants (A B C A B C ...) so drift on a noisy machine hits all alike."""
    return [name for _ in range(rounds) for name in names]


def _variant_json(v: VariantSamples) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "description": v.description,
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
    failures: Sequence[dict[str, str]] = (),
    importtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document of `compare --json`, every figure also as a ratio to the baseline."""
    rows = [_variant_json(v) for v in variants]
    base = next((r for r in rows if r["name"] == baseline), None)
    for row in rows:
        row["ratio_to_baseline"] = {
            key: ratio(_headline(row, key), _headline(base, key)) if base else math.nan
            for key in ("zipped_bytes", "unzipped_bytes", *COLD_FIELDS, "warm_ms")
        }
    return {
        "baseline": baseline if base else None,
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
    """A fixed-width table: medians (min-max) and the ratio to the baseline."""
    headers = ["variant", "zip MB", "unzip MB", "extract", "init", "1st invoke",
               "cold total (min-max)", "warm p50", "warm p99", "RSS MB"]  # fmt: skip
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
    out.append("times in ms, medians; (Nx) = ratio to the baseline"
               + (f" '{report['baseline']}'" if report["baseline"] else ""))  # fmt: skip
    return "\n".join(out)


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
    """The per-package import time of the slowest (and fastest) variant, largest first."""
    found = report.get("importtime") or {}
    out = []
    for name, data in found.get("breakdowns", {}).items():
        role = "slowest" if name == found.get("slowest") else "fastest"
        out.append(
            f"import time of {name} ({role}): {data['imports_ms']:.0f} ms of imports in "
            f"{data['init_ms']:.0f} ms init (-X importtime, self time by top-level package)"
        )
        out += [f"  {p['self_ms']:>8.1f} ms  {p['package']}" for p in data["packages"][:top]]
    return "\n".join(out)
