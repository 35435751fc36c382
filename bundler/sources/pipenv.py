"""Pipenv projects: a `Pipfile`'s packages, and the versions its `Pipfile.lock` pins.

A directory with a Pipfile ships the Pipfile's `[packages]` (never `[dev-packages]`).
With a Pipfile.lock next to it, that file decides every version and no resolver runs:
its `default` section is already the whole flattened set, each package with its exact
version, the sha256 of every file and the markers Pipenv recorded, which are decided here
for the target (`tomli; python_version < '3.11'` ships to python3.10 only). A lock made
for another Pipfile is refused, as `pipenv install --deploy` refuses it: Pipenv records
the sha256 of the Pipfile's JSON in `_meta.hash`, and it is recomputed here the way
Pipenv computes it (plette's `Pipfile.get_hash`: the sources, `requires`, `packages` and
`dev-packages`, plus any other package categories, as sorted, compact JSON). Without a
Pipfile.lock, the Pipfile's entries become PEP 508 requirements and are resolved as
usual. Editable, path, file and VCS entries are refused by name: Lambda gets wheels.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.core.errors import LockError, ProjectError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources import references
from bundler.sources.lock import Lock, target_environment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PIPFILE = "Pipfile"
PIPFILE_LOCK = "Pipfile.lock"
# Pipfile sections that are not package categories (plette's PIPFILE_SECTIONS).
_NOT_CATEGORIES = {"source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv"}
# Entry keys that point somewhere other than an index.
_LOCAL_KEYS = ("path", "file", "git", "hg", "svn", "bzr", "editable")
_WHEELS_ONLY = "Lambda gets wheels from a package index, so publish it to one and"


def _local_source(entry: Mapping[str, object]) -> str | None:
    """The key of an entry that points at a path, file or repository, if it has one."""
    return next((key for key in _LOCAL_KEYS if key in entry), None)


def read_pipfile(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path} is not valid TOML ({exc})."
        raise ProjectError(msg) from None


def requirements(root: Path) -> list[str]:
    """The Pipfile's `[packages]` as PEP 508 requirements (for display and resolving)."""
    path = root / PIPFILE
    packages = read_pipfile(path).get("packages", {})
    if not isinstance(packages, dict):
        msg = f"{path}: [packages] must be a table of package = version entries."
        raise ProjectError(msg)
    return [_requirement(name, entry, path) for name, entry in packages.items()]


def requires_python(root: Path) -> str | None:
    """The Pipfile's `[requires]` Python as a specifier (`python_version = "3.11"` is
    `==3.11.*`; a full version counts by its minor, which is what Lambda chooses by)."""
    path = root / PIPFILE
    requires = read_pipfile(path).get("requires", {})
    if not isinstance(requires, dict):
        return None
    version = requires.get("python_version") or requires.get("python_full_version")
    if not version:
        return None
    parts = str(version).strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        msg = f"{path}: [requires] python_version {version!r} is not a Python version like 3.12."
        raise ProjectError(msg)
    return f"=={parts[0]}.{parts[1]}.*"


def _requirement(name: str, entry: object, where: Path) -> str:
    if isinstance(entry, str):
        entry = {"version": entry}
    if not isinstance(entry, dict):
        msg = f"{where}: the entry of {name!r} must be a version string or a table."
        raise ProjectError(msg)
    local = _local_source(entry)
    if local:
        msg = f"{where}: {name!r} comes from a {local} entry; {_WHEELS_ONLY} list it by version."
        raise ProjectError(msg)
    version = str(entry.get("version", "*")).strip()
    extras = entry.get("extras", [])
    text = name
    if extras:
        text += "[" + ",".join(str(e) for e in extras) + "]"
    if version not in ("", "*"):
        text += version
    markers = [str(entry["markers"])] if entry.get("markers") else []
    # Pipfile's shorthand marker keys (`sys_platform = "== 'linux'"`, `os_name = ...`).
    for key in ("os_name", "sys_platform", "platform_machine", "python_version"):
        if key in entry:
            markers.append(f"{key} {entry[key]}")
    if markers:
        text += "; " + " and ".join(f"({m})" for m in markers)
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        msg = f"{where}: the entry of {name!r} is not a valid requirement ({exc})."
        raise ProjectError(msg) from None
    # A version written as `@ https://...` makes a direct reference all the same.
    return references.check_requirement(text, f"{where}: [packages] {name}")


def project_pipfile_lock(root: Path) -> Path | None:
    """The Pipfile.lock that decides this project's versions, if it has one."""
    path = root / PIPFILE_LOCK
    return path if (root / PIPFILE).is_file() and path.is_file() else None


def pipfile_hash(pipfile: Mapping[str, Any]) -> str:
    """The `_meta.hash.sha256` a current Pipfile.lock records for this Pipfile."""
    data: dict[str, Any] = {
        "_meta": {"sources": pipfile.get("source", []), "requires": pipfile.get("requires", {})},
        "default": pipfile.get("packages", {}),
        "develop": pipfile.get("dev-packages", {}),
    }
    for category, values in pipfile.items():
        if category not in _NOT_CATEGORIES and category not in ("default", "develop"):
            data[category] = values
    content = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def lock_from_pipfile_lock(name: str, root: Path, target: Target, say: Report) -> Lock:
    """The lock of the project at `root` for `target`, as its Pipfile.lock pins it."""
    path = root / PIPFILE_LOCK
    say(f"Reading the versions of {path} for python{target.python} {target.arch}")
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = f"{path} is not valid JSON ({exc}); run `pipenv lock` to write it again."
        raise LockError(msg) from None
    meta = data.get("_meta") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or meta.get("pipfile-spec") != 6:
        msg = f"{path} is not a Pipfile.lock of today's Pipenv (pipfile-spec 6); run `pipenv lock`."
        raise LockError(msg)
    recorded = meta.get("hash", {}).get("sha256") if isinstance(meta.get("hash"), dict) else None
    if recorded != pipfile_hash(read_pipfile(root / PIPFILE)):
        # What `pipenv install --deploy` refuses too: the lock was made for another Pipfile.
        msg = f"{root / PIPFILE} changed since {path} was made: run `pipenv lock` in {root}."
        raise LockError(msg)
    default = data.get("default", {})
    if not isinstance(default, dict):
        msg = f"{path}: `default` must map package names to their pins; run `pipenv lock`."
        raise LockError(msg)
    environment = {**target_environment(target), "extra": ""}
    lines = []
    for package, entry in sorted(default.items(), key=lambda item: canonicalize_name(item[0])):
        pin = _pin(package, entry, environment, path)
        if pin is not None:
            lines.append(pin)
    digest = hashlib.sha256(raw).hexdigest()
    major, minor = target.glibc
    text = (
        f"# Hash-pinned lock of {name}, the versions of its Pipfile.lock (sha256 {digest})\n"
        f"# target: python{target.python} {target.arch} (glibc {major}.{minor})\n"
        + "".join(lines)
    )
    lock = Lock.from_text(text, str(path))
    say(f"Locked {len(lock.pins)} distribution(s) as {path.name} pins them")
    return lock


def _pin(package: str, entry: object, environment: dict[str, str], where: Path) -> str | None:
    """`name==version` with its hashes, or None when its markers leave it out."""
    if not isinstance(entry, dict):
        msg = f"{where}: the entry of {package!r} is not a table; run `pipenv lock`."
        raise LockError(msg)
    local = _local_source(entry)
    if local:
        msg = f"{where} pins {package!r} from a {local} entry; {_WHEELS_ONLY} pin it by version."
        raise LockError(msg)
    markers = entry.get("markers")
    if markers:
        try:
            if not Marker(str(markers)).evaluate(environment):
                return None
        except InvalidMarker as exc:
            msg = f"{where}: the markers of {package!r} are not valid ({exc})."
            raise LockError(msg) from None
    version = str(entry.get("version", ""))
    hashes = entry.get("hashes")
    if not version.startswith("==") or not hashes:
        msg = (
            f"{where}: {package!r} has no exact version with hashes; run `pipenv lock` "
            "(lambundle installs every file by its hash)."
        )
        raise LockError(msg)
    return " \\\n    ".join([f"{package}{version}", *(f"--hash={h}" for h in hashes)]) + "\n"
