"""`--verify`: the new bundle started in the sandbox before it replaces the previous one;
a handler that fails to import fails the build.
"""

from __future__ import annotations

from pathlib import Path

from bundler.build.executor import Verifier
from bundler.core.errors import BundlerError, SandboxError
from bundler.core.interpreters import Interpreter
from bundler.core.target import Target, host_arch


def choose_verifier(
    target: Target,
    requested: bool | None,
    interpreter: Interpreter | None,
    verifier: Verifier | None = None,
) -> tuple[Verifier | None, str | None]:
    """The verifier to run (None: no verify) and, when verify was left to the build and it
    cannot, why not (a warning).

    Left to the build (`requested` None), it verifies when `interpreter`, a Python of the
    target's version, exists and the target architecture is this machine's. `verifier`
    replaces the sandbox's (tests).
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
    return verifier or sandbox_verifier(interpreter), warning


def sandbox_verifier(interpreter: Interpreter | None = None, timeout_s: float = 60.0) -> Verifier:
    """Start the bundle in the sandbox and invoke it once: an init error fails the build.

    An error the handler raises for the empty test event is not a failed build: the
    handler imported, which is what --verify proves.
    """

    def verify(bundle_dir: Path) -> None:
        from bundler.sandbox import Sandbox

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
