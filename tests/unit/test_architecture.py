"""The code's rooms and the one way imports flow between them (README, "How the code is
organised"): every import of bundler/, strategies/ and runtime/ is read, top-level and
function-level alike, and checked against the subsystems' order; no module may reach
itself through its imports."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bundler", "strategies", "runtime")

# What each subsystem may import from the others ("root" is bundler/__init__.py: the
# version). CLI -> app -> aws/measure -> build -> sources; the sandbox runs a bundle directory and
# knows neither sources nor build; strategies see only the plan types and the target.
ALLOWED: dict[str, frozenset[str]] = {
    "root": frozenset(),
    "core": frozenset({"root"}),
    "bundle": frozenset({"root", "core", "runtime"}),
    "sources": frozenset({"root", "core", "bundle"}),
    "strategies": frozenset({"root", "core", "bundle"}),
    "sandbox": frozenset({"root", "core", "bundle"}),
    "build": frozenset({"root", "core", "bundle", "sources", "strategies", "sandbox"}),
    "measure": frozenset({"root", "core", "bundle", "sources", "strategies", "build", "sandbox"}),
    "aws": frozenset({"root", "core", "bundle", "build", "measure", "sandbox"}),
    # A whole application (a SAM template): between the CLI and everything it builds on.
    "app": frozenset(
        {"root", "core", "bundle", "sources", "strategies", "build", "sandbox", "measure", "aws"}
    ),
    "cli": frozenset(
        {"root", "core", "bundle", "sources", "strategies", "build", "sandbox", "measure", "aws",
         "app"}
    ),
    "runtime": frozenset(),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The project modules `name` imports, wherever in the file the import stands."""
    known = set(known)
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import mod` depends on pkg.mod; `from mod import name` on mod.
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            candidates = [m for m in submodules if m in known] or [base]
        else:
            continue
        for candidate in candidates:
            # `import a.b.c` needs a.b.c; `from a.b import c` needs a.b.c when c is a
            # module, else a.b: the longest known prefix is the module depended on.
            parts = candidate.split(".")
            for end in range(len(parts), 0, -1):
                prefix = ".".join(parts[:end])
                if prefix in known:
                    if prefix != name:
                        out.add(prefix)
                    break
    return out


def subsystem(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "bundler":
        return parts[0]
    if len(parts) == 1:
        return "root"
    return parts[1]


def flow_violations(graph: Mapping[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        mine = subsystem(module)
        for target in sorted(targets):
            theirs = subsystem(target)
            if theirs != mine and theirs not in ALLOWED.get(mine, frozenset()):
                bad.append(f"{module} ({mine}) imports {target} ({theirs})")
    return bad


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_imports_flow_one_way_between_subsystems(graph):
    assert flow_violations(graph) == []


def test_no_module_reaches_itself_through_its_imports(graph):
    assert cycles(graph) == []


def test_every_bundler_module_sits_in_one_subsystem():
    loose = [
        name for name in project_modules()
        if name.startswith("bundler.") and name.count(".") == 1 and name != "bundler.cli"
        and not (ROOT / name.replace(".", "/")).is_dir()
    ]  # fmt: skip
    assert loose == []
    packages = {subsystem(n) for n in project_modules() if n.startswith("bundler.")}
    assert packages <= set(ALLOWED)


def test_the_graph_is_read_from_the_code(graph):
    # The checks above would pass on an empty graph: make sure the walk sees real arrows,
    # function-level imports included (the CLI imports its subsystems inside commands).
    assert "bundler.sources.lock" in graph["bundler.sources.wheels"]
    assert "bundler.measure.compare" in graph["bundler.cli.commands"]
    assert "bundler.sandbox" in {subsystem(t) for t in graph["bundler.build.verify"]} or any(
        t.startswith("bundler.sandbox") for t in graph["bundler.build.verify"]
    )


def test_the_checks_catch_a_cycle_and_an_upward_import():
    graph = {
        "bundler.sources.a": {"bundler.sources.b"},
        "bundler.sources.b": {"bundler.sources.a", "bundler.build.x"},
        "bundler.sandbox.s": {"bundler.sources.a"},
        "bundler.build.x": set(),
    }
    assert cycles(graph) == [["bundler.sources.a", "bundler.sources.b"]]
    assert flow_violations(graph) == [
        "bundler.sandbox.s (sandbox) imports bundler.sources.a (sources)",
        "bundler.sources.b (sources) imports bundler.build.x (build)",
    ]


def test_relative_and_from_package_imports_resolve_to_modules(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from bundler.sources import lock\nfrom . import wheels\nimport bundler.core\n")
    known = {"bundler.sources.lock", "bundler.sources.wheels", "bundler.core", "bundler.sources"}
    assert imports_of("bundler.sources.m", path, known) == {
        "bundler.sources.lock", "bundler.sources.wheels", "bundler.core",
    }  # fmt: skip


def test_the_readme_names_every_room_and_module():
    # README, "How the code is organised": a table row per folder naming each module in it.
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## How the code is organised", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("`")[1]: line
        for line in section.splitlines()
        if line.startswith("| `")
    }
    folders = [p for p in sorted((ROOT / "bundler").iterdir()) if (p / "__init__.py").is_file()]
    folders.append(ROOT / "strategies")
    missing = []
    for folder in folders:
        name = f"{folder.relative_to(ROOT)}/"
        row = rows.get(name)
        if row is None:
            missing.append(name)
            continue
        missing += [
            f"{name}{path.name}"
            for path in sorted(folder.glob("*.py"))
            if path.name != "__init__.py" and f"`{path.name}`" not in row
        ]
    assert missing == []


def test_the_executor_is_the_only_writer_of_zips():
    # STYLE.md, "Plan, then build": one module executes plans and writes zips, so every
    # zip gets the same atomic output, lock, limits and clean-up on a signal.
    writers = set()
    for name, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            imported = isinstance(node, ast.ImportFrom) and any(
                alias.name == "write_zip" for alias in node.names
            )
            called = isinstance(node, ast.Attribute) and node.attr == "write_zip"
            if imported or called:
                writers.add(name)
    assert writers == {"bundler.build.executor"}
