"""A project's own poetry.lock, read as a Lock for the target.

With a poetry.lock next to pyproject.toml, that file decides every version and no resolver
runs (as with uv.lock). lambundle reads it itself (lock-version 2.x, Poetry 1.5 and later):
starting from the main dependencies it walks each locked package's `dependencies` table,
decides every marker for the Lambda target, follows optional dependencies only when an
extra on the edge asks for them, and pins each needed package with every sha256 that
poetry.lock lists for it; the installer then picks the target's wheel and checks its hash.
Dev and other groups are never roots, so their packages are not shipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.core.errors import LockError, ProjectError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources.lock import Lock, target_environment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from bundler.sources.poetry import (
    POETRY_LOCK,
    Dependency,
    and_markers,
    is_poetry_project,
    main_dependencies,
    poetry_table,
    python_marker,
    read_pyproject,
    specifiers,
)

# Sources lambundle cannot install with hashes from an index; poetry.lock names the
# others "legacy" (a simple index such as PyPI's) or leaves `source` out (PyPI itself).
_LOCAL_SOURCES = ("directory", "file", "url", "git")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def project_poetry_lock(root: Path) -> Path | None:
    """The project's own poetry.lock: when there is one, it decides every version."""
    if not (root / "pyproject.toml").is_file():
        return None
    path = root / POETRY_LOCK
    return path if path.is_file() else None


def uses_poetry(root: Path) -> bool:
    """True when the directory `root` has a pyproject.toml with a [tool.poetry] table."""
    if not (root / "pyproject.toml").is_file():
        return False
    return is_poetry_project(read_pyproject(root))


def lock_from_poetry_lock(
    name: str, root: Path, target: Target, poetry_lock: Path, say: Report
) -> Lock:
    """The lock of project `name` (in `root`) for `target`, exactly as its poetry.lock
    pins it."""
    pyproject_path = root / "pyproject.toml"
    pyproject = read_pyproject(root)
    roots = main_dependencies(pyproject, pyproject_path)
    say(f"Reading the versions of {poetry_lock} for python{target.python} {target.arch}")
    raw = poetry_lock.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{poetry_lock} is not valid TOML ({exc}); run `poetry lock` to write it again."
        raise LockError(msg) from None
    metadata = data.get("metadata")
    recorded = metadata.get("content-hash") if isinstance(metadata, dict) else None
    if isinstance(recorded, str) and recorded not in content_hashes(pyproject):
        # What `poetry install` refuses too: the lock was made for other dependencies.
        msg = (
            f"{pyproject_path} changed since {poetry_lock} was made (its content-hash no "
            f"longer matches): run `poetry lock` in {root}."
        )
        raise LockError(msg)
    body = walk_lock(data, roots, target, poetry_lock)
    digest = hashlib.sha256(raw).hexdigest()
    major, minor = target.glibc
    text = (
        f"# Hash-pinned lock of {name}, the versions of its poetry.lock "
        f"(sha256 {digest})\n"
        f"# target: python{target.python} {target.arch} (glibc {major}.{minor})\n" + body
    )
    lock = Lock.from_text(text, str(poetry_lock))
    say(f"Locked {len(lock.pins)} distribution(s) as {poetry_lock.name} pins them")
    return lock


def content_hashes(pyproject: Mapping[str, object]) -> set[str]:
    """The `content-hash` a current poetry.lock records for this pyproject.toml.

    Poetry hashes the JSON (sorted keys) of the tables that decide the lock: `[project]`
    requires-python, dependencies and optional-dependencies, PEP 735 `[dependency-groups]`,
    and `[tool.poetry]` dependencies, source, extras, dev-dependencies and group (the
    first four as null when absent, for locks of older Poetry). Poetry before 2.2 left
    `[dependency-groups]` out, so both hashes are accepted.
    """
    project = pyproject.get("project")
    project = project if isinstance(project, dict) else {}
    tool_poetry = poetry_table(pyproject)
    groups = pyproject.get("dependency-groups")
    out = set()
    for group_content in (groups if isinstance(groups, dict) else {}, {}):
        project_part = {
            key: project[key]
            for key in ("requires-python", "dependencies", "optional-dependencies")
            if project.get(key) is not None
        }
        modern = bool(project_part or group_content)
        poetry_part = {
            key: tool_poetry.get(key)
            for key in ("dependencies", "source", "extras", "dev-dependencies", "group")
            if tool_poetry.get(key) is not None or (key != "group" and not modern)
        }
        content: dict[str, object] = dict(poetry_part)
        if modern:
            content = {"tool": {"poetry": poetry_part}}
            if project_part:
                content["project"] = project_part
            if group_content:
                content["dependency-groups"] = group_content
        text = json.dumps(content, sort_keys=True)
        out.add(hashlib.sha256(text.encode()).hexdigest())
    return out


def walk_lock(
    data: Mapping[str, object],
    roots: Sequence[Dependency],
    target: Target,
    where: Path | str = POETRY_LOCK,
) -> str:
    """The requirements-file body (`name==version` and every `--hash`) of what `roots`
    need from the parsed poetry.lock `data` on `target`, sorted by name."""
    return _Walk(data, target, str(where)).run(roots)


class _Walk:
    """One walk of a poetry.lock from the main dependencies for one target."""

    def __init__(self, data: Mapping[str, object], target: Target, where: str) -> None:
        self.where = where
        self.target = target
        self.environment = target_environment(target)
        metadata = data.get("metadata")
        version = str(metadata.get("lock-version", "")) if isinstance(metadata, dict) else ""
        if not version.startswith("2."):
            msg = (
                f"{where} has lock-version {version or 'none'}; lambundle reads lock-version "
                "2.x (Poetry 1.5 or later): run `poetry lock` with a current Poetry."
            )
            raise LockError(msg)
        self.packages: dict[str, list[dict[str, object]]] = {}
        listed = data.get("package", [])
        for package in listed if isinstance(listed, list) else []:
            if isinstance(package, dict) and isinstance(package.get("name"), str):
                key = canonicalize_name(str(package["name"]))
                self.packages.setdefault(key, []).append(package)
        self.chosen: dict[str, dict[str, object]] = {}
        self.extras: dict[str, set[str]] = {}

    def run(self, roots: Sequence[Dependency]) -> str:
        for root in roots:
            if root.optional or not self._active(root.marker, {""}):
                continue
            self._visit(root, None)
        lines = []
        for key in sorted(self.chosen):
            package = self.chosen[key]
            lines.append(
                " \\\n    ".join(
                    [f"{package['name']}=={package['version']}", *self._hashes(package)]
                )
                + "\n"
            )
        return "".join(lines)

    def _visit(self, edge: Dependency, parent: dict[str, object] | None) -> None:
        key = canonicalize_name(edge.name)
        package = self._choose(key, edge, parent)
        new_extras = set(edge.extras) - self.extras.get(key, set())
        if key in self.chosen and not new_extras:
            return
        self.chosen[key] = package
        self.extras.setdefault(key, set()).update(edge.extras)
        self._check_source(package)
        for child in self._edges(package, self.extras[key]):
            self._visit(child, package)

    def _choose(
        self, key: str, edge: Dependency, parent: dict[str, object] | None
    ) -> dict[str, object]:
        candidates = self.packages.get(key, [])
        if not candidates:
            if parent is None:
                msg = (
                    f"pyproject.toml depends on {edge.name}, but {self.where} does not lock "
                    "it: the lock is older than pyproject.toml. Run `poetry lock`."
                )
            else:
                msg = (
                    f"{self.where}: {parent['name']} depends on {edge.name}, which the lock "
                    "does not list. Run `poetry lock` to write it again."
                )
            raise LockError(msg)
        fitting = [c for c in candidates if edge.allows(str(c["version"]))]
        if len(fitting) > 1:
            # Poetry locks one version per marker split (say numpy for <3.10 and for
            # >=3.10): the one whose Python range and markers hold on the target.
            fitting = [c for c in fitting if self._fits_target(c)] or fitting
        chosen = self.chosen.get(key)
        if chosen is not None and any(c is chosen for c in fitting):
            return chosen
        if not fitting:
            versions = ", ".join(str(c["version"]) for c in candidates)
            if parent is None:
                msg = (
                    f"{self.where} pins {edge.name} {versions}, but pyproject.toml asks for "
                    f"{edge.name} {edge.constraint()}: the lock is older than pyproject.toml. "
                    "Run `poetry lock`."
                )
                raise LockError(msg)
            if len(candidates) > 1:
                msg = (
                    f"{self.where}: {parent['name']} needs {edge.name} {edge.constraint()}, "
                    f"but the lock has {versions}. Run `poetry lock` to write it again."
                )
                raise LockError(msg)
            fitting = candidates  # the lock's own edge; Poetry chose this version for it
        best = max(fitting, key=lambda c: _sort_version(str(c["version"])))
        if chosen is not None and chosen is not best:
            msg = (
                f"{self.where} needs both {edge.name} {chosen['version']} and "
                f"{best['version']} on python{self.target.python} {self.target.arch}. "
                "Run `poetry lock` to write it again."
            )
            raise LockError(msg)
        return best

    def _fits_target(self, package: Mapping[str, object]) -> bool:
        python = package.get("python-versions", "*")
        try:
            alternatives = specifiers(str(python), self.where)
        except ProjectError:
            alternatives = ()
        full = self.environment["python_full_version"]
        if alternatives and not any(s.contains(full, prereleases=True) for s in alternatives):
            return False
        markers = package.get("markers")
        if isinstance(markers, dict):
            markers = markers.get("main")
        # Markers that name an extra are the project's own extras: not decidable here.
        if isinstance(markers, str) and "extra" not in markers:
            return self._active(markers, {""})
        return True

    def _edges(self, package: Mapping[str, object], extras: set[str]) -> list[Dependency]:
        table = package.get("dependencies", {})
        if not isinstance(table, dict):
            return []
        offered = package.get("extras", {})
        offered = offered if isinstance(offered, dict) else {}
        out = []
        for name, value in table.items():
            for entry in value if isinstance(value, list) else [value]:
                edge = self._lock_edge(str(name), entry)
                asking = {""}
                if edge.optional:
                    key = canonicalize_name(edge.name)
                    asking = {
                        extra
                        for extra in extras
                        if any(_name_of(d) == key for d in offered.get(extra, []) or [])
                    }
                    if not asking and edge.marker and "extra" in edge.marker:
                        asking = set(extras)  # its marker (extra == "...") decides
                    if not asking:
                        continue
                if self._active(edge.marker, asking):
                    out.append(edge)
        return out

    def _lock_edge(self, name: str, value: object) -> Dependency:
        if isinstance(value, str):
            return Dependency(name, alternatives=self._lenient(value))
        if not isinstance(value, dict):
            return Dependency(name)
        markers = value.get("markers")
        python = value.get("python")
        python_markers = None
        if python:
            try:
                python_markers = python_marker(str(python), self.where)
            except ProjectError:
                python_markers = None
        return Dependency(
            name=name,
            extras=tuple(str(e) for e in value.get("extras", []) or []),
            alternatives=self._lenient(str(value.get("version", "*"))),
            marker=and_markers(str(markers) if markers else None, python_markers),
            optional=bool(value.get("optional", False)),
        )

    def _lenient(self, constraint: str) -> tuple[SpecifierSet, ...]:
        # The lock's own edges only help choose between several locked versions of one
        # package; an edge written in a syntax not understood here must not stop a build.
        try:
            return specifiers(constraint, self.where)
        except ProjectError:
            return ()

    def _active(self, marker: str | None, extras: set[str]) -> bool:
        if not marker:
            return True
        try:
            parsed = Marker(marker)
        except InvalidMarker as exc:
            msg = f"{self.where}: marker {marker!r} is not valid PEP 508 ({exc})."
            raise LockError(msg) from None
        return any(parsed.evaluate({**self.environment, "extra": e}) for e in extras)

    def _check_source(self, package: Mapping[str, object]) -> None:
        source = package.get("source")
        if not isinstance(source, dict) or source.get("type") not in _LOCAL_SOURCES:
            return
        msg = (
            f"{self.where} pins {package['name']} from a {source.get('type')} source "
            f"({source.get('url')}): lambundle installs hash-pinned releases from the package "
            "index. Publish it to an index and depend on a version, or vendor its code in "
            "the function."
        )
        raise LockError(msg)

    def _hashes(self, package: Mapping[str, object]) -> list[str]:
        files = package.get("files", [])
        hashes = sorted(
            {
                f"--hash={f['hash']}"
                for f in (files if isinstance(files, list) else [])
                if isinstance(f, dict) and str(f.get("hash", "")).startswith("sha256:")
            }
        )
        if not hashes:
            msg = (
                f"{self.where} lists no sha256 for {package['name']} {package['version']}, "
                "so its install cannot be verified. Run `poetry lock` against an index that "
                "serves hashes (PyPI does)."
            )
            raise LockError(msg)
        return hashes


def _name_of(dependency: object) -> str:
    """The package name of an entry of poetry.lock's `[package.extras]`, such as
    `PySocks (>=1.5.6,!=1.5.7)` or `tzdata ; platform_system == "Windows"`."""
    match = _NAME.match(str(dependency))
    return canonicalize_name(match.group(1)) if match else ""


def _sort_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")
