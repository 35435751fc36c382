"""The baseline of `lambundle compare`: a function shipped the way most users ship today.

Dependencies are `pip install --target`-ed (real pip, for the target's platform, binary
wheels only, `--no-compile`: no bytecode) next to the handler code in one function zip,
for AWS's managed `python3.X` runtime with no layer and no `AWS_LAMBDA_EXEC_WRAPPER`, so
the sandbox runs it on AWS's own client, awslambdaric. The requirements are the lock's
pins with `--require-hashes`, the same versions the strategies ship, so the comparison
measures the packaging and nothing else. A pin the lock says is built from its sdist (pure
Python, `bundler.sources.sdist_build`) is installed from the wheel lambundle built, as the
user's `pip install --target` would have built it here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from bundler.build.bytecode import Bytecode
from bundler.build.executor import check_out, execute
from bundler.build.files import code_entries
from bundler.bundle.archive import ZipEntry, entries_from_tree
from bundler.bundle.manifest import Manifest
from bundler.bundle.plan import Dist, Plan, PlannedArtifact
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, LockError, UsageError, output_tail
from bundler.core.progress import Report, quiet
from bundler.core.target import Target
from bundler.sources import sdist_build
from bundler.sources.lock import pin_lines
from bundler.sources.project import Project, load_project
from bundler.sources.wheels import platform_tags

STRATEGY = "baseline"
_CACHE_VERSION = "baseline-v1"


def pip_command(lock_file: Path, dest: Path, target: Target) -> list[str]:
    """`pip install --target` of a hash-pinned lock for the target platform, no bytecode."""
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-input", "--no-compile", "--no-deps", "--require-hashes",
        "--target", str(dest),
        "--python-version", target.python, "--implementation", "cp",
        "--abi", target.cp_tag, "--only-binary=:all:",
    ]  # fmt: skip
    for tag in platform_tags(target):
        cmd += ["--platform", tag]
    return [*cmd, "-r", str(lock_file)]


def _pip(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        msg = f"Could not run pip for the baseline ({exc}); is pip installed in this Python?"
        raise BundlerError(msg) from None
    if proc.returncode != 0:
        tail = output_tail(proc, 8)
        msg = (
            f"pip install --target of {what} failed for the baseline:\n{tail}\n"
            "The baseline installs the same lock as the strategies; check the network "
            "or compare without the baseline."
        )
        raise LockError(msg)


def install_site(
    project: Project, target: Target, *, cache: Cache, resolver: str, report: Report
) -> tuple[Path | None, str | None, tuple[tuple[str, str], ...]]:
    """(pip --target tree, lock sha256, pins) for the project; None without dependencies."""
    if not project.requirements and not project.local_wheels:
        return None, None, ()
    from bundler.sources.locking import lock_project

    lock = lock_project(project, target, resolver=resolver, cache=cache, report=report)
    built = lock.built_from_sdists
    from_index, from_sdists = [], []
    for pin in lock.pins:
        sdist = built.get(canonicalize_name(pin.name))
        if sdist is None:
            from_index.append(pin)
        else:
            # A pure-Python pin that publishes only an sdist: `pip install --target` of a
            # user's requirements builds it on this machine; pip cannot with --platform,
            # so the baseline takes the same pure wheel, built by lambundle (cached by the
            # sdist's sha256).
            from_sdists.append(
                sdist_build.wheel_from_sdist(pin, sdist[1], target, cache=cache, report=report)
            )
    wheels = sorted([*project.local_wheels, *from_sdists])
    key = Cache.key(
        _CACHE_VERSION, lock.sha256, target.python, target.arch, "{}.{}".format(*target.glibc),
        *(w.name for w in wheels),
    )  # fmt: skip
    entry = cache.dir("baseline-site", key)
    if entry is None:
        report("baseline: pip install --target (no bytecode)")

        def build(tmp: Path) -> None:
            site = tmp / "site"
            lock_file = tmp / "requirements.txt"
            lock_file.write_text(pin_lines(from_index), encoding="utf-8")
            if from_index:
                _pip(pip_command(lock_file, site, target), f"{len(from_index)} pinned package(s)")
            lock_file.unlink()
            if wheels:
                # The function's own wheel and those built from sdists are files here,
                # not hashed releases of the index; the rest of the lock is.
                cmd = pip_command(lock_file, site, target)
                cmd.remove("--require-hashes")
                cmd = cmd[: cmd.index("-r")] + [str(w) for w in wheels]
                _pip(cmd, ", ".join(w.name for w in wheels))
            site.mkdir(exist_ok=True)

        entry = cache.put_dir("baseline-site", key, build)
    return entry / "site", lock.sha256, tuple((p.name, p.version) for p in lock.pins)


def build_baseline(
    src: Path,
    out: Path,
    *,
    target: Target | None = None,
    handler: str | None = None,
    cache: Cache | None = None,
    resolver: str = "auto",
    report: Report = quiet,
) -> Manifest:
    """Write the baseline bundle (function.zip + bundle.json) of `src` into `out`."""
    target = target or Target()
    if not target.managed:
        msg = (
            f"The baseline runs on AWS's managed runtime; {target.runtime} has none. "
            f"Compare with --python {target.python} and its python{target.python} runtime."
        )
        raise UsageError(msg)
    out = out.absolute()
    check_out(out)
    cache = cache or Cache()
    project = load_project(src, handler, cache=cache, report=report, resolver=resolver)
    assert project.handler is not None  # load_project requires one
    site, lock_sha, pins = install_site(
        project, target, cache=cache, resolver=resolver, report=report
    )
    entries: list[ZipEntry] = list(code_entries(project))
    if site is not None:
        # pip --no-compile writes no pyc; drop any a wheel itself carried, as pip would
        # have compiled nothing either.
        entries += [e for e in entries_from_tree(site) if "__pycache__" not in e.arcname]
    # One function zip, no layer, no exec wrapper: AWS's runtime and client run it.
    plan = Plan(
        strategy=STRATEGY,
        target=Target(target.python, target.arch),
        handler=project.handler,
        artifacts=(PlannedArtifact("function", "function", "function.zip", tuple(entries)),),
        sys_path=(),
        lock_sha256=lock_sha,
        distributions=tuple(Dist(name, version) for name, version in pins),
    )
    bytecode = Bytecode("none", reason="baseline: pip install --target --no-compile")
    return execute(plan, out, cache=cache, bytecode=bytecode, report=report)
