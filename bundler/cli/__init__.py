"""The `lambundle` command line: parse, call one core function, render.

Errors from the library arrive as `BundlerError`s; `main` turns them into one message and
the exit code the error carries. Anything else is a bug: one line that says so and how to
report it. A traceback is shown only with `--debug`. Ctrl-C, SIGTERM and SIGHUP clean up
and exit with 128 + the signal's number (bundler.core.interrupts).

The commands are in `commands`, the options several of them share in `options`, and what
they print and write in `render`.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from bundler.cli.commands import cli
from bundler.core.errors import EXIT_INTERNAL, BundlerError, exit_code_for_signal
from bundler.core.interrupts import Terminated, as_exceptions

__all__ = ["cli", "main"]

# Where a bug is reported; the traceback that `--debug` prints is what helps.
REPORT_TO = "run the command again with --debug and report the traceback it prints"


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        with as_exceptions():
            return cli.main(args=argv, prog_name="lambundle", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C: click turns KeyboardInterrupt into Abort
        click.echo("Aborted.", err=True)
        sys.exit(exit_code_for_signal(signal.SIGINT))
    except Terminated as exc:
        click.echo(f"Stopped: {exc}.", err=True)
        sys.exit(exit_code_for_signal(exc.signum))
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BundlerError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        click.echo(f"Error: unexpected {what}. This is a bug in lambundle; please {REPORT_TO}.",
                   err=True)
        sys.exit(EXIT_INTERNAL)
