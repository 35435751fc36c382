"""`lambundle compare`: build every variant of a function, then measure them side by side.

Variants (bundler.measure.variants) are the three strategies, the baseline
(`bundler.measure.baseline`) and optional extras. Measuring interleaves them (A B C A B C
...) so that drift on a noisy machine hits all alike: N cold starts each, every one in a
fresh sandbox (extract, spawn, init, first invoke), then M warm invokes each, round-robin
over sandboxes that stay open after their cold start. One more cold start of the slowest
and of the fastest variant (by the table's median init + first invoke) runs with
`PYTHONPROFILEIMPORTTIME=1` for a per-import breakdown; profiling slows imports, so those
starts are kept apart from the samples.

The orchestration (`run_compare`) takes a builder and a `Runner` (bundler.measure.runner),
so its order and its failure handling are tested with fakes; `SandboxRunner` is the real
one. A variant that fails to build or start is reported in `failures` and the others are
still measured.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bundler.core import interpreters
from bundler.core.errors import BundlerError, UsageError
from bundler.core.progress import Report, quiet
from bundler.core.target import Target, host_arch
from bundler.measure.machine import machine
from bundler.measure.plot import check_plot_path
from bundler.measure.report import VariantSamples, build_report, parse_importtime
from bundler.measure.runner import (
    DEFAULT_MEMORY_MB,
    RemoteRunner,
    Runner,
    SandboxRunner,
    WarmSession,
)
from bundler.measure.stats import percentile
from bundler.measure.variants import BASELINE, STRATEGIES, Variant, plan_variants


class NothingMeasured(BundlerError):
    """No variant could be measured; `report` still says why, for --json."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclasses.dataclass(frozen=True)
class CompareOptions:
    src: Path
    variants: tuple[Variant, ...]
    python: str = "3.12"
    cold: int = 10
    warm: int = 30
    arch: str = "x86_64"
    handler: str | None = None
    resolver: str = "auto"
    importtime: bool = True


Builder = Callable[[Variant], tuple[Path, int, int]]  # bundle dir, zipped, unzipped bytes


def compare_options(
    src: Path,
    *,
    strategies: Sequence[str] = STRATEGIES,
    extra: Sequence[str] = (),
    python: str = "3.12",
    pythons: Sequence[str] = (),
    baseline: bool = True,
    arch: str = "",
    plot: Path | None = None,
    json_file: Path | None = None,
    cold: int = 10,
    warm: int = 30,
    handler: str | None = None,
    resolver: str = "auto",
    importtime: bool = True,
) -> CompareOptions:
    """The options of a compare, refused before anything is built or measured when the
    `plot` file's format cannot be written, the `plot` or `json_file` cannot be written
    where it is named, or a variant is not one (`plan_variants`); `arch` is this
    machine's when not given."""
    if plot is not None:
        check_plot_path(plot)
        check_writable(plot, "--plot")
    if json_file is not None:
        check_writable(json_file, "--json")
    planned = plan_variants(strategies, extra, python=python, pythons=pythons, baseline=baseline)
    return CompareOptions(
        src=src, variants=tuple(planned), python=python, cold=cold, warm=warm,
        arch=arch or host_arch(), handler=handler, resolver=resolver, importtime=importtime,
    )  # fmt: skip


def check_writable(path: Path, option: str) -> None:
    """Refuse an output file that cannot be written, before minutes of measuring.

    The files are written whole through a temporary file next to them (render.write_report,
    plot.write_plot), so creating one in the same directory is exactly what must work.
    """
    parent = path.absolute().parent
    if path.is_dir():
        raise UsageError(f"{option} {path}: that is a directory; name a file in it.")
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(f"{option} {path}: {parent} {problem}; choose another path.")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        msg = f"{option} {path}: cannot write in {parent} ({exc.strerror}); choose another path."
        raise UsageError(msg) from None


# -- the orchestration ---------------------------------------------------------------------


def run_compare(
    options: CompareOptions,
    builder: Builder,
    runner: Runner,
    *,
    report: Report = quiet,
) -> dict[str, Any]:
    """Build and measure every variant; the report of `bundler.measure.report.build_report`."""
    if options.cold < 1 or options.warm < 0:
        raise UsageError("--cold must be at least 1 and --warm at least 0.")
    run = _Run(options, runner, report)
    run.build(builder)
    run.cold_starts()
    if options.warm and run.built:
        run.warm_invokes()
    importtime = None
    if options.importtime and run.samples:
        importtime = _importtime(run.samples, run.built, runner, run.failures, report)
    return run.result(importtime)


class _Run:
    """One compare under way: what built, the samples so far, what failed and notes."""

    def __init__(self, options: CompareOptions, runner: Runner, report: Report) -> None:
        self.options = options
        self.runner = runner
        self.report = report
        self.failures: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.built: dict[str, tuple[Variant, Path]] = {}
        self.samples: dict[str, VariantSamples] = {}
        self.started = datetime.datetime.now(datetime.timezone.utc)

    def fail(self, variant: Variant, stage: str, exc: BaseException, *, drop: bool = True) -> None:
        self.failures.append({"variant": variant.name, "stage": stage, "error": str(exc)})
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self.report(f"{variant.name}: {stage} failed: {first}")
        if drop:
            # A variant that does not start reliably has no honest cold-start figure.
            self.built.pop(variant.name, None)
            self.samples.pop(variant.name, None)

    def build(self, builder: Builder) -> None:
        for variant in self.options.variants:
            self.report(f"building {variant.name} ({variant.description})")
            try:
                bundle, zipped, unzipped = builder(variant)
            except BundlerError as exc:
                self.fail(variant, "build", exc)
                continue
            self.built[variant.name] = (variant, bundle)
            self.samples[variant.name] = VariantSamples(
                variant.name, zipped, unzipped, description=variant.description,
                python=variant.python,
            )  # fmt: skip

    def cold_starts(self) -> None:
        """Cold starts, interleaved round by round."""
        for round_no in range(1, self.options.cold + 1):
            for name in list(self.built):
                variant, bundle = self.built[name]
                try:
                    run = self.runner.cold(bundle)
                except BundlerError as exc:
                    self.fail(variant, f"cold start {round_no}", exc)
                    continue
                for warning in run.warnings:
                    if warning not in self.notes:
                        self.notes.append(warning)
                self.samples[name].cold.append(run.sample)
                self.report(
                    f"cold {round_no}/{self.options.cold} {name}: "
                    f"{run.sample.cold_total_ms:.0f} ms (init {run.sample.init_ms:.0f} ms)"
                )

    def warm_invokes(self) -> None:
        """Warm invokes: one open environment per variant, invoked round-robin."""
        with contextlib.ExitStack() as stack:
            sessions: dict[str, WarmSession] = {}
            for name in list(self.built):
                variant, bundle = self.built[name]
                try:
                    sessions[name] = stack.enter_context(self.runner.warm(bundle))
                except BundlerError as exc:
                    self.fail(variant, "warm start", exc, drop=False)
            for _ in range(self.options.warm):
                for name in list(sessions):
                    try:
                        self.samples[name].warm_ms.append(sessions[name].invoke())
                    except BundlerError as exc:
                        self.fail(self.built[name][0], "warm invoke", exc, drop=False)
                        del sessions[name]
            self.report(
                f"warm: {self.options.warm} invoke(s) of each of {len(sessions)} variant(s)"
            )

    def result(self, importtime: dict[str, Any] | None) -> dict[str, Any]:
        options = self.options
        measured = [self.samples[v.name] for v in options.variants if v.name in self.samples]
        baseline = BASELINE if BASELINE in self.samples else None
        # One baseline per Python: each variant is compared with the one of its own version.
        baselines = {v.python: v.name for v in options.variants if v.strategy == BASELINE}
        settings = {"cold": options.cold, "warm": options.warm, "src": str(options.src),
                    "arch": options.arch, "python": options.python,
                    "date": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "variants": {v.name: v.description for v in options.variants}}  # fmt: skip
        result = build_report(
            measured,
            baseline=baseline,
            baselines=baselines,
            settings=settings,
            failures=self.failures,
            importtime=importtime,
        )
        result["notes"] = self.notes
        return result


def _importtime(
    samples: dict[str, VariantSamples],
    built: dict[str, tuple[Variant, Path]],
    runner: Runner,
    failures: list[dict[str, str]],
    report: Report,
) -> dict[str, Any] | None:
    """`-X importtime` of the slowest and the fastest variant, summed per top-level package.

    Slowest and fastest by the table's median init + first invoke, the time in which the
    imports happen (extraction, the other large part of a local cold start, has no imports
    to show); the report names that figure next to the breakdown. Each breakdown comes from
    one more cold start, not from the measured ones: profiling slows every import, so it
    would bias the samples it ran in.
    """
    medians = {
        name: percentile([s.init_invoke_ms for s in v.cold], 50)
        for name, v in samples.items()
        if v.cold
    }
    if not medians:
        return None
    slowest = max(medians, key=lambda n: medians[n])
    fastest = min(medians, key=lambda n: medians[n])
    out: dict[str, Any] = {
        "slowest": slowest, "fastest": fastest, "by": "init_invoke_ms median",
        "source": "one more cold start per variant with PYTHONPROFILEIMPORTTIME=1, after the "
                  "measured ones; not among the samples",
        "breakdowns": {},
    }  # fmt: skip
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
            "median_init_invoke_ms": medians[name],
            "init_ms": run.sample.init_ms,
            "init_invoke_ms": run.sample.init_invoke_ms,
            "imports_ms": total,
            "packages": packages,
        }
    return out


# -- building ------------------------------------------------------------------------------


def variant_dir(work: Path, name: str) -> Path:
    """Where the real builder puts variant `name` under `work` (`pinned@3.13` is
    `pinned-py3.13`)."""
    return work / name.replace("/", "-").replace("@", "-py")


def sandbox_builder(
    options: CompareOptions, work: Path, *, cache: Any = None, report: Report = quiet
) -> Builder:
    """Build each variant into `work/<name>` with the real build (and the baseline)."""
    from bundler.build.pipeline import BuildOptions, bundle
    from bundler.core.cache import Cache
    from bundler.measure.baseline import build_baseline

    cache = cache or Cache(report=report)

    def build(variant: Variant) -> tuple[Path, int, int]:
        if interpreters.find(variant.python) is None:
            msg = (
                f"No Python {variant.python} interpreter here to run {variant.name} "
                f"(looked on PATH, pyenv and uv); install one with `pyenv install "
                f"{variant.python}` or `uv python install {variant.python}`."
            )
            raise UsageError(msg)
        out = variant_dir(work, variant.name)
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


# -- the entry point -----------------------------------------------------------------------


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
    from bundler.sandbox import bwrap_problem

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
        from bundler.sandbox import layout_root

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
