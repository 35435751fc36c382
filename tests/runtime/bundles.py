"""Lay out a bundle directory by hand, for tests of the sandbox and the runtime.

The result is what `lambundle bundle` produces (docs/layout.md): function.zip, an
optional runtime layer, bundle.json. Files whose text starts with `#!` and files named
`bootstrap` are executable, as Lambda needs them to be.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bundler.bundle import manifest
from bundler.bundle.archive import ZipEntry, unzipped_size, write_zip
from bundler.core import interpreters
from bundler.core.target import Target
from bundler.sandbox import Sandbox, bwrap_problem

_BWRAP_PROBLEM = bwrap_problem()
# Tests that need a working bubblewrap: marked, and skipped with the reason when it
# cannot run here (missing, or user namespaces disabled).
needs_bwrap = [
    pytest.mark.sandbox,
    pytest.mark.skipif(_BWRAP_PROBLEM is not None, reason=f"needs bubblewrap: {_BWRAP_PROBLEM}"),
]

# A provided.al2023 bootstrap in Python (the first python3 on PATH: /var/lang's) that
# streams "alpha ", "beta" as its response, with error trailers when the event has "fail".
STREAMING_BOOTSTRAP = """#!/usr/bin/env python3
# A custom runtime that streams its response (runtimes-custom.html#response-streaming).
import base64, http.client, os

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))
while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = conn.getresponse()
    event = resp.read()
    request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
    out = http.client.HTTPConnection(host, int(port))
    out.putrequest("POST", f"/2018-06-01/runtime/invocation/{request_id}/response")
    out.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
    out.putheader("Transfer-Encoding", "chunked")
    out.putheader("Content-Type", "text/plain")
    out.putheader(
        "Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    out.endheaders()
    for part in (b"alpha ", b"beta"):
        out.send(b"%x\\r\\n%s\\r\\n" % (len(part), part))
    trailer = b""
    if b"fail" in event:
        trailer = (
            b"Lambda-Runtime-Function-Error-Type: Runtime.StreamError\\r\\n"
            b"Lambda-Runtime-Function-Error-Body: " + base64.b64encode(b"went wrong") + b"\\r\\n"
        )
    out.send(b"0\\r\\n" + trailer + b"\\r\\n")
    out.getresponse().read()
    out.close()
"""


def needs_python(minor: str) -> Any:
    """Skip unless an interpreter of `minor` is installed (pyenv, uv, PATH)."""
    found = interpreters.find(minor)
    return pytest.mark.skipif(found is None, reason=f"needs a Python {minor} interpreter")


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

    `lambundle=True` adds lambundle's runtime layer (bundler.bundle.layer.runtime_entries()) and,
    on managed runtimes, sets AWS_LAMBDA_EXEC_WRAPPER to it; `lambundle=False` leaves
    the function to the runtime's own client (awslambdaric on python3.X) or to a
    `bootstrap` among `files` or `layers` (provided.al2023). `layers` are extra layers
    (file dicts), merged after the runtime layer in order.
    """
    if python is None:
        python = runtime[len("python") :] if runtime.startswith("python") else "3.12"
    target = Target(python=python, runtime=runtime)
    out = tmp_path / name
    out.mkdir(parents=True)
    function_zip = out / "function.zip"
    write_zip(function_zip, _entries(files))
    artifacts = []
    environment: dict[str, str] = {}
    layer_files: list[tuple[str, list[ZipEntry]]] = []
    if lambundle:
        from bundler.bundle.layer import EXEC_WRAPPER, runtime_entries

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


class SandboxFactory:
    """Builds bundles from file dicts and opens sandboxes on them; closes them all."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._open: list[Sandbox] = []

    def bundle(self, files: dict[str, str | bytes], handler: str, **kwargs: Any) -> Path:
        kwargs.setdefault("name", f"bundle{len(self._open)}-{len(list(self.tmp_path.iterdir()))}")
        return make_bundle(self.tmp_path, files, handler, **kwargs)

    def __call__(
        self,
        files: dict[str, str | bytes],
        handler: str,
        runtime: str = "python3.12",
        lambundle: bool = True,
        env: dict[str, str] | None = None,
        *,
        layers: list[dict[str, str | bytes]] | None = None,
        **sandbox_kwargs: Any,
    ) -> Sandbox:
        """A running sandbox for a bundle of `files` (make_bundle's arguments)."""
        bundle = self.bundle(
            files, handler, runtime=runtime, lambundle=lambundle, env=env, layers=layers
        )
        return self.open(bundle, **sandbox_kwargs)

    def open(self, bundle: Path, **sandbox_kwargs: Any) -> Sandbox:
        sb = Sandbox(bundle, **sandbox_kwargs)
        sb.open()
        self._open.append(sb)
        return sb

    def close(self) -> None:
        for sb in self._open:
            sb.close()


@contextmanager
def sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    factory = SandboxFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()
