"""The `lambundle` command line: parse, call one core function, render.

Errors from the library arrive as `BundlerError`s; `main` turns them into one message and
the exit code the error carries. A traceback is shown only with `--debug`.

The commands are in `commands`, the options several of them share in `options`, and what
they print and write in `render`.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from bundler.cli.commands import cli
from bundler.core.errors import EXIT_FAILURE, BundlerError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="lambundle", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BundlerError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
