"""The `lambundle` command line: parse, call one core function, render.

Errors from the library arrive as `BundlerError`s; `main` turns them into one message and
the exit code the error carries. A traceback is shown only with `--debug`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bundler import __version__
from bundler.core.errors import EXIT_FAILURE, BundlerError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lambundle")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Package Python functions for AWS Lambda, run them locally, compare cold starts."""
    ctx.obj = {"debug": debug}


def _progress(message: str) -> None:
    """Progress of long steps, on stderr so that stdout stays the command's result."""
    click.echo(f"lambundle: {message}", err=True)


# Options several commands share, declared once so a flag means the same everywhere.
_python_option = click.option(
    "--python", "python", default="3.12", show_default=True, help="Target CPython."
)
_runtime_option = click.option(
    "--runtime", default="", help="python3.X (default) or provided.al2023."
)
_handler_option = click.option(
    "--handler", help="module.function, script.py, module:function or an expression."
)
_resolver_option = click.option(
    "--resolver",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "uv", "pip-tools"]),
    help="auto is uv when installed, else pip-tools.",
)


@cli.command("bundle")
@click.argument("src", type=click.Path(path_type=Path))
@click.option(
    "--strategy",
    required=True,
    type=click.Choice(["fat-layer", "vendored", "pinned"]),
    help="How dependencies ship: in one fat layer, vendored in the function, or pinned in /opt.",
)
@_handler_option
@_python_option
@click.option("--arch", default="x86_64", show_default=True, help="x86_64 or arm64.")
@_runtime_option
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
@_resolver_option
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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def bundle_command(
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
    as_json: bool,
) -> None:
    """Bundle SRC (a function directory or a .py script) for Lambda."""
    from bundler.build.pipeline import BuildOptions, bundle
    from bundler.core.target import Target

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
    result = bundle(options, report=_progress)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    m = result.manifest
    click.echo(f"{m.strategy} bundle for {m.target.runtime} ({m.target.arch}) in {result.out}")
    for art in (m.function, *m.layers):
        click.echo(f"  {art.file:<24} {art.size:>12,} zipped {art.unzipped_size:>13,} unzipped")
    click.echo(f"  handler {m.handler}; bytecode: {m.bytecode.get('mode')}")
    if result.embedded is not None:
        click.echo(
            f"  embedded Python {result.embedded.version} from {result.embedded.prefix} "
            f"({result.embedded.size:,} bytes) at /opt/lambundle/python"
        )
    for key, value in m.environment.items():
        click.echo(f"  set {key}={value}")
    if result.verified:
        click.echo("  verified: the handler imports in the sandbox")


@cli.command("inspect")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def inspect_command(ctx: click.Context, bundle_dir: Path, as_json: bool) -> None:
    """Show BUNDLE's manifest, sizes against Lambda's limits, largest distributions.

    Exits with 3 when a limit is exceeded.
    """
    from bundler.bundle.inspect import inspect
    from bundler.core.errors import EXIT_LIMITS

    found = inspect(bundle_dir)
    if as_json:
        click.echo(json.dumps(found.to_json(), indent=2))
    else:
        m = found.manifest
        click.echo(f"{bundle_dir}: {m.strategy}, handler {m.handler}")
        click.echo(
            f"  target {m.target.runtime} {m.target.arch} (Python {m.target.python}, "
            f"glibc {m.target.glibc[0]}.{m.target.glibc[1]}); bytecode {m.bytecode.get('mode')}"
        )
        click.echo("artifacts:")
        for art in (m.function, *m.layers):
            click.echo(f"  {art.file:<24} {art.size:>12,} zipped {art.unzipped_size:>13,} unzipped")
        click.echo("limits:")
        for check in found.checks:
            state = "ok  " if check.ok else "OVER"
            click.echo(f"  {state} {check.name}: {check.value:,} of {check.limit:,}")
        if found.largest:
            click.echo("largest distributions:")
            for dist in found.largest:
                click.echo(f"  {dist.size:>13,}  {dist.name} {dist.version} ({dist.artifact})")
        click.echo("sys.path added by the loader, in order:")
        for entry in found.loader_sys_path:
            click.echo(f"  {entry}")
        for key, value in m.environment.items():
            click.echo(f"environment: {key}={value}")
        for lock in found.locks:
            click.echo(f"hash-pinned lock: {lock} (sha256 {m.lock_sha256})")
        for warning in found.layer_upload_warnings:
            click.echo(f"Warning: {warning}", err=True)
    if not all(c.ok for c in found.checks):
        ctx.exit(EXIT_LIMITS)


@cli.command("lock")
@click.argument("src", type=click.Path(path_type=Path))
@_python_option
@click.option("--arch", default="x86_64", show_default=True, help="x86_64 or arm64.")
@_runtime_option
@_resolver_option
@click.option("--refresh", is_flag=True, help="Resolve again instead of reusing the cached lock.")
@click.option(
    "--docker",
    is_flag=True,
    help="Allow sdists where the target has no wheel (for bundle --docker), hash-pinned.",
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
    cache = Cache()
    project = load_project(src, require_handler=False, cache=cache, report=_progress)
    found = lock_project(
        project,
        target,
        resolver=resolver,
        cache=cache,
        refresh=refresh,
        report=_progress,
        allow_sdist=docker,
    )
    if output is not None:
        from bundler.core.errors import UsageError

        tmp = output.with_name(output.name + ".part")
        try:
            tmp.write_text(found.text, encoding="utf-8")
            tmp.replace(output)
        except OSError as exc:
            msg = f"Cannot write the lock to {output} ({exc.strerror}); choose another --output."
            raise UsageError(msg) from None
        click.echo(f"lambundle: wrote {len(found.pins)} pin(s) to {output}", err=True)
    if as_json:
        pins = [
            {"name": p.name, "version": p.version, "hashes": list(p.hashes)} for p in found.pins
        ]
        click.echo(json.dumps({"sha256": found.sha256, "pins": pins, "text": found.text}, indent=2))
    elif output is None:
        click.echo(found.text, nl=False)


def _sandbox_options(command: Callable[..., Any]) -> Callable[..., Any]:
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
        click.option("--interpreter", type=click.Path(path_type=Path), default=None,
                     help="The Python to mount at /var/lang "
                     "[default: found on PATH, pyenv or uv]."),
        click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap."),
    ]):  # fmt: skip
        command = option(command)
    return command


_snapstart_option = click.option(
    "--snapstart", is_flag=True,
    help="Run cold starts as SnapStart does: init up to the runtime's before-snapshot hooks, "
    "then a restore with its after-restore hooks (no real snapshot is taken).",
)


@cli.command("invoke")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--event", type=click.File("rb"), default=None,
              help="File holding the event, or - for standard input [default: {}].")
@click.option("--content-type", default="application/json", show_default=True,
              help="Content type of the event.")
@_sandbox_options
@_snapstart_option
def invoke_command(
    bundle_dir: Path, event: Any, content_type: str, env_pairs: tuple[str, ...],
    timeout: float, memory: int, interpreter: Path | None, no_sandbox: bool, snapstart: bool,
) -> None:
    """Invoke BUNDLE once in the local sandbox: payload to stdout, logs to stderr."""
    from bundler.sandbox.sandbox import Sandbox, parse_env

    payload = event.read() if event is not None else b"{}"
    with Sandbox(
        bundle_dir, env=parse_env(env_pairs), timeout_s=timeout, memory_mb=memory,
        isolate=False if no_sandbox else None, interpreter=interpreter, snapstart=snapstart,
    ) as sb:
        for warning in sb.warnings:
            click.echo(f"Warning: {warning}", err=True)
        result = sb.invoke(payload, content_type)
    click.echo(result.logs, err=True, nl=False)
    click.echo(result.payload, nl=False)
    if sys.stdout.isatty():
        click.echo()
    if result.function_error:
        sys.exit(EXIT_FAILURE)


@cli.command("serve")
@click.argument("bundle_dir", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(min=0, max=65535), default=9000, show_default=True,
              help="Port on 127.0.0.1 for the invoke endpoint.")
@_sandbox_options
@_snapstart_option
def serve_command(
    bundle_dir: Path, port: int, env_pairs: tuple[str, ...], timeout: float, memory: int,
    interpreter: Path | None, no_sandbox: bool, snapstart: bool,
) -> None:
    """Serve BUNDLE on the Runtime Interface Emulator's invoke endpoint until Ctrl-C."""
    from bundler.sandbox.endpoint import InvokeEndpoint
    from bundler.sandbox.sandbox import Sandbox, parse_env

    with Sandbox(
        bundle_dir, env=parse_env(env_pairs), timeout_s=timeout, memory_mb=memory,
        isolate=False if no_sandbox else None, interpreter=interpreter, snapstart=snapstart,
    ) as sb:
        for warning in sb.warnings:
            click.echo(f"Warning: {warning}", err=True)
        endpoint = InvokeEndpoint(
            sb, port, on_result=lambda r: click.echo(r.logs, err=True, nl=False)
        )
        click.echo(f"lambundle: serving {bundle_dir} on {endpoint.url} (Ctrl-C stops)", err=True)
        click.echo(f"  try: curl -XPOST {endpoint.url} -d '{{}}'", err=True)
        try:
            endpoint.serve_forever()
        except KeyboardInterrupt:
            click.echo("lambundle: stopped", err=True)


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _aws_compare_options(command: Callable[..., Any]) -> Callable[..., Any]:
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


def _aws_compare(args: dict[str, Any], *, layout_dir: Path | None, no_sandbox: bool) -> Any:
    """The AwsOptions of `compare --aws`, None without --aws; refuses options that clash."""
    from bundler.core.errors import UsageError

    given = [
        f"--{k.replace('_', '-')}" for k, v in args.items() if k not in ("aws", "memory") and v
    ]
    if not args["aws"]:
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} only {verb} with --aws.")
        return None
    if layout_dir is not None or no_sandbox:
        flag = "--layout-dir" if layout_dir is not None else "--no-sandbox"
        raise UsageError(f"{flag} is about the local sandbox; --aws measures on AWS Lambda.")
    from bundler.aws.compare import DEFAULT_MEMORY, DEFAULT_PREFIX, DEFAULT_TIMEOUT, AwsOptions

    return AwsOptions(
        role=args["role"] or "", region=args["region"], endpoint_url=args["endpoint_url"],
        memory=args["memory"] or DEFAULT_MEMORY, prefix=args["prefix"] or DEFAULT_PREFIX,
        s3_bucket=args["s3_bucket"], keep=args["keep"],
        timeout=args["timeout"] or DEFAULT_TIMEOUT,
    )  # fmt: skip


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
@_python_option
@click.option("--arch", default="",
              help="x86_64 or arm64 [default: this machine's; x86_64 with --aws].")
@_handler_option
@_resolver_option
@click.option("--event", type=click.File("rb"), default=None,
              help="File holding the event to invoke with [default: {}].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the built bundles here [default: a temporary directory].")
@click.option("--layout-dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Where each sandbox extracts the bundle "
              "[default: /dev/shm when it has room, else the temp dir].")
@click.option("--no-importtime", is_flag=True, help="Skip the per-import breakdown.")
@click.option("--no-sandbox", is_flag=True, help="Run without bubblewrap.")
@_aws_compare_options
def compare_command(
    src: Path, strategies: str, variants: str, pythons: str, no_baseline: bool, cold: int,
    warm: int, json_file: Path | None, plot_file: Path | None, python: str, arch: str,
    handler: str | None, resolver: str, event: Any, out: Path | None, layout_dir: Path | None,
    no_importtime: bool, no_sandbox: bool, **aws_args: Any,
) -> None:
    """Measure SRC's cold starts in every strategy against a pip --target baseline.

    With --aws, on AWS Lambda itself: one function per variant, cold starts forced by a
    configuration change, Init Duration and Duration read from the REPORT log line.
    """
    from bundler.core.target import host_arch
    from bundler.measure import compare as comparing
    from bundler.measure.plot import check_plot_path, write_plot
    from bundler.measure.report import dumps, render_footer, render_importtime, render_table
    from bundler.measure.runner import DEFAULT_MEMORY_MB
    from bundler.measure.variants import plan_variants

    aws = _aws_compare(aws_args, layout_dir=layout_dir, no_sandbox=no_sandbox)
    if aws is not None:
        arch = arch or "x86_64"  # Lambda's default, not this machine's
    if plot_file is not None:
        check_plot_path(plot_file)
    planned = plan_variants(
        _csv(strategies), _csv(variants), python=python, pythons=_csv(pythons),
        baseline=not no_baseline,
    )
    options = comparing.CompareOptions(
        src=src, variants=tuple(planned), cold=cold, warm=warm, arch=arch or host_arch(),
        handler=handler, resolver=resolver, importtime=not no_importtime,
    )
    payload = event.read() if event is not None else b"{}"
    try:
        if aws is not None:
            from bundler.aws.compare import compare_on_aws

            result = compare_on_aws(options, aws, out=out, event=payload, report=_progress)
        else:
            result = comparing.compare(
                options, out=out, event=payload, isolate=False if no_sandbox else None,
                layout_dir=layout_dir, memory_mb=aws_args["memory"] or DEFAULT_MEMORY_MB,
                report=_progress,
            )  # fmt: skip
    except comparing.NothingMeasured as exc:
        if json_file is not None:
            json_file.write_text(dumps(exc.report), encoding="utf-8")
        raise
    click.echo(render_table(result))
    for text in (render_importtime(result), render_footer(result)):
        if text:
            click.echo()
            click.echo(text)
    if json_file is not None:
        json_file.write_text(dumps(result), encoding="utf-8")
        click.echo(f"lambundle: wrote {json_file}", err=True)
    if plot_file is not None:
        write_plot(result, plot_file)
        click.echo(f"lambundle: wrote {plot_file}", err=True)


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
    from bundler.sandbox.sandbox import parse_env

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
    result = publish(bundle_dir, options, report=_progress)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    verb = "created" if result.created else "updated"
    click.echo(f"{verb} {result.function_arn}")
    for layer in result.layers:
        state = "published" if layer.published else "unchanged"
        click.echo(f"  {state:<10} {layer.arn}  ({layer.file})")


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
