"""Handler strings: lambundle's resolution against awslambdaric's `_get_handler` (§3.3)."""

from __future__ import annotations

import sys
import uuid

import pytest

from runtime import faults
from runtime.handlers import resolve


@pytest.fixture
def task_root(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _theirs(handler):
    from awslambdaric.bootstrap import _get_handler
    from awslambdaric.lambda_runtime_exception import FaultException

    try:
        return ("ok", _get_handler(handler))
    except FaultException as exc:
        return ("fault", exc.exception_type, exc.msg, exc.trace or [])
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def _ours(handler, root):
    try:
        return ("ok", resolve(handler, str(root)).function)
    except faults.Fault as exc:
        return ("fault", exc.error_type, exc.message, exc.trace or [])
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def _cases(m):
    """(files, handler) pairs; `m` is a unique module name for this test run."""
    return {
        "ok": ({f"{m}.py": "def handler(e, c):\n    return 1\n"}, f"{m}.handler"),
        "no dot": ({}, m),
        "empty": ({}, ""),
        "builtin conflict": ({}, "sys.hello"),
        "builtin conflict dotted": ({}, "sys.path.join"),
        "pkg.sys is no conflict": (
            {f"{m}/__init__.py": "", f"{m}/sys.py": "def h(e, c):\n    pass\n"},
            f"{m}.sys.h",
        ),
        "missing module": ({}, f"{m}.handler"),
        "missing dependency": ({f"{m}.py": "import not_installed_xyz\n"}, f"{m}.handler"),
        "import error inside": ({f"{m}.py": "from os import nope\n"}, f"{m}.handler"),
        "syntax error": ({f"{m}.py": "def handler(:\n    pass\n"}, f"{m}.handler"),
        "missing handler": ({f"{m}.py": "x = 1\n"}, f"{m}.handler"),
        "not callable": ({f"{m}.py": "handler = 1\n"}, f"{m}.handler"),
        "import-time KeyError": ({f"{m}.py": "{}['k']\n"}, f"{m}.handler"),
        "import-time custom": (
            {f"{m}.py": "class Boom(Exception):\n    pass\nraise Boom('at import')\n"},
            f"{m}.handler",
        ),
        "slash path": (
            {
                f"{m}/__init__.py": "",
                f"{m}/sub/__init__.py": "",
                f"{m}/sub/mod.py": "def fn(e, c):\n    pass\n",
            },
            f"{m}/sub/mod.fn",
        ),
        "dotted path": (
            {
                f"{m}/__init__.py": "",
                f"{m}/sub/__init__.py": "",
                f"{m}/sub/mod.py": "def fn(e, c):\n    pass\n",
            },
            f"{m}.sub.mod.fn",
        ),
        "namespace package": ({f"{m}/mod.py": "def fn(e, c):\n    pass\n"}, f"{m}.mod.fn"),
        "trailing dot": ({f"{m}.py": "x = 1\n"}, f"{m}."),
    }


CASE_NAMES = list(_cases("m"))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_resolution_matches_awslambdaric(task_root, case):
    m = "mod_" + uuid.uuid4().hex[:8]
    files, handler = _cases(m)[case]
    _write(task_root, files)
    ours = _ours(handler, task_root)
    for name in [n for n in sys.modules if n == m or n.startswith(m + ".")]:
        del sys.modules[name]
    theirs = _theirs(handler)
    if ours[0] == "ok":
        assert theirs[0] == "ok"
        assert getattr(ours[1], "__qualname__", ours[1]) == getattr(
            theirs[1], "__qualname__", theirs[1]
        )
    else:
        assert ours == theirs


def test_entry_point_syntax(task_root):
    _write(
        task_root,
        {"ep_mod.py": "class App:\n    def handle(self, e, c):\n        return e\napp = App()\n"},
    )
    target = resolve("ep_mod:app.handle", str(task_root))
    assert target.function(5, None) == 5
    assert target.calling == "json"


def test_entry_point_missing_attribute(task_root):
    _write(task_root, {"ep_mod2.py": "x = 1\n"})
    with pytest.raises(faults.Fault) as info:
        resolve("ep_mod2:nope", str(task_root))
    assert info.value.error_type == "Runtime.HandlerNotFound"
    assert info.value.message == "Handler 'nope' missing on module 'ep_mod2'"


@pytest.mark.parametrize(
    "handler", ["=lambda e, c: e * 2", "lambda e, c: e * 2", "=(lambda e, c: e * 2)"]
)
def test_inline_expression(handler, task_root):
    assert resolve(handler, str(task_root)).function(21, None) == 42


def test_inline_expression_not_callable(task_root):
    with pytest.raises(faults.Fault) as info:
        resolve("=1 + 1", str(task_root))
    assert info.value.error_type == "Runtime.HandlerNotFound"


def test_inline_expression_syntax_error(task_root):
    with pytest.raises(faults.Fault) as info:
        resolve("=lambda e, c: (", str(task_root))
    assert info.value.error_type == "Runtime.UserCodeSyntaxError"


def test_script_handler_uses_stdio_and_main(task_root):
    _write(task_root, {"tools/cli_script.py": "def main():\n    print('hi')\n"})
    target = resolve("tools/cli_script.py", str(task_root))
    assert target.calling == "stdio"
    assert target.function.__name__ == "main"


def test_script_without_main(task_root):
    _write(task_root, {"nomain_script.py": "x = 1\n"})
    with pytest.raises(faults.Fault) as info:
        resolve("nomain_script.py", str(task_root))
    assert info.value.message == "Handler 'main' missing on module 'nomain_script'"


def test_dot_py_without_a_file_keeps_aws_meaning(task_root):
    _write(task_root, {"plainmod.py": "def py(e, c):\n    return 'aws'\n"})
    target = resolve("plainmod.py", str(task_root / "elsewhere"))
    assert target.calling == "json"
    assert target.function(None, None) == "aws"
