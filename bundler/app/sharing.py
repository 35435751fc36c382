"""What the functions of an application share: every layer zip once, by its bytes.

The strategies' layers are reproducible (same inputs, byte-identical zips), so a pinned
dependency layer of two functions with the same lock, or the runtime layer of every
function of one runtime and architecture, is the same file: it goes to `layers/` once and
is one `AWS::Serverless::LayerVersion`. Each function's bundle directory keeps its layers
as hard links to those files, so it stays a complete bundle (`lambundle invoke`,
`inspect` and `publish` take it as it is) without a second copy on disk.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundler.aws.publish import DEPENDENCY_LAYERS
from bundler.bundle.manifest import Manifest

LAYERS_DIR = "layers"


@dataclasses.dataclass(frozen=True)
class SharedLayer:
    """One layer zip of the application, and the functions whose manifests list it."""

    file: str  # relative to the application directory: layers/<name>-<sha256:12>.zip
    name: str  # the strategy's name for it: runtime, deps, fat
    strategy: str
    sha256: str
    size: int
    unzipped_size: int
    lock_sha256: str | None
    runtimes: tuple[str, ...]
    architectures: tuple[str, ...]
    used_by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Bytes to upload: each function on its own (every layer once per function), and as
    one application (every distinct layer once)."""

    separate: int
    shared: int

    @property
    def saved(self) -> int:
        return self.separate - self.shared

    def to_json(self) -> dict[str, int]:
        return {"separate": self.separate, "shared": self.shared, "saved": self.saved}


def share_layers(app_dir: Path, bundles: Sequence[tuple[str, Manifest]]) -> list[SharedLayer]:
    """Move each distinct layer of the bundles `app_dir/<id>` to `app_dir/layers/` and
    hard-link it back into every bundle that lists it; the layers in first-use order."""
    layers_dir = app_dir / LAYERS_DIR
    layers_dir.mkdir(exist_ok=True)
    found: dict[str, dict[str, Any]] = {}
    for logical_id, manifest in bundles:
        for artifact in manifest.layers:
            placed = found.get(artifact.sha256)
            local = app_dir / logical_id / artifact.file
            if placed is None:
                shared = f"{LAYERS_DIR}/{artifact.name}-{artifact.sha256[:12]}.zip"
                local.replace(app_dir / shared)
                placed = found[artifact.sha256] = {
                    "file": shared, "name": artifact.name, "strategy": manifest.strategy,
                    "sha256": artifact.sha256, "size": artifact.size,
                    "unzipped_size": artifact.unzipped_size,
                    "lock_sha256": (
                        manifest.lock_sha256 if artifact.name in DEPENDENCY_LAYERS else None
                    ),
                    "runtimes": [], "architectures": [],
                    "used_by": [],
                }  # fmt: skip
            else:
                local.unlink()
            _link(app_dir / placed["file"], local)
            for key, value in (
                ("runtimes", manifest.target.runtime),
                ("architectures", manifest.target.arch),
                ("used_by", logical_id),
            ):
                if value not in placed[key]:
                    placed[key].append(value)
    return [
        SharedLayer(**{
            **fields,
            "runtimes": tuple(sorted(fields["runtimes"])),
            "architectures": tuple(sorted(fields["architectures"])),
            "used_by": tuple(fields["used_by"]),
        })
        for fields in found.values()
    ]  # fmt: skip


def sizes(manifests: Sequence[Manifest], layers: Sequence[SharedLayer]) -> Sizes:
    functions = sum(m.function.size for m in manifests)
    separate = functions + sum(layer.size for m in manifests for layer in m.layers)
    return Sizes(separate=separate, shared=functions + sum(layer.size for layer in layers))


def _link(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        # A file system without hard links: a copy keeps the bundle whole all the same.
        shutil.copyfile(source, dest)
