"""pip-tools on this host, a different target: markers follow the target."""

import sys
from pathlib import Path

import pytest

from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.target import Target
from bundler.sources.locking import lock_project
from bundler.sources.project import load_project

pytestmark = pytest.mark.network


@pytest.mark.parametrize("resolver", ["pip-tools", "uv"])
def test_markers_for_an_older_python_on_arm64(tmp_path: Path, resolver: str) -> None:
    host = f"{sys.version_info[0]}.{sys.version_info[1]}"
    target = Target("3.10" if host != "3.10" else "3.11", "arm64")
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text(
        f'tomli; python_version == "{target.python}"\n'
        'idna; platform_machine == "aarch64"\n'
        'six; platform_machine == "x86_64"\n'
    )
    messages: list[str] = []
    lock = lock_project(
        load_project(src), target, resolver=resolver, cache=Cache(tmp_path / "c"),
        report=messages.append,
    )  # fmt: skip
    assert {p.name for p in lock.pins} == {"tomli", "idna"}
    if resolver == "pip-tools":
        # Machine markers of dependencies still follow this host under pip-tools.
        assert any("decides the environment markers of dependencies" in m for m in messages)


def test_pip_tools_decides_dependencies_markers_for_the_target_python(tmp_path: Path) -> None:
    # anyio 4.4.0 needs exceptiongroup only below Python 3.11: a marker on a dependency,
    # which pip-compile decides for the interpreter that runs it.
    host = f"{sys.version_info[0]}.{sys.version_info[1]}"
    older, newer = "3.10", "3.12"
    if host in (older, newer) or None in (interpreters.find(older), interpreters.find(newer)):
        pytest.skip(f"needs Python {older} and {newer} interpreters other than this host's")
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "requirements.txt").write_text("anyio==4.4.0\n")
    cache = Cache(tmp_path / "c")
    messages: list[str] = []
    names = {}
    for python in (older, newer):
        lock = lock_project(
            load_project(src), Target(python, "x86_64"), resolver="pip-tools", cache=cache,
            report=messages.append,
        )  # fmt: skip
        names[python] = {p.name for p in lock.pins}
    assert "exceptiongroup" in names[older] and "exceptiongroup" not in names[newer]
    assert not any("Note: pip-tools" in m for m in messages)  # nothing left to the host
