"""Build benchmark: lambundle against aws-lambda-builders (the library behind `sam build`).

Both build the same requirement sets for the same Lambda target, in one run:

- cold build: every cache of both tools emptied (lambundle's cache, which holds the
  sandbox's managed runtime too, uv's and pip's), default flags: bytecode on, `--verify`
  on, the resolver a plain `pip install lambundle` brings (uv);
- warm rebuild: the same build again, unchanged, caches kept, default flags (into the
  same output directory, as a user rebuilds);
- the time of each step of lambundle's cold and warm builds (`bundle --json`'s
  `timings`: resolve, download, unpack, compile, deflate, verify), so the slow one shows;
- changed requirement: one more requirement (`six`) added, then built again with the
  caches kept, as after `pip install six` in a project (restored afterwards);
- unzipped size of what would be deployed (lambundle: every zip of the bundle, the runtime
  layer included; aws-lambda-builders: its artifacts directory, zipped the way `sam`
  zips it, with each file's mtime);
- whether the output ships bytecode CPython would use on Lambda, where /var/task and /opt
  are read-only: unchecked-hash pyc are used as they are, checked-hash pyc when the
  source hash matches, timestamp pyc only when the mtime and size they record match the
  source's entry in the zip (zip times have 2-second resolution).

aws-lambda-builders is installed into its own venv under the work directory, never into
the project's environment. lambundle runs with its default flags (bytecode, and --verify,
which aws-lambda-builders does not do: the user waits all the same) and the vendored
strategy (dependencies in the function zip, as `sam build` puts them).

    python benchmarks/build.py [--work DIR] [--sets requests-fn,medium,native,scipy] [--repeat 1]

Writes benchmarks/results/build.json and build.md (with the machine it ran on and the
load average before and after: the machine may be shared).
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ALBS_VERSION = "1.68.0"
# The lambundle of this environment (the project venv), run as a user runs it.
LAMBUNDLE = str(Path(sys.executable).with_name("lambundle"))

HANDLER = textwrap.dedent(
    """\
    def handler(event, context):
        names = [line.split("==")[0].split(">")[0].strip()
                 for line in open("requirements.txt") if line.strip()]
        return {"ok": True, "requirements": names}
    """
)

# name -> (requirements, source directory to copy or None for a generated handler)
SETS: dict[str, tuple[list[str], Path | None]] = {
    "requests-fn": ([], REPO / "examples" / "requests-fn"),
    "medium": (["requests", "pydantic", "PyYAML", "orjson"], None),
    "native": (["numpy", "pandas"], None),
    "scipy": (["numpy", "scipy"], None),
}
# The steps of `lambundle bundle --json`'s timings the report shows, in build order.
STEPS = ("resolve", "download", "unpack", "compile", "deflate", "verify")

# The driver that runs inside the aws-lambda-builders venv: one build, as `sam build` does.
ALBS_DRIVER = textwrap.dedent(
    """\
    import sys
    from aws_lambda_builders.builder import LambdaBuilder

    src, artifacts, scratch, runtime, arch = sys.argv[1:6]
    LambdaBuilder(language="python", dependency_manager="pip", application_framework=None).build(
        src, artifacts, scratch, src + "/requirements.txt", runtime=runtime, architecture=arch
    )
    """
)


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    """Run `argv`, fail loudly, return the wall-clock seconds it took and its stdout."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        msg = f"command failed ({proc.returncode}): {' '.join(argv)}"
        raise SystemExit(msg)
    return elapsed, proc.stdout


def target_python(minor: str) -> Path:
    sys.path.insert(0, str(REPO))
    from bundler.core import interpreters

    interp = interpreters.find(minor)
    if interp is None:
        msg = f"No Python {minor} here; install it (pyenv install {minor}) to benchmark."
        raise SystemExit(msg)
    return interp.path


def prepare_sources(work: Path, names: list[str]) -> dict[str, Path]:
    out = {}
    for name in names:
        requirements, source = SETS[name]
        dest = work / "src" / name
        shutil.rmtree(dest, ignore_errors=True)
        if source is not None:
            shutil.copytree(
                source, dest, ignore=shutil.ignore_patterns(".lambundle", "__pycache__")
            )
        else:
            dest.mkdir(parents=True)
            (dest / "app.py").write_text(HANDLER)
            (dest / "requirements.txt").write_text("\n".join(requirements) + "\n")
        out[name] = dest
    return out


def albs_venv(work: Path, python: Path) -> Path:
    venv = work / "albs-venv"
    exe = venv / "bin" / "python"
    if not exe.exists():
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(exe), "-m", "pip", "install", "-q", f"aws-lambda-builders=={ALBS_VERSION}"],
            check=True,
        )
    return exe


def fresh_env(caches: Path, python: Path) -> dict[str, str]:
    """The environment of one build: its own caches, the target Python first on PATH."""
    env = dict(os.environ)
    for var in ("LAMBUNDLE_CACHE_DIR", "UV_CACHE_DIR", "PIP_CACHE_DIR", "XDG_CACHE_HOME"):
        env.pop(var, None)
    env["LAMBUNDLE_CACHE_DIR"] = str(caches / "lambundle")
    env["UV_CACHE_DIR"] = str(caches / "uv")
    env["PIP_CACHE_DIR"] = str(caches / "pip")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # An installed package has its pyc (pip compiles on install); without this, a machine
    # that sets PYTHONDONTWRITEBYTECODE would recompile lambundle's own modules on every
    # start (80 ms here), which no user of `pip install lambundle` pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def zip_tree(tree: Path, dest: Path) -> None:
    """Zip a directory as `sam` does: every file with its own mtime."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(tree).as_posix())


# -- bytecode ----------------------------------------------------------------------------


def magic_number(python: Path) -> bytes:
    out = subprocess.run(
        [str(python), "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return bytes.fromhex(out.strip())


def _source_of(pyc: str, tag: str) -> str | None:
    """`a/__pycache__/m.cpython-312.pyc` -> `a/m.py`; None for another interpreter's pyc."""
    parts = pyc.split("/")
    if len(parts) < 2 or parts[-2] != "__pycache__":
        return None
    stem, _, rest = parts[-1].partition(".")
    if rest != f"{tag}.pyc":
        return None
    return "/".join([*parts[:-2], f"{stem}.py"])


def _in_tests(name: str) -> bool:
    parts = name.split("/")[:-1]
    if parts and parts[0] == "vendor":
        parts = parts[1:]
    return any(p in ("tests", "test") for p in parts[1:])


def bytecode_report(zips: list[Path], magic: bytes, tag: str) -> dict[str, Any]:
    """What CPython would do with each module of the zips on read-only Lambda."""
    infos: dict[str, zipfile.ZipInfo] = {}
    headers: dict[str, bytes] = {}
    for path in zips:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                infos[info.filename] = info
                if info.filename.endswith(".pyc"):
                    headers[info.filename] = zf.read(info)[:16]
    sources = [n for n in infos if n.endswith(".py")]
    usable_sources: set[str] = set()
    kinds = {"unchecked-hash": 0, "checked-hash": 0, "timestamp": 0}
    usable = 0
    stale = 0
    pyc_bytes = 0
    for name, header in headers.items():
        pyc_bytes += infos[name].file_size
        source = _source_of(name, tag)
        if source is None or source not in infos or header[:4] != magic:
            stale += 1
            continue
        flags = int.from_bytes(header[4:8], "little")
        if flags & 1:
            kind = "checked-hash" if flags & 2 else "unchecked-hash"
            ok = True  # checked-hash also reads and hashes the source on every import
        else:
            kind = "timestamp"
            src = infos[source]
            mtime = calendar.timegm((*src.date_time, 0, 0, 0))
            recorded = int.from_bytes(header[8:12], "little")
            size = int.from_bytes(header[12:16], "little")
            ok = recorded == mtime and size == src.file_size
        kinds[kind] += 1
        usable += ok
        if ok:
            usable_sources.add(source)
        stale += not ok
    # Modules outside distributions' test suites (pkg/tests/), the ones a function imports.
    runtime_sources = [n for n in sources if not _in_tests(n)]
    return {
        "sources": len(sources),
        "runtime_sources": len(runtime_sources),
        "runtime_usable": sum(1 for n in runtime_sources if n in usable_sources),
        "pyc": len(headers),
        "pyc_bytes": pyc_bytes,
        "usable": usable,
        "unusable": stale,
        "kinds": kinds,
        "coverage": round(usable / len(sources), 4) if sources else 1.0,
    }


def unzipped(zips: list[Path]) -> int:
    total = 0
    for path in zips:
        with zipfile.ZipFile(path) as zf:
            total += sum(i.file_size for i in zf.infolist() if not i.is_dir())
    return total


# -- the two builders --------------------------------------------------------------------


def lambundle_build(
    src: Path,
    out: Path,
    env: dict[str, str],
    python: str,
    arch: str,
    slim: bool = False,
    fresh: bool = True,
) -> tuple[float, dict[str, float]]:
    """One `lambundle bundle` with default flags: its wall time and its step timings.
    `fresh`: into a new output directory (else over the previous bundle, as a rebuild)."""
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    argv = [
        LAMBUNDLE, "bundle", str(src), "--strategy", "vendored",
        "--python", python, "--arch", arch, "--out", str(out), "--json",
    ]  # fmt: skip
    if slim:
        argv.append("--slim")
    elapsed, stdout = run(argv, env, cwd=REPO)
    doc = json.loads(stdout)
    if not doc["verified"]:
        msg = f"lambundle did not verify {src}: {doc['warnings']}"
        raise SystemExit(msg)
    return elapsed, doc["timings"]


def albs_build(
    venv_python: Path, src: Path, work: Path, env: dict[str, str], python: str, arch: str
) -> tuple[float, Path]:
    artifacts = work / "artifacts"
    scratch = work / "scratch"
    for d in (artifacts, scratch):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    argv = [str(venv_python), "-c", ALBS_DRIVER, str(src), str(artifacts), str(scratch),
            f"python{python}", arch]  # fmt: skip
    elapsed, _ = run(argv, env)
    return elapsed, artifacts


# What the "changed requirement" rebuild adds: small, pure Python, in none of the sets.
ADDED_REQUIREMENT = "six"


@contextlib.contextmanager
def added_requirement(src: Path) -> Iterator[None]:
    """src's requirements with ADDED_REQUIREMENT appended, restored afterwards."""
    requirements = src / "requirements.txt"
    original = requirements.read_text()
    requirements.write_text(original.rstrip("\n") + f"\n{ADDED_REQUIREMENT}\n")
    try:
        yield
    finally:
        requirements.write_text(original)


def bundle_zips(out: Path) -> list[Path]:
    manifest = json.loads((out / "bundle.json").read_text())
    return [out / a["file"] for a in (manifest["function"], *manifest["layers"])]


def bench_set(
    name: str, src: Path, work: Path, py: Path, venv_python: Path, args: argparse.Namespace
) -> dict[str, Any]:
    magic = magic_number(py)
    tag = "cpython-" + args.python.replace(".", "")
    base = work / "runs" / name
    shutil.rmtree(base, ignore_errors=True)
    lb_cold, lb_warm, al_cold, al_warm = [], [], [], []
    lb_changed: list[float] = []
    al_changed: list[float] = []
    cold_steps: list[dict[str, float]] = []
    warm_steps: list[dict[str, float]] = []
    for i in range(args.repeat):
        caches_lb = base / f"caches-lb-{i}"
        caches_al = base / f"caches-albs-{i}"
        env_lb, env_al = fresh_env(caches_lb, py), fresh_env(caches_al, py)
        # Whoever downloads first may warm a proxy in front of the index for the other:
        # the builders take turns going first.
        order = ("lambundle", "albs") if i % 2 == 0 else ("albs", "lambundle")
        for who in order:
            print(f"[{name}] round {i + 1}: {who} cold, then warm", file=sys.stderr)
            if who == "lambundle":
                lb_out = base / "lb-out"
                t, steps = lambundle_build(src, lb_out, env_lb, args.python, args.arch)
                lb_cold.append(t)
                cold_steps.append(steps)
                t, steps = lambundle_build(
                    src, lb_out, env_lb, args.python, args.arch, fresh=False
                )
                lb_warm.append(t)
                warm_steps.append(steps)
                with added_requirement(src):
                    t, _ = lambundle_build(
                        src, base / "lb-changed", env_lb, args.python, args.arch)
                    lb_changed.append(t)
            else:
                al_work = base / "albs"
                t, _ = albs_build(venv_python, src, al_work, env_al, args.python, args.arch)
                al_cold.append(t)
                t, artifacts = albs_build(venv_python, src, al_work, env_al, args.python, args.arch)
                al_warm.append(t)
                with added_requirement(src):
                    t, _ = albs_build(venv_python, src, base / "albs-changed", env_al,
                                      args.python, args.arch)
                al_changed.append(t)
    lambundle_build(src, base / "lb-slim", env_lb, args.python, args.arch, slim=True)
    # Once each, from empty caches again: what --verify and pip-tools (the resolver before
    # uv became a dependency) add to a cold build.
    extra_cold = {
        flag: lambundle_cold_with(src, base, py, args, flag)[0]
        for flag in ("--no-verify", "--resolver=pip-tools")
    }
    albs_zip = base / "albs.zip"
    # `sam build` leaves a directory; `sam deploy` zips it later. lambundle's times include
    # writing its zips, so the baseline's zip time is measured too (reported apart).
    start = time.perf_counter()
    zip_tree(artifacts, albs_zip)
    albs_zip_s = time.perf_counter() - start

    lb_zips = bundle_zips(base / "lb-out")
    slim_zips = bundle_zips(base / "lb-slim")
    lb_bc = bytecode_report(lb_zips, magic, tag)
    al_bc = bytecode_report([albs_zip], magic, tag)
    # Like for like: the function zip holds code and dependencies, as the baseline's
    # artifacts do. The runtime layer (lambundle's own runtime client, which replaces the
    # one AWS's managed runtime already has) is reported on its own and in the total.
    lb_size, slim_size = unzipped(lb_zips[:1]), unzipped(slim_zips[:1])
    al_size = unzipped([albs_zip])
    runtime_layer = unzipped(lb_zips[1:])
    fn_bc = bytecode_report(lb_zips[:1], magic, tag)
    # The bytecode aws-lambda-builders fails to ship: what lambundle's function zip ships,
    # less the usable pyc the baseline has of its own.
    missing_pyc = max(fn_bc["pyc_bytes"] - (al_bc["pyc_bytes"] if al_bc["usable"] else 0), 0)
    med = statistics.median
    result = {
        "set": name,
        "requirements": (src / "requirements.txt").read_text().split(),
        "lambundle": {
            "cold_s": [round(t, 3) for t in lb_cold],
            "warm_s": [round(t, 3) for t in lb_warm],
            "changed_s": [round(t, 3) for t in lb_changed],
            "cold_steps": cold_steps,
            "warm_steps": warm_steps,
            "cold_steps_median": median_steps(cold_steps),
            "warm_steps_median": median_steps(warm_steps),
            "cold_s_with": {k: round(v, 3) for k, v in extra_cold.items()},
            "unzipped_bytes": lb_size,
            "slim_unzipped_bytes": slim_size,
            "function_pyc_bytes": fn_bc["pyc_bytes"],
            "runtime_layer_unzipped_bytes": runtime_layer,
            "bytecode": lb_bc,
        },
        "aws_lambda_builders": {
            "cold_s": [round(t, 3) for t in al_cold],
            "warm_s": [round(t, 3) for t in al_warm],
            "changed_s": [round(t, 3) for t in al_changed],
            "unzipped_bytes": al_size,
            "zip_s": round(albs_zip_s, 3),
            "bytecode": al_bc,
        },
    }
    result["ratios"] = {
        "cold": round(med(lb_cold) / med(al_cold), 3),
        "cold_vs_build_and_zip": round(med(lb_cold) / (med(al_cold) + albs_zip_s), 3),
        "warm": round(med(lb_warm) / med(al_warm), 3),
        "changed": round(med(lb_changed) / med(al_changed), 3),
        "size": round(lb_size / al_size, 3),
        "size_with_runtime_layer": round((lb_size + runtime_layer) / al_size, 3),
        "size_vs_baseline_plus_bytecode": round(lb_size / (al_size + missing_pyc), 3),
        "slim_size": round(slim_size / al_size, 3),
    }
    result["targets"] = {
        "cold_no_slower": med(lb_cold) <= med(al_cold),
        "warm_under_0.5s": med(lb_warm) < 0.5,
    }
    return result


def lambundle_cold_with(
    src: Path, base: Path, py: Path, args: argparse.Namespace, flag: str
) -> tuple[float, dict[str, float]]:
    """One cold build (every cache empty) with one flag changed from the defaults."""
    caches = base / f"caches-lb-{flag.strip('-').replace('=', '-')}"
    shutil.rmtree(caches, ignore_errors=True)
    env = fresh_env(caches, py)
    out = base / "lb-flag"
    shutil.rmtree(out, ignore_errors=True)
    argv = [
        LAMBUNDLE, "bundle", str(src), "--strategy", "vendored",
        "--python", args.python,
        "--arch", args.arch, "--out", str(out), "--json", flag,
    ]  # fmt: skip
    elapsed, stdout = run(argv, env, cwd=REPO)
    return elapsed, json.loads(stdout)["timings"]


def median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each step's median over the runs (0 where a run did not have the step)."""
    names = [*STEPS, "total"]
    return {n: round(statistics.median(r.get(n, 0.0) for r in runs), 3) for n in names}


# -- machine and report ------------------------------------------------------------------


def machine(py: Path) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def version(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "host_python": platform.python_version(),
        "target_python": version([str(py), "--version"]),
        "lambundle": version([LAMBUNDLE, "--version"]),
        "aws_lambda_builders": ALBS_VERSION,
        "pip": version([sys.executable, "-m", "pip", "--version"]).split(" from ")[0],
    }


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    med = statistics.median
    load = data.get("load", {})
    lines = [
        "# Build benchmark: lambundle vs aws-lambda-builders",
        "",
        f"Target python{data['python']} {data['arch']}; lambundle `--strategy vendored` "
        "with its default flags (bytecode compiled, `--verify` on, resolver uv); "
        f"aws-lambda-builders {m['aws_lambda_builders']} (`sam build`'s library). Medians of "
        f"{data['repeat']} round(s) in one run on one machine, the two tools taking turns "
        "going first. Cold: every cache of both tools emptied (lambundle's, uv's, pip's). "
        "Warm: the same build again, unchanged, caches kept. Load average (1 min) before "
        f"the run {load.get('before', '?')}, after {load.get('after', '?')}.",
        "",
        "| set | cold lambundle | cold albs (+ zip) | cold ratio (vs + zip) | warm lambundle | "
        f"warm albs | + `{ADDED_REQUIREMENT}`: lambundle / albs | cold `--no-verify` | "
        "cold with pip-tools |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        lb, al, ra = r["lambundle"], r["aws_lambda_builders"], r["ratios"]
        with_ = lb.get("cold_s_with", {})
        lines.append(
            f"| {r['set']} | {med(lb['cold_s']):.2f} s | {med(al['cold_s']):.2f} s "
            f"(+{al['zip_s']:.2f} s) | **{ra['cold']:.2f}x** "
            f"({ra['cold_vs_build_and_zip']:.2f}x) | "
            f"**{med(lb['warm_s']):.2f} s** | {med(al['warm_s']):.2f} s | "
            f"{med(lb['changed_s']):.2f} s / {med(al['changed_s']):.2f} s "
            f"({ra['changed']:.2f}x) | "
            f"{with_.get('--no-verify', float('nan')):.2f} s | "
            f"{with_.get('--resolver=pip-tools', float('nan')):.2f} s |"
        )
    lines += [
        "",
        "Where lambundle's time goes (`bundle --json` timings, medians; steps may overlap, "
        "`total` is the build's own wall time without the interpreter's start):",
        "",
        "| set | build | " + " | ".join(STEPS) + " | total |",
        "|---|---|" + "---|" * (len(STEPS) + 1),
    ]
    for r in data["results"]:
        for kind in ("cold", "warm"):
            steps = r["lambundle"][f"{kind}_steps_median"]
            cells = " | ".join(f"{steps.get(n, 0.0):.2f}" for n in (*STEPS, "total"))
            lines.append(f"| {r['set']} | {kind} | {cells} |")
    lines += [
        "",
        "Sizes: lambundle's function.zip (code + vendor/, pyc included) against the "
        "baseline's artifacts; lambundle's runtime layer (its own runtime client, which the "
        "managed runtime's replaces) apart. Pyc usable: modules whose pyc CPython would use "
        "on read-only Lambda, of the modules outside distributions' test suites (in "
        "brackets: of all .py files shipped; test suites ship as source only).",
        "",
        "| set | unzipped lambundle | of it pyc | unzipped albs | size / (albs + the pyc it "
        "lacks) | `--slim` | + runtime layer | lambundle pyc usable | albs pyc usable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        lb, al, ra = r["lambundle"], r["aws_lambda_builders"], r["ratios"]
        lines.append(
            f"| {r['set']} | {lb['unzipped_bytes'] / 1e6:.2f} MB ({ra['size']:.2f}x) | "
            f"{lb['function_pyc_bytes'] / 1e6:.2f} MB | "
            f"{al['unzipped_bytes'] / 1e6:.2f} MB | "
            f"{ra['size_vs_baseline_plus_bytecode']:.2f}x | "
            f"{lb['slim_unzipped_bytes'] / 1e6:.2f} MB ({ra['slim_size']:.2f}x) | "
            f"{lb['runtime_layer_unzipped_bytes'] / 1e3:.0f} kB | "
            f"{lb['bytecode']['runtime_usable']}/{lb['bytecode']['runtime_sources']} "
            f"({lb['bytecode']['usable']}/{lb['bytecode']['sources']}) | "
            f"{al['bytecode']['runtime_usable']}/{al['bytecode']['runtime_sources']} "
            f"({al['bytecode']['usable']}/{al['bytecode']['sources']}) |"
        )
    lines += ["", "Targets (pass/miss):", ""]
    for r in data["results"]:
        marks = ", ".join(f"{k} {'pass' if v else 'MISS'}" for k, v in r["targets"].items())
        lines.append(f"- {r['set']}: {marks}")
    lines += [
        "",
        f"Machine: {m['platform']}, {m['cpu']} x{m['cpus']}, {m['memory']}; "
        f"host Python {m['host_python']}, target {m['target_python']}; {m['lambundle']}; "
        f"{m['pip']}; {m['date']}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "lambundle-bench-build"
    )
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--render", action="store_true", help="Only rewrite build.md from build.json."
    )
    args = parser.parse_args(argv)
    if args.render:
        data = json.loads((args.results / "build.json").read_text())
        (args.results / "build.md").write_text(markdown(data))
        return 0

    names = [n for n in args.sets.split(",") if n]
    unknown = set(names) - set(SETS)
    if unknown:
        parser.error(f"unknown set(s) {', '.join(sorted(unknown))}; choose from {', '.join(SETS)}")
    work = args.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    py = target_python(args.python)
    venv_python = albs_venv(work, py)
    sources = prepare_sources(work, names)
    before = os.getloadavg()[0]
    results = [bench_set(n, sources[n], work, py, venv_python, args) for n in names]
    data = {
        "python": args.python,
        "arch": args.arch,
        "repeat": args.repeat,
        "machine": machine(py),
        # Other work on the machine slows both tools; the run says how busy it was.
        "load": {"before": round(before, 2), "after": round(os.getloadavg()[0], 2)},
        "results": results,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "build.json").write_text(json.dumps(data, indent=2) + "\n")
    (args.results / "build.md").write_text(markdown(data))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
