"""`lambundle inspect BUNDLE`: what a bundle holds, measured against Lambda's limits.

Reads the manifest and the archives themselves (not only what the manifest claims): the
sizes against every limit, the largest distributions (files attributed through each
`*.dist-info/RECORD`), and the sys.path the loader will build from the paths files the
archives carry (docs/layout.md, "The loader").
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from bundler.bundle import distributions, limits, manifest
from bundler.bundle.layer import LOCKS_DIR
from bundler.bundle.manifest import FUNCTION_PATHS, LAYER_PATHS_DIR, Manifest
from bundler.bundle.plan import OPT_ROOT, TASK_ROOT
from bundler.core.errors import BundleError


@dataclasses.dataclass(frozen=True)
class DistSize:
    name: str
    version: str
    size: int
    artifact: str


@dataclasses.dataclass(frozen=True)
class Inspection:
    bundle: Path
    manifest: Manifest
    checks: tuple[limits.Check, ...]
    largest: tuple[DistSize, ...]
    loader_sys_path: tuple[str, ...]
    upload_warnings: tuple[str, ...] = ()  # zips to upload through S3
    locks: tuple[str, ...] = ()  # hash-pinned locks the layers carry, as /opt paths

    @property
    def ok(self) -> bool:
        """Whether Lambda takes the bundle (through S3 when a zip is over 50 MB)."""
        return limits.within(self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.bundle),
            "manifest": self.manifest.to_json(),
            "limits": [c.to_json() for c in self.checks],
            "ok": self.ok,
            "largest_distributions": [dataclasses.asdict(d) for d in self.largest],
            "loader_sys_path": list(self.loader_sys_path),
            "warnings": list(self.upload_warnings),
            "locks": list(self.locks),
        }


def inspect(bundle_dir: Path, top: int = 10) -> Inspection:
    """Measure `bundle_dir`; raises BundleError when it is not a readable bundle, or its
    zips are not the ones its manifest describes."""
    found = manifest.load_checked(bundle_dir)
    artifacts = (found.function, *found.layers)
    dists: list[DistSize] = []
    layer_paths: dict[str, list[str]] = {}
    function_paths: list[str] = []
    locks: list[str] = []
    for artifact in artifacts:
        path = bundle_dir / artifact.file
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
                dists += _distributions(zf, infos, artifact.file)
                if artifact is found.function:
                    function_paths = _paths(zf, FUNCTION_PATHS)
                else:
                    for info in infos:
                        name = PurePosixPath(info.filename)
                        if str(name.parent) == LOCKS_DIR:
                            locks.append(f"{OPT_ROOT}/{info.filename}")
                        if str(name.parent) == LAYER_PATHS_DIR and name.suffix == ".json":
                            # A later layer's file of the same name replaces an earlier one.
                            layer_paths[name.stem] = _paths(zf, info.filename)
        except (OSError, zipfile.BadZipFile) as exc:
            msg = f"{path} is not a readable zip ({exc}); rebuild the bundle."
            raise BundleError(msg) from None
    checks = limits.checks(
        found.function.unzipped_size,
        [layer.unzipped_size for layer in found.layers],
        function_zipped=found.function.size,
    )
    warnings = tuple(limits.through_s3((a.file, a.size) for a in artifacts))
    sys_path = [TASK_ROOT, *(f"{TASK_ROOT}/{p}" for p in function_paths)]
    for layer_name in sorted(layer_paths):
        sys_path += [f"{OPT_ROOT}/{p}" for p in layer_paths[layer_name]]
    if not function_paths and not layer_paths:
        site = f"{OPT_ROOT}/{found.target.site_packages}"
        sys_path += [site, f"{OPT_ROOT}/python"]
    largest = sorted(dists, key=lambda d: (-d.size, d.name))[:top]
    return Inspection(
        bundle=bundle_dir,
        manifest=found,
        checks=tuple(checks),
        largest=tuple(largest),
        loader_sys_path=tuple(dict.fromkeys(sys_path)),
        upload_warnings=warnings,
        locks=tuple(sorted(set(locks))),
    )


def _paths(zf: zipfile.ZipFile, member: str) -> list[str]:
    try:
        raw = json.loads(zf.read(member))
    except KeyError:
        return []
    except ValueError as exc:
        msg = f"{member} in {zf.filename} is not valid JSON ({exc}); rebuild the bundle."
        raise BundleError(msg) from None
    return [str(p) for p in raw.get("sys_path", [])]


def _distributions(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], artifact: str
) -> list[DistSize]:
    """Bytes per distribution: every file under a top-level name its RECORD lists."""
    found = distributions.sizes(((i.filename, i.file_size) for i in infos), zf.read)
    return [DistSize(n, v, s, artifact) for (n, v), s in found.items()]
