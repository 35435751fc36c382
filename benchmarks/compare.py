"""Run `lambundle compare` on the examples with dependencies; record the results.

    python benchmarks/compare.py [--cold 12] [--warm 30] [--examples medium-deps,large-deps]
                                 [--layout-dir /dev/shm --tag tmpfs]

For every example it writes benchmarks/results/compare-<example>.json (every raw sample,
the machine), .svg (the cold-start picture) and .txt (the command, the machine and the
table as printed). It then checks the issue's targets, measured in the same run: the best
strategy's median cold total at most 0.45x the baseline's for medium dependencies and at
most 0.25x for large native ones, and prints whether each was met. It never retries or
drops samples to meet a target. `--layout-dir` (recorded with `--tag` in the file names)
is a diagnostic: where the sandboxes extract bundles, to separate the host disk's cost
from the interpreter's.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"medium-deps": 0.45, "large-deps": 0.25}
# Beyond the default set: does bytecode explain the gap, and does --slim add to it?
EXTRA_VARIANTS = "fat-layer/no-pyc,fat-layer/slim"
STRATEGIES = ("fat-layer", "vendored", "pinned")


def lambundle() -> str:
    exe = Path(sys.executable).with_name("lambundle")
    return str(exe) if exe.exists() else "lambundle"


def run(example: str, cold: int, warm: int, layout_dir: str, tag: str) -> dict[str, object]:
    stem = RESULTS / (f"compare-{example}" + (f"-{tag}" if tag else ""))
    cmd = [
        lambundle(), "compare", f"examples/{example}", "--cold", str(cold), "--warm", str(warm),
        "--variants", EXTRA_VARIANTS,
        "--json", f"{stem.relative_to(ROOT)}.json", "--plot", f"{stem.relative_to(ROOT)}.svg",
    ]  # fmt: skip
    if layout_dir:
        cmd += ["--layout-dir", layout_dir]
    print(f"$ {shlex.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"compare failed on {example} (exit {proc.returncode})")
    report = json.loads(stem.with_suffix(".json").read_text())
    m = report["machine"]
    machine = (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / 2**30:.1f} GiB, {m['kernel']}, "
        f"host Python {m['python']}, target Pythons {m['target_pythons']}, {m['bwrap']}"
    )
    verdict = verdict_for(example, report)
    text = f"$ {shlex.join(cmd)}\n\nmachine: {machine}\n\n{proc.stdout}\n{verdict}\n"
    stem.with_suffix(".txt").write_text(text)
    print(text)
    return report


def verdict_for(example: str, report: dict[str, object]) -> str:
    variants = {v["name"]: v for v in report["variants"]}  # type: ignore[attr-defined]
    ratios = {
        name: v["ratio_to_baseline"]["cold_total_ms"]
        for name, v in variants.items()
        if name in STRATEGIES and v["ratio_to_baseline"]["cold_total_ms"] is not None
    }
    if not ratios or example not in TARGETS:
        return "target: not checked"
    best = min(ratios, key=lambda n: ratios[n])
    target = TARGETS[example]
    met = "MET" if ratios[best] <= target else "NOT MET"
    return (
        f"target {met}: best strategy {best} cold total {ratios[best]:.2f}x the baseline "
        f"(target <= {target}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=12)
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument("--examples", default="medium-deps,large-deps")
    parser.add_argument("--layout-dir", default="", help="where sandboxes extract bundles")
    parser.add_argument("--tag", default="", help="suffix of the result file names")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for example in args.examples.split(","):
        run(example, args.cold, args.warm, args.layout_dir, args.tag)


if __name__ == "__main__":
    main()
