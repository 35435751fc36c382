"""pinned: a thin runtime layer plus a dependency layer in Lambda's Python layer layout
that carries its hash-pinned lock, so one audited bundle can serve many functions.

The dependency layer is named after its lock's hash, not after the function: two
functions with the same requirements produce byte-identical dependency layers, which
can be published once and attached to both.
"""

from __future__ import annotations

from bundler.bundle.archive import ZipEntry
from bundler.bundle.layer import LOCKS_DIR, layer_paths_entry
from bundler.bundle.plan import (
    TASK_ROOT,
    Plan,
    PlanInputs,
    PlannedArtifact,
    opt_site_dir,
    plan_from,
    prefixed,
)
from bundler.core.target import Target


def bundle_name(lock_sha256: str) -> str:
    return f"pinned-{lock_sha256[:12]}"


class Pinned:
    name = "pinned"

    def deps_dir(self, target: Target) -> str:
        return opt_site_dir(target)

    def plan(self, inputs: PlanInputs) -> Plan:
        target = inputs.target
        artifacts = [
            PlannedArtifact("function", "function", "function.zip", inputs.code),
            PlannedArtifact("runtime", "layer", "layer-1-runtime.zip", inputs.runtime),
        ]
        sys_path = [TASK_ROOT]
        if inputs.lock_text is not None and inputs.lock_sha256 is not None:
            name = bundle_name(inputs.lock_sha256)
            layer = (
                *prefixed(target.site_packages, inputs.deps),
                ZipEntry(f"{LOCKS_DIR}/{name}.txt", data=inputs.lock_text.encode()),
                layer_paths_entry(name, [target.site_packages]),
            )
            artifacts.append(PlannedArtifact("deps", "layer", "layer-2-deps.zip", layer))
            sys_path.append(opt_site_dir(target))
        return plan_from(self.name, inputs, tuple(artifacts), tuple(sys_path))
