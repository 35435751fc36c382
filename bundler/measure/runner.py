"""How `lambundle compare` starts a variant's bundle: a `Runner` gives cold starts and warm
sessions. `SandboxRunner` is the real one, in the local sandbox; `compare --aws` brings its
own (bundler.aws.compare); tests bring fakes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from bundler.core.errors import BundlerError
from bundler.measure.report import ColdSample


class MeasureError(BundlerError):
    """A variant built but did not start or answer in the sandbox."""


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
    """A runner that measures somewhere else (`bundler.aws.compare.AwsRunner`) and says where."""

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
        from bundler.sandbox import Sandbox

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
