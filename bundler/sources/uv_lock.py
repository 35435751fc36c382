"""A project's own uv.lock: its versions, exported by uv and decided for the target."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from bundler.core import interpreters
from bundler.core.errors import LockError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources import resolver
from bundler.sources.lock import Lock, requirement_lines, target_environment

UV_LOCK = "uv.lock"


def project_uv_lock(root: Path) -> Path | None:
    """The project's own uv.lock: when there is one, it decides every version, not a resolver."""
    if not (root / "pyproject.toml").is_file():
        return None
    path = root / UV_LOCK
    return path if path.is_file() else None


def lock_from_uv_lock(name: str, root: Path, target: Target, uv_lock: Path, say: Report) -> Lock:
    """The lock of project `name` (in `root`) for `target`, exactly as its uv.lock pins it.

    `uv export --locked` writes the universal lock as requirements with every file's hash
    (`--locked`: a uv.lock older than pyproject.toml is an error, not silently re-solved);
    the markers are then decided for the target, as Lambda would evaluate them.
    """
    uv = resolver.find_uv()
    if uv is None:
        msg = (
            f"{uv_lock} decides this function's versions, but uv is not installed to read "
            "it: pip install 'lambundle[uv]' (or install uv), or delete uv.lock to let "
            "lambundle resolve pyproject.toml's dependencies."
        )
        raise LockError(msg)
    command = [
        uv, "export", "--locked", "--format", "requirements-txt", "--no-dev",
        "--no-emit-project", "--no-header", "--no-annotate", "--directory", str(root),
    ]  # fmt: skip
    # `--locked` checks the lock against the project, for which uv wants an interpreter
    # that the project's requires-python allows: the target's, where this machine has it
    # (a pyenv shim or a host Python outside that range would fail, or make uv download one).
    interpreter = interpreters.find(target.python)
    if interpreter is not None:
        command += ["--python", str(interpreter.path)]
    say(f"Reading the versions of {uv_lock} for python{target.python} {target.arch}")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        msg = f"Cannot run uv ({uv}): {exc}"
        raise LockError(msg) from exc
    if proc.returncode != 0:
        detail = "\n".join(resolver.useful_lines(proc.stderr or proc.stdout)[-6:])
        msg = (
            f"uv could not export {uv_lock}:\n{detail}\nIf pyproject.toml changed since the "
            f"lock was made, run `uv lock` in {root}."
        )
        raise LockError(msg)
    body = _pins_for_target(proc.stdout, target, uv_lock)
    digest = hashlib.sha256(uv_lock.read_bytes()).hexdigest()
    major, minor = target.glibc
    text = (
        f"# Hash-pinned lock of {name}, the versions of its uv.lock (sha256 {digest})\n"
        f"# target: python{target.python} {target.arch} (glibc {major}.{minor})\n"
        + "".join(body)
    )
    lock = Lock.from_text(text, f"{uv_lock} (exported by uv)")
    say(f"Locked {len(lock.pins)} distribution(s) as {uv_lock.name} pins them")
    return lock


def _pins_for_target(exported: str, target: Target, uv_lock: Path) -> list[str]:
    """The lines of uv's export that apply to `target`, markers decided and dropped."""
    environment = {**target_environment(target), "extra": ""}
    body: list[str] = []
    for _, requirement, options in requirement_lines(exported):
        if requirement.startswith(("-e", ".", "/")) or " @ " in requirement:
            msg = (
                f"{uv_lock} pins {requirement.split(';')[0].strip()!r}, a local or direct "
                "reference: lambundle installs hash-pinned releases from the package index. "
                "Publish it to an index, or vendor its code in the function."
            )
            raise LockError(msg)
        try:
            req = Requirement(requirement)
        except InvalidRequirement as exc:
            msg = f"{uv_lock}: uv exported {requirement!r}, not a requirement ({exc})."
            raise LockError(msg) from None
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        req.marker = None
        hashes = sorted(o for o in options if o.startswith("--hash="))
        body.append(" \\\n    ".join([str(req), *hashes]) + "\n")
    return body
