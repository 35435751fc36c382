import stat
import zipfile

import pytest

from bundler.bundle import archive
from bundler.bundle.archive import ZipEntry, entries_from_tree, extract_zip, write_zip
from bundler.core.errors import BundleError, WheelError


def test_zips_are_byte_identical_whatever_the_order_and_mtimes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root, order in ((a, ["x.py", "pkg/y.py"]), (b, ["pkg/y.py", "x.py"])):
        for name in order:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(name)
    (b / "x.py").touch()  # a different mtime must not matter
    write_zip(tmp_path / "a.zip", entries_from_tree(a))
    write_zip(tmp_path / "b.zip", reversed(entries_from_tree(b)))
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.namelist() == ["pkg/y.py", "x.py"]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())


def test_executables_keep_0755_and_survive_extraction(tmp_path):
    write_zip(
        tmp_path / "l.zip",
        [ZipEntry("bootstrap", data=b"#!/bin/sh\n", executable=True), ZipEntry("a.txt", data=b"a")],
    )
    with zipfile.ZipFile(tmp_path / "l.zip") as zf:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert modes == {"bootstrap": 0o755, "a.txt": 0o644}
    size = extract_zip(tmp_path / "l.zip", tmp_path / "out")
    assert size == len(b"#!/bin/sh\n") + 1
    assert (tmp_path / "out/bootstrap").stat().st_mode & stat.S_IXUSR
    assert not (tmp_path / "out/a.txt").stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize("name", ["/etc/passwd", "../evil.py", "a/../../b", "a\\b"])
def test_writer_refuses_unsafe_names(tmp_path, name):
    with pytest.raises(WheelError, match="Refusing archive member"):
        write_zip(tmp_path / "x.zip", [ZipEntry(name, data=b"")])


@pytest.mark.parametrize("name", ["/abs.py", "../up.py"])
def test_extractor_refuses_unsafe_members_before_writing_anything(tmp_path, name):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("ok.py", "x")
        zf.writestr(zipfile.ZipInfo(name), "x")
    with pytest.raises(WheelError):
        extract_zip(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_extractor_refuses_symlinks(tmp_path):
    bad = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(WheelError, match="symlink"):
        extract_zip(bad, tmp_path / "out")


def test_extracting_a_non_zip_names_the_file(tmp_path):
    junk = tmp_path / "function.zip"
    junk.write_text("not a zip")
    with pytest.raises(BundleError, match="function.zip is not a readable zip"):
        extract_zip(junk, tmp_path / "out")


def test_extractor_reads_stored_deflated_and_empty_members_across_threads(tmp_path):
    archive = tmp_path / "mixed.zip"
    expected = {f"pkg{i % 7}/m{i}.py": (b"x = %d\n" % i) * (i % 50) for i in range(300)}
    expected["bin/tool"] = bytes(range(256)) * 4096  # one member larger than the rest
    with zipfile.ZipFile(archive, "w") as zf:
        for i, (name, data) in enumerate(sorted(expected.items())):
            zf.writestr(name, data, zipfile.ZIP_STORED if i % 2 else zipfile.ZIP_DEFLATED)
        zf.writestr("empty/", b"")
    size = extract_zip(archive, tmp_path / "out")
    assert size == sum(len(d) for d in expected.values())
    assert {name: (tmp_path / "out" / name).read_bytes() for name in expected} == expected
    assert (tmp_path / "out/empty").is_dir()


def test_extractor_names_a_damaged_member(tmp_path):
    archive = tmp_path / "layer.zip"
    write_zip(archive, [ZipEntry("a.py", data=b"print('hello')\n" * 100)])
    data = bytearray(archive.read_bytes())
    data[40] ^= 0xFF  # inside a.py's compressed bytes (30-byte header + 4-byte name)
    archive.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"layer.zip is damaged: 'a.py'.*rebuild it"):
        extract_zip(archive, tmp_path / "out")


def test_a_later_archive_replaces_files_and_does_not_write_through_links(tmp_path):
    out, outside = tmp_path / "opt", tmp_path / "outside.txt"
    outside.write_text("keep")
    out.mkdir()
    (out / "a.txt").write_text("old and longer")
    (out / "b.txt").symlink_to(outside)
    write_zip(tmp_path / "l.zip", [ZipEntry("a.txt", data=b"new")])
    extract_zip(tmp_path / "l.zip", out)
    assert (out / "a.txt").read_text() == "new"
    write_zip(tmp_path / "m.zip", [ZipEntry("b.txt", data=b"evil")])
    with pytest.raises(BundleError, match="Cannot extract .*m.zip"):
        extract_zip(tmp_path / "m.zip", out)
    assert outside.read_text() == "keep"


def test_tree_entries_in_walk_order_executables_kept_symlinks_left_out(tmp_path):
    root = tmp_path / "tree"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "z.py").write_text("")
    (root / "a" / "run.sh").write_text("#!/bin/sh\n")
    (root / "a" / "run.sh").chmod(0o755)
    (root / "b" / "deep" / "m.py").write_text("")
    (root / "b" / "c.txt").write_text("")
    (root / "link.py").symlink_to(root / "z.py")
    (root / "linked-dir").symlink_to(root / "b", target_is_directory=True)
    entries = entries_from_tree(root, "opt/")
    assert [(e.arcname, e.executable) for e in entries] == [
        ("opt/z.py", False),  # a directory's files first, then its directories, sorted
        ("opt/a/run.sh", True),
        ("opt/b/c.txt", False),
        ("opt/b/deep/m.py", False),
    ]
    assert entries[0].source == root / "z.py"


def zeros_zip(path, members: int, size: int):
    """A small zip that unpacks to `members` files of `size` zero bytes each."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(members):
            zf.writestr(f"z{i}.bin", bytes(size))
    return path


def test_extractor_refuses_a_zip_larger_than_the_manifest_says_before_writing(tmp_path):
    bomb = zeros_zip(tmp_path / "function.zip", 4, 1 << 20)
    with pytest.raises(BundleError, match=r"more than the 1,000 bytes its bundle.json records"):
        extract_zip(bomb, tmp_path / "out", max_bytes=1000)
    assert not (tmp_path / "out").exists()


def test_extractor_counts_what_it_writes_whatever_the_headers_say(tmp_path, monkeypatch):
    # Headers that lie about the sizes pass the declared-size check; the bytes written
    # are still counted, and writing stops before the limit is passed.
    monkeypatch.setattr(archive, "check_members", lambda *args: None)
    bomb = zeros_zip(tmp_path / "function.zip", 200, 64 << 10)
    limit = 10 * (64 << 10) + 1
    with pytest.raises(BundleError, match="more than the 655,361 bytes"):
        extract_zip(bomb, tmp_path / "out", max_bytes=limit)
    written = sum(p.stat().st_size for p in (tmp_path / "out").iterdir())
    assert 0 < written <= limit


def test_extractor_at_exactly_the_manifest_size(tmp_path):
    exact = zeros_zip(tmp_path / "function.zip", 3, 1000)
    assert extract_zip(exact, tmp_path / "out", max_bytes=3000) == 3000


@pytest.mark.parametrize("name", ["a\x00b.py", ""])
def test_names_with_nul_or_empty_are_refused(tmp_path, name):
    with pytest.raises(WheelError, match="Refusing archive member"):
        archive.check_member_name(name)


def test_a_member_that_is_a_file_and_a_directory_is_one_clear_error(tmp_path):
    bad = tmp_path / "function.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("a", "file")
        zf.writestr("a/b.py", "x")
    with pytest.raises(BundleError, match="Cannot extract .*function.zip"):
        extract_zip(bad, tmp_path / "out")


def test_write_file_replaces_a_hard_link_instead_of_writing_into_it(tmp_path):
    # Installed trees are hard links into the cache: writing into the link would change
    # the cached file for every other build that links it.
    cached = tmp_path / "cached.py"
    cached.write_bytes(b"CACHED = 1\n")
    cached.chmod(0o644)
    linked = tmp_path / "linked.py"
    linked.hardlink_to(cached)
    archive.write_file(linked, b"OWN = 2\n", executable=True)
    assert cached.read_bytes() == b"CACHED = 1\n"
    assert stat.S_IMODE(cached.stat().st_mode) == 0o644
    assert cached.stat().st_nlink == 1
    assert linked.read_bytes() == b"OWN = 2\n"
    assert stat.S_IMODE(linked.stat().st_mode) == 0o755

