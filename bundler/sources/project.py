"""Load a function's source: a directory or a single PEP 723 script.

A directory holds handler code plus `requirements.txt` and/or a `pyproject.toml` whose
`[project] dependencies` list the requirements. A pyproject with a `[build-system]` table
is a package: it is built into a wheel, its build requirements locked with hashes and its
backend confined (`bundler.sources.confined_build`, as for an sdist from the index), and that
wheel is installed with the dependencies. A single `.py` file carries its requirements in a
PEP 723 `# /// script` block (https://peps.python.org/pep-0723/).

The handler comes from `--handler`, else `[tool.lambundle] handler` in pyproject.toml,
else it is inferred when exactly one top-level `def handler(event, context)` or
`def lambda_handler(event, context)` (or an assignment to either name) exists; a script
with a `main()` and no such function uses the `script.py` convention (the runtime calls
`main()` with stdin/stdout).
"""

from __future__ import annotations

import ast
import dataclasses
import email.parser
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

from bundler.core.cache import Cache
from bundler.core.errors import ProjectError
from bundler.core.progress import Report
from bundler.sources import confined_build, pipenv, poetry, references
from bundler.sources.lock import HashedRequirement
from bundler.sources.sdists import LEGACY_BUILD_REQUIRES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# Directories that are tooling, not function code. A directory holding a `bundle.json`
# is a bundle output directory and is skipped too (see `_code_files`).
SKIP_DIRS = frozenset(
    {
        ".venv", "venv", ".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".tox", ".nox", ".idea", ".vscode", "node_modules", ".aws-sam",
        ".serverless", ".chalice", ".lambundle", ".lambundle-cache",
    }
)  # fmt: skip
# Build outputs, skipped only at the top of a directory that has a build configuration:
# elsewhere `build/` may well be the user's own package.
BUILD_OUTPUT_DIRS = frozenset({"build", "dist"})
SKIP_SUFFIXES = (".pyc", ".pyo")
HANDLER_NAMES = ("handler", "lambda_handler")
# Bump when how the function's own wheel is built changes (v2: in a locked, confined
# environment, `bundler.sources.confined_build`).
_LOCAL_WHEEL_VERSION = "wheel-v2"

# The reference regex of PEP 723, "Specification" section.
_PEP723_BLOCK = re.compile(
    r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"
)
_DOTTED = re.compile(r"^[A-Za-z_][\w]*([./][A-Za-z_][\w]*)*([.:][A-Za-z_][\w]*)$")


@dataclasses.dataclass(frozen=True)
class Project:
    """A function to bundle: where it is, what ships, what it needs, how it is called."""

    name: str
    root: Path
    code: tuple[Path, ...]  # relative to root, sorted
    requirements: tuple[str, ...]  # PEP 508 strings
    local_wheels: tuple[Path, ...]  # the function's own wheel when it is a package
    handler: str | None
    is_script: bool
    requires_python: str | None = None  # a PEP 440 specifier from pyproject or PEP 723
    # Requirements pinned with --hash in requirements.txt: they constrain the lock.
    hashed: tuple[HashedRequirement, ...] = ()


def load_project(
    src: Path,
    handler: str | None = None,
    *,
    require_handler: bool = True,
    cache: Cache | None = None,
    report: Report | None = None,
    resolver: str = "auto",
) -> Project:
    """Read `src` (a directory or a `.py` script) into a Project.

    `require_handler=False` lets commands that need no handler (`lock`) accept a source
    whose handler cannot be inferred; the Project then has `handler=None`. `resolver`
    locks the build requirements of a package's own wheel (`build_wheel`).
    """
    src = Path(src)
    if not src.exists():
        msg = f"{src} does not exist; pass a function directory or a .py script."
        raise ProjectError(msg)
    if src.is_file():
        return _load_script(src, handler, require_handler)
    if not src.is_dir():
        msg = f"{src} is neither a directory nor a .py script."
        raise ProjectError(msg)
    return _load_directory(
        src.resolve(), handler, require_handler, cache or Cache(), report, resolver
    )


# -- scripts ------------------------------------------------------------------------------


def _load_script(path: Path, handler: str | None, require_handler: bool) -> Project:
    if path.suffix != ".py":
        msg = f"{path} is not a .py script; pass a function directory or a .py file."
        raise ProjectError(msg)
    text = _read_text(path)
    meta = parse_script_metadata(text, path)
    deps = meta.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        msg = f"{path}: PEP 723 'dependencies' must be a list of strings."
        raise ProjectError(msg)
    requires_python = meta.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        msg = f"{path}: PEP 723 'requires-python' must be a string such as '>=3.11'."
        raise ProjectError(msg)
    root = path.resolve().parent
    code = (_utf8_path(Path(path.name), root),)
    requirements = tuple(_check_requirement(d, f"{path} (PEP 723 block)") for d in deps)
    found: str | None
    if handler is not None:
        found = validate_handler(handler, root, code)
    else:
        found = _infer_handler(root, code, script=True)
        several = find_handler_candidates(root, code, skip_tests=False)
        if found is None and require_handler and len(several) > 1:
            msg = (
                f"Several possible handlers in {path}: {', '.join(several)}; "
                "choose one with --handler."
            )
            raise ProjectError(msg)
        if found is None and require_handler:
            msg = (
                f"{path} has no top-level 'def handler(event, context)', "
                "'def lambda_handler(event, context)' or 'def main()'; "
                f"add one or pass --handler {path.stem}.<function>."
            )
            raise ProjectError(msg)
    return Project(
        name=_normalize_name(path.stem),
        root=root,
        code=code,
        requirements=requirements,
        local_wheels=(),
        handler=found,
        is_script=True,
        requires_python=requires_python,
    )


def parse_script_metadata(text: str, path: Path | str = "<script>") -> dict[str, object]:
    """The TOML of the PEP 723 `script` block of `text`, or {} when there is none."""
    blocks = [m for m in _PEP723_BLOCK.finditer(text) if m.group("type") == "script"]
    if not blocks:
        return {}
    if len(blocks) > 1:
        msg = f"{path} has {len(blocks)} '# /// script' blocks; PEP 723 allows one."
        raise ProjectError(msg)
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: the '# /// script' block is not valid TOML ({exc})."
        raise ProjectError(msg) from None


# -- directories --------------------------------------------------------------------------


def _load_directory(
    root: Path,
    handler: str | None,
    require_handler: bool,
    cache: Cache,
    report: Report | None,
    resolver: str = "auto",
) -> Project:
    pyproject_path = root / "pyproject.toml"
    pyproject = _read_pyproject(pyproject_path)
    project_table = _table(pyproject, "project", pyproject_path)
    tool = _table(pyproject, "tool", root)
    poetry_table = _table(tool, "poetry", pyproject_path)
    requirements, hashed, requires_python = _directory_requirements(
        root, pyproject, poetry_table
    )

    files = _code_files(root)
    # Poetry's `package-mode = false` declares a dependencies-only project: nothing to build.
    is_package = "build-system" in pyproject and poetry_table.get("package-mode") is not False
    name = project_table.get("name") or poetry_table.get("name") or root.name
    if not isinstance(name, str):
        msg = f"{pyproject_path}: [project] name must be a string."
        raise ProjectError(msg)
    configured = _table(tool, "lambundle", pyproject_path).get("handler")
    if configured is not None and not isinstance(configured, str):
        msg = f"{pyproject_path}: [tool.lambundle] handler must be a string."
        raise ProjectError(msg)
    wanted = handler or configured
    if wanted:
        found: str | None = validate_handler(wanted, root, files)
    else:
        found = _infer_handler(root, files, script=False)
        if found is None and require_handler:
            found = _infer_handler_or_raise(root, files)

    local_wheels: tuple[Path, ...] = ()
    code: tuple[Path, ...] = files
    if is_package:
        # The package ships as its wheel (installed with the dependencies), so the task
        # root does not carry a second copy of its sources.
        requires = build_requirements(pyproject, pyproject_path)
        local_wheels = (
            build_wheel(root, files, cache, report, requires=requires, resolver=resolver),
        )
        code = ()
        # The built metadata is the truth: it also covers `dynamic` dependencies.
        requirements = list(dict.fromkeys([*wheel_requirements(local_wheels[0]), *requirements]))
    return Project(
        name=_normalize_name(name),
        root=root,
        code=code,
        requirements=tuple(requirements),
        local_wheels=local_wheels,
        handler=found,
        is_script=False,
        requires_python=requires_python,
        hashed=hashed,
    )


def _directory_requirements(
    root: Path, pyproject: dict[str, object], poetry_table: dict[str, object]
) -> tuple[list[str], tuple[HashedRequirement, ...], str | None]:
    """The requirements of a function directory, from every file that may declare them
    ([project] dependencies, Poetry's tables, a Pipfile, requirements.txt), those pinned
    with --hash, and the Python versions it requires."""
    pyproject_path = root / "pyproject.toml"
    project_table = _table(pyproject, "project", pyproject_path)
    requirements: list[str] = []
    deps = project_table.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        msg = f"{pyproject_path}: [project] dependencies must be a list of strings."
        raise ProjectError(msg)
    requirements += [_check_requirement(d, f"{pyproject_path}") for d in deps]
    poetry_python: str | None = None
    if poetry_table:
        locked = (root / poetry.POETRY_LOCK).is_file()
        requirements += poetry.requirements(pyproject, pyproject_path, locked=locked)
        poetry_python = poetry.requires_python(pyproject, pyproject_path)
    pipenv_python: str | None = None
    if (root / "Pipfile").is_file():
        requirements += pipenv.requirements(root)
        pipenv_python = pipenv.requires_python(root)
    hashed: tuple[HashedRequirement, ...] = ()
    if (root / "requirements.txt").exists():
        read = read_requirements_file(root / "requirements.txt")
        requirements += [requirement for requirement, _ in read]
        hashed = tuple(pinned for _, pinned in read if pinned is not None)
    requires_python = project_table.get("requires-python", poetry_python or pipenv_python)
    if requires_python is not None and not isinstance(requires_python, str):
        msg = f"{pyproject_path}: requires-python must be a string."
        raise ProjectError(msg)
    return list(dict.fromkeys(requirements)), hashed, requires_python


def _read_pyproject(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path} is not valid TOML ({exc}); fix it or remove it."
        raise ProjectError(msg) from None


def _table(data: dict[str, object], key: str, where: Path) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        msg = f"{where}: [{key}] must be a table."
        raise ProjectError(msg)
    return value


def parse_requirements_file(path: Path) -> list[str]:
    """PEP 508 requirements from a pip requirements file (see `read_requirements_file`)."""
    return [requirement for requirement, _ in read_requirements_file(path)]


def read_requirements_file(
    path: Path, _seen: frozenset[Path] = frozenset()
) -> list[tuple[str, HashedRequirement | None]]:
    """Each requirement of a pip requirements file, with its `--hash` pins if it has any.

    Supports comments, line continuations, `-r`/`--requirement` includes and per-line
    `--hash` options, which constrain the lock (`bundler.sources.lock.constrain`) as they
    constrain pip: such a requirement must be pinned with `==` (pip's hash-checking mode).
    Index and other pip options are refused, because the lock must not depend on a pip
    configuration it cannot see; so are direct references (`bundler.sources.references`).
    """
    path = path.resolve()
    if path in _seen:
        msg = f"{path} includes itself through -r; remove the cycle."
        raise ProjectError(msg)
    text = _read_text(path)
    out: list[tuple[str, HashedRequirement | None]] = []
    for lineno, line in _logical_lines(text):
        where = f"{path}:{lineno}"
        tokens = line.split()
        if tokens[0] in ("-r", "--requirement") or tokens[0].startswith("--requirement="):
            target = tokens[1] if len(tokens) > 1 else tokens[0].partition("=")[2]
            if not target:
                msg = f"{where}: '-r' needs a file name."
                raise ProjectError(msg)
            include = path.parent / target
            if not include.exists():
                msg = f"{where}: included requirements file {include} does not exist."
                raise ProjectError(msg)
            out += read_requirements_file(include, _seen | {path})
            continue
        if tokens[0] in ("-e", "--editable") or tokens[0].startswith("--editable="):
            target = " ".join(tokens[1:]) or tokens[0].partition("=")[2]
            kind = references.direct_reference(target) or "a local path"
            raise ProjectError(references.refused(line, where, f"{kind} (editable)"))
        if tokens[0].startswith("-"):
            msg = (
                f"{where}: pip option {tokens[0]!r} is not supported in lambundle requirements; "
                "list only requirements (name, version specifier, markers)."
            )
            raise ProjectError(msg)
        requirement = re.split(r"\s+--hash(?:=|\s)", line, maxsplit=1)[0].strip()
        checked = _check_requirement(requirement, where)
        hashes = re.findall(r"--hash(?:=|\s+)(\S+)", line)
        out.append((checked, _hashed(checked, hashes, where) if hashes else None))
    return out


_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


def _hashed(requirement: str, hashes: list[str], where: str) -> HashedRequirement:
    """A requirement's `--hash` pins, checked as pip's hash-checking mode checks them."""
    req = Requirement(requirement)
    exact = [s for s in req.specifier if s.operator in ("==", "===")]
    if len(exact) != 1 or "*" in exact[0].version:
        msg = (
            f"{where}: {req.name} has --hash but is not pinned to one version; pip's "
            f"hash-checking mode needs {req.name}==<version>: pin it, or remove its hashes."
        )
        raise ProjectError(msg)
    for value in hashes:
        if not _SHA256.match(value.lower()):
            msg = (
                f"{where}: --hash={value} of {req.name} is not a sha256 hash; lambundle "
                "checks files by sha256 (what `pip hash` and pip-compile write): give "
                "--hash=sha256:<64 hex digits>."
            )
            raise ProjectError(msg)
    return HashedRequirement(
        requirement=requirement,
        version=exact[0].version,
        hashes=tuple(sorted({h.lower() for h in hashes})),
        where=where,
    )


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        # A '#' starts a comment at line start or after whitespace (pip's rule).
        stripped = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined = (pending + stripped).strip()
        pending = ""
        if joined:
            lines.append((start, joined))
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _check_requirement(text: str, where: str) -> str:
    return references.check_requirement(text, where)


def _code_files(root: Path) -> tuple[Path, ...]:
    """Every file a user would expect in the function zip, relative to `root`, sorted."""
    out: list[Path] = []
    buildable = (root / "pyproject.toml").exists() or (root / "setup.py").exists()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not (buildable and here == root and d in BUILD_OUTPUT_DIRS)
            and not d.endswith(".egg-info")
            and not (here / d).is_symlink()
            and not (here / d / "bundle.json").is_file()
        )
        for name in sorted(filenames):
            path = here / name
            if name.endswith(SKIP_SUFFIXES) or not path.is_file():
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                continue  # a link out of the source tree is not the user's code
            out.append(_utf8_path(path.relative_to(root), root))
    return tuple(sorted(out))


def _utf8_path(rel: Path, root: Path) -> Path:
    """`rel` when its name is UTF-8; zip entry names and the manifest are UTF-8, so a file
    whose name is other bytes (os.walk hands them over as surrogates) cannot ship."""
    try:
        rel.as_posix().encode("utf-8")
    except UnicodeEncodeError:
        raw = rel.as_posix().encode("utf-8", "surrogateescape")
        shown = raw.decode("utf-8", "backslashreplace")
        msg = (
            f"{root}: the file name '{shown}' is not UTF-8, and Lambda's zip entries are; "
            "rename it (or move it out of the function directory)."
        )
        raise ProjectError(msg) from None
    return rel


def build_requirements(pyproject: dict[str, object], path: Path) -> list[str]:
    """The `[build-system] requires` of a package's pyproject.toml (PEP 518), read without
    running anything; setuptools when it has no [build-system] table at all."""
    if "build-system" not in pyproject:
        return list(LEGACY_BUILD_REQUIRES)
    table = _table(pyproject, "build-system", path)
    if "requires" not in table:
        # PEP 518: the table's one required key; `build` refuses the table without it.
        msg = (
            f"{path}: [build-system] has no 'requires' (PEP 518 makes it required): list "
            'the build backend\'s packages, such as requires = ["setuptools>=68"].'
        )
        raise ProjectError(msg)
    requires = table["requires"]
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        msg = f"{path}: [build-system] requires must be a list of strings (PEP 518)."
        raise ProjectError(msg)
    return [_check_requirement(r, f"{path} [build-system] requires") for r in requires]


def build_wheel(
    root: Path,
    files: tuple[Path, ...],
    cache: Cache,
    report: Report | None = None,
    *,
    requires: list[str],
    resolver: str = "auto",
) -> Path:
    """Build the function's own wheel, cached by the content of its sources.

    The build runs like an sdist's (`bundler.sources.confined_build`): its `[build-system]
    requires` (`requires`, `build_requirements`) locked with hashes for this
    machine and installed with `pip --require-hashes` into a venv that holds nothing else,
    the backend confined to the build's temporary directory, with no network and no
    credentials. It builds from a copy of the source files in that directory, so that the
    build leaves no `build/` or `*.egg-info` behind in the user's directory.
    """
    parts: list[str | bytes] = [_LOCAL_WHEEL_VERSION]
    for rel in files:
        parts += [rel.as_posix(), (root / rel).read_bytes()]
    key = Cache.key(*parts)
    entry = cache.dir("local-wheels", key)
    if entry is None:
        say = report or (lambda _message: None)
        say(f"Building the wheel of {root.name} in an isolated environment")
        subject = confined_build.Subject(
            name=root.name,
            what=f"the wheel of {root}",
            error=ProjectError,
            if_failed=(
                "Fix pyproject.toml or the package's build, or remove its [build-system] "
                "table to ship the directory as plain code."
            ),
            if_more=(
                "list them in [build-system] requires of pyproject.toml, so that they are "
                "locked with the rest."
            ),
        )

        def build(out: Path) -> None:
            with tempfile.TemporaryDirectory(prefix="lambundle-build-") as tmp:
                work = Path(tmp)
                copy = work / "src"
                for rel in files:
                    (copy / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(root / rel, copy / rel)
                built = confined_build.build_wheel(
                    copy, requires, work, subject, cache=cache, report=say, resolver=resolver
                )
                shutil.copy2(built, out / built.name)

        entry = cache.put_dir("local-wheels", key, build)
    wheels = sorted(entry.glob("*.whl"))
    if len(wheels) != 1:
        msg = f"Building {root} produced {len(wheels)} wheels in {entry}; expected one."
        raise ProjectError(msg)
    return wheels[0]


def wheel_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist of a wheel, without those that only apply to an extra."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            name = next(
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            )
            metadata = email.parser.BytesParser().parsebytes(zf.read(name))
    except (OSError, zipfile.BadZipFile, StopIteration) as exc:
        msg = f"Cannot read the metadata of the built wheel {wheel} ({exc!r}); rebuild it."
        raise ProjectError(msg) from None
    out = []
    for text in metadata.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker is not None and "extra" in str(req.marker):
            continue
        # Dynamic dependencies (setup.py's install_requires) may be direct references too.
        out.append(references.check_requirement(text, f"the metadata of {wheel.name}"))
    return out


# -- handlers -----------------------------------------------------------------------------


def validate_handler(handler: str, root: Path, code: tuple[Path, ...]) -> str:
    """Check that `handler` names something that exists in the source; return it.

    Accepts `module.function`, `pkg/sub/mod.fn`, `pkg.sub.mod.fn`, `module:function`, a
    script file name `script.py`, or an inline Python expression (checked for syntax).
    """
    handler = handler.strip()
    if handler.endswith(".py") and "(" not in handler:
        if not (root / handler).is_file():
            msg = f"Handler script {handler!r} does not exist in {root}."
            raise ProjectError(msg)
        return handler
    if _DOTTED.match(handler):
        module, attr = _split_handler(handler)
        module_file = _find_module(module, root)
        if module_file is None:
            candidates = _candidates(root, code)
            hint = (
                "; candidates: " + ", ".join(candidates)
                if candidates
                else "; no handler functions found"
            )
            msg = (
                f"Handler {handler!r}: module {module!r} is not in {root}{hint}. "
                "Pass --handler module.function with a module from the source."
            )
            raise ProjectError(msg)
        names, star = _top_level_names(module_file)
        if attr not in names and not star:
            functions = sorted(n for n, is_fn in names.items() if is_fn)
            listed = ", ".join(functions) or "none"
            msg = (
                f"Handler {handler!r}: {module_file.relative_to(root)} defines no top-level "
                f"{attr!r} (its functions: {listed})."
            )
            raise ProjectError(msg)
        return handler
    try:
        ast.parse(handler, mode="eval")
    except SyntaxError as exc:
        msg = (
            f"Handler {handler!r} is neither module.function, a script.py, nor a valid "
            f"Python expression ({exc.msg})."
        )
        raise ProjectError(msg) from None
    return handler


def _split_handler(handler: str) -> tuple[str, str]:
    if ":" in handler:
        module, attr = handler.split(":", 1)
    else:
        module, _, attr = handler.rpartition(".")
    return module.replace("/", "."), attr


def _find_module(module: str, root: Path) -> Path | None:
    rel = Path(*module.split("."))
    for base in (root, root / "src"):
        for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _top_level_names(path: Path) -> tuple[dict[str, bool], bool]:
    """Names bound at module level ({name: is_function}) and whether `import *` occurs."""
    tree = _parse(path)
    names: dict[str, bool] = {}
    star = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = True
        elif isinstance(node, ast.ClassDef):
            names[node.name] = False
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.setdefault(sub.id, False)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    star = True
                else:
                    names.setdefault(alias.asname or alias.name.split(".")[0], True)
    return names, star


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(_read_text(path), filename=str(path))
    except SyntaxError as exc:
        msg = f"{path}:{exc.lineno}: syntax error ({exc.msg}); fix it before bundling."
        raise ProjectError(msg) from None


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_test_file(rel: Path) -> bool:
    return (
        rel.name.startswith("test_")
        or rel.name == "conftest.py"
        or any(p in ("tests", "test") for p in rel.parts[:-1])
    )


def find_handler_candidates(
    root: Path, code: tuple[Path, ...], *, skip_tests: bool = True
) -> list[str]:
    """Every top-level `handler`/`lambda_handler` taking (event, context), as mod.fn.

    A top-level assignment to one of those names counts too: an adapter object is how
    ASGI and WSGI applications are served on Lambda (Mangum's `handler = Mangum(app)`),
    and so is a wrapped function (`handler = middleware(handler)`), named once.
    """
    found: list[str] = []
    for rel in code:
        if rel.suffix != ".py" or (skip_tests and _is_test_file(rel)):
            continue
        module = _module_name(rel)
        if not module or not all(p.isidentifier() for p in module.split(".")):
            continue
        for node in _parse(root / rel).body:
            name = _handler_defined(node)
            if name is not None and f"{module}.{name}" not in found:
                found.append(f"{module}.{name}")
    return found


def _handler_defined(node: ast.stmt) -> str | None:
    """The handler name `node` binds: a def taking (event, context), or an assignment."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        arity = len(node.args.posonlyargs) + len(node.args.args)
        return node.name if node.name in HANDLER_NAMES and arity == 2 else None
    if isinstance(node, ast.Assign):
        targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target.id] if isinstance(node.target, ast.Name) else []
    else:
        return None
    return next((t for t in targets if t in HANDLER_NAMES), None)


def _candidates(root: Path, code: tuple[Path, ...]) -> list[str]:
    return find_handler_candidates(root, code)


def _infer_handler(root: Path, code: tuple[Path, ...], *, script: bool) -> str | None:
    candidates = find_handler_candidates(root, code, skip_tests=not script)
    if len(candidates) == 1:
        return candidates[0]
    if script and not candidates:
        names, _ = _top_level_names(root / code[0])
        if names.get("main"):
            return code[0].name
    return None


def _infer_handler_or_raise(root: Path, code: tuple[Path, ...]) -> str:
    candidates = find_handler_candidates(root, code)
    if not candidates:
        msg = (
            f"No handler found in {root}: no top-level 'def handler(event, context)' or "
            "'def lambda_handler(event, context)'. Pass --handler module.function, or set "
            "[tool.lambundle] handler in pyproject.toml."
        )
    else:
        msg = (
            f"Several possible handlers in {root}: {', '.join(candidates)}. "
            "Choose one with --handler, or set [tool.lambundle] handler in pyproject.toml."
        )
    raise ProjectError(msg)


# -- small readers ------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{path} does not exist."
        raise ProjectError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"Cannot read {path} ({exc}); check its permissions and encoding (UTF-8)."
        raise ProjectError(msg) from None


def _normalize_name(name: str) -> str:
    # A directory's name may be bytes that are not UTF-8 (surrogates here): it only names
    # the project in messages and the lock's header, so such bytes become U+FFFD.
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return re.sub(r"[-_.]+", "-", name).lower()
