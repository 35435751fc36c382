"""The commands of `lambundle`: each parses its options, calls one function of a
subsystem, and renders the result (bundler.cli.render).

The subsystems are imported inside the commands, so that `lambundle --help` and every
command pay only for what they use.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bundler import __version__
from bundler.cli import render
from bundler.cli.options import (
    aws_compare_options,
    handler_option,
    is_template,
    python_option,
    refuse_for_template,
    resolver_option,
    runtime_option,
    sandbox_options,
    snapstart_option,
)
from bundler.core.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from bundler.app.local import LocalFunction


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lambundle")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Package Python functions for AWS Lambda, run them locally, compare cold starts."""
    ctx.obj = {"debug": debug}


@cli.command("bundle")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--strategy",
    required=True,
    type=click.Choice(["fat-layer", "vendored", "pinned"]),
    help="How dependencies ship: in one fat layer, vendored in the function, or pinned in /opt.",
)
@handler_option
@python_option
@click.option("--arch", default="x86_64", show_default=True, help="x86_64 or arm64.")
@runtime_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Bundle directory [default: SRC/.lambundle/STRATEGY].",
)
@click.option("--no-bytecode", is_flag=True, help="Ship without precompiled .pyc.")
@click.option("--slim", is_flag=True, help="Leave out dependencies' tests and type stubs.")
@click.option(
    "--verify/--no-verify",
    default=None,
    help="Start the bundle in the sandbox [default: when the target can run here].",
)
@click.option(
    "--interpreter",
    type=click.Path(path_type=Path),
    help="A CPython of the target version, to compile and verify with.",
)
@resolver_option
@click.option(
    "--docker",
    is_flag=True,
    help="Build sdists without a wheel for the target, and compile bytecode, in Lambda's "
    "build image (needs Docker).",
)
@click.option(
    "--embed-python",
    type=click.Path(path_type=Path),
    help="provided.al2023 fat layer: ship this CPython (an interpreter or its prefix) "
    "as /opt/lambundle/python.",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), default=None,
    help="A template: functions built at once [default: the machine's cores].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def bundle_command(
    ctx: click.Context,
    src: Path,
    strategy: str,
    handler: str | None,
    python: str,
    arch: str,
    runtime: str,
    out: Path | None,
    no_bytecode: bool,
    slim: bool,
    verify: bool | None,
    interpreter: Path | None,
    resolver: str,
    docker: bool,
    embed_python: Path | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Bundle SRC (a function directory, a .py script, or a SAM template) for Lambda.

    A template (.yaml, .yml, .json) builds every Python function in it and writes a
    deployable template beside the artifacts.
    """
    from bundler.build.pipeline import BuildOptions, bundle
    from bundler.core.target import Target

    if is_template(src):
        from bundler.app.builder import AppOptions, build_application

        refuse_for_template(ctx, ("handler", "python", "arch", "runtime", "embed_python"))
        app = build_application(
            AppOptions(
                template=src, strategy=strategy, out=out, bytecode=not no_bytecode, slim=slim,
                verify=verify, interpreter=interpreter, resolver=resolver, docker=docker,
                jobs=jobs or 0,
            ),
            report=render.progress,
        )  # fmt: skip
        render.warn(app.warnings)
        click.echo(render.as_json(app.to_json()) if as_json else render.application(app))
        return
    refuse_for_template(ctx, ("jobs",), template=False)

    options = BuildOptions(
        src=src,
        strategy=strategy,
        target=Target(python, arch, runtime),
        out=out,
        handler=handler,
        bytecode=not no_bytecode,
        slim=slim,
        verify=verify,
        interpreter=interpreter,
        resolver=resolver,
        docker=docker,
        embed_python=embed_python,
    )
    result = bundle(options, report=render.progress)
    render.warn(result.warnings)
    click.echo(render.as_json(result.to_json()) if as_json else render.built(result))


@cli.command("inspect")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def inspect_command(ctx: click.Context, bundle_dir: Path, as_json: bool) -> None:
    """Show BUNDLE's manifest, sizes against Lambda's limits, largest distributions.

    Exits with 3 when Lambda would refuse it (over 250 MB unzipped, or over 5 layers); a
    zip over 50 MB is uploaded through S3.
    """
    from bundler.bundle.inspect import inspect
    from bundler.core.errors import EXIT_LIMITS

    bundle_dir = _bundle(bundle_dir)
    found = inspect(bundle_dir)
    if as_json:
        click.echo(render.as_json(found.to_json()))
    else:
        click.echo(render.inspection(bundle_dir, found))
        render.warn(found.upload_warnings)
    if not found.ok:
        ctx.exit(EXIT_LIMITS)


@cli.command("lock")
@click.argument("src", type=click.Path(path_type=Path))
@python_option
@click.option("--arch", default="x86_64", show_default=True, help="x86_64 or arm64.")
@runtime_option
@resolver_option
@click.option("--refresh", is_flag=True, help="Resolve again instead of reusing the cached lock.")
@click.option(
    "--docker",
    is_flag=True,
    help="Allow sdists where the target has no wheel (for bundle --docker), hash-pinned; "
    "resolved in Lambda's build image, as reading an sdist's metadata runs its code.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the lock to this file instead of standard output.",
)
@click.option("--json", "as_json", is_flag=True, help="Print pins and the lock as JSON.")
def lock_command(
    src: Path,
    python: str,
    arch: str,
    runtime: str,
    resolver: str,
    refresh: bool,
    docker: bool,
    output: Path | None,
    as_json: bool,
) -> None:
    """Write a hash-pinned lock of SRC's requirements for the target (not this host)."""
    from bundler.core.cache import Cache
    from bundler.core.target import Target
    from bundler.sources.locking import lock_project
    from bundler.sources.project import load_project

    target = Target(python, arch, runtime)
    cache = Cache(report=render.progress)
    project = load_project(
        src, require_handler=False, cache=cache, report=render.progress, resolver=resolver
    )
    image = None
    if docker:  # sdists allowed: their metadata is read (built) in Lambda's image only
        from bundler.build import docker as dk

        runner = dk.SubprocessDockerRunner()
        dk.ensure_image(runner, target, dk.BUILD_CONTEXT)
        image = dk.ImageResolver(runner, target)
    found = lock_project(
        project,
        target,
        resolver=resolver,
        cache=cache,
        refresh=refresh,
        report=render.progress,
        image=image,
    )
    if output is not None:
        render.write_lock(found, output)
    if as_json:
        click.echo(render.lock_json(found))
    elif output is None:
        click.echo(found.text, nl=False)


@cli.command("invoke")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.argument("function_id", metavar="[FUNCTION_ID]", required=False)
@click.option("--event", type=click.File("rb"), default=None,
              help="File holding the event, or - for standard input [default: {}].")
@click.option("--content-type", default="application/json", show_default=True,
              help="Content type of the event.")
@sandbox_options
@snapstart_option
@click.option("--json", "as_json", is_flag=True,
              help="Print the payload and the logs (as the function wrote them) as JSON.")
@click.pass_context
def invoke_command(
    ctx: click.Context, bundle_dir: Path, function_id: str | None, event: Any,
    content_type: str, env_pairs: tuple[str, ...], timeout: float, memory: int,
    ephemeral_storage: int, interpreter: Path | None, no_sandbox: bool, snapstart: bool,
    as_json: bool,
) -> None:
    """Invoke BUNDLE once in the local sandbox: payload to stdout, logs to stderr.

    BUNDLE may also be a function directory or script with one bundle in .lambundle/, or a
    SAM template with the FUNCTION_ID of one of its built functions, run with the
    template's environment, memory, timeout and ephemeral storage (as `sam local invoke`).
    """
    from bundler.sandbox import Sandbox

    payload = event.read() if event is not None else b"{}"
    run = _local_run(ctx, bundle_dir, function_id, env_pairs, timeout, memory,
                     ephemeral_storage)
    with Sandbox(
        run.bundle_dir, env=run.environment, timeout_s=run.timeout_s, memory_mb=run.memory_mb,
        isolate=False if no_sandbox else None, interpreter=interpreter, snapstart=snapstart,
        function_name=run.logical_id, ephemeral_storage_mb=run.ephemeral_storage_mb,
    ) as sb:
        render.warn(sb.warnings)
        result = sb.invoke(payload, content_type)
    if as_json:
        click.echo(render.invoked(result))
    else:
        click.echo(render.logs(result.logs), err=True, nl=False)
        click.echo(render.payload(result.payload), nl=False)
    if result.function_error:
        sys.exit(EXIT_FAILURE)


def _bundle(path: Path) -> Path:
    """The bundle PATH names (bundler.bundle.manifest.find), said when it is another."""
    from bundler.bundle.manifest import find

    found = find(path)
    if found != path:
        render.progress(f"using the bundle {found}")
    return found


@cli.command("serve")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.argument("function_id", metavar="[FUNCTION_ID]", required=False)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=9000, show_default=True,
              help="Port on 127.0.0.1 for the invoke endpoint.")
@sandbox_options
@snapstart_option
@click.pass_context
def serve_command(
    ctx: click.Context, bundle_dir: Path, function_id: str | None, port: int,
    env_pairs: tuple[str, ...], timeout: float, memory: int, ephemeral_storage: int,
    interpreter: Path | None, no_sandbox: bool, snapstart: bool,
) -> None:
    """Serve BUNDLE on the Runtime Interface Emulator's invoke endpoint until Ctrl-C.

    BUNDLE may also be a SAM template with the FUNCTION_ID of one of its built functions.
    """
    from bundler.sandbox import InvokeEndpoint, Sandbox

    run = _local_run(ctx, bundle_dir, function_id, env_pairs, timeout, memory,
                     ephemeral_storage)
    with Sandbox(
        run.bundle_dir, env=run.environment, timeout_s=run.timeout_s, memory_mb=run.memory_mb,
        isolate=False if no_sandbox else None, interpreter=interpreter, snapstart=snapstart,
        function_name=run.logical_id, ephemeral_storage_mb=run.ephemeral_storage_mb,
    ) as sb:
        render.warn(sb.warnings)
        endpoint = InvokeEndpoint(
            sb, port, on_result=lambda r: click.echo(render.logs(r.logs), err=True, nl=False)
        )
        click.echo(f"lambundle: serving {run.bundle_dir} on {endpoint.url} (Ctrl-C stops)",
                   err=True)
        click.echo(f"  try: curl -XPOST {endpoint.url} -d '{{}}'", err=True)
        try:
            endpoint.serve_forever()
        except KeyboardInterrupt:
            click.echo("lambundle: stopped", err=True)


def _local_run(
    ctx: click.Context, bundle_dir: Path, function_id: str | None, env_pairs: tuple[str, ...],
    timeout: float, memory: int, ephemeral_storage: int,
) -> LocalFunction:
    """The bundle to run and its settings: a bundle directory as given, or a template's
    function with the template's settings, the command line's winning where given."""
    from bundler.app.local import LocalFunction, local_function
    from bundler.sandbox import parse_env

    env = parse_env(env_pairs)
    if not is_template(bundle_dir):
        if function_id is not None:
            msg = f"FUNCTION_ID {function_id} is for a SAM template; {bundle_dir} is a bundle."
            raise click.UsageError(msg, ctx)
        return LocalFunction("function", _bundle(bundle_dir), env, memory, timeout,
                             ephemeral_storage)
    if function_id is None:
        msg = f"{bundle_dir} is a template: name the function, e.g. `{bundle_dir} MyFunction`."
        raise click.UsageError(msg, ctx)
    found = local_function(bundle_dir, function_id, env)
    render.warn(found.warnings)
    given = {
        name for name in ("timeout", "memory", "ephemeral_storage")
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }  # fmt: skip
    return dataclasses.replace(
        found,
        timeout_s=timeout if "timeout" in given else found.timeout_s,
        memory_mb=memory if "memory" in given else found.memory_mb,
        ephemeral_storage_mb=(
            ephemeral_storage if "ephemeral_storage" in given else found.ephemeral_storage_mb
        ),
    )


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@cli.command("compare")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--strategies", default="fat-layer,vendored,pinned", show_default=True,
              help="Comma-separated strategies to measure.")
@click.option("--variants", default="", metavar="V,...",
              help="Extra variants: STRATEGY[/no-pyc][/slim][@3.X], e.g. fat-layer/no-pyc.")
@click.option("--pythons", default="", metavar="3.X,...",
              help="Also measure every strategy and the baseline on these Pythons.")
@click.option("--no-baseline", is_flag=True, help="Leave out the pip --target baseline.")
@click.option("--cold", type=click.IntRange(min=1), default=10, show_default=True,
              help="Cold starts per variant.")
@click.option("--warm", type=click.IntRange(min=0), default=30, show_default=True,
              help="Warm invokes per variant.")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report with every raw sample to this file.")
@click.option("--plot", "plot_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the cold-start picture (.svg, or .png with rsvg-convert).")
@python_option
@click.option("--arch", default="",
              help="x86_64 or arm64 [default: this machine's; x86_64 with --aws].")
@handler_option
@resolver_option
@click.option("--event", type=click.File("rb"), default=None,
              help="File holding the event to invoke with [default: {}].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the built bundles here [default: a temporary directory].")
@click.option("--layout-dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Where each sandbox extracts the bundle "
              "[default: /dev/shm when it has room, else the temp dir].")
@click.option("--no-importtime", is_flag=True, help="Skip the per-import breakdown.")
@click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap.")
@aws_compare_options
@click.pass_context
def compare_command(
    ctx: click.Context, /, src: Path, strategies: str, variants: str, pythons: str,
    no_baseline: bool, cold: int, warm: int, json_file: Path | None, plot_file: Path | None,
    python: str, arch: str, handler: str | None, resolver: str, event: Any, out: Path | None,
    layout_dir: Path | None, no_importtime: bool, no_sandbox: bool, **aws_args: Any,
) -> None:
    """Measure SRC's cold starts in every strategy against a pip --target baseline.

    With --aws, on AWS Lambda itself: one function per variant, cold starts forced by a
    configuration change, Init Duration and Duration read from the REPORT log line.

    SRC may be a SAM template: every Python function is compared, then the application
    in total (bytes to upload, one cold start of every function).
    """
    from bundler.aws.compare import aws_options, compare_on_aws
    from bundler.measure import compare as comparing
    from bundler.measure.runner import DEFAULT_MEMORY_MB

    if is_template(src):
        from bundler.app.compare import compare_application, render_total

        refuse_for_template(ctx, ("handler", "python", "arch", "pythons"))
        refuse_for_template(
            ctx, ("plot_file", "aws", "role", "region", "endpoint_url", "prefix", "timeout",
                  "s3_bucket", "keep"),
            why="not for a template yet; compare one function's directory with them.",
        )  # fmt: skip
        if json_file is not None:
            comparing.check_writable(json_file, "--json")
        found = compare_application(
            src, strategies=_csv(strategies), extra=_csv(variants), baseline=not no_baseline,
            cold=cold, warm=warm, resolver=resolver, importtime=not no_importtime, out=out,
            event=event.read() if event is not None else b"{}",
            isolate=False if no_sandbox else None, layout_dir=layout_dir,
            memory_mb=aws_args["memory"], report=render.progress,
        )  # fmt: skip
        for logical_id, result in found["functions"].items():
            click.echo(f"{logical_id}:\n{render.compared(result)}\n")
        click.echo(render_total(found["total"]))
        if json_file is not None:
            render.write_report(found, json_file)
            click.echo(f"lambundle: wrote {json_file}", err=True)
        return

    aws = aws_options(aws_args, layout_dir=layout_dir, no_sandbox=no_sandbox)
    if aws is not None:
        arch = arch or "x86_64"  # Lambda's default, not this machine's
    options = comparing.compare_options(
        src, strategies=_csv(strategies), extra=_csv(variants), python=python,
        pythons=_csv(pythons), baseline=not no_baseline, arch=arch, plot=plot_file,
        json_file=json_file, cold=cold, warm=warm, handler=handler, resolver=resolver,
        importtime=not no_importtime,
    )  # fmt: skip
    payload = event.read() if event is not None else b"{}"
    try:
        if aws is not None:
            result = compare_on_aws(options, aws, out=out, event=payload, report=render.progress)
        else:
            result = comparing.compare(
                options, out=out, event=payload, isolate=False if no_sandbox else None,
                layout_dir=layout_dir, memory_mb=aws_args["memory"] or DEFAULT_MEMORY_MB,
                report=render.progress,
            )  # fmt: skip
    except comparing.NothingMeasured as exc:
        if json_file is not None:
            render.write_report(exc.report, json_file)
        raise
    click.echo(render.compared(result))
    render.write_compared(result, json_file, plot_file)


@cli.command("publish")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--function-name", required=True, help="The Lambda function to create or update.")
@click.option("--role", required=True, help="ARN of the execution role Lambda assumes.")
@click.option("--region", help="AWS region [default: from the AWS configuration].")
@click.option("--endpoint-url", help="Another Lambda endpoint (LocalStack, moto).")
@click.option(
    "--layer-prefix", default="lambundle-", show_default=True, help="Prefix of layer names."
)
@click.option("--memory", default=256, show_default=True, type=click.IntRange(128, 10240),
              help="MemorySize in MB.")
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(1, 900),
              help="Timeout in seconds.")
@click.option("--s3-bucket", help="Upload zips over 50 MB through this bucket.")
@click.option("--env", "env_pairs", multiple=True, metavar="K=V",
              help="Set a function environment variable (repeatable); variables already "
              "on the function are kept.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def publish_command(
    bundle_dir: Path,
    function_name: str,
    role: str,
    region: str | None,
    endpoint_url: str | None,
    layer_prefix: str,
    memory: int,
    timeout: int,
    s3_bucket: str | None,
    env_pairs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Publish BUNDLE's layers and create or update its function on AWS Lambda (boto3)."""
    from bundler.aws.publish import PublishOptions, publish
    from bundler.sandbox import parse_env

    options = PublishOptions(
        function_name=function_name,
        role=role,
        region=region,
        endpoint_url=endpoint_url,
        layer_prefix=layer_prefix,
        memory=memory,
        timeout=timeout,
        s3_bucket=s3_bucket,
        environment=tuple(parse_env(env_pairs).items()),
    )
    result = publish(bundle_dir, options, report=render.progress)
    click.echo(render.as_json(result.to_json()) if as_json else render.published(result))


@cli.command("template")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--function-name", help="FunctionName of the function [default: SAM's].")
@click.option(
    "--layer-prefix", default="lambundle-", show_default=True, help="Prefix of layer names."
)
@click.option(
    "-o", "--output", "out", type=click.Path(path_type=Path),
    help="Write here (JSON if it ends in .json) [default: YAML on stdout, paths relative "
    "to the current directory].",
)
def template_command(
    bundle_dir: Path, function_name: str | None, layer_prefix: str, out: Path | None
) -> None:
    """Write a SAM template that deploys BUNDLE (its layers and its function)."""
    from bundler.aws import template

    if out is None:
        found = template.build(
            bundle_dir, relative_to=Path.cwd(), function_name=function_name,
            layer_prefix=layer_prefix,
        )
        click.echo(template.render(found), nl=False)
        return
    template.write(bundle_dir, out, function_name=function_name, layer_prefix=layer_prefix)
    click.echo(f"lambundle: wrote {out}", err=True)

