"""The bundles `lambundle bundle SRC` writes into SRC/.lambundle/ are never committed: the
examples', a script's (beside it) and the real functions' of the integration suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
@pytest.mark.parametrize(
    "path",
    [
        "examples/hello/.lambundle/fat-layer/function.zip",
        "examples/app/.lambundle/template-pinned/template.yaml",
        "examples/.lambundle/pep723-script-vendored/bundle.json",
        "tests/integration/real_functions/jwt-signing/.lambundle/pinned/layer-2-deps.zip",
    ],
)
def test_bundle_outputs_are_ignored(path: str) -> None:
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", "--quiet", path], cwd=ROOT, check=False
    )
    assert checked.returncode == 0, f"{path} is not ignored by .gitignore"


def test_the_repository_holds_no_bundle_output() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()  # fmt: skip
    assert not [f for f in files if ".lambundle/" in f]
