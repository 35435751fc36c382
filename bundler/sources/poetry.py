"""Poetry projects: `[tool.poetry]` dependencies as PEP 508 (poetry.lock: `poetry_lock`).

Without a poetry.lock, a Poetry project's main dependencies (`[tool.poetry.dependencies]`
minus `python`, or PEP 621 `[project] dependencies` for Poetry 2 projects) are turned into
PEP 508 requirements and resolved like any other project. Poetry's own constraint syntax
(https://python-poetry.org/docs/dependency-specification/) has no PEP 440 spelling for
carets and tildes, so they are rewritten with the bounds poetry-core gives them.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from bundler.core.errors import ProjectError
from bundler.sources import references

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

POETRY_LOCK = "poetry.lock"

_LOCAL_KEYS = ("git", "path", "url", "file")
# Poetry accepts both "," and " " between the parts of one constraint.
_OPERATOR_SPACE = re.compile(r"(\^|~=|~|===|==|!=|>=|<=|>|<|=)\s+")


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


def and_markers(*markers: str | None) -> str | None:
    present = [m for m in markers if m]
    if len(present) <= 1:
        return present[0] if present else None
    return " and ".join(f"({m})" for m in present)


# -- pyproject.toml -------------------------------------------------------------------------


def is_poetry_project(pyproject: Mapping[str, object]) -> bool:
    tool = pyproject.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get("poetry"), dict)


def poetry_table(pyproject: Mapping[str, object]) -> dict[str, object]:
    tool = pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    return poetry if isinstance(poetry, dict) else {}


def _poetry_dependencies(pyproject: Mapping[str, object], where: Path) -> dict[str, object]:
    table = poetry_table(pyproject).get("dependencies", {})
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
        marker=and_markers(
            str(markers) if markers else None,
            python_marker(str(python), f"{where}: {name} python") if python else None,
            f'sys_platform == "{platform}"' if platform else None,
        ),
        optional=bool(value.get("optional", False)),
    )


def _pep508_dependency(text: str, where: Path | str) -> Dependency:
    req = Requirement(references.check_requirement(text, str(where)))
    return Dependency(
        name=req.name,
        extras=tuple(sorted(req.extras)),
        alternatives=(req.specifier,) if str(req.specifier) else (),
        marker=str(req.marker) if req.marker else None,
    )


def read_pyproject(root: Path) -> dict[str, object]:
    path = root / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"Cannot read {path} ({exc}); fix it."
        raise ProjectError(msg) from None
