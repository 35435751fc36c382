"""A VCS or URL requirement is refused before any resolver runs: nothing is fetched, no
`setup.py` runs on this machine, with uv or pip-tools, whatever the requirement source."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bundler.cli import main
from bundler.sources.resolver import find_uv

pytestmark = pytest.mark.network

SETUP_PY = """\
from pathlib import Path
from setuptools import setup
Path({marker!r}).write_text("setup.py ran on the build machine")
setup(name="pkg", version="1.0", py_modules=["pkg"])
"""


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """A local git repository whose setup.py leaves a marker file when it runs."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "setup.py").write_text(SETUP_PY.format(marker=str(marker)))
    (repo / "pkg.py").write_text("X = 1\n")
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env = {**who, "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "x"]):
        subprocess.run(command, cwd=repo, env=env, check=True)
    return repo, marker


def lock(src: Path, resolver: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(["lock", str(src), "--resolver", resolver])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def function(root: Path, requirements: str) -> Path:
    root.mkdir()
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "requirements.txt").write_text(requirements)
    return root


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("resolver", ["pip-tools", "uv"])
@pytest.mark.parametrize(
    "line", ["pkg @ git+file://{repo}", "git+file://{repo}#egg=pkg", "-e git+file://{repo}#egg=pkg"]
)
def test_a_git_requirement_runs_nothing(
    tmp_path: Path, repo: tuple[Path, Path], resolver: str, line: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path, marker = repo
    src = function(tmp_path / "fn", "idna\n" + line.format(repo=path) + "\n")
    code, err = lock(src, resolver, capsys)
    assert code == 2, err
    assert "requirements.txt:2" in err and "direct reference to a git repository" in err
    assert "Publish pkg to an index" in err or "Publish the package to an index" in err
    assert not marker.exists()


def test_the_marker_would_be_written_if_a_resolver_saw_it(
    tmp_path: Path, repo: tuple[Path, Path]
) -> None:
    # The control: what pip-compile does with the same line when nobody refuses it.
    path, marker = repo
    work = tmp_path / "w"
    work.mkdir()
    (work / "requirements.in").write_text(f"pkg @ git+file://{path}\n")
    compile_exe = Path(sys.executable).with_name("pip-compile")
    subprocess.run(
        [str(compile_exe), "requirements.in", "--quiet", "--no-header"], cwd=work,
        capture_output=True, check=False,
    )  # fmt: skip
    assert marker.exists()


class _Wheels(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Wheels)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Wheels.hits = 0
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.mark.parametrize("resolver", ["pip-tools", "uv"])
def test_a_url_wheel_is_not_even_fetched(
    tmp_path: Path, server: str, resolver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if resolver == "uv" and find_uv() is None:
        pytest.skip("needs uv")
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\n'
        f'dependencies = ["pkg @ {server}/pkg-1.0-py3-none-any.whl"]\n'
    )
    code, err = lock(src, resolver, capsys)
    assert code == 2, err
    assert "direct reference to a URL" in err and "not pinned to one version" not in err
    assert _Wheels.hits == 0
