"""The one writer of bundles: a plan's archives and manifest, written into a temporary
directory beside the output, checked against Lambda's limits, verified, and only then put
in the output's place. A failure, Ctrl-C, SIGTERM or SIGHUP at any point leaves the
previous bundle as it was; two builds of one output take turns (a lock beside it).

Each archive is cached by its entries, and each large member by its content
(`CachedMembers`), so an unchanged rebuild only copies cached zips.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.build.bytecode import Bytecode
from bundler.build.keys import entries_key
from bundler.bundle import distributions, limits, manifest
from bundler.bundle.archive import ZipEntry, write_zip
from bundler.bundle.manifest import Manifest
from bundler.bundle.plan import Dist, Plan, entry_size
from bundler.core import filelock, interrupts
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, UsageError
from bundler.core.progress import Report, quiet

# A verifier starts the bundle directory and raises if the handler does not import.
Verifier = Callable[[Path], None]


# -- checks -------------------------------------------------------------------------------


def unzipped_size(entries: Sequence[ZipEntry]) -> int:
    """Bytes the entries take once extracted; a later entry of the same name wins."""
    by_name = {e.arcname: e for e in entries}
    return sum(entry_size(e) for e in by_name.values())


def check_plan(plan: Plan) -> None:
    """Lambda's unzipped-size and layer-count limits, before anything is written."""
    found = limits.checks(
        unzipped_size(plan.function.entries),
        [unzipped_size(layer.entries) for layer in plan.layers],
    )
    limits.enforce(found, distribution_sizes(plan))


def distribution_sizes(plan: Plan) -> Iterator[tuple[str, str, int]]:
    """(name, version, bytes) of each distribution as the plan ships it, the pyc the build
    compiled for it included (by its RECORD, as `inspect` counts); lazily, since only a
    limit error lists them. A distribution without a RECORD keeps its installed size."""
    found: dict[str, tuple[str, str, int]] = {}
    for artifact in plan.artifacts:
        by_name = {e.arcname: e for e in artifact.entries}
        files = [(name, entry_size(e)) for name, e in by_name.items()]
        for (name, version), size in distributions.sizes(files, _reader(by_name)).items():
            key: str = canonicalize_name(name)
            before = found[key][2] if key in found else 0
            found[key] = (name, version, before + size)
    installed: dict[str, Dist] = {canonicalize_name(d.name): d for d in plan.distributions}
    for key, (name, version, size) in found.items():
        yield (installed[key].name if key in installed else name), version, size
    for key, d in installed.items():
        if key not in found:
            yield d.name, d.version, d.size


def check_out(out: Path) -> None:
    """Refuse an --out that is a file, unwritable, or a directory that is not a bundle."""
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is a file, not a directory; pass a directory path."
        raise UsageError(msg)
    if out.is_dir() and any(out.iterdir()) and not (out / manifest.MANIFEST_NAME).is_file():
        msg = (
            f"--out {out} is a non-empty directory without {manifest.MANIFEST_NAME}; "
            "refusing to replace what is not a lambundle bundle. Pass an empty or new directory."
        )
        raise UsageError(msg)
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        msg = f"--out {out}: {parent} is not writable; pass a directory you can write to."
        raise UsageError(msg)


def _reader(entries: dict[str, ZipEntry]) -> Callable[[str], bytes]:
    return lambda name: entries[name].read()


# -- the executor -------------------------------------------------------------------------


def execute(
    plan: Plan,
    out: Path,
    *,
    cache: Cache,
    bytecode: Bytecode,
    verifier: Verifier | None = None,
    report: Report = quiet,
) -> Manifest:
    """Write the plan's archives and manifest, verify, and replace `out` with the result.

    One build at a time writes `out`: another waits for it (and says so), then replaces
    its result with its own."""
    with replacing(out, "the bundle", report) as tmp:
        result = _write(plan, tmp, cache, bytecode, report)
        if verifier is not None:
            report("verifying: starting the bundle in the sandbox")
            verifier(tmp)
    return result


@contextlib.contextmanager
def replacing(out: Path, what: str, report: Report = quiet) -> Iterator[Path]:
    """A temporary directory beside `out` that replaces it when the block ends without error.

    One build of `out` at a time (a lock beside it; another waits, and says so); the
    temporary directory is made, and the final renames done, safe from Ctrl-C, SIGTERM
    and SIGHUP; on any failure the temporary directory goes and `out` stays as it was."""
    fix = "pass another --out"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"Cannot create the output directory next to {out} ({exc}); {fix}."
        raise UsageError(msg) from None

    def waiting() -> None:
        report(f"waiting for another lambundle to finish writing {out}")

    with filelock.exclusive(lock_path(out), waiting, fix=fix):
        _recover(out, report)
        tmp: Path | None = None
        try:
            with interrupts.deferred():  # made and noted for clean-up together
                tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
            yield tmp
            with interrupts.deferred():  # the renames happen all or not at all
                replace_output(tmp, out)
        except OSError as exc:
            if tmp is None:
                msg = f"Cannot create the output directory next to {out} ({exc}); {fix}."
                raise UsageError(msg) from None
            shutil.rmtree(tmp, ignore_errors=True)
            msg = f"Writing {what} next to {out} failed ({exc}); the previous output is unchanged."
            raise BundlerError(msg) from exc
        except BaseException:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            raise


def _recover(out: Path, report: Report) -> None:
    """Undo what a build of `out` killed outright (SIGKILL, the OOM killer) left beside
    it; called holding `out`'s lock, so no other build is writing there. Killed between
    the two renames of `replace_output`, it left the previous output as `.<name>.old-*`
    and no `out`: that is put back. Every other `.<name>.tmp-*`, `.old-*` or `.del-*`
    (the previous output, half deleted after the new one was in place) goes."""
    old_prefix = f".{out.name}.old-"
    if not out.exists():
        olds = filelock.leftovers(out.parent, old_prefix)
        if olds:
            previous = max(olds, key=lambda p: p.stat().st_mtime_ns)
            with interrupts.deferred():
                previous.rename(out)
            report(f"put back {out}, which a killed build had moved aside")
    for prefix in (f".{out.name}.tmp-", old_prefix, f".{out.name}.del-"):
        for path in filelock.clear_leftovers(out.parent, prefix):
            report(f"removed {path.name}, left by a killed build")


def lock_path(out: Path) -> Path:
    """The lock file that one build of `out` at a time holds: `.<name>.lock` beside it."""
    return out.parent / f".{out.name}.lock"


def _write(plan: Plan, tmp: Path, cache: Cache, bytecode: Bytecode, report: Report) -> Manifest:
    """The plan's archives and manifest in `tmp`, the zipped function checked on the way."""
    described = []
    for artifact in plan.artifacts:
        report(f"writing {artifact.file}")
        _write_cached(artifact.entries, tmp / artifact.file, cache)
        described.append(
            manifest.describe_artifact(
                artifact.name, tmp / artifact.file, unzipped_size(artifact.entries)
            )
        )
    function = described[0] if plan.artifacts[0].kind == "function" else None
    assert function is not None, "the function comes first in every plan"
    limits.enforce(
        limits.checks(
            function.unzipped_size,
            [a.unzipped_size for a in described[1:]],
            function_zipped=function.size,
        ),
        distribution_sizes(plan),
    )
    result = Manifest(
        strategy=plan.strategy,
        target=plan.target,
        handler=plan.handler,
        function=function,
        layers=tuple(described[1:]),
        sys_path=plan.sys_path,
        environment=dict(plan.environment),
        lock_sha256=plan.lock_sha256,
        distributions=tuple((d.name, d.version) for d in plan.distributions),
        bytecode=bytecode.to_json(),
    )
    manifest.write(tmp, result)
    return result


def _write_cached(entries: Sequence[ZipEntry], dest: Path, cache: Cache) -> None:
    key = entries_key(entries, cache, "zip")
    entry = cache.dir("zip", key)
    if entry is None:
        members = CachedMembers(cache)
        entry = cache.put_dir(
            "zip", key, lambda tmp: write_zip(tmp / "archive.zip", entries, members)
        )
    shutil.copyfile(entry / "archive.zip", dest)


class CachedMembers:
    """`archive.MemberStore` in lambundle's cache: each large member deflated once, for
    every strategy's zip and every rebuild that ships it again."""

    KIND = "deflated"

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def get(self, key: str) -> bytes | None:
        entry = self.cache.dir(self.KIND, key)
        if entry is None:
            return None
        try:
            return (entry / "member").read_bytes()
        except OSError:
            return None

    def put(self, key: str, deflated: bytes) -> None:
        def write(tmp: Path) -> None:
            (tmp / "member").write_bytes(deflated)

        self.cache.remove(self.KIND, key)  # a damaged one is replaced, not kept
        self.cache.put_dir(self.KIND, key, write)


def replace_output(new: Path, out: Path) -> None:
    """Move `new` to `out`; the previous `out` survives until the new one is in place."""
    old = None
    if out.exists():
        # rename(2) may replace an empty directory: a fresh unique name, never a stale one.
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        # Renamed first, so that an `.old-*` is only ever the previous output between
        # the two renames (`_recover` puts it back), never one half deleted.
        doomed = old.with_name(f".{out.name}.del-" + old.name.removeprefix(f".{out.name}.old-"))
        old.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)
