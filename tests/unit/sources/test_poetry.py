"""Poetry's constraint syntax as PEP 508, main dependencies, and the walk of a poetry.lock."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.markers import Marker

from bundler.core.cache import Cache
from bundler.core.errors import LockError, ProjectError
from bundler.core.target import Target
from bundler.sources import poetry
from bundler.sources.lock import target_environment
from bundler.sources.locking import lock_project
from bundler.sources.poetry import Dependency, python_marker, specifiers
from bundler.sources.poetry_lock import content_hashes, walk_lock
from bundler.sources.project import load_project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).parents[2] / "integration" / "sources" / "poetry_projects"


def spec(constraint: str) -> list[str]:
    return [",".join(sorted(str(s) for s in alt)) for alt in specifiers(constraint)]


# -- constraints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^1.2.3", ["<2.0.0,>=1.2.3"]),
        ("^1.2", ["<2.0,>=1.2"]),
        ("^1", ["<2,>=1"]),
        ("^0.2.3", ["<0.3.0,>=0.2.3"]),
        ("^0.0.3", ["<0.0.4,>=0.0.3"]),
        ("^0.0", ["<0.1,>=0.0"]),
        ("^0", ["<1,>=0"]),
        ("^1.2.3rc1", ["<2.0.0,>=1.2.3rc1"]),
        ("~1.2.3", ["<1.3.0,>=1.2.3"]),
        ("~1.2", ["<1.3,>=1.2"]),
        ("~1", ["<2,>=1"]),
        ("~=1.2", ["~=1.2"]),
        ("1.*", ["==1.*"]),
        ("1.2.*", ["==1.2.*"]),
        ("1.2.x", ["==1.2.*"]),
        ("1.2.3", ["==1.2.3"]),
        ("=1.2.3", ["==1.2.3"]),
        ("==1.2.3", ["==1.2.3"]),
        (">=1.2,<2", ["<2,>=1.2"]),
        (">= 1.2, < 2", ["<2,>=1.2"]),
        (">=1.2 <2", ["<2,>=1.2"]),
        ("!=1.5.7,>=1.5", ["!=1.5.7,>=1.5"]),
        ("^1.0 || ^3.0", ["<2.0,>=1.0", "<4.0,>=3.0"]),
        ("^1.0 | ^3.0", ["<2.0,>=1.0", "<4.0,>=3.0"]),
    ],
)
def test_poetry_constraints_become_pep440_ranges(constraint: str, expected: list[str]) -> None:
    assert spec(constraint) == expected


@pytest.mark.parametrize("constraint", ["*", "", "  ", "^1 || *"])
def test_a_wildcard_is_any_version(constraint: str) -> None:
    assert specifiers(constraint) == ()


@pytest.mark.parametrize("constraint", ["^banana", ">=1.0,<<2", "~x.y"])
def test_a_constraint_that_is_not_one_is_an_error_naming_it(constraint: str) -> None:
    with pytest.raises(ProjectError, match=r"pyproject.toml: requests"):
        specifiers(constraint, "pyproject.toml: requests")


def test_caret_bounds_match_poetry_on_versions() -> None:
    (caret,) = specifiers("^0.2.3")
    assert "0.2.9" in caret and "0.3.0" not in caret and "0.2.2" not in caret
    (tilde,) = specifiers("~1.2")
    assert "1.2.99" in tilde and "1.3" not in tilde


@pytest.mark.parametrize(
    ("python", "true_for", "false_for"),
    [
        ("^3.10", ["3.10", "3.13"], []),
        ("<3.11", ["3.10"], ["3.11", "3.12"]),
        ("~3.12", ["3.12"], ["3.11", "3.13"]),
        (">=3.10.1", [], ["3.10"]),  # the target's full version is 3.10.0
        ("3.10.*", ["3.10"], ["3.11"]),
        ("3.10 || ^3.12", ["3.10", "3.12", "3.13"], ["3.11"]),
    ],
)
def test_python_constraints_become_markers_decided_for_the_target(
    python: str, true_for: list[str], false_for: list[str]
) -> None:
    marker = python_marker(python)
    assert marker is not None
    for version, expected in [(v, True) for v in true_for] + [(v, False) for v in false_for]:
        environment = target_environment(Target(version))
        assert Marker(marker).evaluate(environment) is expected, (python, marker, version)


def test_python_star_is_no_marker() -> None:
    assert python_marker("*") is None


# -- pyproject.toml ------------------------------------------------------------------------


def load(text: str) -> dict[str, object]:
    return tomllib.loads(textwrap.dedent(text))


WHERE = Path("pyproject.toml")


def test_tool_poetry_dependencies_become_requirements() -> None:
    pyproject = load(
        """
        [tool.poetry.dependencies]
        python = "^3.12"
        requests = "^2.31"
        pydantic = {version = "~2.5", extras = ["email"]}
        tomli = {version = "^2.0", python = "<3.11"}
        uvloop = {version = "*", platform = "linux", markers = "platform_machine == 'x86_64'"}
        numpy = [
            {version = "^1.26", python = "<3.13"},
            {version = "^2.1", python = ">=3.13"},
        ]
        rich = {version = "^13", optional = true}
        """
    )
    assert poetry.requirements(pyproject, WHERE) == [
        "requests<3.0,>=2.31",
        "pydantic[email]<2.6,>=2.5",
        'tomli<3.0,>=2.0; python_version < "3.11"',
        'uvloop; platform_machine == "x86_64" and sys_platform == "linux"',
        'numpy<2.0,>=1.26; python_version < "3.13"',
        'numpy<3.0,>=2.1; python_version >= "3.13"',
    ]
    assert poetry.requires_python(pyproject, WHERE) == "<4.0,>=3.12"


def test_dev_groups_are_not_main_dependencies() -> None:
    pyproject = load(
        """
        [tool.poetry.dependencies]
        six = "*"
        [tool.poetry.group.dev.dependencies]
        pytest = "^8"
        [tool.poetry.dev-dependencies]
        mypy = "*"
        """
    )
    assert [d.name for d in poetry.main_dependencies(pyproject, WHERE)] == ["six"]


def test_poetry2_takes_the_project_table_and_tool_poetry_only_adds_details() -> None:
    pyproject = load(
        """
        [project]
        dependencies = ["requests[socks] (>=2.31,<3)"]
        [tool.poetry.dependencies]
        requests = {source = "private"}
        """
    )
    # The project loader reads [project] itself, so nothing is added twice.
    assert poetry.requirements(pyproject, WHERE) == []
    (dep,) = poetry.main_dependencies(pyproject, WHERE)
    assert (dep.name, dep.extras, dep.constraint()) == ("requests", ("socks",), "<3,>=2.31")


def test_dynamic_project_dependencies_come_from_tool_poetry() -> None:
    pyproject = load(
        """
        [project]
        dynamic = ["dependencies"]
        [tool.poetry.dependencies]
        six = "^1.16"
        """
    )
    assert poetry.requirements(pyproject, WHERE) == ["six<2.0,>=1.16"]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ('{git = "https://github.com/psf/requests.git", tag = "v2.31.0"}', "git"),
        ('{path = "../libs/helper", develop = true}', "path"),
        ('{url = "https://example.org/helper-1.0.tar.gz"}', "url"),
        ('{file = "dist/helper-1.0-py3-none-any.whl"}', "file"),
    ],
)
def test_path_git_and_url_dependencies_are_refused_by_name(value: str, kind: str) -> None:
    pyproject = load(f"[tool.poetry.dependencies]\nhelper = {value}\n")
    with pytest.raises(ProjectError, match=rf"helper is a {kind} dependency.*Publish it"):
        poetry.requirements(pyproject, WHERE)


def test_a_local_dependency_is_refused_even_as_a_poetry2_detail() -> None:
    pyproject = load(
        '[project]\ndependencies = ["helper"]\n'
        '[tool.poetry.dependencies]\nhelper = {path = "../helper"}\n'
    )
    with pytest.raises(ProjectError, match=r"helper is a path dependency"):
        poetry.requirements(pyproject, WHERE)


def test_a_bad_extra_name_is_an_error_not_a_traceback() -> None:
    pyproject = load('[tool.poetry.dependencies]\nrequests = {version = "*", extras = ["a b"]}\n')
    with pytest.raises(ProjectError, match=r"requests is not a valid dependency"):
        poetry.requirements(pyproject, WHERE)


def test_a_union_needs_a_lock_to_decide_it() -> None:
    pyproject = load('[tool.poetry.dependencies]\nsix = "^1.0 || ^3.0"\n')
    with pytest.raises(ProjectError, match=r"six = .*union.*poetry lock"):
        poetry.requirements(pyproject, WHERE)
    assert poetry.requirements(pyproject, WHERE, locked=True) == ["six"]


def test_load_project_reads_a_poetry_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "My_Fn"\nversion = "0.1.0"\npackage-mode = false\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nrequests = "^2.31"\n'
        '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    project = load_project(tmp_path)
    assert project.name == "my-fn"
    assert project.requirements == ("requests<3.0,>=2.31",)
    assert project.requires_python == "<4.0,>=3.12"
    assert project.local_wheels == ()  # package-mode = false: nothing to build


# -- the walk of poetry.lock ---------------------------------------------------------------


def lockfile(body: str, version: str = "2.1") -> dict[str, object]:
    text = textwrap.dedent(body) + f'\n[metadata]\nlock-version = "{version}"\n'
    return tomllib.loads(text)


def package(name: str, version: str, extra: str = "") -> str:
    return textwrap.dedent(
        f"""
        [[package]]
        name = "{name}"
        version = "{version}"
        optional = false
        python-versions = ">=3.8"
        files = [
            {{file = "{name}-{version}-py3-none-any.whl", hash = "sha256:{name}{version}w"}},
            {{file = "{name}-{version}.tar.gz", hash = "sha256:{name}{version}s"}},
        ]
        """
    ) + textwrap.dedent(extra)


def pins(body: str, roots: list[Dependency], target: Target | None = None) -> dict[str, str]:
    text = walk_lock(lockfile(body), roots, target or Target("3.12"))
    out = {}
    for line in text.splitlines():
        if "==" in line:
            name, _, version = line.split(" ")[0].partition("==")
            out[name] = version
    return out


REQUESTS = package(
    "requests",
    "2.32.3",
    """
    [package.dependencies]
    certifi = ">=2017.4.17"
    PySocks = {version = ">=1.5.6,!=1.5.7", optional = true, markers = "extra == \\"socks\\""}
    win-inet-pton = {version = "*", markers = "sys_platform == \\"win32\\""}
    tomli = {version = ">=1", markers = "python_version < \\"3.11\\""}
    aarch-only = {version = "*", markers = "platform_machine == \\"aarch64\\""}

    [package.extras]
    socks = ["PySocks (>=1.5.6,!=1.5.7)"]
    """,
)
WORLD = "".join(
    [
        REQUESTS,
        package("certifi", "2024.8.30"),
        package("pysocks", "1.7.1"),
        package("win-inet-pton", "1.1.0"),
        package("tomli", "2.0.1"),
        package("aarch-only", "1.0"),
        package("pytest", "8.3.3"),
    ]
)


def test_markers_are_decided_for_the_target() -> None:
    roots = [Dependency("requests", alternatives=specifiers("^2.31"))]
    assert pins(WORLD, roots) == {"certifi": "2024.8.30", "requests": "2.32.3"}
    assert set(pins(WORLD, roots, Target("3.10", "arm64"))) == {
        "certifi", "requests", "tomli", "aarch-only",
    }  # fmt: skip


def test_an_optional_dependency_comes_only_with_its_extra() -> None:
    roots = [Dependency("requests", extras=("socks",))]
    assert pins(WORLD, roots)["pysocks"] == "1.7.1"
    # The same package reached again with the extra adds what the extra brings.
    roots = [Dependency("requests"), Dependency("requests", extras=("socks",))]
    assert "pysocks" in pins(WORLD, roots)


def test_optional_roots_and_other_groups_do_not_ship() -> None:
    roots = [Dependency("six", optional=True), Dependency("certifi")]
    assert pins(WORLD, roots) == {"certifi": "2024.8.30"}  # pytest is locked but not needed


def test_a_root_marker_false_on_the_target_drops_the_root() -> None:
    roots = [Dependency("tomli", marker='python_version < "3.11"')]
    assert pins(WORLD, roots) == {}
    assert pins(WORLD, roots, Target("3.10")) == {"tomli": "2.0.1"}


def test_every_sha256_is_kept_and_the_lock_parses() -> None:
    text = walk_lock(lockfile(package("certifi", "2024.8.30")), [Dependency("certifi")], Target())
    assert text == (
        "certifi==2024.8.30 \\\n"
        "    --hash=sha256:certifi2024.8.30s \\\n"
        "    --hash=sha256:certifi2024.8.30w\n"
    )


SPLIT = "".join(
    [
        package("numpy", "1.24.4").replace('">=3.8"', '">=3.8,<3.9"'),
        package("numpy", "2.1.3").replace('">=3.8"', '">=3.10"'),
        package(
            "pandas",
            "2.2.3",
            """
            [package.dependencies]
            numpy = [
                {version = ">=1.22.4,<2", markers = "python_version < \\"3.11\\""},
                {version = ">=1.26.0", markers = "python_version >= \\"3.12\\""},
            ]
            """,
        ),
    ]
)


def test_a_package_locked_twice_is_chosen_by_the_edge_and_the_target() -> None:
    assert pins(SPLIT, [Dependency("pandas")])["numpy"] == "2.1.3"
    assert pins(SPLIT, [Dependency("numpy")], Target("3.12"))["numpy"] == "2.1.3"


def test_a_root_missing_from_the_lock_says_poetry_lock() -> None:
    with pytest.raises(LockError, match=r"depends on idna, but poetry.lock.*`poetry lock`"):
        pins(WORLD, [Dependency("idna")])


def test_a_root_the_lock_does_not_satisfy_says_the_lock_is_older() -> None:
    roots = [Dependency("requests", alternatives=specifiers("^2.33"), written="^2.33")]
    with pytest.raises(LockError, match=r"pins requests 2.32.3.*asks for requests \^2.33"):
        pins(WORLD, roots)


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ('type = "directory"\nurl = "../helper"', "directory"),
        ('type = "git"\nurl = "https://github.com/x/helper.git"\nreference = "main"', "git"),
        ('type = "url"\nurl = "https://example.org/helper-1.0.tar.gz"', "url"),
        ('type = "file"\nurl = "dist/helper-1.0.tar.gz"', "file"),
    ],
)
def test_a_local_or_direct_source_is_refused_by_name(source: str, kind: str) -> None:
    body = package("helper", "1.0", f"\n[package.source]\n{source}\n")
    with pytest.raises(LockError, match=rf"pins helper from a {kind} source.*Publish it"):
        pins(body, [Dependency("helper")])


def test_a_custom_index_source_is_fine() -> None:
    body = package(
        "helper", "1.0",
        '\n[package.source]\ntype = "legacy"\nurl = "https://pypi.org/simple"\n'
        'reference = "pypi-simple"\n',
    )  # fmt: skip
    assert pins(body, [Dependency("helper")]) == {"helper": "1.0"}


def test_an_old_lock_version_is_refused() -> None:
    with pytest.raises(LockError, match=r"lock-version 1.1.*Poetry 1.5 or later"):
        walk_lock(lockfile(package("six", "1.16.0"), "1.1"), [Dependency("six")], Target())


def test_a_package_without_sha256_is_refused() -> None:
    body = package("six", "1.16.0").replace("sha256:", "md5:")
    with pytest.raises(LockError, match=r"no sha256 for six 1.16.0"):
        pins(body, [Dependency("six")])


# -- lock_project with a poetry.lock ------------------------------------------------------


def copy_fixture(tmp_path: Path, name: str = "classic") -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


@pytest.mark.parametrize("name", ["classic", "pep621"])
def test_the_real_poetry_lock_decides_for_each_target(tmp_path: Path, name: str) -> None:
    root = copy_fixture(tmp_path, name)
    cache = Cache(tmp_path / "cache")
    said: list[str] = []
    lock = lock_project(load_project(root), Target("3.10"), cache=cache, report=said.append)
    versions = {p.name.lower(): p.version for p in lock.pins}
    assert versions["requests"] == "2.34.2"
    assert versions["six"] == "1.16.0"
    assert "pysocks" in versions  # requests[socks]
    assert "tomli" in versions  # python < 3.11
    assert not {"rich", "pytest", "pygments", "colorama"} & set(versions)
    assert any("poetry.lock pins them" in s for s in said)
    arm = lock_project(load_project(root), Target("3.12", "arm64"), cache=cache)
    assert {p.name.lower() for p in arm.pins} == set(versions) - {"tomli"}
    charset = next(p for p in arm.pins if p.name == "charset-normalizer")
    assert len(charset.hashes) > 100  # every file's hash: the installer picks the wheel


def test_the_lock_changes_with_poetry_lock(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    cache = Cache(tmp_path / "cache")
    before = lock_project(load_project(root), Target("3.12"), cache=cache)
    lock_file = root / "poetry.lock"
    lock_file.write_text(lock_file.read_text() + "\n# edited\n")
    after = lock_project(load_project(root), Target("3.12"), cache=cache)
    assert before.pins == after.pins
    assert before.sha256 != after.sha256  # so the installed tree's cache key changes


@pytest.mark.parametrize("name", ["classic", "pep621"])
def test_content_hash_is_the_one_poetry_recorded(name: str) -> None:
    pyproject = tomllib.loads((FIXTURES / name / "pyproject.toml").read_text())
    recorded = tomllib.loads((FIXTURES / name / "poetry.lock").read_text())["metadata"]
    assert recorded["content-hash"] in content_hashes(pyproject)
    pyproject["tool"]["poetry"]["group"] = {"dev": {"dependencies": {"mypy": "*"}}}
    assert recorded["content-hash"] not in content_hashes(pyproject)


def test_content_hash_with_dependency_groups_as_poetry_2_2_and_later() -> None:
    # Made by Poetry 2.5.1 (`poetry lock`) for exactly this pyproject.toml.
    pyproject = load(
        """
        [project]
        name = "x"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["six (>=1.16)"]

        [dependency-groups]
        test = ["iniconfig"]

        [tool.poetry]
        package-mode = false

        [[tool.poetry.source]]
        name = "pypi-simple"
        url = "https://pypi.org/simple/"
        priority = "primary"
        """
    )
    assert (
        "da4f438ad8d32fe14bcd8b5c6c8542bd654fb3d5049d947c2325784fbd00e59c"
        in content_hashes(pyproject)
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('six = "~1.16"', 'six = "^1.17"'),  # the locked version no longer fits
        ('six = "~1.16"', 'six = "~1.16"\nidna = "*"'),  # a dependency the lock lacks
        ('six = "~1.16"', 'six = ">=1.16,<1.17"'),  # same versions, other constraint
    ],
)
def test_a_stale_poetry_lock_says_poetry_lock(tmp_path: Path, old: str, new: str) -> None:
    root = copy_fixture(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(old, new))
    with pytest.raises(LockError, match=r"changed since .*poetry.lock was made.*`poetry lock`"):
        lock_project(load_project(root), Target("3.12"), cache=Cache(tmp_path / "cache"))


def test_without_content_hash_the_versions_are_still_checked(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('six = "~1.16"', 'six = "^1.17"'))
    lock_file = root / "poetry.lock"
    lock_file.write_text(re.sub(r"(?m)^content-hash = .*$", "", lock_file.read_text()))
    with pytest.raises(LockError, match=r"pins six 1.16.0.*asks for six \^1.17.*`poetry lock`"):
        lock_project(load_project(root), Target("3.12"), cache=Cache(tmp_path / "cache"))


def test_uv_lock_and_poetry_lock_together_are_an_error(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path)
    (root / "uv.lock").write_text("version = 1\n")
    with pytest.raises(LockError, match=r"has uv.lock and poetry.lock, and each would decide"):
        lock_project(load_project(root), Target("3.12"), cache=Cache(tmp_path / "cache"))
