"""`--verify`: the new bundle started in the sandbox before it replaces the previous one;
a handler that fails to import fails the build.

A verification that passed is remembered in the cache by everything that decides its
outcome (`verification_key`), so an unchanged rebuild does not start the sandbox again:
that start is most of an unchanged rebuild's time (numpy + scipy: 1.6 s with verify,
0.6 s without, issue 10). A failure is never remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sysconfig
import threading
from pathlib import Path

from bundler import __version__
from bundler.build.executor import Verifier
from bundler.bundle import manifest, runtimes
from bundler.bundle.layer import runtime_entries
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError, SandboxError
from bundler.core.interpreters import Interpreter
from bundler.core.target import Target, host_arch

# Bump when what a verification proves changes.
_VERIFIED_VERSION = "verified-v1"


def choose_verifier(
    target: Target,
    requested: bool | None,
    interpreter: Interpreter | None,
    verifier: Verifier | None = None,
    cache: Cache | None = None,
) -> tuple[Verifier | None, str | None]:
    """The verifier to run (None: no verify) and, when verify was left to the build and it
    cannot, why not (a warning).

    Left to the build (`requested` None), it verifies when `interpreter`, a Python of the
    target's version, exists and the target architecture is this machine's. `verifier`
    replaces the sandbox's (tests). With a `cache`, a verification that passed before for
    the same key is not run again (`remembered`).
    """
    verify = requested
    warning = None
    if verify is None:
        verify = interpreter is not None and target.arch == host_arch()
        if not verify:
            why = (
                f"the target is {target.arch} and this machine {host_arch()}"
                if interpreter is not None
                else f"no Python {target.python} to run it"
            )
            warning = f"not verified in the sandbox: {why}"
    if not verify:
        return None, warning
    chosen = verifier or sandbox_verifier(interpreter, target=target)
    if cache is None or interpreter is None:  # without one, the sandbox picks its own
        return chosen, warning
    return remembered(chosen, cache, interpreter), warning


def remembered(verifier: Verifier, cache: Cache, interpreter: Interpreter) -> Verifier:
    """`verifier`, run only for a bundle whose `verification_key` has not passed before."""

    def verify(bundle_dir: Path) -> None:
        key = verification_key(bundle_dir, interpreter)
        if cache.dir("verified", key) is not None:
            return
        verifier(bundle_dir)

        def record(tmp: Path) -> None:
            (tmp / manifest.MANIFEST_NAME).write_bytes(
                (bundle_dir / manifest.MANIFEST_NAME).read_bytes()
            )

        cache.put_dir("verified", key, record)

    return verify


def verification_key(bundle_dir: Path, interpreter: Interpreter) -> str:
    """What decides whether a bundle starts in the sandbox: its manifest (every artifact's
    sha256 and sizes, the handler, the target, the environment, sys.path), the
    interpreter mounted at /var/lang (path and version), lambundle's runtime (its files),
    AWS's client the managed runtime is emulated with, the sandbox's own version, and
    whether bubblewrap isolates it."""
    parts: list[str | bytes] = [
        _VERIFIED_VERSION,
        __version__,
        hashlib.sha256((bundle_dir / manifest.MANIFEST_NAME).read_bytes()).hexdigest(),
        str(interpreter.path),
        interpreter.version,
        # AWS's client and SDK the managed runtime is emulated with, read from bundle/ so
        # that an unchanged rebuild whose verification is remembered never imports the
        # sandbox (40 ms).
        runtimes.install_name("", ""),
        shutil.which("bwrap") or "-",
    ]
    for entry in runtime_entries():
        parts += [entry.arcname, hashlib.sha256(entry.read()).hexdigest()]
    return Cache.key(*parts)


def sandbox_verifier(
    interpreter: Interpreter | None = None,
    timeout_s: float = 60.0,
    target: Target | None = None,
) -> Verifier:
    """Start the bundle in the sandbox and invoke it once: an init error fails the build.

    An error the handler raises for the empty test event is not a failed build: the
    handler imported, which is what --verify proves. With the `target`, what the sandbox
    needs for it is prepared from now on, while the build goes on (`_prepare`).
    """
    prepared = _prepare(target, interpreter) if target is not None else None

    def verify(bundle_dir: Path) -> None:
        from bundler.sandbox import Sandbox

        if prepared is not None:
            prepared.join()

        try:
            with Sandbox(
                bundle_dir,
                timeout_s=timeout_s,
                interpreter=interpreter.path if interpreter else None,
            ) as sb:
                result = sb.invoke(b"{}")
        except BundlerError as exc:
            msg = f"--verify: the bundle did not start in the sandbox: {exc}"
            raise SandboxError(msg) from None
        if result.init_error:
            error = result.error or {}
            what = f"{error.get('errorType', '')}: {error.get('errorMessage', '')}".strip(": ")
            # The function's own output, without the platform's START/END/REPORT lines.
            lines = [
                line
                for line in result.logs.strip().splitlines()
                if not line.startswith(("START ", "END ", "REPORT ", "INIT_REPORT "))
                and "LAMBDA_WARNING" not in line
            ]
            logs = "\n".join(lines[-10:])
            msg = (
                f"--verify: the handler failed to initialise in the sandbox: {what}\n{logs}\n"
                "Nothing was written to the output. Fix the error, or pass --no-verify."
            )
            raise BundlerError(msg)

    return verify


def _managed_runtime_installed(target: Target) -> bool:
    """Whether bundler.sandbox.managed_runtime.runtime_dir has installed `target`'s already,
    by the entry and marker it uses (bundler.bundle.runtimes), without importing the
    sandbox: an unchanged rebuild would pay 80 ms for that import."""
    entry = runtimes.installs_root() / runtimes.install_name(target.python, target.arch)
    return (entry / runtimes.INSTALLED_MARKER).is_file()


def _prepare(target: Target, interpreter: Interpreter | None) -> threading.Thread | None:
    """Install AWS's client for the managed runtime the sandbox emulates, on a thread.

    On a cold cache that is an install from the index (0.5 s with uv, 1.9 s with pip here),
    which the sandbox would otherwise do when it starts; on this thread it overlaps
    resolving and downloading, which mostly wait on the network. Done once per cache;
    later builds find it installed at the cost of a stat, and the sandbox's import (40 ms)
    happens on the thread too.
    """
    if not target.managed or interpreter is None or target.arch != host_arch():
        return None
    if _managed_runtime_installed(target):
        return None

    def install() -> None:
        from bundler.sandbox import managed_runtime

        # A failure is not lost: the sandbox's own call installs again and reports it.
        with contextlib.suppress(BundlerError):
            managed_runtime.runtime_dir(target, compile_with=interpreter.path)

    # sysconfig fills its variables on first use, and before Python 3.12 another thread can
    # see them half-filled (uv's find_uv_bin then reads EXE as None and fails): filled
    # here, before the install and the resolver look for uv on two threads at once.
    sysconfig.get_config_vars()
    # Not a daemon: the install finishes (or fails) before the process exits, so it never
    # leaves its temporary directory behind in the cache.
    thread = threading.Thread(target=install, name="lambundle-prepare-sandbox")
    thread.start()
    return thread
