"""A hash-pinned lock and the target it is for.

A lock is a requirements file in pip-compile's format: `name==version` with every
`--hash=sha256:...` the index lists for that release, so any install of it can run with
`--require-hashes`. Whoever makes it (a resolver, `bundler.sources.resolver`, or the
project's own lock file: uv.lock, poetry.lock, Pipfile.lock), it is read back here, and the
environment markers of its requirements are decided for the Lambda target, never the host.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator

from packaging.requirements import InvalidRequirement, Requirement

from bundler.core.errors import LockError
from bundler.core.target import Target

LOCK_FILE = "requirements.txt"


@dataclasses.dataclass(frozen=True)
class Pin:
    """One locked distribution with every hash the lock allows for it."""

    name: str
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>", sorted


@dataclasses.dataclass(frozen=True)
class Lock:
    """A hash-pinned lock: its text (pip-compile's format) and the pins parsed from it."""

    text: str
    pins: tuple[Pin, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @classmethod
    def from_text(cls, text: str, source: str = "lock") -> Lock:
        return cls(text=text, pins=parse_lock(text, source))


def parse_lock(text: str, source: str = "lock") -> tuple[Pin, ...]:
    """Pins of a `--generate-hashes` requirements file; every line must be pinned and hashed."""
    pins: list[Pin] = []
    for lineno, requirement, options in requirement_lines(text):
        if requirement.startswith("-"):
            continue
        hashes = sorted(
            o.split("=", 1)[1].strip() for o in options if o.startswith("--hash=")
        )
        try:
            req = Requirement(requirement)
        except InvalidRequirement as exc:
            msg = f"{source}: line {lineno}: {requirement!r} is not a requirement ({exc})."
            raise LockError(msg) from None
        exact = [s for s in req.specifier if s.operator in ("==", "===")]
        if len(exact) != 1 or "*" in exact[0].version:
            msg = f"{source}: {requirement!r} is not pinned to one version (name==version)."
            raise LockError(msg)
        if not hashes:
            msg = f"{source}: {requirement!r} has no --hash; re-create the lock with hashes."
            raise LockError(msg)
        pins.append(Pin(name=req.name, version=exact[0].version, hashes=tuple(hashes)))
    return tuple(pins)


def requirement_lines(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, requirement, its `--options`) of each logical line of a requirements
    file: continuations joined, comments and blank lines dropped."""
    logical = re.sub(r"\\\s*\n", " ", text)
    for lineno, raw in enumerate(logical.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            requirement, *options = re.split(r"\s+(?=--)", line)
            yield lineno, requirement, options


def target_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker variables of a Lambda running `target`."""
    full = f"{target.python}.0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": target.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "python_version": target.python,
        "sys_platform": "linux",
    }


def requirements_for_target(requirements: tuple[str, ...], target: Target) -> list[str]:
    """Top-level requirements with their markers decided for the target, not the host.

    pip-compile evaluates markers for the interpreter running it, so a requirement like
    `tomli; python_version < "3.11"` would be dropped for a 3.10 Lambda when resolved on
    3.11. Deciding top-level markers here makes both resolvers agree on them.
    """
    environment = target_environment(target)
    out = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None:
            if not req.marker.evaluate({**environment, "extra": ""}):
                continue
            req.marker = None
        out.append(str(req))
    return out


