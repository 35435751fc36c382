"""How the library reports progress on long steps: through a callable the caller gives.

The library never prints (STYLE.md); the CLI passes a function that writes to stderr,
tests and other callers pass `quiet` or collect the messages.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

Report = Callable[[str], None]


def quiet(_: str) -> None:
    """Report nothing."""


class Timings:
    """Wall-clock seconds a build spent in each of its steps, in the order they first ran.

    A step that runs several times adds up; steps that overlap (a verification started
    while the archives are written) each count their own time, so the steps may add up to
    more than the build took. `lambundle bundle --json` reports them as `timings`, and
    benchmarks/build.py reads them to show which step a slow build waits on.
    """

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._lock = threading.Lock()  # steps may run on other threads

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.steps[name] = self.steps.get(name, 0.0) + seconds

    def to_json(self) -> dict[str, float]:
        return {name: round(seconds, 3) for name, seconds in self.steps.items()}
