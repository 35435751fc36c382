"""Identical layers kept once, each bundle kept whole by hard links, the bytes saved."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bundler.app.sharing import share_layers, sizes
from bundler.bundle.manifest import Artifact, Manifest
from bundler.core.target import Target


def bundle(app: Path, logical_id: str, layers: dict[str, bytes], arch: str = "x86_64") -> Manifest:
    (app / logical_id).mkdir(parents=True)
    (app / logical_id / "function.zip").write_bytes(logical_id.encode())
    artifacts = []
    for i, (name, data) in enumerate(layers.items(), start=1):
        file = f"layer-{i}-{name}.zip"
        (app / logical_id / file).write_bytes(data)
        artifacts.append(Artifact(name, file, hashlib.sha256(data).hexdigest(), len(data), 99))
    return Manifest(
        strategy="pinned", target=Target("3.12", arch), handler="app.handler",
        function=Artifact("function", "function.zip", "0" * 64, len(logical_id), 1),
        layers=tuple(artifacts), lock_sha256="1" * 64,
    )  # fmt: skip


def test_each_distinct_layer_is_kept_once_and_linked_into_every_bundle(tmp_path: Path) -> None:
    runtime, deps_a, deps_b = b"runtime" * 10, b"requests" * 100, b"pydantic" * 300
    manifests = [
        ("Orders", bundle(tmp_path, "Orders", {"runtime": runtime, "deps": deps_a})),
        ("Invoices", bundle(tmp_path, "Invoices", {"runtime": runtime, "deps": deps_a})),
        ("Validate", bundle(tmp_path, "Validate", {"runtime": runtime, "deps": deps_b}, "arm64")),
    ]
    layers = share_layers(tmp_path, manifests)
    assert [(lay.name, lay.used_by) for lay in layers] == [
        ("runtime", ("Orders", "Invoices", "Validate")),
        ("deps", ("Orders", "Invoices")),
        ("deps", ("Validate",)),
    ]
    assert layers[0].architectures == ("arm64", "x86_64")
    assert layers[0].lock_sha256 is None  # the runtime layer belongs to no lock
    assert layers[1].lock_sha256 == "1" * 64
    assert sorted(p.name for p in (tmp_path / "layers").iterdir()) == sorted(
        Path(lay.file).name for lay in layers
    )
    shared = tmp_path / layers[1].file
    for logical_id in ("Orders", "Invoices"):
        copy = tmp_path / logical_id / "layer-2-deps.zip"
        assert copy.read_bytes() == deps_a
        assert copy.stat().st_ino == shared.stat().st_ino  # one file on disk
    assert shared.stat().st_nlink == 3

    found = sizes([m for _, m in manifests], layers)
    functions = len("Orders") + len("Invoices") + len("Validate")
    assert found.separate == functions + 3 * len(runtime) + 2 * len(deps_a) + len(deps_b)
    assert found.shared == functions + len(runtime) + len(deps_a) + len(deps_b)
    assert found.saved == 2 * len(runtime) + len(deps_a)
