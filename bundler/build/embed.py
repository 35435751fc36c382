"""`--embed-python`: a CPython installation carried in the fat layer, for provided.al2023.

OS-only runtimes have no Python; lambundle's bootstrap looks for one at
/opt/lambundle/python/bin/python3 first (runtime/layer/bootstrap, docs/layout.md). This
module turns an installation (the prefix of a given interpreter, or a prefix directory)
into layer entries under `lambundle/python/`, trimmed to what a function can use at run
time:

- the interpreter itself, as `bin/python3` (the only name the bootstrap runs);
- `lib/libpython3.X.so*` when the build is a shared one;
- the standard library, without its test suite, IDLE, tkinter, turtledemo, ensurepip,
  the `config-3.X-*` directory (static libpython, Makefile), the prefix's own
  site-packages (pip, setuptools: the function's dependencies come from the bundle), and
  every pyc the installation had: those are timestamp-checked, which never validate from
  a zip's fixed date on read-only /opt, so `bundler.build.bytecode` compiles unchecked-hash pyc
  for the in-Lambda paths instead;
- no headers, no `share/`, no other scripts; ELF files without debug sections when
  `strip` is installed.

Interpreters built with an absolute RUNPATH (pyenv's shared builds point at
`<prefix>/lib`) would look for libpython where the build machine had it; the RUNPATH of
each ELF file is rewritten in place to `$ORIGIN`-relative, which fits because the new
string is shorter than the prefix it replaces. The glibc versions the binaries require
are read from their symbol versions and compared with the target's ceiling.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from bundler.bundle.archive import ZipEntry
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import UsageError
from bundler.core.target import Target

# Relative to /opt: where the bootstrap looks for bin/python3.
EMBED_ROOT = "lambundle/python"
STRATEGY = "fat-layer"
RUNTIME = "provided.al2023"

# Standard-library directories a function never imports at run time.
_DROP_STDLIB_DIRS = frozenset(
    {"test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "ensurepip",
     "site-packages"}
)  # fmt: skip
# Extension modules that only exist for the test suite or need Tk.
_DROP_DYNLOAD = re.compile(r"^(_test|_tkinter|_ctypes_test|xxlimited|_xxtestfuzz|xxsubtype)")
_GLIBC = re.compile(rb"GLIBC_2\.(\d+)\x00")

_DT_STRTAB, _DT_RPATH, _DT_RUNPATH = 5, 15, 29
_PT_LOAD, _PT_DYNAMIC = 1, 2


@dataclasses.dataclass(frozen=True)
class EmbeddedPython:
    """The layer entries of an embedded interpreter (arcnames relative to /opt)."""

    prefix: Path
    version: str
    entries: tuple[ZipEntry, ...]
    glibc: tuple[int, int] | None  # the newest glibc its binaries need, if any
    patched: tuple[str, ...] = ()  # arcnames whose RUNPATH was made relative
    executable: Path | None = None  # the installation's interpreter, runnable here

    def to_json(self) -> dict[str, object]:
        return {
            "prefix": str(self.prefix),
            "version": self.version,
            "files": len(self.entries),
            "unzipped_size": self.size,
            "glibc": "{}.{}".format(*self.glibc) if self.glibc else None,
        }

    @property
    def size(self) -> int:
        return sum(len(e.data) if e.data is not None else _size(e) for e in self.entries)

    def glibc_warning(self, target: Target) -> str | None:
        """A warning when the binaries need a newer glibc than the target's Lambda has."""
        if self.glibc is None or self.glibc <= target.glibc:
            return None
        need = "{}.{}".format(*self.glibc)
        have = "{}.{}".format(*target.glibc)
        return (
            f"--embed-python {self.prefix}: its binaries need glibc {need}, but "
            f"{target.runtime} has {have}; it runs in the local sandbox but will not start "
            f"on AWS. Embed a CPython built for glibc {have} or older (on Amazon Linux 2023, "
            "or a python-build-standalone build)."
        )


def _size(entry: ZipEntry) -> int:
    assert entry.source is not None
    return entry.source.stat().st_size


def check_allowed(target: Target, strategy: str) -> None:
    """--embed-python is for provided.al2023 fat-layer bundles only; say why otherwise."""
    if strategy != STRATEGY:
        msg = (
            f"--embed-python puts the interpreter in the fat layer, but the strategy is "
            f"{strategy}; use --strategy {STRATEGY} --runtime {RUNTIME}, or drop --embed-python."
        )
        raise UsageError(msg)
    if target.runtime != RUNTIME:
        msg = (
            f"--embed-python is for the OS-only runtime {RUNTIME}; {target.runtime} already "
            f"has a Python. Pass --runtime {RUNTIME}, or drop --embed-python."
        )
        raise UsageError(msg)


def resolve(path: Path, minor: str) -> tuple[Path, str]:
    """(prefix, full version) of the installation at `path`, an interpreter or a prefix."""
    exe = path
    if path.is_dir():
        exe = next(
            (c for c in (path / "bin" / f"python{minor}", path / "bin" / "python3") if c.is_file()),
            path / "bin" / "python3",
        )
    found = interpreters.require(exe, minor, "--embed-python", " interpreter or its installation")
    prefix = found.prefix.resolve()
    if not (prefix / "lib" / f"python{minor}" / "os.py").is_file():
        msg = (
            f"--embed-python {path}: {prefix} has no lib/python{minor}/os.py, so it is not a "
            "standard CPython installation that can be moved; pass another one."
        )
        raise UsageError(msg)
    return prefix, found.version


def keep(rel: PurePosixPath, minor: str) -> bool:
    """Whether the file at `rel` (relative to the prefix) goes into the layer."""
    parts = rel.parts
    if not parts:
        return False
    if parts[0] == "bin":
        return False  # the interpreter is added on its own, as bin/python3
    if parts[0] != "lib":
        return False  # include/, share/ (headers, man pages)
    if len(parts) == 2:
        # libpython3.X.so.1.0 (not the unversioned dev symlink, nor the static .a)
        return parts[1].startswith(f"libpython{minor}.so.")
    if parts[1] != f"python{minor}":
        return False  # pkgconfig/, other versions' trees
    inner = parts[2:]
    if inner[0].startswith("config-"):
        return False
    if any(p in _DROP_STDLIB_DIRS for p in inner[:-1]) or "__pycache__" in inner:
        return False
    name = inner[-1]
    if name.endswith((".pyc", ".pyo", ".a", ".o")):
        return False
    return not (inner[0] == "lib-dynload" and _DROP_DYNLOAD.match(name))


def embed(path: Path, target: Target, cache: Cache | None = None) -> EmbeddedPython:
    """The trimmed installation of `path` as layer entries under `lambundle/python/`.

    With a `cache`, each processed (stripped, RUNPATH-rewritten) binary is kept by its
    path, size and mtime, so a rebuild runs no `strip` and hashes no binaries.
    """
    prefix, version = resolve(path, target.python)
    minor = target.python
    exe = next(
        (c for c in (prefix / "bin" / f"python{minor}", prefix / "bin" / "python3") if c.is_file()),
        None,
    )
    if exe is None:
        msg = f"--embed-python {path}: no bin/python{minor} in {prefix}; pass another installation."
        raise UsageError(msg)
    files: list[tuple[str, Path]] = [("bin/python3", exe.resolve())]
    for dirpath, dirnames, filenames in os.walk(prefix / "lib"):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            rel = PurePosixPath(full.relative_to(prefix).as_posix())
            if full.is_file() and keep(rel, minor):
                # Symlinks (libpython3.X.so.1.0 -> ...) ship as the file they point to.
                files.append((str(rel), full.resolve()))
    strip = shutil.which("strip")
    entries: list[ZipEntry] = []
    patched: list[str] = []
    newest: tuple[int, int] | None = None
    for rel_name, source in files:
        arcname = f"{EMBED_ROOT}/{rel_name}"
        executable = rel_name == "bin/python3" or bool(source.stat().st_mode & 0o111)
        if rel_name == "bin/python3" or rel_name.endswith(".so") or ".so." in rel_name:
            processed, need, was_patched = _binary(source, prefix, rel_name, strip, cache)
            if need is not None and (newest is None or need > newest):
                newest = need
            if was_patched:
                patched.append(arcname)
            if isinstance(processed, Path):
                entries.append(ZipEntry(arcname, source=processed, executable=executable))
            else:
                entries.append(ZipEntry(arcname, data=processed, executable=executable))
            continue
        entries.append(ZipEntry(arcname, source=source, executable=executable))
    return EmbeddedPython(prefix, version, tuple(entries), newest, tuple(patched), exe)


def _process(data: bytes, prefix: Path, rel: str, strip: str | None) -> tuple[bytes, bool]:
    stripped = strip_debug(data, strip)
    new = patch_runpath(stripped, str(prefix), PurePosixPath(rel))
    return (new if new is not None else stripped), new is not None


def _binary(
    source: Path, prefix: Path, rel: str, strip: str | None, cache: Cache | None
) -> tuple[bytes | Path, tuple[int, int] | None, bool]:
    """(processed bytes or a cached file of them, glibc needed, RUNPATH rewritten)."""
    if cache is None:
        data = source.read_bytes()
        processed, patched = _process(data, prefix, rel, strip)
        return processed, glibc_needed(data), patched
    st = source.stat()
    key = Cache.key(
        "embed-binary-v1", str(source), str(st.st_size), str(st.st_mtime_ns), str(prefix),
        rel, strip or "",
    )  # fmt: skip
    entry = cache.dir("embed", key)
    if entry is None:

        def build(tmp: Path) -> None:
            data = source.read_bytes()
            processed, patched = _process(data, prefix, rel, strip)
            (tmp / "file").write_bytes(processed)
            need = glibc_needed(data)
            meta = {"glibc": list(need) if need else None, "patched": patched}
            (tmp / "meta.json").write_text(json.dumps(meta))

        entry = cache.put_dir("embed", key, build)
    meta = json.loads((entry / "meta.json").read_text())
    need = (int(meta["glibc"][0]), int(meta["glibc"][1])) if meta["glibc"] else None
    return entry / "file", need, bool(meta["patched"])


def strip_debug(data: bytes, strip: str | None) -> bytes:
    """`data` without debug sections (`strip --strip-debug`), or unchanged without strip.

    Debug info is most of an unstripped build's size (pyenv's libpython3.12: 30 MB of
    which ~25 MB) and nothing in Lambda reads it; symbols stay, so tracebacks of crashes
    keep their function names.
    """
    if strip is None or data[:4] != b"\x7fELF":
        return data
    with tempfile.TemporaryDirectory(prefix="lambundle-strip-") as tmp:
        src, out = Path(tmp, "in"), Path(tmp, "out")
        src.write_bytes(data)
        proc = subprocess.run(
            [strip, "--strip-debug", "-o", str(out), str(src)],
            capture_output=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not out.is_file():
            return data  # an unusual file strip does not know: ship it as it is
        return out.read_bytes()


# -- ELF (pure) ---------------------------------------------------------------------------


def glibc_needed(data: bytes) -> tuple[int, int] | None:
    """The newest GLIBC_2.N symbol version an ELF file refers to, or None."""
    if data[:4] != b"\x7fELF":
        return None
    minors = [int(m) for m in _GLIBC.findall(data)]
    return (2, max(minors)) if minors else None


def patch_runpath(data: bytes, prefix: str, rel: PurePosixPath) -> bytes | None:
    """`data` with RPATH/RUNPATH entries under `prefix` made `$ORIGIN`-relative.

    None when there is nothing to change (not a 64-bit little-endian ELF, no RUNPATH, or
    no entry under `prefix`). The string is rewritten in place in the dynamic string
    table, NUL-padded, so no offsets move; a replacement longer than the original (a
    very short prefix) is left as it was.
    """
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        base = phoff + i * phentsize
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, base
        )
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return None
    strtab_addr = None
    paths: list[int] = []
    for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag, val = struct.unpack_from("<qQ", data, off)
        if tag == 0:
            break
        if tag == _DT_STRTAB:
            strtab_addr = val
        elif tag in (_DT_RPATH, _DT_RUNPATH):
            paths.append(val)
    if strtab_addr is None or not paths:
        return None
    strtab = next((o + strtab_addr - v for v, o, s in loads if v <= strtab_addr < v + s), None)
    if strtab is None:
        return None
    out = bytearray(data)
    # From the file's directory back up to the prefix: bin/python3 -> "$ORIGIN/..".
    up = "/".join([".."] * (len(rel.parts) - 1))
    origin = "$ORIGIN" + (f"/{up}" if up else "")
    changed = False
    for index in paths:
        start = strtab + index
        end = out.index(b"\x00", start)
        old = bytes(out[start:end]).decode("utf-8", "replace")
        parts = []
        for item in old.split(":"):
            if item == prefix or item.startswith(prefix.rstrip("/") + "/"):
                item = origin + item[len(prefix.rstrip("/")) :]
            parts.append(item)
        new = ":".join(parts).encode()
        if new == old.encode() or len(new) > end - start:
            continue
        out[start:end] = new + b"\x00" * (end - start - len(new))
        changed = True
    return bytes(out) if changed else None
