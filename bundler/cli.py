"""The `lambundle` command line: parse, call one core function, render.

Errors from the library arrive as `BundlerError`s; `main` turns them into one message and
the exit code the error carries. A traceback is shown only with `--debug`.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from bundler import __version__
from bundler.errors import EXIT_FAILURE, BundlerError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lambundle")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Package Python functions for AWS Lambda, run them locally, compare cold starts."""
    ctx.obj = {"debug": debug}


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
