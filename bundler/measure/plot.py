"""An SVG picture of cold-start distributions, one row per variant; `compare --plot`
writes it for a compare report, as .svg or, through rsvg-convert, .png.

Hand-written SVG keeps lambundle free of a plotting dependency; the picture is meant to be
pasted into a design review: every sample as a dot, the interquartile box, the median
with its value and its ratio to the baseline.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bundler.core.errors import BundlerError, UsageError
from bundler.measure.stats import percentile, ratio

_PALETTE = ("#2b6cb0", "#2f855a", "#b7791f", "#9b2c2c", "#6b46c1", "#2c7a7b", "#97266d")
_ROW = 56
_LEFT = 150
_RIGHT = 190
_TOP = 58
_WIDTH = 900


def _nice_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def cold_start_svg(
    rows: Sequence[tuple[str, Sequence[float]]],
    *,
    baseline: str | None = None,
    title: str = "Cold start (spawn to first response), ms",
    subtitle: str = "",
) -> str:
    """SVG text for `rows` of (variant name, cold-start samples in ms)."""
    all_values = [v for _, samples in rows for v in samples]
    top = max(all_values) if all_values else 1.0
    step = _nice_step(top)
    axis_max = step * math.ceil(top * 1.05 / step) if top > 0 else 1.0
    plot_w = _WIDTH - _LEFT - _RIGHT
    height = _TOP + _ROW * len(rows) + 50

    def x(value: float) -> float:
        return _LEFT + plot_w * value / axis_max

    base_samples = dict(rows).get(baseline) if baseline else None
    base_median = percentile(base_samples, 50) if base_samples else math.nan
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect width="{_WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{_LEFT}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
        f'<text x="{_LEFT}" y="42" font-size="11" fill="#555">{escape(subtitle)}</text>',
    ]
    axis_y = _TOP + _ROW * len(rows)
    out += _axis(x, step, axis_max, axis_y)
    out.append(
        f'<text x="{_LEFT + plot_w / 2:.1f}" y="{axis_y + 36}" font-size="12" '
        f'text-anchor="middle" fill="#444">milliseconds</text>'
    )
    for index, (name, samples) in enumerate(rows):
        # The baseline has no ratio to itself.
        out += _row(index, name, samples, x, math.nan if name == baseline else base_median)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axis(x: Callable[[float], float], step: float, axis_max: float, axis_y: int) -> list[str]:
    """The vertical grid lines and their values, every `step` ms."""
    out = []
    tick = 0.0
    while tick <= axis_max + 1e-9:
        tx = x(tick)
        out.append(
            f'<line x1="{tx:.1f}" y1="{_TOP - 6}" x2="{tx:.1f}" y2="{axis_y}" stroke="#e2e8f0"/>'
        )
        out.append(
            f'<text x="{tx:.1f}" y="{axis_y + 16}" font-size="11" text-anchor="middle" '
            f'fill="#444">{tick:g}</text>'
        )
        tick += step
    return out


def _row(
    index: int,
    name: str,
    samples: Sequence[float],
    x: Callable[[float], float],
    base_median: float,
) -> list[str]:
    """One variant: its name, every sample as a dot, the interquartile box, the median with
    its value and its ratio to `base_median` (none when that is NaN)."""
    color = _PALETTE[index % len(_PALETTE)]
    mid = _TOP + _ROW * index + _ROW / 2
    out = [
        f'<text x="{_LEFT - 10}" y="{mid + 4:.1f}" font-size="13" text-anchor="end">'
        f"{escape(name)}</text>"
    ]
    if not samples:
        out.append(
            f'<text x="{_LEFT + 4}" y="{mid + 4:.1f}" font-size="12" fill="#999">'
            "no samples</text>"
        )
        return out
    q1, med, q3 = (percentile(samples, q) for q in (25, 50, 75))
    out.append(
        f'<rect x="{x(q1):.1f}" y="{mid - 12:.1f}" width="{max(x(q3) - x(q1), 1):.1f}" '
        f'height="24" fill="{color}" fill-opacity="0.15" stroke="{color}"/>'
    )
    for k, value in enumerate(samples):
        # Deterministic vertical spread so equal values stay visible; no randomness.
        jitter = ((k * 7) % 11 - 5) * 1.8
        out.append(
            f'<circle cx="{x(value):.1f}" cy="{mid + jitter:.1f}" r="3" '
            f'fill="{color}" fill-opacity="0.7"/>'
        )
    out.append(
        f'<line x1="{x(med):.1f}" y1="{mid - 15:.1f}" x2="{x(med):.1f}" y2="{mid + 15:.1f}" '
        f'stroke="{color}" stroke-width="3"/>'
    )
    out.append(
        f'<text x="{_WIDTH - _RIGHT + 10}" y="{mid - 2:.1f}" font-size="12" '
        f'fill="{color}">median {med:.0f} ms</text>'
    )
    r = ratio(med, base_median)
    if not math.isnan(r):
        out.append(
            f'<text x="{_WIDTH - _RIGHT + 10}" y="{mid + 13:.1f}" font-size="11" '
            f'fill="{color}">{r:.2f}x baseline</text>'
        )
    return out


# -- a compare report's picture ----------------------------------------------------------


def plot_svg(result: dict[str, Any]) -> str:
    """The cold-start picture of a compare report."""
    rows = [(v["name"], [s["cold_total_ms"] for s in v["samples"]["cold"]])
            for v in result["variants"]]  # fmt: skip
    m = result.get("machine") or {}
    settings = result.get("settings") or {}
    title = "Cold start (extract + init + first invoke), ms"
    subtitle = (
        f"{settings.get('src', '')}: {settings.get('cold')} cold starts per variant, "
        f"interleaved, extracted in {settings.get('layout_dir', '?')}; "
        f"{m.get('cpu', '')}, {m.get('cores', '')} cores"
    )
    if settings.get("where") == "aws":
        # Lambda reports no extraction: its cold total is Init Duration + Duration.
        title = "Cold start on AWS Lambda (Init Duration + Duration), ms"
        subtitle = (
            f"{settings.get('src', '')}: {settings.get('cold')} forced cold starts per "
            f"variant, interleaved; {settings.get('region')}, {settings.get('memory_mb')} MB, "
            f"{settings.get('arch')}"
        )
    return cold_start_svg(rows, baseline=result.get("baseline"), title=title, subtitle=subtitle)


def check_plot_path(path: Path) -> str:
    """The format of --plot PATH ("svg" or "png"), refused before anything is measured."""
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        msg = f"--plot {path}: write .svg (or .png with rsvg-convert installed)."
        raise UsageError(msg)
    if suffix == ".png" and shutil.which("rsvg-convert") is None:
        msg = (
            f"--plot {path}: a PNG needs rsvg-convert (apt install librsvg2-bin); "
            "or pass a .svg file name."
        )
        raise UsageError(msg)
    return suffix[1:]


def write_plot(result: dict[str, Any], path: Path) -> None:
    """Write the picture as .svg, or .png through rsvg-convert, replaced whole (never half
    written); `compare` checked the place before measuring."""
    fmt = check_plot_path(path)
    svg = plot_svg(result)
    tmp = path.with_name(f".{path.name}.part")
    try:
        if fmt == "svg":
            tmp.write_text(svg, encoding="utf-8")
        else:
            exe = shutil.which("rsvg-convert") or "rsvg-convert"
            proc = subprocess.run(
                [exe, "--format", "png", "--output", str(tmp)],
                input=svg.encode(), capture_output=True, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                error = proc.stderr.decode(errors="replace")
                raise BundlerError(f"rsvg-convert could not write {path}: {error}")
        tmp.replace(path)
    except OSError as exc:
        msg = f"Cannot write --plot {path} ({exc.strerror}); choose another path."
        raise UsageError(msg) from None
    finally:
        if tmp.exists():
            tmp.unlink()
