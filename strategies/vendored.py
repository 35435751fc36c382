"""vendored: the dependencies go into the function zip under `vendor/`; one thin layer
carries only the runtime, so every function shares the same small layer."""

from __future__ import annotations

from bundler.bundle.layer import function_paths_entry
from bundler.bundle.plan import (
    TASK_ROOT,
    Plan,
    PlanInputs,
    PlannedArtifact,
    plan_from,
    prefixed,
)
from bundler.core.target import Target

VENDOR = "vendor"


class Vendored:
    name = "vendored"

    def deps_dir(self, target: Target) -> str:
        return f"{TASK_ROOT}/{VENDOR}"

    def plan(self, inputs: PlanInputs) -> Plan:
        function = list(inputs.code)
        sys_path = [TASK_ROOT]
        if inputs.deps:
            function += prefixed(VENDOR, inputs.deps)
            function.append(function_paths_entry([VENDOR]))
            sys_path.append(f"{TASK_ROOT}/{VENDOR}")
        artifacts = (
            PlannedArtifact("function", "function", "function.zip", tuple(function)),
            PlannedArtifact("runtime", "layer", "layer-1-runtime.zip", inputs.runtime),
        )
        return plan_from(self.name, inputs, artifacts, tuple(sys_path))
