"""fat-layer: one layer with bootstrap, runtime and every dependency; the function zip
holds only the handler code. Many functions share one big layer and start without
extra sys.path work beyond the layer's site dir."""

from __future__ import annotations

from bundler.bundle.layer import layer_paths_entry
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

LAYER_NAME = "fat"


class FatLayer:
    name = "fat-layer"

    def deps_dir(self, target: Target) -> str:
        return opt_site_dir(target)

    def plan(self, inputs: PlanInputs) -> Plan:
        target = inputs.target
        layer = (
            *inputs.runtime,
            *prefixed(target.site_packages, inputs.deps),
            layer_paths_entry(LAYER_NAME, [target.site_packages]),
        )
        artifacts = (
            PlannedArtifact("function", "function", "function.zip", inputs.code),
            PlannedArtifact(LAYER_NAME, "layer", f"layer-1-{LAYER_NAME}.zip", layer),
        )
        return plan_from(self.name, inputs, artifacts, (TASK_ROOT, opt_site_dir(target)))
