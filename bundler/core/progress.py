"""How the library reports progress on long steps: through a callable the caller gives.

The library never prints (STYLE.md); the CLI passes a function that writes to stderr,
tests and other callers pass `quiet` or collect the messages.
"""

from __future__ import annotations

from collections.abc import Callable

Report = Callable[[str], None]


def quiet(_: str) -> None:
    """Report nothing."""
