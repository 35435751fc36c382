"""Runtime start and warm round trip: lambundle's runtime against awslambdaric.

    python benchmarks/runtime_start.py [--rounds 30] [--warm 200] [--python 3.12]

One bundle (examples/hello, vendored, built by lambundle) runs in the same bubblewrap
sandbox three ways, interleaved round by round so drift hits all alike:

- `floor`: a bare `python -I -c pass` under the same bwrap mounts, start to exit;
- `lambundle (exec wrapper)`: AWS's managed-runtime start script hands over to
  /opt/lambundle/exec-wrapper, which starts lambundle's runtime (how a python3.X function
  deployed with lambundle starts);
- `lambundle (provided.al2023)`: /opt/bootstrap starts lambundle's runtime directly;
- `awslambdaric`: the same start script without the wrapper runs AWS's client (4.2.2,
  from the package index, unmodified), as on the managed runtime.

Runtime start is spawn to the first `GET /next`; warm round trip is invoke to answer as
the caller sees it. Results: benchmarks/results/runtime_start.{json,md}. Timing is
measured here and nowhere in the tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bundler.build.pipeline import BuildOptions, bundle  # noqa: E402
from bundler.core.cache import Cache  # noqa: E402
from bundler.core.target import Target, host_arch  # noqa: E402
from bundler.measure.stats import ratio, summarize  # noqa: E402
from bundler.sandbox import LANG_DIR, Sandbox  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def build(work: Path, python: str) -> tuple[Path, Path]:
    """The hello example for the managed runtime, and a provided.al2023 copy of it."""
    managed = work / "managed"
    target = Target(python, host_arch())
    bundle(
        BuildOptions(ROOT / "examples/hello", "vendored", target, out=managed, verify=False),
        cache=Cache(),
    )
    provided = work / "provided"
    bundle(
        BuildOptions(
            ROOT / "examples/hello",
            "vendored",
            Target(python, host_arch(), "provided.al2023"),
            out=provided,
            verify=False,
        ),
        cache=Cache(),
    )
    return managed, provided


def floor_ms(sb: Sandbox) -> float:
    """A bare interpreter under the sandbox's own bwrap mounts: start to exit."""
    argv = [*sb.command(f"{LANG_DIR}/bin/python3"), "-I", "-c", "pass"]
    start = time.perf_counter()
    subprocess.run(argv, check=True, env={} if sb.isolated else None)
    return (time.perf_counter() - start) * 1000


def cold_ms(sb: Sandbox) -> float:
    sb.stop()
    result = sb.invoke(b"{}")
    if result.error:
        raise SystemExit(f"the function failed: {result.error}\n{result.logs}")
    init = result.timings.init_s
    assert init is not None
    return init * 1000


def warm_ms(sb: Sandbox) -> float:
    return sb.invoke(b'{"name": "bench"}').timings.total_s * 1000


@dataclasses.dataclass
class Series:
    start: list[float] = dataclasses.field(default_factory=list)
    warm: list[float] = dataclasses.field(default_factory=list)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warm", type=int, default=200, help="warm invokes per runtime")
    parser.add_argument("--python", default="3.12")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lambundle-bench-") as tmp:
        managed, provided = build(Path(tmp), args.python)
        names = ["floor", "lambundle (exec wrapper)", "lambundle (provided.al2023)", "awslambdaric"]
        series = {name: Series() for name in names}
        with (
            Sandbox(managed) as ours,
            Sandbox(provided) as ours_provided,
            Sandbox(managed, env={"AWS_LAMBDA_EXEC_WRAPPER": ""}) as aws,
        ):
            if not ours.isolated:
                print("warning: bubblewrap unavailable, measuring unsandboxed", file=sys.stderr)
            runtimes = {
                "lambundle (exec wrapper)": ours,
                "lambundle (provided.al2023)": ours_provided,
                "awslambdaric": aws,
            }
            for sb in runtimes.values():  # warm the page cache and the managed-runtime cache
                cold_ms(sb)
            for n in range(args.rounds):
                series["floor"].start.append(floor_ms(ours))
                for name, sb in runtimes.items():
                    series[name].start.append(cold_ms(sb))
                print(f"round {n + 1}/{args.rounds}", file=sys.stderr, end="\r")
            for _ in range(args.warm):
                for name, sb in runtimes.items():
                    series[name].warm.append(warm_ms(sb))
            interp = ours.interpreter
            isolated = ours.isolated
        print(file=sys.stderr)

    summary = {
        name: {"start_ms": summarize(s.start), "warm_ms": summarize(s.warm), "samples": {
            "start_ms": s.start, "warm_ms": s.warm}}
        for name, s in series.items()
    }  # fmt: skip
    floor = summary["floor"]["start_ms"]["median"]
    aws_start = summary["awslambdaric"]["start_ms"]["median"]
    aws_warm = summary["awslambdaric"]["warm_ms"]["median"]
    for name in names[1:]:
        s = summary[name]
        s["start_minus_floor_ms"] = s["start_ms"]["median"] - floor
        s["start_ratio_to_awslambdaric"] = ratio(s["start_ms"]["median"], aws_start)
        s["warm_ratio_to_awslambdaric"] = ratio(s["warm_ms"]["median"], aws_warm)
    machine = {
        "cpu": _cpu(),
        "cores": len(__import__("os").sched_getaffinity(0)),
        "kernel": platform.release(),
        "target_python": interp.version if interp else args.python,
        "sandbox": "bubblewrap" if isolated else "unsandboxed",
    }
    report = {
        "command": " ".join(["python", *sys.argv]),
        "machine": machine,
        "rounds": args.rounds,
        "warm": args.warm,
        "results": summary,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "runtime_start.json").write_text(json.dumps(report, indent=2) + "\n")
    table = render(report)
    (RESULTS / "runtime_start.md").write_text(table)
    print(table)


def render(report: dict) -> str:
    r = report["results"]
    m = report["machine"]
    lines = [
        f"`{report['command']}`: {report['rounds']} interleaved cold starts, "
        f"{report['warm']} warm invokes per runtime; {m['cpu']}, {m['cores']} cores, "
        f"Linux {m['kernel']}, target CPython {m['target_python']}, {m['sandbox']}.",
        "",
        "| runtime | start, median ms (min-max) | start - floor | start vs awslambdaric "
        "| warm round trip, median ms (p99) | warm vs awslambdaric |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in r.items():
        st, w = s["start_ms"], s["warm_ms"]
        start = f"{st['median']:.1f} ({st['min']:.1f}-{st['max']:.1f})"
        warm = f"{w['median']:.2f} ({w['p99']:.2f})" if w["n"] else "-"
        delta = f"{s['start_minus_floor_ms']:+.1f} ms" if "start_minus_floor_ms" in s else "-"
        sr = s.get("start_ratio_to_awslambdaric")
        wr = s.get("warm_ratio_to_awslambdaric")
        lines.append(
            f"| {name} | {start} | {delta} | {f'{sr:.2f}x' if sr is not None else '-'} "
            f"| {warm} | {f'{wr:.2f}x' if wr is not None else '-'} |"
        )
    return "\n".join(lines) + "\n"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    main()
