"""What lambundle's runtime saves by collecting less during init and freezing what it made.

    python benchmarks/init_gc.py [--rounds 20] [--python 3.12] [--examples medium-deps,large-deps]

lambundle's runtime raises CPython's young-generation threshold while the handler's module
imports, then freezes what init made (runtime/main.py, INIT_GC_THRESHOLD);
`LAMBUNDLE_INIT_GC=default` leaves collection as CPython has it. This script builds each
example (vendored, bytecode included) and starts it cold in the local sandbox both ways,
alternating round by round so drift hits both alike, and reports Init (spawn to the first
`/next`, so a collection deferred to the end of init is counted) and the first invoke.
Results: benchmarks/results/init_gc.{json,md}. Timing is measured here and nowhere in the
tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bundler.build.pipeline import BuildOptions, bundle  # noqa: E402
from bundler.core import interpreters  # noqa: E402
from bundler.core.cache import Cache  # noqa: E402
from bundler.core.target import Target, host_arch  # noqa: E402
from bundler.measure.stats import ratio, summarize  # noqa: E402
from bundler.sandbox import Sandbox  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
MODES = ("default", "freeze")
MEMORY_MB = 1024  # numpy and pandas need more than Lambda's default 128 MB


def cold_start(bundle_dir: Path, mode: str) -> tuple[float, float]:
    """(init ms, first invoke ms) of one cold start with LAMBUNDLE_INIT_GC=`mode`."""
    env = {"LAMBUNDLE_INIT_GC": mode}
    with Sandbox(bundle_dir, memory_mb=MEMORY_MB, env=env) as sandbox:
        result = sandbox.invoke(b"{}")
    if result.error is not None:
        raise SystemExit(f"{bundle_dir} failed: {result.error}")
    timings = result.timings
    assert timings.init_s is not None and timings.invoke_s is not None
    return timings.init_s * 1000, timings.invoke_s * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--examples", default="medium-deps,large-deps")
    args = parser.parse_args()
    interp = interpreters.find(args.python)
    if interp is None:
        raise SystemExit(f"no Python {args.python} interpreter here")
    report: dict[str, object] = {
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.processor() or platform.machine()}, {platform.release()}",
        "python": interp.version,
        "memory_mb": MEMORY_MB,
        "examples": {},
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="lambundle-init-gc-") as tmp:
        for example in args.examples.split(","):
            out = Path(tmp, example)
            target = Target(args.python, host_arch())
            options = BuildOptions(ROOT / "examples" / example, "vendored", target, out=out,
                                   verify=False)  # fmt: skip
            bundle(options, cache=Cache())
            init: dict[str, list[float]] = {m: [] for m in MODES}
            first: dict[str, list[float]] = {m: [] for m in MODES}
            cold_start(out, "default")  # the page cache warmed once, not counted
            for i in range(args.rounds):
                # Alternate which mode goes first: the first of a pair is not favoured.
                for mode in MODES if i % 2 == 0 else MODES[::-1]:
                    init_ms, first_ms = cold_start(out, mode)
                    init[mode].append(init_ms)
                    first[mode].append(first_ms)
                    print(f"{example} {i + 1}/{args.rounds} {mode}: init {init_ms:.1f} ms",
                          file=sys.stderr)  # fmt: skip
            stats = {m: summarize(init[m]) for m in MODES}
            first_stats = {m: summarize(first[m]) for m in MODES}
            r = ratio(stats["freeze"]["median"], stats["default"]["median"])
            report["examples"][example] = {  # type: ignore[index]
                "init_ms": init, "first_invoke_ms": first, "init_stats": stats,
                "first_invoke_stats": first_stats, "init_ratio": r,
            }  # fmt: skip
            rows.append((example, stats, first_stats, r))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "init_gc.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"`{report['command']}`: {args.rounds} alternating cold starts each way in the "
        f"sandbox, vendored bundles, {MEMORY_MB} MB, target CPython {interp.version}, "
        f"{report['machine']}.",
        "",
        "Init (spawn to the first `/next`) and first invoke, ms, median (min-max):",
        "",
        "| example | init, CPython's collection | init, lambundle's | ratio | first invoke, "
        "CPython's / lambundle's |",
        "|---|---|---|---|---|",
    ]
    for example, stats, first_stats, r in rows:
        d, f = stats["default"], stats["freeze"]
        lines.append(
            f"| {example} | {d['median']:.1f} ({d['min']:.1f}-{d['max']:.1f}) "
            f"| {f['median']:.1f} ({f['min']:.1f}-{f['max']:.1f}) | {r:.2f}x "
            f"| {first_stats['default']['median']:.1f} / {first_stats['freeze']['median']:.1f} |"
        )
    (RESULTS / "init_gc.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
