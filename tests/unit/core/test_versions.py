"""One version everywhere: the runtime cannot import bundler, so a test ties them."""

import re
from pathlib import Path

import bundler
from runtime import main as runtime_main

ROOT = Path(__file__).resolve().parents[3]


def test_runtime_bundler_and_distribution_agree_on_the_version():
    pyproject = (ROOT / "pyproject.toml").read_text()
    distribution = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert distribution is not None
    assert runtime_main.VERSION == bundler.__version__ == distribution[1]
