"""The exception tree of the bundler and the exit codes the CLI maps it to.

The library never prints and never exits: it raises one of these, and `bundler.cli`
turns it into one message and an exit code. Every message says what went wrong, which
file or package, and what to do about it.
"""

from __future__ import annotations

import subprocess

# Exit codes, defined once. 2 is click's usage-error code; keep bad input on it too.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_LIMITS = 3
EXIT_SANDBOX = 4
# A bug in lambundle, not the user's input: sysexits.h's EX_SOFTWARE.
EXIT_INTERNAL = 70


def exit_code_for_signal(signum: int) -> int:
    """What a shell reports for a command a signal stopped: 128 + its number (130 for
    Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), so `$?` and CI tell a cancel from a failure."""
    return 128 + signum


class BundlerError(Exception):
    """A failure the user can act on; `str()` is the whole message."""

    exit_code = EXIT_FAILURE


class UsageError(BundlerError):
    """Bad input on the command line or in the project: a wrong value, a missing file."""

    exit_code = EXIT_USAGE


class ProjectError(UsageError):
    """The function source (directory, script, pyproject) cannot be used as given."""


class TemplateError(UsageError):
    """A SAM or CloudFormation template cannot be read or built as given."""


class BundleError(UsageError):
    """A bundle directory is missing files or its manifest is malformed."""


class LockError(BundlerError):
    """Resolution failed: unresolvable versions, no wheel for the target, a resolver crash."""


class WheelError(BundlerError):
    """A wheel is unsafe, corrupt, or fails its hash check."""


class LimitError(BundlerError):
    """The artifacts exceed one of Lambda's size or count limits."""

    exit_code = EXIT_LIMITS


class PublishError(BundlerError):
    """AWS refused or failed a step of `lambundle publish` (credentials, role, quota)."""


class SandboxError(BundlerError):
    """The local sandbox could not start or run the function."""

    exit_code = EXIT_SANDBOX


class ThrottledError(SandboxError):
    """Every runtime worker stayed busy: Lambda's TooManyRequestsException (HTTP 429)."""


class RequestTooLargeError(SandboxError):
    """The event is over Lambda's synchronous payload limit: RequestTooLargeException (413)."""

    exit_code = EXIT_USAGE


def output_tail(proc: subprocess.CompletedProcess[str], lines: int) -> str:
    """The last `lines` lines a failed tool printed (stderr, else stdout), for a message."""
    return "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-lines:])
