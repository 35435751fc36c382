"""The loader's sys.path order (docs/layout.md, "The loader")."""

from __future__ import annotations

import json
import os
import sys

import pytest

from runtime import loader

PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def _paths_file(path, dirs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sys_path": dirs}))


def test_defaults_without_paths_files(tmp_path):
    task, opt = tmp_path / "task", tmp_path / "opt"
    task.mkdir()
    assert loader.search_path(str(task), str(opt)) == [
        str(task),
        str(opt / "python" / "lib" / PY / "site-packages"),
        str(opt / "python"),
    ]


def test_function_then_layers_sorted_by_name(tmp_path):
    task, opt = tmp_path / "task", tmp_path / "opt"
    _paths_file(task / ".lambundle" / "paths.json", ["vendor"])
    _paths_file(opt / "lambundle" / "paths" / "2-deps.json", ["deps/site"])
    _paths_file(opt / "lambundle" / "paths" / "1-runtime.json", [f"python/lib/{PY}/site-packages"])
    assert loader.search_path(str(task), str(opt)) == [
        str(task),
        str(task / "vendor"),
        str(opt / "python" / "lib" / PY / "site-packages"),
        str(opt / "deps" / "site"),
    ]


def test_function_paths_alone_replace_the_defaults(tmp_path):
    task, opt = tmp_path / "task", tmp_path / "opt"
    _paths_file(task / ".lambundle" / "paths.json", ["vendor"])
    assert loader.search_path(str(task), str(opt)) == [str(task), str(task / "vendor")]


@pytest.fixture
def saved_path(monkeypatch):
    monkeypatch.setattr(sys, "path", sys.path[:])
    cwd = os.getcwd()
    yield
    os.chdir(cwd)


def test_install_prepends_runs_pth_and_chdirs(tmp_path, saved_path):
    task, opt = tmp_path / "task", tmp_path / "opt"
    extra = tmp_path / "extra"
    extra.mkdir()
    _paths_file(task / ".lambundle" / "paths.json", ["vendor"])
    (task / "vendor").mkdir()
    (task / "vendor" / "x.pth").write_text(str(extra) + "\n")
    loader.install(str(task), str(opt))
    assert sys.path[:2] == [str(task), str(task / "vendor")]
    assert str(extra) in sys.path
    assert os.getcwd() == str(task)


def test_task_root_moves_to_the_front(tmp_path, saved_path):
    task = tmp_path / "task"
    task.mkdir()
    sys.path.append(str(task))
    loader.install(str(task), str(tmp_path / "opt"))
    assert sys.path[0] == str(task)
    assert sys.path.count(str(task)) == 1


@pytest.mark.parametrize("pythonpath_set", [False, True])
def test_on_a_managed_runtime_sys_path_is_awss_bootstrap_py(
    tmp_path, saved_path, monkeypatch, pythonpath_set
):
    # What AWS's /var/runtime/bootstrap.py builds, the bundle's dirs after the task root.
    monkeypatch.setenv("PYTHONPATH", "/user/set")  # restored after the test
    if not pythonpath_set:
        monkeypatch.delenv("PYTHONPATH")
    task, opt, runtime_dir = tmp_path / "task", tmp_path / "opt", str(tmp_path / "runtime")
    _paths_file(task / ".lambundle" / "paths.json", ["vendor"])
    (task / "vendor").mkdir()
    before = list(sys.path)
    loader.install(str(task), str(opt), runtime_dir, pythonpath_set)
    front = [str(task), str(task / "vendor")]
    opt_dirs = [str(opt / "python" / "lib" / PY / "site-packages"), str(opt / "python")]
    if pythonpath_set:
        assert sys.path == [*front, runtime_dir, *before]
        assert os.environ["PYTHONPATH"] == "/user/set"
    else:
        lang = [os.path.join(sys.base_prefix, "lib", PY, "site-packages")]
        lang = lang if sys.version_info >= (3, 11) else []
        # The missing /opt dirs are added again at the end, as site.addsitedir does for AWS.
        assert sys.path == [*front, *opt_dirs, *lang, runtime_dir, *before, *opt_dirs]
        assert os.environ["PYTHONPATH"] == runtime_dir
