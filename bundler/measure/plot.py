"""An SVG picture of a compare: cold-start distributions, one row per variant, and where
each variant's time goes; `compare --plot` writes it as .svg or, through rsvg-convert, .png.

Hand-written SVG keeps lambundle free of a plotting dependency; the picture is meant to be
pasted into a design review, so it says what it shows: every sample as a dot, the quartiles
as a box, the median with its value and its ratio to the baseline of the same Python; then
each variant's median split into extract, init and first invoke; in the subtitle the date,
the Pythons and the machine.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bundler.core.errors import BundlerError, UsageError
from bundler.measure.stats import percentile

_PALETTE = ("#2b6cb0", "#2f855a", "#b7791f", "#9b2c2c", "#6b46c1", "#2c7a7b", "#97266d")
# Extract, init, first invoke: the phases of a local cold start, in order.
PHASES = ("extract", "init", "1st invoke")
_PHASE_COLORS = ("#a0aec0", "#2b6cb0", "#dd6b20")
_ROW = 56
_BAR_ROW = 36
_LEFT = 175
_RIGHT = 190
_WIDTH = 900
_LINE = 15

Scale = Callable[[float], float]


@dataclasses.dataclass(frozen=True)
class Row:
    """One variant in the picture.

    `note` is a second line under the name (its Python); `ratio` the text under the
    median (its ratio and to which baseline); `phases` the medians of `PHASES` in ms, NaN
    for a phase not measured (extract on AWS), empty to leave the variant out of the
    breakdown.
    """

    name: str
    samples: Sequence[float]
    note: str = ""
    ratio: str = ""
    phases: Sequence[float] = ()
    phases_note: str = ""


def _nice_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _text(x: float, y: float, text: str, size: int = 11, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(text)}</text>'


def cold_start_svg(
    rows: Sequence[Row],
    *,
    title: str = "Cold start, ms",
    subtitle: Sequence[str] = (),
) -> str:
    """SVG text: a panel of every row's cold starts, then, when rows carry `phases`, a
    panel of their medians split into extract, init and first invoke, on the same scale."""
    broken = [r for r in rows if r.phases]
    sums = [sum(v for v in r.phases if not math.isnan(v)) for r in broken]
    top = max([v for r in rows for v in r.samples] + sums, default=1.0)
    step = _nice_step(top)
    axis_max = step * math.ceil(top * 1.05 / step) if top > 0 else 1.0
    plot_w = _WIDTH - _LEFT - _RIGHT

    def x(value: float) -> float:
        return _LEFT + plot_w * value / axis_max

    y = 24.0
    out = [_text(_LEFT, y, title, 16, font_weight="bold")]
    for line in subtitle:
        y += _LINE
        out.append(_text(_LEFT, y, line, 11, fill="#555"))
    y += _LINE + 4
    out.append(_text(_LEFT, y, "box: the middle half of the starts, from the first to the "
                     "third quartile (25th-75th percentile); thick line: the median; "
                     "dots: every cold start", 10, fill="#555"))  # fmt: skip
    panel_top = y + 14
    axis_y = panel_top + _ROW * len(rows)
    out += _axis(x, step, axis_max, panel_top, axis_y)
    for index, row in enumerate(rows):
        out += _row(index, row, x, panel_top + _ROW * index + _ROW / 2)
    height = axis_y + 50
    if broken:
        out += _phases_panel(broken, x, step, axis_max, axis_y + 62)
        height = axis_y + 62 + 44 + _BAR_ROW * len(broken) + 50
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {_WIDTH} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect width="{_WIDTH}" height="{height:.0f}" fill="white"/>',
    ]
    return "\n".join([*head, *out, "</svg>"]) + "\n"


def _axis(x: Scale, step: float, axis_max: float, top: float, axis_y: float) -> list[str]:
    """The vertical grid lines and their values every `step` ms, and the unit."""
    out = []
    tick = 0.0
    while tick <= axis_max + 1e-9:
        tx = x(tick)
        out.append(
            f'<line x1="{tx:.1f}" y1="{top - 6:.1f}" x2="{tx:.1f}" y2="{axis_y:.1f}" '
            'stroke="#e2e8f0"/>'
        )
        out.append(_text(tx, axis_y + 16, f"{tick:g}", 11, text_anchor="middle", fill="#444"))
        tick += step
    middle = _LEFT + (_WIDTH - _LEFT - _RIGHT) / 2
    out.append(_text(middle, axis_y + 34, "milliseconds", 12, text_anchor="middle", fill="#444"))
    return out


def _label(row: Row, mid: float) -> list[str]:
    out = [_text(_LEFT - 10, mid + (0 if row.note else 4), row.name, 13, text_anchor="end")]
    if row.note:
        out.append(_text(_LEFT - 10, mid + 14, row.note, 10, text_anchor="end", fill="#666"))
    return out


def _row(index: int, row: Row, x: Scale, mid: float) -> list[str]:
    """One variant: its name, every sample as a dot, the quartile box, the median with its
    value and its ratio."""
    color = _PALETTE[index % len(_PALETTE)]
    out = _label(row, mid)
    samples = row.samples
    if not samples:
        return [*out, _text(_LEFT + 4, mid + 4, "no samples", 12, fill="#999")]
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
    out.append(_text(_WIDTH - _RIGHT + 10, mid - 2, f"median {med:.0f} ms", 12, fill=color))
    if row.ratio:
        out.append(_text(_WIDTH - _RIGHT + 10, mid + 13, row.ratio, 11, fill=color))
    return out


def _phases_panel(
    rows: Sequence[Row], x: Scale, step: float, axis_max: float, top: float
) -> list[str]:
    """Each row's median extract, init and first invoke as one stacked bar."""
    out = [
        _text(_LEFT, top, "Where the time goes: the median of each phase", 14,
              font_weight="bold"),
        _text(_LEFT, top + 16, "medians of each phase on their own, so a bar's sum can differ "
              "a little from the median cold total above", 10, fill="#555"),
    ]  # fmt: skip
    lx = float(_LEFT)
    for index, (name, color) in enumerate(zip(PHASES, _PHASE_COLORS, strict=True)):
        if all(len(r.phases) <= index or math.isnan(r.phases[index]) for r in rows):
            name += " (not measured)"
        out.append(f'<rect x="{lx:.1f}" y="{top + 24:.1f}" width="12" height="10" fill="{color}"/>')
        out.append(_text(lx + 16, top + 33, name, 11, fill="#444"))
        lx += 16 + 6.5 * len(name) + 20
    bars_top = top + 44
    axis_y = bars_top + _BAR_ROW * len(rows)
    out += _axis(x, step, axis_max, bars_top, axis_y)
    for index, row in enumerate(rows):
        mid = bars_top + _BAR_ROW * index + _BAR_ROW / 2
        out += _label(dataclasses.replace(row, note=""), mid)
        start = 0.0
        for value, color in zip(row.phases, _PHASE_COLORS, strict=False):
            if math.isnan(value):
                continue
            x0, x1 = x(start), x(start + value)
            # A phase of a millisecond or two still shows, as a sliver.
            out.append(
                f'<rect x="{x0:.1f}" y="{mid - 9:.1f}" width="{max(x1 - x0, 2):.1f}" '
                f'height="18" fill="{color}"/>'
            )
            if x1 - x0 >= 30:
                out.append(_text((x0 + x1) / 2, mid + 4, f"{value:.0f}", 10,
                                 text_anchor="middle", fill="white"))  # fmt: skip
            start += value
        lines = [f"{start:.0f} ms in all", row.phases_note] if row.phases_note else [
            f"{start:.0f} ms in all"]  # fmt: skip
        for k, line in enumerate(lines):
            out.append(_text(_WIDTH - _RIGHT + 10, mid - 2 + 13 * k + (6 if len(lines) == 1 else 0),
                             line, 11 - k, fill="#333"))  # fmt: skip
    return out


# -- a compare report's picture ----------------------------------------------------------


def _ratio_text(row: dict[str, Any], key: str, label: str = "") -> str:
    """'0.31x the 3.12 baseline' (its own Python's), '' for a baseline or with none."""
    value = (row.get("ratio_to_baseline") or {}).get(key)
    base = row.get("baseline")
    if base is None or base == row["name"] or value is None or math.isnan(value):
        return ""
    return f"{label}{value:.2f}x the {row.get('python') or '?'} baseline"


def _median(row: dict[str, Any], key: str) -> float:
    value = (row.get(key) or {}).get("median")
    return math.nan if value is None else float(value)


def plot_rows(result: dict[str, Any]) -> list[Row]:
    """The picture's rows of a compare report."""
    m = result.get("machine") or {}
    versions = m.get("target_pythons") or {}
    baselines = set((result.get("baselines") or {}).values()) | {result.get("baseline")}
    rows = []
    for v in result["variants"]:
        python = v.get("python") or ""
        note = f"Python {versions.get(python, python)}" if python else ""
        if v["name"] in baselines:
            note += ", pip --target" if note else "pip --target"
        rows.append(Row(
            name=v["name"],
            samples=[s["cold_total_ms"] for s in v["samples"]["cold"]],
            note=note,
            ratio=_ratio_text(v, "cold_total_ms"),
            phases=[_median(v, f) for f in ("extract_ms", "init_ms", "first_invoke_ms")],
            phases_note=_ratio_text(v, "init_invoke_ms", "init+1st "),
        ))  # fmt: skip
    return rows


def _pythons(result: dict[str, Any]) -> str:
    """The Pythons the variants ran, as full versions where the machine says them."""
    versions = (result.get("machine") or {}).get("target_pythons") or {}
    minors = sorted({v.get("python") for v in result["variants"] if v.get("python")})
    if not minors:
        return "Python ?"
    return "Python " + " and ".join(versions.get(p, p) for p in minors)


def _date(settings: dict[str, Any]) -> str:
    date = str(settings.get("date") or "")
    # 2026-12-05T07:55:29Z -> 2026-12-05 07:55 UTC
    return f"{date[:10]} {date[11:16]} UTC" if len(date) >= 16 else "date not recorded"


def plot_svg(result: dict[str, Any]) -> str:
    """The picture of a compare report: the cold starts, then where the time goes."""
    m = result.get("machine") or {}
    settings = result.get("settings") or {}
    src, cold = settings.get("src", ""), settings.get("cold")
    if settings.get("where") == "aws":
        # Lambda reports no extraction: its cold total is Init Duration + Duration.
        title = "Cold start on AWS Lambda (Init Duration + Duration), ms"
        subtitle = [
            f"{src}: {cold} forced cold starts per variant, interleaved; {_date(settings)}",
            f"{_pythons(result)} on AWS Lambda, {settings.get('region')}, "
            f"{settings.get('memory_mb')} MB, {settings.get('arch')}",
        ]
    else:
        title = "Cold start (extract + init + first invoke), ms"
        subtitle = [
            f"{src}: {cold} cold starts per variant, interleaved; {_date(settings)}",
            f"{_pythons(result)} in the sandbox ({m.get('bwrap') or 'no bubblewrap'}); "
            f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores; bundles extracted in "
            f"{settings.get('layout_dir', '?')}",
        ]
    return cold_start_svg(plot_rows(result), title=title, subtitle=subtitle)


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
