"""Options several commands share, declared once so a flag means the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

python_option = click.option(
    "--python", "python", default="3.12", show_default=True, help="Target CPython."
)
runtime_option = click.option(
    "--runtime", default="", help="python3.X (default) or provided.al2023."
)
handler_option = click.option(
    "--handler", help="module.function, script.py, module:function or an expression."
)
resolver_option = click.option(
    "--resolver",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "uv", "pip-tools"]),
    help="auto is uv when installed, else pip-tools.",
)


def sandbox_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that runs a bundle, so they mean the same everywhere."""
    for option in reversed([
        click.option("--env", "env_pairs", multiple=True, metavar="K=V",
                     help="Set a function environment variable (repeatable)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=3.0,
                     show_default=True, help="Function timeout in seconds."),
        click.option("--memory", type=click.IntRange(min=128, max=10240), default=128,
                     show_default=True,
                     help="Memory size in MB; an invoke that peaks above it fails as "
                     "Lambda's OOM kill."),
        click.option("--ephemeral-storage", "ephemeral_storage", default=512,
                     type=click.IntRange(min=512, max=10240), show_default=True, metavar="MB",
                     help="Size of /tmp in MB, as Lambda's ephemeral storage (512-10240); "
                     "a write past it fails with ENOSPC."),
        click.option("--interpreter", type=click.Path(path_type=Path), default=None,
                     help="The Python to mount at /var/lang "
                     "[default: found on PATH, pyenv or uv]."),
        click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap."),
    ]):  # fmt: skip
        command = option(command)
    return command


snapstart_option = click.option(
    "--snapstart", is_flag=True,
    help="Run cold starts as SnapStart does: init up to the runtime's before-snapshot hooks, "
    "then a restore with its after-restore hooks (no real snapshot is taken).",
)


def aws_compare_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`compare --aws` and the options only it uses."""
    for option in reversed([
        click.option("--aws", is_flag=True,
                     help="Measure on AWS Lambda (boto3, the AWS CLI's credentials): creates "
                     "one function per variant, invokes it, deletes it."),
        click.option("--role", help="--aws: ARN of the execution role the functions run as."),
        click.option("--region", help="--aws: AWS region [default: from the AWS configuration]."),
        click.option("--endpoint-url", help="--aws: another Lambda endpoint (LocalStack, moto)."),
        click.option("--memory", type=click.IntRange(128, 10240), default=None,
                     help="Memory size in MB [default: 1024]: on AWS, CPU scales with it; "
                     "locally, an invoke that peaks above it fails as an OOM kill."),
        click.option("--prefix", default=None,
                     help="--aws: prefix of function and layer names [default: lambundle-cmp-]."),
        click.option("--timeout", type=click.IntRange(1, 900), default=None, metavar="SECONDS",
                     help="--aws: the functions' timeout, 1-900 s (Lambda's range) [default: 30]."),
        click.option("--s3-bucket", help="--aws: upload zips over 50 MB through this bucket "
                     "(the uploads are deleted at the end, unless --keep)."),
        click.option("--keep", is_flag=True,
                     help="--aws: keep the functions, layers and S3 uploads instead of "
                     "deleting them."),
    ]):  # fmt: skip
        command = option(command)
    return command


TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")


def is_template(src: Path) -> bool:
    """A SAM or CloudFormation template rather than a function directory or script."""
    return src.suffix in TEMPLATE_SUFFIXES and not src.is_dir()


def refuse_for_template(
    ctx: click.Context, names: tuple[str, ...], *, template: bool = True, why: str = ""
) -> None:
    """Options given on the command line that mean nothing for this SRC: one usage error.

    A template's functions take their handler, runtime and architecture from the template
    (each function's Handler, Runtime, Architectures), so the one-function options would
    silently apply to none of them.
    """
    given = [
        name for name in names
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]  # fmt: skip
    if not given:
        return
    flags = ", ".join("--" + name.removesuffix("_file").replace("_", "-") for name in given)
    if not template:
        why = "only for a SAM template (SRC ending in .yaml, .yml or .json)."
    elif not why:
        why = (
            "a template's functions take Handler, Runtime and Architectures from the "
            "template; set them there (per function, or in Globals)."
        )
    raise click.UsageError(f"{flags}: {why}", ctx)
