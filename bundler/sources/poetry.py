"""Poetry projects: `[tool.poetry]` dependencies as PEP 508, and `poetry.lock` as a Lock.

Without a poetry.lock, a Poetry project's main dependencies (`[tool.poetry.dependencies]`
minus `python`, or PEP 621 `[project] dependencies` for Poetry 2 projects) are turned into
PEP 508 requirements and resolved like any other project. Poetry's own constraint syntax
(https://python-poetry.org/docs/dependency-specification/) has no PEP 440 spelling for
carets and tildes, so they are rewritten with the bounds poetry-core gives them.

With a poetry.lock next to pyproject.toml, that file decides every version and no resolver
runs (as with uv.lock). lambundle reads it itself (lock-version 2.x, Poetry 1.5 and later):
starting from the main dependencies it walks each locked package's `dependencies` table,
decides every marker for the Lambda target, follows optional dependencies only when an
extra on the edge asks for them, and pins each needed package with every sha256 that
poetry.lock lists for it; the installer then picks the target's wheel and checks its hash.
Dev and other groups are never roots, so their packages are not shipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.core.errors import LockError, ProjectError
from bundler.core.progress import Report
from bundler.core.target import Target
from bundler.sources.lock import Lock, target_environment
from bundler.sources.project import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

POETRY_LOCK = "poetry.lock"

# Sources lambundle cannot install with hashes from an index; poetry.lock names the
# others "legacy" (a simple index such as PyPI's) or leaves `source` out (PyPI itself).
_LOCAL_SOURCES = ("directory", "file", "url", "git")
_LOCAL_KEYS = ("git", "path", "url", "file")
# Poetry accepts both "," and " " between the parts of one constraint.
_OPERATOR_SPACE = re.compile(r"(\^|~=|~|===|==|!=|>=|<=|>|<|=)\s+")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclasses.dataclass(frozen=True)
class Dependency:
    """One main dependency of a Poetry project, or one edge of poetry.lock."""

    name: str
    extras: tuple[str, ...] = ()
    # Any one of these may hold (Poetry's `||`); empty means any version.
    alternatives: tuple[SpecifierSet, ...] = ()
    marker: str | None = None  # PEP 508, Poetry's `python` and `platform` folded in
    optional: bool = False
    written: str = ""  # the constraint as the user wrote it, for messages

    def allows(self, version: str) -> bool:
        return not self.alternatives or any(
            s.contains(version, prereleases=True) for s in self.alternatives
        )

    def constraint(self) -> str:
        return self.written or " || ".join(str(s) for s in self.alternatives) or "*"

    def requirement(self, where: str, *, locked: bool = False) -> str:
        """This dependency as one PEP 508 requirement.

        PEP 508 has no "or" between version ranges, so a `||` constraint is refused,
        unless a poetry.lock decides the version anyway (`locked`).
        """
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        if len(self.alternatives) > 1 and not locked:
            msg = (
                f"{where}: {self.name} = {self.constraint()!r} is a union of version ranges, "
                "which has no PEP 508 spelling; write one range, or commit a poetry.lock "
                "(`poetry lock`) so that it decides the version."
            )
            raise ProjectError(msg)
        spec = str(self.alternatives[0]) if len(self.alternatives) == 1 else ""
        marker = f"; {self.marker}" if self.marker else ""
        try:
            return str(Requirement(f"{self.name}{extras}{spec}{marker}"))
        except InvalidRequirement as exc:
            msg = f"{where}: {self.name} is not a valid dependency ({exc}); fix its table."
            raise ProjectError(msg) from None


# -- Poetry's constraint syntax -------------------------------------------------------------


def specifiers(constraint: str, where: str = "pyproject.toml") -> tuple[SpecifierSet, ...]:
    """Poetry's version constraint as PEP 440 specifier sets, one per `||` alternative.

    `^1.2.3` is `>=1.2.3,<2.0.0`, `^0.2.3` `>=0.2.3,<0.3.0`, `^0.0.3` `>=0.0.3,<0.0.4`;
    `~1.2.3` is `>=1.2.3,<1.3.0`, `~1` `>=1,<2`; `*` is any version (no set), `1.*` and
    a bare `1.2.3` are `==`; PEP 440 comparisons pass through.
    """
    out: list[SpecifierSet] = []
    for alternative in re.split(r"\|\|?", constraint):
        parts = [
            p for p in re.split(r"[\s,]+", _OPERATOR_SPACE.sub(r"\1", alternative.strip())) if p
        ]
        pieces = [_specifier(p, constraint, where) for p in parts]
        pieces = [p for p in pieces if p]
        if not pieces:
            return ()  # one alternative allows any version: so does the whole union
        out.append(SpecifierSet(",".join(pieces)))
    return tuple(out)


def _specifier(part: str, constraint: str, where: str) -> str:
    if part in ("*", "x"):
        return ""
    if part.startswith("^"):
        low = _version(part[1:], constraint, where)
        release = low.release
        high: tuple[int, ...]
        if release[0] > 0 or len(release) == 1:
            high = (release[0] + 1,)
        elif release[1] > 0 or len(release) == 2:
            high = (0, release[1] + 1)
        else:
            high = (0, 0, release[2] + 1)
        return f">={part[1:]},<{_padded(high, len(release))}"
    if part.startswith("~") and not part.startswith("~="):
        low = _version(part[1:], constraint, where)
        release = low.release
        high = (release[0] + 1,) if len(release) == 1 else (release[0], release[1] + 1)
        return f">={part[1:]},<{_padded(high, len(release))}"
    if part.startswith("=") and not part.startswith(("==", "===")):
        part = "=" + part
    elif part[0].isdigit():
        # A bare version is exact; Poetry also spells a wildcard `1.2.x`.
        part = "==" + re.sub(r"\.[xX]$", ".*", part)
    try:
        SpecifierSet(part)
    except InvalidSpecifier:
        msg = (
            f"{where}: {constraint!r} is not a version constraint Poetry or lambundle "
            "understands (see https://python-poetry.org/docs/dependency-specification/)."
        )
        raise ProjectError(msg) from None
    return part


def _version(text: str, constraint: str, where: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        msg = f"{where}: {constraint!r}: {text!r} is not a version."
        raise ProjectError(msg) from None


def _padded(release: tuple[int, ...], length: int) -> str:
    """`(2,)` padded to the precision the user wrote: ^1.2.3 ends at 2.0.0, ^1.2 at 2.0."""
    return ".".join(str(n) for n in release + (0,) * (length - len(release)))


def python_marker(constraint: str, where: str = "pyproject.toml") -> str | None:
    """Poetry's `python = "..."` of a dependency as a PEP 508 marker (None: any Python)."""
    alternatives = specifiers(constraint, where)
    if not alternatives:
        return None
    ors = []
    for spec_set in alternatives:
        ands = []
        for spec in sorted(spec_set, key=str):
            # Two-part versions compare with python_version, as Poetry writes them;
            # a patch level or a wildcard needs the full version.
            exact = "*" in spec.version or len(spec.version.split(".")) > 2
            variable = "python_full_version" if exact else "python_version"
            ands.append(f'{variable} {spec.operator} "{spec.version}"')
        ors.append(" and ".join(ands))
    if len(ors) == 1:
        return ors[0]
    return " or ".join(f"({m})" for m in ors)


def _and(*markers: str | None) -> str | None:
    present = [m for m in markers if m]
    if len(present) <= 1:
        return present[0] if present else None
    return " and ".join(f"({m})" for m in present)


# -- pyproject.toml -------------------------------------------------------------------------


def is_poetry_project(pyproject: Mapping[str, object]) -> bool:
    tool = pyproject.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get("poetry"), dict)


def _poetry_table(pyproject: Mapping[str, object]) -> dict[str, object]:
    tool = pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    return poetry if isinstance(poetry, dict) else {}


def _poetry_dependencies(pyproject: Mapping[str, object], where: Path) -> dict[str, object]:
    table = _poetry_table(pyproject).get("dependencies", {})
    if not isinstance(table, dict):
        msg = f"{where}: [tool.poetry.dependencies] must be a table."
        raise ProjectError(msg)
    return table


def requires_python(pyproject: Mapping[str, object], where: Path) -> str | None:
    """`[tool.poetry.dependencies] python` as a PEP 440 specifier, or None."""
    python = _poetry_dependencies(pyproject, where).get("python")
    if python is None:
        return None
    if not isinstance(python, str):
        msg = f"{where}: [tool.poetry.dependencies] python must be a string such as '^3.12'."
        raise ProjectError(msg)
    alternatives = specifiers(python, f"{where}: python")
    if len(alternatives) != 1:
        # requires-python has no "or" (PEP 440): a union such as `3.8 || ^3.10` is left to
        # the dependencies' own markers rather than approximated.
        return None
    return str(alternatives[0])


def main_dependencies(pyproject: Mapping[str, object], where: Path) -> tuple[Dependency, ...]:
    """The project's main dependencies: what ships to Lambda, never a dev or test group.

    Poetry 2 projects with a static `[project] dependencies` take them from there
    (`[tool.poetry.dependencies]` then only adds details such as sources); otherwise from
    `[tool.poetry.dependencies]` without `python`.
    """
    table = _poetry_dependencies(pyproject, where)
    static = has_static_project_dependencies(pyproject)
    out: list[Dependency] = []
    for name, value in table.items():
        if name.lower() == "python":
            continue
        entries = value if isinstance(value, list) else [value]
        # Converted even when [project] has the dependencies: it refuses path/git/url.
        converted = [_dependency(name, v, where) for v in entries]
        if not static:
            out += converted
    if static:
        project = pyproject.get("project")
        deps = project.get("dependencies") if isinstance(project, dict) else None
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            msg = f"{where}: [project] dependencies must be a list of strings."
            raise ProjectError(msg)
        out += [_pep508_dependency(d, where) for d in deps]
    return tuple(out)


def requirements(
    pyproject: Mapping[str, object], where: Path, *, locked: bool = False
) -> list[str]:
    """PEP 508 requirements of `[tool.poetry.dependencies]` (not of `[project]`, which the
    project loader reads itself); optional ones only come with an extra, so not here."""
    dependencies = main_dependencies(pyproject, where)
    if has_static_project_dependencies(pyproject):
        return []
    return [d.requirement(str(where), locked=locked) for d in dependencies if not d.optional]


def has_static_project_dependencies(pyproject: Mapping[str, object]) -> bool:
    """True for a Poetry 2 project whose `[project] dependencies` are the dependencies."""
    project = pyproject.get("project")
    if not isinstance(project, dict) or "dependencies" not in project:
        return False
    dynamic = project.get("dynamic") or []
    return "dependencies" not in dynamic


def _dependency(name: str, value: object, where: Path) -> Dependency:
    if isinstance(value, str):
        return Dependency(name, alternatives=specifiers(value, f"{where}: {name}"), written=value)
    if not isinstance(value, dict):
        msg = f"{where}: [tool.poetry.dependencies] {name} must be a string or a table."
        raise ProjectError(msg)
    local = [k for k in _LOCAL_KEYS if k in value]
    if local:
        msg = (
            f"{where}: {name} is a {local[0]} dependency ({local[0]} = {value[local[0]]!r}): "
            "lambundle installs hash-pinned releases from the package index. Publish it to "
            "an index and depend on a version, or vendor its code in the function."
        )
        raise ProjectError(msg)
    version = value.get("version", "*")
    extras = value.get("extras", [])
    if not isinstance(version, str) or not isinstance(extras, list):
        msg = f"{where}: {name}: 'version' must be a string and 'extras' a list of names."
        raise ProjectError(msg)
    markers = value.get("markers")
    python = value.get("python")
    platform = value.get("platform")
    if markers is not None:
        try:
            Marker(str(markers))
        except InvalidMarker as exc:
            msg = f"{where}: {name}: markers {markers!r} are not PEP 508 markers ({exc})."
            raise ProjectError(msg) from None
    return Dependency(
        name=name,
        extras=tuple(str(e) for e in extras),
        alternatives=specifiers(version, f"{where}: {name}"),
        written=version,
        marker=_and(
            str(markers) if markers else None,
            python_marker(str(python), f"{where}: {name} python") if python else None,
            f'sys_platform == "{platform}"' if platform else None,
        ),
        optional=bool(value.get("optional", False)),
    )


def _pep508_dependency(text: str, where: Path | str) -> Dependency:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        msg = f"{where}: {text!r} is not a valid requirement ({exc})."
        raise ProjectError(msg) from None
    if req.url:
        msg = (
            f"{where}: {req.name} comes from {req.url}: lambundle installs hash-pinned "
            "releases from the package index. Publish it to an index, or vendor its code."
        )
        raise ProjectError(msg)
    return Dependency(
        name=req.name,
        extras=tuple(sorted(req.extras)),
        alternatives=(req.specifier,) if str(req.specifier) else (),
        marker=str(req.marker) if req.marker else None,
    )


# -- poetry.lock --------------------------------------------------------------------------


def project_poetry_lock(project: Project) -> Path | None:
    """The project's own poetry.lock: when there is one, it decides every version."""
    if project.is_script or not (project.root / "pyproject.toml").is_file():
        return None
    path = project.root / POETRY_LOCK
    return path if path.is_file() else None


def uses_poetry(project: Project) -> bool:
    """True when `project` is a directory whose pyproject.toml has a [tool.poetry] table."""
    if project.is_script or not (project.root / "pyproject.toml").is_file():
        return False
    return is_poetry_project(read_pyproject(project.root))


def read_pyproject(root: Path) -> dict[str, object]:
    path = root / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"Cannot read {path} ({exc}); fix it."
        raise ProjectError(msg) from None


def lock_from_poetry_lock(project: Project, target: Target, poetry_lock: Path, say: Report) -> Lock:
    """The lock of `project` for `target`, exactly as its poetry.lock pins it."""
    pyproject_path = project.root / "pyproject.toml"
    pyproject = read_pyproject(project.root)
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
            f"longer matches): run `poetry lock` in {project.root}."
        )
        raise LockError(msg)
    body = walk_lock(data, roots, target, poetry_lock)
    digest = hashlib.sha256(raw).hexdigest()
    major, minor = target.glibc
    text = (
        f"# Hash-pinned lock of {project.name}, the versions of its poetry.lock "
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
    tool_poetry = _poetry_table(pyproject)
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
            marker=_and(str(markers) if markers else None, python_markers),
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
