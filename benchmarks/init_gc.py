"""What collecting less often during init saves: the handler module's import, both ways.

    python benchmarks/init_gc.py [--rounds 30] [--python 3.12] [--examples medium-deps,large-deps]

lambundle's runtime raises CPython's young-generation threshold while the handler's module
imports (runtime/main.py, INIT_GC_THRESHOLD) and puts it back before the first invoke.
This script measures exactly that step in isolation: each example is bundled (fat-layer,
bytecode included), its layer and function laid out once in a temporary directory, and a
fresh interpreter of the target version imports the handler's module, timed in-process,
with the interpreter's default thresholds (`default`) or the runtime's (`relaxed`),
alternating round by round so drift hits both alike. Results:
benchmarks/results/init_gc.{json,md}. Timing is measured here and nowhere in the tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bundler import interpreters  # noqa: E402
from bundler.archive import extract_zip  # noqa: E402
from bundler.build import BuildOptions, bundle  # noqa: E402
from bundler.cache import Cache  # noqa: E402
from bundler.manifest import load  # noqa: E402
from bundler.stats import ratio, summarize  # noqa: E402
from bundler.target import Target, host_arch  # noqa: E402
from runtime.main import INIT_GC_THRESHOLD  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
MODES = ("default", "relaxed")
# Runs in the target interpreter: argv = module, threshold (0: leave the default), paths.
# The paths go on sys.path after start-up, as the runtime's loader puts them, not through
# PYTHONPATH: a .pth file of the interpreter's own (some machines have one that imports
# certifi) would otherwise find the bundle's packages at start-up, outside the timing.
_PROBE = """
import gc, importlib, sys, time
sys.path[:0] = sys.argv[3].split(":")
threshold = int(sys.argv[2])
if threshold:
    gc.set_threshold(threshold, *gc.get_threshold()[1:])
start = time.perf_counter()
importlib.import_module(sys.argv[1])
print((time.perf_counter() - start) * 1000)
"""


def lay_out(example: str, python: str, work: Path) -> tuple[list[str], str]:
    """Bundle `example` and extract it; the sys.path entries and the handler's module."""
    out = work / example
    bundle(
        BuildOptions(ROOT / "examples" / example, "fat-layer", Target(python, host_arch()),
                     out=out, verify=False),
        cache=Cache(),
    )  # fmt: skip
    manifest = load(out)
    root = work / f"{example}-root"
    extract_zip(out / manifest.function.file, root / "task")
    for layer in manifest.layers:
        extract_zip(out / layer.file, root / "opt")
    site = root / "opt" / "python" / "lib" / f"python{python}" / "site-packages"
    module = manifest.handler.rsplit(".", 1)[0]
    return [str(root / "task"), str(site)], module


def sample(python: Path, paths: list[str], module: str, threshold: int) -> float:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    out = subprocess.run(
        [str(python), "-s", "-c", _PROBE, module, str(threshold), ":".join(paths)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--examples", default="medium-deps,large-deps")
    args = parser.parse_args()
    interp = interpreters.find(args.python)
    if interp is None:
        raise SystemExit(f"no Python {args.python} interpreter here")
    report: dict[str, object] = {
        "command": " ".join(sys.argv),
        "machine": f"{platform.processor() or platform.machine()}, {platform.release()}",
        "python": interp.version,
        "init_gc_threshold": INIT_GC_THRESHOLD,
        "examples": {},
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="lambundle-init-gc-", dir="/dev/shm") as tmp:
        for example in args.examples.split(","):
            paths, module = lay_out(example, args.python, Path(tmp))
            samples: dict[str, list[float]] = {m: [] for m in MODES}
            sample(interp.path, paths, module, 0)  # warm the page cache once, not counted
            for i in range(args.rounds):
                # Alternate which mode goes first: the first run of a pair is not favoured.
                for mode in MODES if i % 2 == 0 else MODES[::-1]:
                    threshold = INIT_GC_THRESHOLD if mode == "relaxed" else 0
                    samples[mode].append(sample(interp.path, paths, module, threshold))
            stats = {m: summarize(samples[m]) for m in MODES}
            r = ratio(stats["relaxed"]["median"], stats["default"]["median"])
            report["examples"][example] = {"samples_ms": samples, "stats": stats, "ratio": r}  # type: ignore[index]
            rows.append((example, stats, r))
            print(f"{example}: {stats['default']['median']:.1f} -> "
                  f"{stats['relaxed']['median']:.1f} ms ({r:.2f}x)", file=sys.stderr)  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "init_gc.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"`{report['command']}`: {args.rounds} alternating rounds, target CPython "
        f"{interp.version}, {report['machine']}.",
        "",
        "Import of the handler's module, in ms, median (min-max):",
        "",
        "| example | default thresholds | relaxed during init | relaxed vs default |",
        "|---|---|---|---|",
    ]
    for example, stats, r in rows:
        d, x = stats["default"], stats["relaxed"]
        lines.append(
            f"| {example} | {d['median']:.1f} ({d['min']:.1f}-{d['max']:.1f}) "
            f"| {x['median']:.1f} ({x['min']:.1f}-{x['max']:.1f}) | {r:.2f}x |"
        )
    (RESULTS / "init_gc.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
