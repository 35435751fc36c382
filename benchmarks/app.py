"""Application benchmark: examples/app built whole by lambundle against `sam build` style
per-function builds, in one run.

- lambundle: `lambundle bundle examples/app/template.yaml --strategy S --no-verify` for
  each strategy: cold (empty caches: lambundle's, uv's, pip's) and warm (the same build
  again, caches kept, a fresh output directory);
- `sam build --parallel` style: aws-lambda-builders (the library `sam build` calls, in
  its own venv, installed as benchmarks/build.py installs it) called once per Python
  function, as SAM does, with the functions built at once up to the machine's cores, as
  `--parallel` does; cold (empty pip cache) and warm (again, pip's cache kept: `sam build`
  without `--cached`). `sam build --cached` skips an unchanged function and copies its
  previous artifacts instead; that copy is timed too (`albs cached copy`).
  The PEP 723 script function has no directory SAM could build, so for SAM it is a
  directory holding the script and a requirements.txt with the same requirement.
- bytes to upload: lambundle's `app.json` (`bytes.shared`: every function.zip and each
  distinct layer once, as `sam deploy` uploads the output template; `bytes.separate`:
  the same functions built one by one); aws-lambda-builders' artifacts directories each
  zipped as `sam deploy` zips them, plus lambundle's runtime layer nothing (it has none).

Medians of --repeat rounds, the builders taking turns going first. The machine's load
(`/proc/loadavg`) is recorded before and after every build: other engineers share it.

    python benchmarks/app.py [--work DIR] [--repeat 3] [--strategies pinned,vendored,fat-layer]

Writes benchmarks/results/app.json and app.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
EXAMPLE = REPO / "examples" / "app"


def _build_benchmark() -> Any:
    """benchmarks/build.py, for its aws-lambda-builders venv, caches and helpers."""
    spec = importlib.util.spec_from_file_location("build_benchmark", REPO / "benchmarks/build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bb = _build_benchmark()


def load() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def sam_sources(work: Path) -> dict[str, Path]:
    """One directory per Python function of the example, as `sam build` needs them."""
    sys.path.insert(0, str(REPO))
    from bundler.app.application import read_application

    out: dict[str, Path] = {}
    for fn in read_application(EXAMPLE / "template.yaml", "pinned").functions:
        dest = work / "sam-src" / fn.logical_id
        shutil.rmtree(dest, ignore_errors=True)
        if fn.source.is_dir():
            shutil.copytree(fn.source, dest, ignore=shutil.ignore_patterns(".lambundle"))
        else:  # the PEP 723 script: its requirements as SAM would need them
            dest.mkdir(parents=True)
            shutil.copy(fn.source, dest)
            (dest / "requirements.txt").write_text("six\n")
        out[fn.logical_id] = dest
    return out


def lambundle_app(
    template: Path, strategy: str, out: Path, env: dict[str, str], *extra: str
) -> float:
    shutil.rmtree(out, ignore_errors=True)
    argv = [bb.LAMBUNDLE, "bundle", str(template), "--strategy", strategy, "--out", str(out),
            "--no-verify", *extra]  # fmt: skip
    return float(bb.run(argv, env, cwd=REPO))


def albs_app(
    venv: Path, sources: dict[str, Path], work: Path, env: dict[str, str], python: str,
) -> tuple[float, dict[str, Path]]:
    """Every function built by aws-lambda-builders, at most as many at once as cores."""
    jobs = len(os.sched_getaffinity(0))
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {
            fid: pool.submit(bb.albs_build, venv, src, work / fid, env, python, "x86_64")
            for fid, src in sources.items()
        }
        artifacts = {fid: f.result()[1] for fid, f in futures.items()}
    return time.perf_counter() - start, artifacts


def round_(
    i: int, args: argparse.Namespace, sources: dict[str, Path], venv: Path, py: Path,
    base: Path, template: Path,
) -> dict[str, Any]:
    """One round: each lambundle strategy and the SAM-style build, cold then warm."""
    out: dict[str, Any] = {"load": []}
    order: list[str] = [*args.strategies, "albs"]
    if i % 2:
        order.reverse()
    for who in order:
        caches = base / f"caches-{who}-{i}"
        shutil.rmtree(caches, ignore_errors=True)
        env = bb.fresh_env(caches, py)
        out["load"].append([who, load()])
        print(f"round {i + 1}: {who} cold, then warm", file=sys.stderr)
        if who == "albs":
            cold, _ = albs_app(venv, sources, base / "albs-cold", env, args.python)
            warm, artifacts = albs_app(venv, sources, base / "albs-warm", env, args.python)
            start = time.perf_counter()
            for fid, path in artifacts.items():
                shutil.copytree(path, base / "albs-cached" / fid, dirs_exist_ok=True)
            cached = time.perf_counter() - start
            shutil.rmtree(base / "albs-cached")
            zipped = 0
            for fid, path in artifacts.items():
                dest = base / f"albs-{fid}.zip"
                bb.zip_tree(path, dest)
                zipped += dest.stat().st_size
            out["albs"] = {"cold_s": cold, "warm_s": warm, "cached_copy_s": cached,
                           "upload_bytes": zipped}  # fmt: skip
        else:
            app_out = base / f"lb-{who}"
            cold = lambundle_app(template, who, app_out, env)
            warm = lambundle_app(template, who, app_out, env)
            sizes = json.loads((app_out / "app.json").read_text())["bytes"]
            # The same application without bytecode, which aws-lambda-builders never ships.
            lambundle_app(template, who, base / f"lb-{who}-no-pyc", env, "--no-bytecode")
            no_pyc = json.loads((base / f"lb-{who}-no-pyc" / "app.json").read_text())["bytes"]
            out[who] = {"cold_s": cold, "warm_s": warm, "upload_bytes": sizes["shared"],
                        "separate_bytes": sizes["separate"],
                        "no_pyc_upload_bytes": no_pyc["shared"]}  # fmt: skip
        out["load"].append([who, load()])
    return out


def summarize(rounds: list[dict[str, Any]], strategies: list[str]) -> dict[str, Any]:
    med = statistics.median
    albs = {k: med(r["albs"][k] for r in rounds)
            for k in ("cold_s", "warm_s", "cached_copy_s", "upload_bytes")}  # fmt: skip
    out: dict[str, Any] = {"albs": albs}
    for strategy in strategies:
        lb = {k: med(r[strategy][k] for r in rounds)
              for k in ("cold_s", "warm_s", "upload_bytes", "separate_bytes",
                        "no_pyc_upload_bytes")}  # fmt: skip
        lb["ratios"] = {
            "cold": round(lb["cold_s"] / albs["cold_s"], 3),
            "warm": round(lb["warm_s"] / albs["warm_s"], 3),
            "warm_vs_cached_copy": round(lb["warm_s"] / albs["cached_copy_s"], 3),
            "upload": round(lb["upload_bytes"] / albs["upload_bytes"], 3),
            "upload_vs_separate": round(lb["upload_bytes"] / lb["separate_bytes"], 3),
            "no_pyc_upload": round(lb["no_pyc_upload_bytes"] / albs["upload_bytes"], 3),
        }
        out[strategy] = lb
    return out


def markdown(data: dict[str, Any]) -> str:
    s, m = data["summary"], data["machine"]
    albs = s["albs"]
    lines = [
        "# Application benchmark: examples/app, lambundle vs `sam build` style",
        "",
        f"examples/app: {data['functions']} Python functions (two with the same requirements, "
        "one with native wheels, one PEP 723 script) and one Node.js function, "
        f"python{data['python']} x86_64. lambundle `bundle template.yaml --no-verify` (the "
        f"whole application, functions in parallel); aws-lambda-builders "
        f"{m['aws_lambda_builders']} once per function, {data['jobs']} at once (`sam build "
        "--parallel`). Medians of "
        f"{data['repeat']} round(s), one run, same machine; cold = empty caches, warm = again "
        "with caches kept. Bytes to upload: lambundle's function zips and distinct layers; "
        "aws-lambda-builders' artifacts directories zipped as `sam deploy` zips them.",
        "",
        "| | cold | warm | bytes to upload | without bytecode | built one by one |",
        "|---|---|---|---|---|---|",
        f"| aws-lambda-builders per function | {albs['cold_s']:.2f} s | {albs['warm_s']:.2f} s "
        f"(`--cached` copy: {albs['cached_copy_s']:.2f} s) | {albs['upload_bytes']:,} | | |",
    ]
    for strategy in data["strategies"]:
        lb = s[strategy]
        r = lb["ratios"]
        lines.append(
            f"| lambundle {strategy} | {lb['cold_s']:.2f} s ({r['cold']:.2f}x) | "
            f"{lb['warm_s']:.2f} s ({r['warm']:.2f}x) | {lb['upload_bytes']:,} "
            f"({r['upload']:.2f}x) | {lb['no_pyc_upload_bytes']:,} ({r['no_pyc_upload']:.2f}x) | "
            f"{lb['separate_bytes']:,} |"
        )
    loads = [entry[1][0] for r in data["rounds"] for entry in r["load"]]
    lines += [
        "",
        "Ratios are lambundle / aws-lambda-builders in the same run. lambundle's bytes include "
        "its runtime layer (once for the application) and the bytecode aws-lambda-builders "
        "does not ship (\"without bytecode\": `--no-bytecode`); \"built one by one\" is what "
        "lambundle's own layers would cost without sharing (every layer once per function).",
        "",
        f"Load (1-minute average, `/proc/loadavg`) around the builds: {min(loads):.2f} to "
        f"{max(loads):.2f} on {m['cpus']} cores; `uptime` at the start: {data['uptime_start']}.",
        "",
        f"Machine: {m['platform']}, {m['cpu']} x{m['cpus']}, {m['memory']}; target "
        f"{m['target_python']}; {m['lambundle']}; {m['date']}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "lambundle-bench-app"
    )
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strategies", default="pinned,vendored,fat-layer")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--render", action="store_true", help="Only rewrite app.md from app.json.")
    args = parser.parse_args(argv)
    args.strategies = [s for s in args.strategies.split(",") if s]
    if args.render:
        data = json.loads((args.results / "app.json").read_text())
        (args.results / "app.md").write_text(markdown(data))
        return 0
    import subprocess

    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    py = bb.target_python(args.python)
    work = args.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    venv = bb.albs_venv(work, py)
    sources = sam_sources(work)
    template = work / "lb-src" / "template.yaml"
    shutil.rmtree(template.parent, ignore_errors=True)
    shutil.copytree(EXAMPLE, template.parent, ignore=shutil.ignore_patterns(".lambundle"))
    base = work / "runs"
    rounds = [
        round_(i, args, sources, venv, py, base, template) for i in range(args.repeat)
    ]
    data = {
        "python": args.python,
        "repeat": args.repeat,
        "jobs": len(os.sched_getaffinity(0)),
        "functions": len(sources),
        "strategies": args.strategies,
        "uptime_start": uptime.strip(),
        "rounds": rounds,
        "summary": summarize(rounds, args.strategies),
        "machine": bb.machine(py),
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "app.json").write_text(json.dumps(data, indent=2) + "\n")
    (args.results / "app.md").write_text(markdown(data))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
