"""vendored: the dependencies go into the function zip under `vendor/`; one thin layer
carries only the runtime, so every function shares the same small layer."""

from __future__ import annotations

from bundler.layer import function_paths_entry
from bundler.target import Target
from strategies.base import (
    TASK_ROOT,
    Plan,
    PlanInputs,
    PlannedArtifact,
    environment,
    prefixed,
)

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
        return Plan(
            strategy=self.name,
            target=inputs.target,
            handler=inputs.handler,
            artifacts=(
                PlannedArtifact("function", "function", "function.zip", tuple(function)),
                PlannedArtifact("runtime", "layer", "layer-1-runtime.zip", inputs.runtime),
            ),
            sys_path=tuple(sys_path),
            environment=environment(inputs.target),
            lock_sha256=inputs.lock_sha256,
            distributions=inputs.distributions,
        )
