"""What the commands show and write: results as text, progress and warnings on stderr,
and the files `lock --output` and `compare --json/--plot` name.

Imports of the subsystems wait for the command that needs them (a `--help` pays for
none), so the result types are named here for type checking only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bundler.app.builder import AppResult
    from bundler.aws.publish import PublishResult
    from bundler.build.pipeline import BuildResult
    from bundler.bundle.inspect import Inspection
    from bundler.bundle.manifest import Artifact
    from bundler.sandbox import InvokeResult
    from bundler.sources.lock import Lock


def progress(message: str) -> None:
    """Progress of long steps, on stderr so that stdout stays the command's result."""
    click.echo(f"lambundle: {message}", err=True)


def warn(warnings: Iterable[str]) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2)


def logs(text: str) -> str:
    """The function's logs for a person: Lambda's runtimes join the lines of one record (a
    traceback) with `\r`, so that CloudWatch keeps it as one event; a terminal would
    draw them over each other. `--json` keeps them as they came."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def payload(data: bytes) -> bytes:
    """The payload for standard output, ending with a newline when it is text (a JSON
    answer, a string) or goes to a terminal; other bytes are written as they are."""
    if data.endswith(b"\n"):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data + b"\n" if sys.stdout.isatty() else data
    return data + b"\n"


def invoked(result: InvokeResult) -> str:
    """`invoke --json`: the payload (as text when it is UTF-8, else base64) and the logs as
    the function wrote them."""
    try:
        text: str | None = result.payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return as_json({
        "request_id": result.request_id,
        "payload": text,
        "payload_base64": None if text is not None else base64.b64encode(result.payload).decode(),
        "content_type": result.content_type,
        "function_error": result.function_error,
        "logs": result.logs,
    })  # fmt: skip


def _artifact(art: Artifact) -> str:
    return f"  {art.file:<24} {art.size:>12,} zipped {art.unzipped_size:>13,} unzipped"


def built(result: BuildResult) -> str:
    m = result.manifest
    lines = [f"{m.strategy} bundle for {m.target.runtime} ({m.target.arch}) in {result.out}"]
    lines += [_artifact(art) for art in (m.function, *m.layers)]
    lines.append(f"  handler {m.handler}; bytecode: {m.bytecode.get('mode')}")
    if result.embedded is not None:
        lines.append(
            f"  embedded Python {result.embedded.version} from {result.embedded.prefix} "
            f"({result.embedded.size:,} bytes) at /opt/lambundle/python"
        )
    lines += [f"  set {key}={value}" for key, value in m.environment.items()]
    if result.verified:
        lines.append("  verified: the handler imports in the sandbox")
    return "\n".join(lines)


def application(result: AppResult) -> str:
    """A built application: each function's zip and layers, what is shared, what was saved."""
    lines = [f"application in {result.out}; deploy with: sam deploy -t {result.template}"]
    for fn in result.functions:
        m = fn.manifest
        layers = ", ".join(result.layer_file(layer.sha256) for layer in m.layers) or "no layers"
        lines.append(
            f"  {fn.logical_id:<24} {m.strategy:<9} {m.target.runtime} {m.target.arch:<6} "
            f"{m.function.size:>12,} zipped  + {layers}"
        )
    for layer in result.layers:
        lines.append(
            f"  {layer.file:<38} {layer.size:>12,} zipped  used by {len(layer.used_by)}: "
            f"{', '.join(layer.used_by)}"
        )
    lines += [f"  left alone: {s.logical_id} ({s.reason})" for s in result.skipped]
    sizes = result.sizes
    lines.append(
        f"  to upload: {sizes.shared:,} bytes; built one by one {sizes.separate:,} "
        f"({sizes.saved:,} saved by sharing layers)"
    )
    return "\n".join(lines)


def inspection(bundle_dir: Path, found: Inspection) -> str:
    m = found.manifest
    lines = [
        f"{bundle_dir}: {m.strategy}, handler {m.handler}",
        f"  target {m.target.runtime} {m.target.arch} (Python {m.target.python}, "
        f"glibc {m.target.glibc[0]}.{m.target.glibc[1]}); bytecode {m.bytecode.get('mode')}",
        "artifacts:",
        *(_artifact(art) for art in (m.function, *m.layers)),
        "limits:",
    ]
    for check in found.checks:
        if check.ok or check.hard:
            state = "ok  " if check.ok else "OVER"
            lines.append(f"  {state} {check.name}: {check.value:,} of {check.limit:,}")
        else:  # Lambda takes it, from S3
            lines.append(
                f"  S3   {check.name}: {check.value:,}, over the {check.limit:,} of a direct "
                "upload: upload through S3"
            )
    if found.largest:
        lines.append("largest distributions:")
        lines += [
            f"  {dist.size:>13,}  {dist.name} {dist.version} ({dist.artifact})"
            for dist in found.largest
        ]
    lines.append("sys.path added by the loader, in order:")
    lines += [f"  {entry}" for entry in found.loader_sys_path]
    if found.runtime_imports:
        lines.append(
            f"imported from the {m.target.runtime} runtime, not shipped: "
            f"{', '.join(found.runtime_imports)} (the runtime's versions, which AWS updates)"
        )
    lines += [f"environment: {key}={value}" for key, value in m.environment.items()]
    lines += [f"hash-pinned lock: {lock} (sha256 {m.lock_sha256})" for lock in found.locks]
    return "\n".join(lines)


def lock_json(found: Lock) -> str:
    pins = [{"name": p.name, "version": p.version, "hashes": list(p.hashes)} for p in found.pins]
    return as_json({"sha256": found.sha256, "pins": pins, "text": found.text})


def write_lock(found: Lock, output: Path) -> None:
    """The lock's text in `output`, replaced whole (never half written)."""
    from bundler.core.errors import UsageError

    tmp = output.with_name(output.name + ".part")
    try:
        try:
            tmp.write_text(found.text, encoding="utf-8")
            tmp.replace(output)
        except BaseException:  # a full disk, a signal: no half-written .part stays
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        msg = f"Cannot write the lock to {output} ({exc.strerror}); choose another --output."
        raise UsageError(msg) from None
    click.echo(f"lambundle: wrote {len(found.pins)} pin(s) to {output}", err=True)


def compared(result: dict[str, Any]) -> str:
    """The table of a compare report, then its import times and its footer, if any."""
    from bundler.measure.report import render_footer, render_importtime, render_table

    parts = [render_table(result)]
    parts += [text for text in (render_importtime(result), render_footer(result)) if text]
    return "\n\n".join(parts)


def write_report(result: dict[str, Any], path: Path) -> None:
    """A compare report with every raw sample, as JSON, replaced whole (never half written).

    `compare` checked the place before measuring; this still fails clearly if it changed.
    """
    from bundler.core.errors import UsageError
    from bundler.measure.report import dumps

    tmp = path.with_name(f".{path.name}.part")
    try:
        try:
            tmp.write_text(dumps(result), encoding="utf-8")
            tmp.replace(path)
        except BaseException:  # a full disk, a signal: no half-written .part stays
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        msg = f"Cannot write --json {path} ({exc.strerror}); choose another path."
        raise UsageError(msg) from None


def write_compared(result: dict[str, Any], json_file: Path | None, plot: Path | None) -> None:
    """The files `compare --json` and `--plot` asked for."""
    if json_file is not None:
        write_report(result, json_file)
        click.echo(f"lambundle: wrote {json_file}", err=True)
    if plot is not None:
        from bundler.measure.plot import write_plot

        write_plot(result, plot)
        click.echo(f"lambundle: wrote {plot}", err=True)


def published(result: PublishResult) -> str:
    verb = "created" if result.created else "updated"
    lines = [f"{verb} {result.function_arn}"]
    for layer in result.layers:
        state = "published" if layer.published else "unchanged"
        lines.append(f"  {state:<10} {layer.arn}  ({layer.file})")
    return "\n".join(lines)
