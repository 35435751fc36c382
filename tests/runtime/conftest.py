from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def make_task(tmp_path):
    """Write files into a fresh task root and return it."""

    def make(files: dict[str, str], name: str = "task") -> Path:
        root = tmp_path / name
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        root.mkdir(exist_ok=True)
        return root

    return make
