"""`lambundle compare template.yaml`: every Python function of an application compared as
`compare SRC` compares one (bundler.measure.compare), then the application in total.

Each function is measured with its own handler and Python, and the memory size the
template gives it (unless `--memory` says otherwise). The total per variant is what
deploying the whole application that way costs: the bytes to upload with each distinct
zip counted once (a pinned dependency layer two functions share, the runtime layer every
function shares), against the same functions built one by one; and one cold start of
every function, the sum of their median cold starts (with the local extraction, and as
Lambda reports them: Init plus the first invoke's Duration), with its ratio to the
baseline's.
A function that cannot be measured is reported with its failures, and the total says
which functions it covers.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundler.app.application import read_application, resolve_parameter
from bundler.core.errors import TemplateError
from bundler.core.progress import Report, quiet
from bundler.measure import compare as comparing
from bundler.measure.runner import DEFAULT_MEMORY_MB
from bundler.measure.stats import ratio
from bundler.measure.variants import BASELINE, STRATEGIES


def compare_application(
    template: Path,
    *,
    strategies: Sequence[str] = STRATEGIES,
    extra: Sequence[str] = (),
    baseline: bool = True,
    cold: int = 10,
    warm: int = 30,
    resolver: str = "auto",
    importtime: bool = True,
    out: Path | None = None,
    event: bytes = b"{}",
    isolate: bool | None = None,
    layout_dir: Path | None = None,
    memory_mb: int | None = None,
    report: Report = quiet,
) -> dict[str, Any]:
    """The compare report of every Python function of `template`, and the total."""
    app = read_application(template, "pinned")
    if not app.functions:
        msg = f"{template} has no Python function lambundle builds; nothing to compare."
        raise TemplateError(msg)
    parameters = app.template.get("Parameters") or {}
    options = {
        fn.logical_id: comparing.compare_options(
            fn.source, strategies=strategies, extra=extra, python=fn.target.python,
            baseline=baseline, cold=cold, warm=warm, handler=fn.handler, resolver=resolver,
            importtime=importtime,
        )
        for fn in app.functions
    }  # fmt: skip
    functions: dict[str, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        if out is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lambundle-app-")))
        else:
            work = out.absolute()
        for fn in app.functions:
            memory = memory_mb or _memory(resolve_parameter(fn.memory, parameters))
            report(f"[{fn.logical_id}] comparing {fn.source.name} at {memory} MB")
            try:
                functions[fn.logical_id] = comparing.compare(
                    options[fn.logical_id], out=work / fn.logical_id, event=event,
                    isolate=isolate, layout_dir=layout_dir, memory_mb=memory,
                    report=_prefixed(report, fn.logical_id),
                )  # fmt: skip
            except comparing.NothingMeasured as exc:
                report(f"[{fn.logical_id}] {exc}")
                functions[fn.logical_id] = exc.report
        total = application_total(functions, work)
    return {"template": str(app.path), "functions": functions, "total": total}


def application_total(functions: dict[str, dict[str, Any]], work: Path) -> list[dict[str, Any]]:
    """Per variant: bytes to upload (distinct zips once, and one by one) and the sums of the
    functions' median cold starts (cold total, init, init + first invoke), with ratios to
    the baseline's."""
    names: list[str] = []
    for result in functions.values():
        names += [row["name"] for row in result["variants"] if row["name"] not in names]
    rows = []
    for name in names:
        measured = {
            fid: row
            for fid, result in functions.items()
            for row in result["variants"]
            if row["name"] == name
        }
        rows.append({
            "name": name,
            "functions": sorted(measured),
            "upload_bytes": _distinct_bytes(work, name, measured),
            "separate_bytes": sum(row["zipped_bytes"] for row in measured.values()),
            "cold_total_ms": sum(row["cold_total_ms"]["median"] for row in measured.values()),
            "init_ms": sum(row["init_ms"]["median"] for row in measured.values()),
            "init_invoke_ms": sum(
                row["init_invoke_ms"]["median"] for row in measured.values()
            ),
        })  # fmt: skip
    base = next((row for row in rows if row["name"] == BASELINE), None)
    for row in rows:
        comparable = base is not None and base["functions"] == row["functions"]
        row["ratio_to_baseline"] = {
            key: ratio(row[key], base[key]) if comparable and base else math.nan
            for key in ("upload_bytes", "cold_total_ms", "init_ms", "init_invoke_ms")
        }
    return rows


def _distinct_bytes(work: Path, name: str, measured: dict[str, Any]) -> int | None:
    """Bytes of the variant's bundles, each function's zip and every distinct layer once
    (None if a manifest cannot be read)."""
    sizes: dict[str, int] = {}
    for fid in measured:
        path = comparing.variant_dir(work / fid, name) / "bundle.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        sizes[f"function {fid}"] = manifest["function"]["size"]
        for layer in manifest["layers"]:
            sizes[layer["sha256"]] = layer["size"]
    return sum(sizes.values())


def _prefixed(report: Report, logical_id: str) -> Report:
    return lambda message: report(f"[{logical_id}] {message}")


def _memory(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return DEFAULT_MEMORY_MB


def render_total(total: Sequence[dict[str, Any]]) -> str:
    """The application's total per variant, as a table."""
    lines = [
        "application total (distinct zips once; one cold start of every function):",
        f"  {'variant':<22} {'upload MB':>16} {'one by one MB':>14} {'cold starts ms':>18} "
        f"{'init ms':>16} {'init + 1st ms':>16}  functions",
    ]
    for row in total:
        r = row["ratio_to_baseline"]
        upload = row["upload_bytes"]
        lines.append(
            f"  {row['name']:<22} "
            f"{_with_ratio(upload / 1e6 if upload is not None else math.nan, r['upload_bytes'])}"
            f" {row['separate_bytes'] / 1e6:>14.2f} "
            f"{_with_ratio(row['cold_total_ms'], r['cold_total_ms'], 0)} "
            f"{_with_ratio(row['init_ms'], r['init_ms'], 0)} "
            f"{_with_ratio(row['init_invoke_ms'], r['init_invoke_ms'], 0)}  "
            f"{len(row['functions'])}"
        )
    lines.append("  (Nx) = ratio to the baseline over the same functions")
    return "\n".join(lines)


def _with_ratio(value: float, against: float, digits: int = 2) -> str:
    shown = "-" if math.isnan(value) else f"{value:.{digits}f}"
    suffix = "" if math.isnan(against) else f" ({against:.2f}x)"
    return f"{shown + suffix:>16}"
