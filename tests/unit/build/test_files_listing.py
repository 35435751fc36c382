"""An installed tree's listing stands in for walking it, and gives the same entries."""

from __future__ import annotations

import os
from pathlib import Path

from bundler.build import files
from bundler.bundle.archive import entries_from_tree


def tree(tmp_path: Path) -> Path:
    site = tmp_path / "entry" / "site"
    (site / "pkg" / "sub").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("")
    (site / "pkg" / "sub" / "m.py").write_text("x = 1\n")
    (site / "pkg" / "tool").write_text("#!/bin/sh\n")
    os.chmod(site / "pkg" / "tool", 0o755)
    (site / "top.py").write_text("")
    return site


def test_the_listing_gives_what_a_walk_gives(tmp_path: Path) -> None:
    site = tree(tmp_path)
    files.write_listing(site)
    (site / "pkg" / "added_after.py").write_text("")  # not in the listing: it was not walked
    listed = files.site_entries(site)
    walked = [e for e in entries_from_tree(site) if e.arcname != "pkg/added_after.py"]
    assert listed == walked
    assert any(e.executable for e in listed)


def test_without_a_readable_listing_the_tree_is_walked(tmp_path: Path) -> None:
    site = tree(tmp_path)
    assert files.site_entries(site) == entries_from_tree(site)
    (site.parent / files.LISTING).write_text("{not json")
    assert files.site_entries(site) == entries_from_tree(site)
