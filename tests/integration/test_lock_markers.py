"""pip-tools on this host, a different target: top-level markers follow the target."""

import sys
from pathlib import Path

import pytest

from bundler.cache import Cache
from bundler.lock import lock_project
from bundler.project import load_project
from bundler.target import Target

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
        assert any("evaluates environment markers for this host" in m for m in messages)
