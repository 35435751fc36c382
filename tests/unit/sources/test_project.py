"""Loading function sources: requirements, pyproject, PEP 723 scripts, handlers, code files."""

from pathlib import Path

import pytest

from bundler.core.errors import ProjectError
from bundler.sources.project import (
    build_requirements,
    find_handler_candidates,
    load_project,
    parse_requirements_file,
    parse_script_metadata,
    validate_handler,
)

HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- requirements files -------------------------------------------------------------------


def test_requirements_file_parsing(tmp_path: Path) -> None:
    write(tmp_path / "base.txt", "idna>=3  # comment\n")
    reqs = write(
        tmp_path / "requirements.txt",
        "# top comment\n"
        "\n"
        "requests==2.32.3 \\\n"
        "    --hash=sha256:" + "a" * 64 + "\n"
        "-r base.txt\n"
        "numpy>=1.26; python_version >= '3.10'\n"
        "pydantic[email]\n",
    )
    assert parse_requirements_file(reqs) == [
        "requests==2.32.3",
        "idna>=3",
        'numpy>=1.26; python_version >= "3.10"',
        "pydantic[email]",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("requests===\n", "requirements.txt:1: 'requests===' is not a valid requirement"),
        ("ok\n--find-links x\n", "requirements.txt:2: pip option '--find-links' is not"),
        ("--index-url https://x\n", "pip option '--index-url'"),
        ("-r missing.txt\n", "missing.txt does not exist"),
        ("-r\n", "'-r' needs a file name"),
    ],
)
def test_bad_requirements(tmp_path: Path, text: str, message: str) -> None:
    reqs = write(tmp_path / "requirements.txt", text)
    with pytest.raises(ProjectError) as err:
        parse_requirements_file(reqs)
    assert message in str(err.value)


def test_requirements_include_cycle(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "-r b.txt\n")
    write(tmp_path / "b.txt", "-r a.txt\n")
    with pytest.raises(ProjectError, match="includes itself"):
        parse_requirements_file(tmp_path / "a.txt")


def test_unreadable_requirements(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    (tmp_path / "requirements.txt").mkdir()  # exists, but cannot be read as a file
    with pytest.raises(ProjectError, match="Cannot read .*requirements.txt"):
        load_project(tmp_path)
    (tmp_path / "requirements.txt").rmdir()
    (tmp_path / "requirements.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(ProjectError, match="encoding"):
        load_project(tmp_path)


# -- directories --------------------------------------------------------------------------


def test_directory_with_requirements(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(tmp_path / "requirements.txt", "requests\n")
    project = load_project(tmp_path)
    assert project.name == tmp_path.name.lower().replace("_", "-")
    assert project.root == tmp_path.resolve()
    assert project.requirements == ("requests",)
    assert project.handler == "app.handler"
    assert project.local_wheels == ()
    assert not project.is_script


def test_directory_without_requirements(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    assert load_project(tmp_path).requirements == ()


def test_pyproject_dependencies_and_configured_handler(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "My_Func"\nrequires-python = ">=3.11"\n'
        'dependencies = ["requests>=2", "idna"]\n'
        '[tool.lambundle]\nhandler = "service.entry"\n',
    )
    write(tmp_path / "requirements.txt", "idna\nurllib3\n")
    write(tmp_path / "service.py", "def entry(event, context):\n    return 1\n")
    write(tmp_path / "app.py", HANDLER)  # would be inferred; the configured one wins
    project = load_project(tmp_path)
    assert project.name == "my-func"
    assert project.requirements == ("requests>=2", "idna", "urllib3")
    assert project.handler == "service.entry"
    assert project.requires_python == ">=3.11"
    assert load_project(tmp_path, handler="app.handler").handler == "app.handler"


def test_bad_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(tmp_path / "pyproject.toml", "[project\n")
    with pytest.raises(ProjectError, match="pyproject.toml is not valid TOML"):
        load_project(tmp_path)
    write(tmp_path / "pyproject.toml", '[project]\ndependencies = "requests"\n')
    with pytest.raises(ProjectError, match="must be a list of strings"):
        load_project(tmp_path)


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nope")
    write(tmp_path / "notes.txt", "x")
    with pytest.raises(ProjectError, match="not a .py script"):
        load_project(tmp_path / "notes.txt")


def test_code_files_skip_tooling_and_outputs(tmp_path: Path) -> None:
    write(tmp_path / "app.py", HANDLER)
    write(tmp_path / "lib" / "util.py", "")
    write(tmp_path / "data" / "table.csv", "a,b\n")
    write(tmp_path / "tests" / "test_app.py", "def test(): pass\n")
    for skipped in (
        ".venv/lib/x.py",
        ".git/config",
        "__pycache__/app.cpython-312.pyc",
        "lib/__pycache__/util.cpython-312.pyc",
        "stale.pyc",
        ".lambundle/pinned/bundle.json",
        "out/bundle.json",
        "out/function.zip",
        "node_modules/x.js",
        "demo.egg-info/PKG-INFO",
    ):
        write(tmp_path / skipped, "x")
    (tmp_path / "outside").symlink_to("/etc/hostname")
    write(tmp_path / "build" / "mine.py", "")  # no build configuration: the user's code
    project = load_project(tmp_path)
    assert [p.as_posix() for p in project.code] == [
        "app.py",
        "build/mine.py",
        "data/table.csv",
        "lib/util.py",
        "tests/test_app.py",
    ]
    write(tmp_path / "pyproject.toml", "[project]\nname = 'fn'\n")
    write(tmp_path / "dist" / "fn-1.0.tar.gz", "x")
    code = [p.as_posix() for p in load_project(tmp_path).code]
    assert "build/mine.py" not in code
    assert "dist/fn-1.0.tar.gz" not in code
    assert "pyproject.toml" in code


# -- handlers -----------------------------------------------------------------------------


def test_handler_inference_ignores_tests_and_other_names(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def lambda_handler(event, context):\n    pass\n")
    write(tmp_path / "helpers.py", "def handler(event):\n    pass\n")  # one parameter
    write(tmp_path / "tests" / "test_app.py", HANDLER)
    write(tmp_path / "other.py", "class X:\n    def handler(self, event, context): pass\n")
    assert load_project(tmp_path).handler == "app.lambda_handler"


def test_handler_inference_in_packages(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "api.py", "async def handler(event, context):\n    pass\n")
    assert load_project(tmp_path).handler == "pkg.api.handler"


def test_a_handler_made_by_assignment_is_found(tmp_path: Path) -> None:
    # Mangum's documented pattern for FastAPI on Lambda: the handler is an adapter object.
    write(tmp_path / "app.py", "from mangum import Mangum\napp = object()\nhandler = Mangum(app)\n")
    assert load_project(tmp_path).handler == "app.handler"
    write(tmp_path / "app.py", "lambda_handler: object = make()\nsettings = handler = 1\n")
    assert find_handler_candidates(tmp_path, (Path("app.py"),)) == [
        "app.lambda_handler", "app.handler",
    ]  # fmt: skip
    # A wrapped handler is one candidate, not two.
    write(tmp_path / "app.py", HANDLER + "handler = wrap(handler)\n")
    assert load_project(tmp_path).handler == "app.handler"
    write(tmp_path / "app.py", "handler: object\nhandler.x = 1\n(handler, other) = 1, 2\n")
    assert find_handler_candidates(tmp_path, (Path("app.py"),)) == []


def test_no_handler_is_an_error_listing_the_fix(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def main():\n    pass\n")
    with pytest.raises(ProjectError, match="No handler found .* --handler"):
        load_project(tmp_path)
    project = load_project(tmp_path, require_handler=False)
    assert project.handler is None


def test_ambiguous_handlers_are_listed(tmp_path: Path) -> None:
    write(tmp_path / "a.py", HANDLER)
    write(tmp_path / "b.py", "def lambda_handler(event, context):\n    pass\n")
    with pytest.raises(ProjectError) as err:
        load_project(tmp_path)
    assert "a.handler" in str(err.value)
    assert "b.lambda_handler" in str(err.value)
    assert "--handler" in str(err.value)
    assert load_project(tmp_path, handler="b.lambda_handler").handler == "b.lambda_handler"


@pytest.mark.parametrize(
    "handler",
    [
        "app.handler",
        "app:handler",
        "pkg/sub/mod.fn",
        "pkg.sub.mod.fn",
        "pkg.sub:fn",
        "app.imported",
        "app.assigned",
        "tool.py",
        "(lambda event, context: event)",
    ],
)
def test_valid_handlers(tmp_path: Path, handler: str) -> None:
    write(tmp_path / "app.py", HANDLER + "from json import dumps as imported\nassigned = handler\n")
    write(tmp_path / "tool.py", "def main():\n    print('hi')\n")
    write(tmp_path / "pkg" / "sub" / "mod.py", "def fn(event, context):\n    pass\n")
    write(tmp_path / "pkg" / "sub" / "__init__.py", "def fn(event, context):\n    pass\n")
    assert validate_handler(handler, tmp_path, ()) == handler


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("app.nothere", "defines no top-level 'nothere' (its functions: handler)"),
        ("missing.handler", "module 'missing' is not in"),
        ("gone.py", "Handler script 'gone.py' does not exist"),
        ("app.(", "neither module.function"),
    ],
)
def test_handlers_that_do_not_exist(tmp_path: Path, handler: str, message: str) -> None:
    write(tmp_path / "app.py", HANDLER)
    with pytest.raises(ProjectError) as err:
        load_project(tmp_path, handler=handler)
    assert message in str(err.value)


def test_star_import_cannot_be_checked_so_it_is_accepted(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "from impl import *\n")
    assert validate_handler("app.handler", tmp_path, ()) == "app.handler"


def test_candidates_skip_unimportable_paths(tmp_path: Path) -> None:
    write(tmp_path / "my-dir" / "app.py", HANDLER)
    write(tmp_path / "src" / "pkg" / "app.py", HANDLER)
    code = (Path("my-dir/app.py"), Path("src/pkg/app.py"))
    assert find_handler_candidates(tmp_path, code) == ["pkg.app.handler"]


# -- PEP 723 scripts ----------------------------------------------------------------------

SCRIPT = """\
#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = [
#   "requests<3",
#   "rich",
# ]
# ///
import sys

def handler(event, context):
    return sys.version
"""


def test_script_with_inline_metadata(tmp_path: Path) -> None:
    script = write(tmp_path / "my_fn.py", SCRIPT)
    write(tmp_path / "unrelated.py", HANDLER)
    project = load_project(script)
    assert project.is_script
    assert project.name == "my-fn"
    assert project.root == tmp_path.resolve()
    assert project.code == (Path("my_fn.py"),)
    assert project.requirements == ("requests<3", "rich")
    assert project.requires_python == ">=3.11"
    assert project.handler == "my_fn.handler"


def test_script_main_uses_the_script_convention(tmp_path: Path) -> None:
    script = write(tmp_path / "hello.py", "def main():\n    print('hi')\n")
    project = load_project(script)
    assert project.handler == "hello.py"
    assert project.requirements == ()


def test_script_without_entry_point(tmp_path: Path) -> None:
    script = write(tmp_path / "nothing.py", "x = 1\n")
    with pytest.raises(ProjectError, match="no top-level 'def handler"):
        load_project(script)
    both = write(tmp_path / "both.py", HANDLER + "def lambda_handler(event, context): pass\n")
    with pytest.raises(ProjectError, match="both.handler, both.lambda_handler"):
        load_project(both)


def test_pep723_parsing_edge_cases() -> None:
    assert parse_script_metadata("print('no block')\n") == {}
    other = "# /// pyproject\n# x = 1\n# ///\n"
    assert parse_script_metadata(other) == {}
    bare = "# /// script\n#\n# dependencies = ['a']\n# ///\n"
    assert parse_script_metadata(bare) == {"dependencies": ["a"]}
    twice = "# /// script\n# a = 1\n# ///\n\n# /// script\n# b = 1\n# ///\n"
    with pytest.raises(ProjectError, match="2 '# /// script' blocks"):
        parse_script_metadata(twice)
    broken = "# /// script\n# dependencies = [\n# ///\n"
    with pytest.raises(ProjectError, match="not valid TOML"):
        parse_script_metadata(broken)


def test_script_with_bad_dependencies(tmp_path: Path) -> None:
    block = "# /// script\n# dependencies = 'requests'\n# ///\n"
    script = write(tmp_path / "s.py", block + HANDLER)
    with pytest.raises(ProjectError, match="must be a list of strings"):
        load_project(script)
    script = write(tmp_path / "t.py", "# /// script\n# dependencies = ['re quests']\n# ///\n")
    with pytest.raises(ProjectError, match="is not a valid requirement"):
        load_project(script)


def test_a_file_name_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    import os

    write(tmp_path / "app.py", HANDLER)
    (tmp_path / "data").mkdir()
    with open(os.path.join(os.fsencode(tmp_path / "data"), b"caf\xe9.txt"), "w") as handle:
        handle.write("x")
    with pytest.raises(ProjectError, match=r"the file name 'data/caf\\xe9\.txt' is not UTF-8"):
        load_project(tmp_path)


def test_a_directory_name_that_is_not_utf8_still_names_the_project(tmp_path: Path) -> None:
    import os

    root = os.path.join(os.fsencode(tmp_path), b"fn-\xe9")
    os.mkdir(root)
    with open(os.path.join(root, b"app.py"), "w") as handle:
        handle.write(HANDLER)
    project = load_project(Path(os.fsdecode(root)))
    assert project.name == "fn-\ufffd"
    project.name.encode("utf-8")  # the lock's header and messages can carry it



def test_a_package_s_build_requirements_are_read_without_running_anything() -> None:
    where = Path("svc/pyproject.toml")
    table = {"build-system": {"requires": ["hatchling>=1.20"], "build-backend": "x"}}
    assert build_requirements(table, where) == ["hatchling>=1.20"]
    assert build_requirements({}, where) == ["setuptools>=40.8.0"]  # PEP 518's default
    with pytest.raises(ProjectError, match="a direct reference"):
        build_requirements({"build-system": {"requires": ["x @ https://e.org/x.whl"]}}, where)
    with pytest.raises(ProjectError, match="must be a list of strings"):
        build_requirements({"build-system": {"requires": "setuptools"}}, where)
