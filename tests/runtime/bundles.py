"""Lay out a bundle directory by hand, for tests of the sandbox and the runtime.

The result is what `lambundle bundle` produces (docs/layout.md): function.zip, an
optional runtime layer, bundle.json. Files whose text starts with `#!` and files named
`bootstrap` are executable, as Lambda needs them to be.
"""

from __future__ import annotations

from pathlib import Path

from bundler import manifest
from bundler.archive import ZipEntry, unzipped_size, write_zip
from bundler.target import Target


def _entries(files: dict[str, str | bytes]) -> list[ZipEntry]:
    out = []
    for name, content in sorted(files.items()):
        data = content.encode() if isinstance(content, str) else content
        executable = data.startswith(b"#!") or name.rsplit("/", 1)[-1] == "bootstrap"
        out.append(ZipEntry(name, data=data, executable=executable))
    return out


def make_bundle(
    tmp_path: Path,
    files: dict[str, str | bytes],
    handler: str,
    runtime: str = "python3.12",
    lambundle: bool = True,
    env: dict[str, str] | None = None,
    *,
    python: str | None = None,
    layers: list[dict[str, str | bytes]] | None = None,
    name: str = "bundle",
) -> Path:
    """Write a bundle into `tmp_path/name` and return its directory.

    `lambundle=True` adds lambundle's runtime layer (bundler.layer.runtime_entries()) and,
    on managed runtimes, sets AWS_LAMBDA_EXEC_WRAPPER to it; `lambundle=False` leaves
    the function to the runtime's own client (awslambdaric on python3.X) or to a
    `bootstrap` among `files` or `layers` (provided.al2023). `layers` are extra layers
    (file dicts), merged after the runtime layer in order.
    """
    if python is None:
        python = runtime[len("python"):] if runtime.startswith("python") else "3.12"
    target = Target(python=python, runtime=runtime)
    out = tmp_path / name
    out.mkdir(parents=True)
    function_zip = out / "function.zip"
    write_zip(function_zip, _entries(files))
    artifacts = []
    environment: dict[str, str] = {}
    layer_files: list[tuple[str, list[ZipEntry]]] = []
    if lambundle:
        from bundler.layer import EXEC_WRAPPER, runtime_entries

        layer_files.append(("runtime", runtime_entries()))
        if target.managed:
            environment["AWS_LAMBDA_EXEC_WRAPPER"] = EXEC_WRAPPER
    for i, layer in enumerate(layers or (), start=1):
        layer_files.append((f"extra{i}", _entries(layer)))
    for number, (layer_name, entries) in enumerate(layer_files, start=1):
        path = out / f"layer-{number}-{layer_name}.zip"
        write_zip(path, entries)
        artifacts.append(manifest.describe_artifact(layer_name, path, unzipped_size(path)))
    environment.update(env or {})
    manifest.write(
        out,
        manifest.Manifest(
            strategy="handmade",
            target=target,
            handler=handler,
            function=manifest.describe_artifact(
                "function", function_zip, unzipped_size(function_zip)
            ),
            layers=tuple(artifacts),
            environment=environment,
        ),
    )
    return out
