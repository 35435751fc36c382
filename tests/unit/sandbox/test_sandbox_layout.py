"""Where the sandbox lays out bundles: memory-backed /dev/shm when it has room."""

from pathlib import Path

from bundler.sandbox import layout


def test_shm_is_used_when_it_has_room(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "_SHM", tmp_path)
    assert layout.layout_root(1000) == str(tmp_path)


def test_a_bundle_too_large_for_shm_goes_to_the_temp_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "_SHM", tmp_path)
    free = __import__("shutil").disk_usage(tmp_path).free
    assert layout.layout_root(free) is None


def test_no_shm_means_the_temp_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(layout, "_SHM", Path(tmp_path, "missing"))
    assert layout.layout_root(0) is None
