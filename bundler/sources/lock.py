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
from collections.abc import Iterator, Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.core.errors import LockError
from bundler.core.target import Target

LOCK_FILE = "requirements.txt"
# How a lock says that lambundle builds a pin's wheel from its sdist (the pin's hash is the
# sdist's; bundler.sources.sdist_build): one comment line per such pin.
_BUILT = re.compile(
    r"^# built from sdist: (?P<name>[^=\s]+)==(?P<version>\S+) (?P<file>\S+) "
    r"sha256:(?P<sha>[0-9a-f]{64})$",
    re.MULTILINE,
)


def built_line(name: str, version: str, sdist: str, sha256: str) -> str:
    """The lock's comment line that records a wheel lambundle builds from an sdist."""
    return f"# built from sdist: {name}=={version} {sdist} sha256:{sha256}\n"


@dataclasses.dataclass(frozen=True)
class Pin:
    """One locked distribution with every hash the lock allows for it."""

    name: str
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>", sorted

    @property
    def line(self) -> str:
        """The pin as a line of a hash-checked requirements file (no newline)."""
        return f"{self.name}=={self.version} " + " ".join(f"--hash={h}" for h in self.hashes)


def pin_lines(pins: Sequence[Pin]) -> str:
    """`pins` as a requirements file that `pip --require-hashes` installs exactly."""
    return "".join(p.line + "\n" for p in pins)


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

    @property
    def built_from_sdists(self) -> dict[str, tuple[str, str]]:
        """The pins whose wheel lambundle builds from their sdist: canonical name to
        (sdist file name, its sha256), as the lock's `# built from sdist:` lines say."""
        return {
            canonicalize_name(m["name"]): (m["file"], m["sha"]) for m in _BUILT.finditer(self.text)
        }


@dataclasses.dataclass(frozen=True)
class HashedRequirement:
    """A requirement the user pinned with `--hash` in a requirements file. pip's
    hash-checking mode installs only files with one of those hashes, so the lock's pin of
    it must be this version, and only those of its files may install."""

    requirement: str  # PEP 508, markers included
    version: str
    hashes: tuple[str, ...]  # "sha256:<hex>", sorted
    where: str  # "path:line", for messages

    @property
    def name(self) -> str:
        return Requirement(self.requirement).name

    @property
    def key(self) -> str:
        """What the lock's cache key holds of it."""
        return f"{self.requirement} {' '.join(self.hashes)}"


def constrain(lock: Lock, hashed: Sequence[HashedRequirement], target: Target) -> Lock:
    """`lock` with each hash-pinned requirement's pin narrowed to the user's hashes.

    A requirement whose markers leave it out of `target` constrains nothing. A pin of
    another version, or none of whose files has one of the user's hashes, is a LockError
    naming the requirements file and the package: pip would refuse to install it.
    """
    environment = {**target_environment(target), "extra": ""}
    pins = {canonicalize_name(p.name): p for p in lock.pins}
    narrowed: dict[str, tuple[str, ...]] = {}
    for wanted in hashed:
        req = Requirement(wanted.requirement)
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        name = canonicalize_name(req.name)
        pin = pins.get(name)
        if pin is None:
            msg = (
                f"{wanted.where}: {req.name} is pinned with --hash, but the lock has no pin "
                f"of it; remove its hashes or check that the lock is made from this file."
            )
            raise LockError(msg)
        if pin.version != wanted.version:
            msg = (
                f"{wanted.where}: {req.name} is pinned with --hash to {wanted.version}, but the "
                f"lock pins {pin.version}; make the two agree."
            )
            raise LockError(msg)
        allowed = narrowed.get(name, pin.hashes)
        kept = tuple(h for h in allowed if h in wanted.hashes)
        if not kept:
            msg = (
                f"{wanted.where}: no file of {req.name}=={pin.version} has a hash given "
                f"with --hash ({', '.join(wanted.hashes)}); the lock lists "
                f"{', '.join(allowed)}. pip would refuse to install it: check the hash "
                "(`pip hash FILE` of the file you trust) or remove it."
            )
            raise LockError(msg)
        narrowed[name] = kept
    if not narrowed:
        return lock
    return Lock.from_text(with_hashes(lock.text, narrowed), "lock")


def with_hashes(text: str, hashes: Mapping[str, tuple[str, ...]]) -> str:
    """The lock `text` with the pins named in `hashes` (canonical names) carrying those
    hashes instead of their own; every other line, comments included, as it was."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")) or line[:1].isspace():
            out.append(line)
            i += 1
            continue
        group = [line]  # a requirement and its continuation lines
        while group[-1].rstrip("\r\n").endswith("\\") and i + len(group) < len(lines):
            group.append(lines[i + len(group)])
        i += len(group)
        logical = " ".join(part.rstrip("\r\n").rstrip("\\").strip() for part in group)
        requirement, *options = re.split(r"\s+(?=--)", logical)
        try:
            name: str = canonicalize_name(Requirement(requirement).name)
        except InvalidRequirement:
            name = ""
        if name not in hashes:
            out += group
            continue
        others = [o for o in options if not o.startswith("--hash")]
        parts = [requirement, *others, *(f"--hash={h}" for h in hashes[name])]
        out.append(" \\\n    ".join(parts) + "\n")
    return "".join(out)


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


