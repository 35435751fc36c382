"""`lambundle compare`: build every variant of a function, then measure them side by side.

Variants are the three strategies, the baseline (`bundler.measure.baseline`) and optional extras
named `STRATEGY[/no-pyc][/slim][@3.X]`. Measuring interleaves them (A B C A B C ...) so
that drift on a noisy machine hits all alike: N cold starts each, every one in a fresh
sandbox (extract, spawn, init, first invoke), then M warm invokes each, round-robin over
sandboxes that stay open after their cold start. One more cold start of the slowest and
of the fastest variant (by init time) runs with `PYTHONPROFILEIMPORTTIME=1` for a
per-import breakdown.

The orchestration (`run_compare`) takes a builder and a `Runner`, so its order and its
failure handling are tested with fakes; `SandboxRunner` is the real one. A variant that
fails to build or start is reported in `failures` and the others are still measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from bundler import __version__
from bundler.core import interpreters
from bundler.core.errors import BundlerError, UsageError
from bundler.core.progress import Report, quiet
from bundler.core.target import PYTHON_VERSIONS, Target
from bundler.measure.report import ColdSample, VariantSamples, build_report, parse_importtime
from bundler.measure.stats import percentile

STRATEGIES = ("fat-layer", "vendored", "pinned")
BASELINE = "baseline"
_VARIANT = re.compile(
    r"^(?P<strategy>[a-z-]+)(?P<mods>(/(no-pyc|slim))*)(@(?P<python>3\.\d+))?$"
)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way to ship the function: a strategy (or the baseline) and its build options."""

    name: str
    strategy: str
    python: str
    bytecode: bool = True
    slim: bool = False

    @property
    def description(self) -> str:
        if self.strategy == BASELINE:
            return (
                f"pip install --target into function.zip, no bytecode, awslambdaric "
                f"(python{self.python})"
            )
        parts = [self.strategy, f"python{self.python}"]
        parts.append("bytecode" if self.bytecode else "no bytecode")
        if self.slim:
            parts.append("--slim")
        return ", ".join(parts)


def parse_variant(spec: str, python: str) -> Variant:
    """`fat-layer`, `fat-layer/no-pyc`, `vendored/slim`, `pinned@3.13`, `baseline@3.13`."""
    m = _VARIANT.match(spec.strip())
    if m is None or m["strategy"] not in (*STRATEGIES, BASELINE):
        msg = (
            f"Unknown variant {spec!r}; write STRATEGY[/no-pyc][/slim][@3.X] with STRATEGY "
            f"one of {', '.join((*STRATEGIES, BASELINE))}, e.g. fat-layer/no-pyc or pinned@3.13."
        )
        raise UsageError(msg)
    mods = [x for x in (m["mods"] or "").split("/") if x]
    if m["strategy"] == BASELINE and mods:
        msg = f"Variant {spec!r}: the baseline is always without bytecode and not slimmed."
        raise UsageError(msg)
    version = m["python"] or python
    if version not in PYTHON_VERSIONS:
        msg = f"Variant {spec!r}: Python {version} is not a Lambda runtime ({PYTHON_VERSIONS})."
        raise UsageError(msg)
    name = m["strategy"] + "".join(f"/{x}" for x in ("no-pyc", "slim") if x in mods)
    if m["python"] and m["python"] != python:
        name += f"@{version}"
    return Variant(
        name=name,
        strategy=m["strategy"],
        python=version,
        bytecode="no-pyc" not in mods,
        slim="slim" in mods,
    )


def plan_variants(
    strategies: Sequence[str] = STRATEGIES,
    extra: Sequence[str] = (),
    *,
    python: str = "3.12",
    pythons: Sequence[str] = (),
    baseline: bool = True,
) -> list[Variant]:
    """The variants to measure: the strategies, extras, other Pythons, then the baseline.

    `pythons` adds every strategy and the baseline again for each other minor version.
    """
    specs = [*strategies, *extra]
    for other in pythons:
        if other != python:
            specs += [f"{s}@{other}" for s in strategies]
            if baseline:
                specs.append(f"{BASELINE}@{other}")
    if baseline:
        specs.append(BASELINE)
    out: dict[str, Variant] = {}
    for spec in specs:
        variant = parse_variant(spec, python)
        out.setdefault(variant.name, variant)
    return list(out.values())


# -- measuring -----------------------------------------------------------------------------


class MeasureError(BundlerError):
    """A variant built but did not start or answer in the sandbox."""


class NothingMeasured(BundlerError):
    """No variant could be measured; `report` still says why, for --json."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclasses.dataclass(frozen=True)
class ColdRun:
    """A measured cold start and the logs of its environment."""

    sample: ColdSample
    logs: str = ""
    warnings: tuple[str, ...] = ()


class WarmSession(Protocol):
    def invoke(self) -> float:
        """One warm invoke; its round-trip time in ms."""


class Runner(Protocol):
    """How a variant's bundle is started; the real one is `SandboxRunner`."""

    def cold(self, bundle: Path, env: dict[str, str] | None = None) -> ColdRun: ...

    def warm(self, bundle: Path) -> contextlib.AbstractContextManager[WarmSession]: ...


class RemoteRunner(Runner, Protocol):
    """A runner that measures somewhere else (`compare_aws.AwsRunner`) and says where."""

    def where(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The report's `machine` block and the settings to add, e.g. `{"where": "aws"}`."""


def _check(result: Any, what: str) -> None:
    """Raise MeasureError when the platform (not the handler) reported a failure."""
    error = result.error or {}
    kind = str(error.get("errorType", ""))
    if result.init_error or kind.startswith(("Runtime.", "Sandbox.")):
        message = str(error.get("errorMessage", ""))[:300]
        raise MeasureError(f"{what}: {kind}: {message}".rstrip(": "))


# The same default as `compare --aws`: enough for large dependencies, so an OOM kill is
# the user's choice of --memory, not a surprise.
DEFAULT_MEMORY_MB = 1024


class SandboxRunner:
    """Cold starts and warm invokes in `bundler.sandbox.sandbox.Sandbox`."""

    def __init__(
        self,
        *,
        event: bytes = b"{}",
        isolate: bool | None = None,
        timeout_s: float = 30.0,
        layout_dir: Path | None = None,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        self.event = event
        self.isolate = isolate
        self.timeout_s = timeout_s
        self.layout_dir = layout_dir
        self.memory_mb = memory_mb

    @contextlib.contextmanager
    def _sandbox(self, bundle: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
        from bundler.sandbox.sandbox import Sandbox

        with contextlib.ExitStack() as stack:
            work = None
            if self.layout_dir is not None:
                work = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="lambundle-sandbox-", dir=self.layout_dir)
                )
            with Sandbox(
                bundle,
                env=env,
                timeout_s=self.timeout_s,
                memory_mb=self.memory_mb,
                isolate=self.isolate,
                work_dir=work,
                # Large native dependencies on a busy 2-core machine may exceed Lambda's 10 s.
                init_timeout_s=max(self.timeout_s, 10.0),
            ) as sb:
                yield sb

    def cold(self, bundle: Path, env: dict[str, str] | None = None) -> ColdRun:
        with self._sandbox(bundle, env) as sb:
            result = sb.invoke(self.event)
            warnings = tuple(sb.warnings)
        _check(result, "cold start")
        t = result.timings
        extract = t.extract_s if t.extract_s is not None else (sb.extract_s or 0.0)
        sample = ColdSample(
            extract_ms=extract * 1000,
            init_ms=(t.init_s or 0.0) * 1000,
            first_invoke_ms=(t.invoke_s or 0.0) * 1000,
            peak_rss_kb=(result.peak_rss or 0) / 1024 if result.peak_rss else math.nan,
        )
        return ColdRun(sample, result.logs, warnings)

    @contextlib.contextmanager
    def warm(self, bundle: Path) -> Iterator[WarmSession]:
        with self._sandbox(bundle) as sb:
            _check(sb.invoke(self.event), "cold start before the warm invokes")
            yield _SandboxWarm(sb, self.event)


class _SandboxWarm:
    def __init__(self, sb: Any, event: bytes) -> None:
        self.sb = sb
        self.event = event

    def invoke(self) -> float:
        result = self.sb.invoke(self.event)
        _check(result, "warm invoke")
        if result.timings.cold:
            raise MeasureError("warm invoke: the environment restarted (a cold start)")
        return float(result.timings.total_s * 1000)


# -- the orchestration ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CompareOptions:
    src: Path
    variants: tuple[Variant, ...]
    cold: int = 10
    warm: int = 30
    arch: str = "x86_64"
    handler: str | None = None
    resolver: str = "auto"
    importtime: bool = True


Builder = Callable[[Variant], tuple[Path, int, int]]  # bundle dir, zipped, unzipped bytes


def run_compare(
    options: CompareOptions,
    builder: Builder,
    runner: Runner,
    *,
    report: Report = quiet,
) -> dict[str, Any]:
    """Build and measure every variant; the report of `compare_report.build_report`."""
    if options.cold < 1 or options.warm < 0:
        raise UsageError("--cold must be at least 1 and --warm at least 0.")
    failures: list[dict[str, str]] = []
    notes: list[str] = []
    built: dict[str, tuple[Variant, Path]] = {}
    samples: dict[str, VariantSamples] = {}

    def fail(variant: Variant, stage: str, exc: BaseException, *, drop: bool = True) -> None:
        failures.append({"variant": variant.name, "stage": stage, "error": str(exc)})
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        report(f"{variant.name}: {stage} failed: {first}")
        if drop:
            # A variant that does not start reliably has no honest cold-start figure.
            built.pop(variant.name, None)
            samples.pop(variant.name, None)

    for variant in options.variants:
        report(f"building {variant.name} ({variant.description})")
        try:
            bundle, zipped, unzipped = builder(variant)
        except BundlerError as exc:
            fail(variant, "build", exc)
            continue
        built[variant.name] = (variant, bundle)
        samples[variant.name] = VariantSamples(
            variant.name, zipped, unzipped, description=variant.description
        )

    # Cold starts, interleaved round by round.
    for round_no in range(1, options.cold + 1):
        for name in list(built):
            variant, bundle = built[name]
            try:
                run = runner.cold(bundle)
            except BundlerError as exc:
                fail(variant, f"cold start {round_no}", exc)
                continue
            for warning in run.warnings:
                if warning not in notes:
                    notes.append(warning)
            samples[name].cold.append(run.sample)
            report(
                f"cold {round_no}/{options.cold} {name}: {run.sample.cold_total_ms:.0f} ms "
                f"(init {run.sample.init_ms:.0f} ms)"
            )

    # Warm invokes: one open environment per variant, invoked round-robin.
    if options.warm and built:
        with contextlib.ExitStack() as stack:
            sessions: dict[str, WarmSession] = {}
            for name in list(built):
                variant, bundle = built[name]
                try:
                    sessions[name] = stack.enter_context(runner.warm(bundle))
                except BundlerError as exc:
                    fail(variant, "warm start", exc, drop=False)
            for _ in range(options.warm):
                for name in list(sessions):
                    try:
                        samples[name].warm_ms.append(sessions[name].invoke())
                    except BundlerError as exc:
                        fail(built[name][0], "warm invoke", exc, drop=False)
                        del sessions[name]
            report(f"warm: {options.warm} invoke(s) of each of {len(sessions)} variant(s)")

    importtime = None
    if options.importtime and samples:
        importtime = _importtime(samples, built, runner, failures, report)

    measured = [samples[v.name] for v in options.variants if v.name in samples]
    baseline = BASELINE if BASELINE in samples else None
    settings = {"cold": options.cold, "warm": options.warm, "src": str(options.src),
                "arch": options.arch,
                "variants": {v.name: v.description for v in options.variants}}  # fmt: skip
    result = build_report(
        measured, baseline=baseline, settings=settings, failures=failures, importtime=importtime
    )
    result["notes"] = notes
    return result


def _importtime(
    samples: dict[str, VariantSamples],
    built: dict[str, tuple[Variant, Path]],
    runner: Runner,
    failures: list[dict[str, str]],
    report: Report,
) -> dict[str, Any] | None:
    """`-X importtime` of the slowest and the fastest variant, summed per top-level package.

    Slowest and fastest by median init time: the breakdown explains init, and extraction
    (the other large part of a cold start) has no imports to show.
    """
    medians = {
        name: percentile([s.init_ms for s in v.cold], 50)
        for name, v in samples.items()
        if v.cold
    }
    if not medians:
        return None
    slowest = max(medians, key=lambda n: medians[n])
    fastest = min(medians, key=lambda n: medians[n])
    out: dict[str, Any] = {"slowest": slowest, "fastest": fastest, "breakdowns": {}}
    for name in dict.fromkeys((slowest, fastest)):
        bundle = built[name][1]
        report(f"import-time breakdown of {name}")
        try:
            run = runner.cold(bundle, env={"PYTHONPROFILEIMPORTTIME": "1"})
        except BundlerError as exc:
            failures.append({"variant": name, "stage": "importtime", "error": str(exc)})
            continue
        packages = parse_importtime(run.logs)
        total = sum(p["self_ms"] for p in parse_importtime(run.logs, top=10_000))
        out["breakdowns"][name] = {
            "init_ms": run.sample.init_ms,
            "imports_ms": total,
            "packages": packages,
        }
    return out


# -- building ------------------------------------------------------------------------------


def sandbox_builder(
    options: CompareOptions, work: Path, *, cache: Any = None, report: Report = quiet
) -> Builder:
    """Build each variant into `work/<name>` with the real build (and the baseline)."""
    from bundler.build.pipeline import BuildOptions, bundle
    from bundler.core.cache import Cache
    from bundler.measure.baseline import build_baseline

    cache = cache or Cache()

    def build(variant: Variant) -> tuple[Path, int, int]:
        if interpreters.find(variant.python) is None:
            msg = (
                f"No Python {variant.python} interpreter here to run {variant.name} "
                f"(looked on PATH, pyenv and uv); install one with `pyenv install "
                f"{variant.python}` or `uv python install {variant.python}`."
            )
            raise UsageError(msg)
        out = work / variant.name.replace("/", "-").replace("@", "-py")
        target = Target(variant.python, options.arch)
        if variant.strategy == BASELINE:
            m = build_baseline(
                options.src, out, target=target, handler=options.handler, cache=cache,
                resolver=options.resolver, report=report,
            )  # fmt: skip
        else:
            result = bundle(
                BuildOptions(
                    src=options.src, strategy=variant.strategy, target=target, out=out,
                    handler=options.handler, bytecode=variant.bytecode, slim=variant.slim,
                    verify=False, resolver=options.resolver,
                ),
                cache=cache,
                report=report,
            )  # fmt: skip
            m = result.manifest
        arts = (m.function, *m.layers)
        return out, sum(a.size for a in arts), sum(a.unzipped_size for a in arts)

    return build


# -- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on, for the README to cite."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    bwrap = shutil.which("bwrap")
    bwrap_version = None
    if bwrap:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            bwrap_version = subprocess.run(
                [bwrap, "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
    pythons = {}
    for minor in PYTHON_VERSIONS:
        found = interpreters.find(minor)
        if found is not None:
            pythons[minor] = found.version
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "python": sys.version.split()[0],
        "target_pythons": pythons,
        "bwrap": bwrap_version,
        "lambundle": __version__,
    }


# -- entry point and outputs -----------------------------------------------------------------


def compare(
    options: CompareOptions,
    *,
    out: Path | None = None,
    event: bytes = b"{}",
    isolate: bool | None = None,
    layout_dir: Path | None = None,
    memory_mb: int = DEFAULT_MEMORY_MB,
    runner: RemoteRunner | None = None,
    report: Report = quiet,
) -> dict[str, Any]:
    """Build every variant (into `out`, or a temporary directory) and measure them.

    `layout_dir` is where each sandbox extracts the bundle (default: the temp dir);
    `memory_mb` its memory size (an invoke that peaks above it fails as an OOM kill).
    `runner` measures somewhere else instead of the local sandbox (`compare --aws`); the
    caller sets it up and cleans it up.

    Raises NothingMeasured when no variant could be measured; it carries the report so a
    caller can still write it.
    """
    from bundler.sandbox.sandbox import bwrap_problem

    if runner is None and isolate is not False and (problem := bwrap_problem()) is not None:
        report(f"running unsandboxed: {problem}")
    with contextlib.ExitStack() as stack:
        if out is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lambundle-cmp-")))
        else:
            work = out.absolute()
            work.mkdir(parents=True, exist_ok=True)
        builder = sandbox_builder(options, work, report=report)
        measure = runner or SandboxRunner(
            event=event, isolate=isolate, layout_dir=layout_dir,
            memory_mb=memory_mb,
        )  # fmt: skip
        result = run_compare(options, builder, measure, report=report)
    if runner is not None:
        result["machine"], settings = runner.where()
        result["settings"].update(settings)
    else:
        from bundler.sandbox.sandbox import layout_root

        result["machine"] = machine()
        result["settings"]["layout_dir"] = str(
            layout_dir or layout_root(0) or tempfile.gettempdir()
        )
        result["settings"]["memory_mb"] = memory_mb
    if not result["variants"]:
        reasons = "; ".join(f"{f['variant']}: {f['error'].splitlines()[0]}"
                            for f in result["failures"][:4])  # fmt: skip
        raise NothingMeasured(f"Nothing could be measured ({reasons}).", result)
    return result


def plot_svg(result: dict[str, Any]) -> str:
    """The cold-start picture of a compare report (bundler.measure.plot)."""
    from bundler.measure.plot import cold_start_svg

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
    """Write the picture as .svg, or .png through rsvg-convert when it is installed."""
    fmt = check_plot_path(path)
    svg = plot_svg(result)
    try:
        if fmt == "svg":
            path.write_text(svg, encoding="utf-8")
            return
        exe = shutil.which("rsvg-convert") or "rsvg-convert"
        proc = subprocess.run(
            [exe, "--format", "png", "--output", str(path)],
            input=svg.encode(), capture_output=True, check=False,
        )  # fmt: skip
    except OSError as exc:
        msg = f"Cannot write --plot {path} ({exc.strerror}); choose another path."
        raise UsageError(msg) from None
    if proc.returncode != 0:
        msg = f"rsvg-convert could not write {path}: {proc.stderr.decode(errors='replace')}"
        raise BundlerError(msg)
