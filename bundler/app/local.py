"""`lambundle invoke|serve template.yaml FunctionId`: one function of a built application,
run in the sandbox with the template's configuration, as `sam local invoke FunctionId`.

The template is either the one `bundle` wrote (an `app.json` beside it), or the source
template, whose built application is looked for where `bundle` puts it by default
(`.lambundle/<stem>-<strategy>` beside it). The function's environment variables
(`Globals` and its own), `MemorySize`, `Timeout` and `EphemeralStorage` come from the
template. Values that are
intrinsic functions are resolved as far as they can be without a stack, the way `sam local`
does: a parameter's `Default`, pseudo parameters with local values, a resource's logical id
for its `Ref`, and `Fn::Sub` over those; a variable whose value cannot be resolved is left
out, with a warning that names it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bundler.app.application import FUNCTION, merge_globals, resolve_parameter
from bundler.app.builder import APP_MANIFEST, default_out
from bundler.app.document import load
from bundler.core.errors import TemplateError
from bundler.sandbox.sandbox import EPHEMERAL_STORAGE_MB, EPHEMERAL_STORAGE_RANGE

# Lambda's defaults when the template sets none
# (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/
# sam-resource-function.html: MemorySize 128, Timeout 3).
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_S = 3
_STRATEGIES = ("fat-layer", "vendored", "pinned")
_PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/local/local",
    "AWS::NoValue": None,
}
_SUB = re.compile(r"\$\{([^}!]+)\}")


@dataclasses.dataclass(frozen=True)
class LocalFunction:
    """What the sandbox needs to run one function of an application."""

    logical_id: str
    bundle_dir: Path
    environment: dict[str, str]
    memory_mb: int
    timeout_s: float
    ephemeral_storage_mb: int = EPHEMERAL_STORAGE_MB
    warnings: tuple[str, ...] = ()


def local_function(
    template: Path, logical_id: str, env: Mapping[str, str] | None = None
) -> LocalFunction:
    """The built function `logical_id` of the application of `template`; `env` (the
    command line's) is set over the template's variables."""
    env = dict(env or {})
    template = template.absolute()
    data, _ = load(template)
    app_dir = _app_dir(template)
    bundle = _bundle(app_dir, logical_id)
    resource = data["Resources"].get(logical_id)
    if not isinstance(resource, dict) or not isinstance(resource.get("Properties", {}), dict):
        msg = f"{template.name} has no function {logical_id}, though {app_dir} built one."
        raise TemplateError(msg)
    globals_fn = (data.get("Globals") or {}).get("Function") or {}
    props = resource.get("Properties") or {}
    # Globals are SAM's: they apply to its functions, not to AWS::Lambda::Function.
    merged = merge_globals(globals_fn, props) if resource.get("Type") == FUNCTION else props
    parameters = data.get("Parameters") or {}
    warnings: list[str] = []
    environment: dict[str, str] = {}
    variables = (merged.get("Environment") or {}).get("Variables") or {}
    for key, value in variables.items():
        if key in env:
            continue
        resolved = _resolve(value, parameters, data["Resources"])
        if resolved is None:
            warnings.append(
                f"{logical_id}: environment variable {key} is {json.dumps(value)}, which "
                f"cannot be resolved locally; left out (pass --env {key}=VALUE)."
            )
            continue
        environment[str(key)] = resolved
    storage = merged.get("EphemeralStorage") or {}
    if not isinstance(storage, dict):
        msg = f"Function {logical_id}: EphemeralStorage must be a mapping with a Size (in MB)."
        raise TemplateError(msg)
    storage_mb = _number(storage.get("Size"), parameters, EPHEMERAL_STORAGE_MB,
                         logical_id, "EphemeralStorage.Size")
    low, high = EPHEMERAL_STORAGE_RANGE
    if not low <= storage_mb <= high:
        msg = (
            f"Function {logical_id}: EphemeralStorage.Size {storage_mb} is outside what Lambda "
            f"accepts ({low}-{high} MB); fix the template, or pass --ephemeral-storage."
        )
        raise TemplateError(msg)
    return LocalFunction(
        logical_id=logical_id,
        bundle_dir=app_dir / bundle,
        environment={**environment, **env},
        memory_mb=_number(merged.get("MemorySize"), parameters, DEFAULT_MEMORY_MB, logical_id,
                          "MemorySize"),
        timeout_s=_number(merged.get("Timeout"), parameters, DEFAULT_TIMEOUT_S, logical_id,
                          "Timeout"),
        ephemeral_storage_mb=storage_mb,
        warnings=tuple(warnings),
    )  # fmt: skip


def _app_dir(template: Path) -> Path:
    if (template.parent / APP_MANIFEST).is_file():
        return template.parent
    built = [
        default_out(template, strategy)
        for strategy in _STRATEGIES
        if (default_out(template, strategy) / APP_MANIFEST).is_file()
    ]
    if len(built) == 1:
        return built[0]
    if not built:
        msg = (
            f"{template} has not been built: run `lambundle bundle {template} --strategy "
            "STRATEGY` first (or pass the template it wrote)."
        )
        raise TemplateError(msg)
    listed = " or ".join(str(path / template.name) for path in built)
    msg = f"{template} is built in several strategies; pass the built template: {listed}."
    raise TemplateError(msg)


def _bundle(app_dir: Path, logical_id: str) -> str:
    """The bundle directory of `logical_id`, from the application's app.json."""
    path = app_dir / APP_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        functions = manifest["functions"]
        skipped = manifest.get("skipped", {})
    except (OSError, ValueError, KeyError, TypeError):
        msg = f"{path} cannot be read; build the application again with `lambundle bundle`."
        raise TemplateError(msg) from None
    if logical_id in functions:
        bundle = str(functions[logical_id]["bundle"])
        if Path(bundle).name != bundle:
            msg = f"{path}: the bundle of {logical_id} must be a directory name; rebuild."
            raise TemplateError(msg)
        return bundle
    built = ", ".join(functions) or "none"
    if logical_id in skipped:
        msg = (
            f"Function {logical_id} is not one lambundle builds ({skipped[logical_id]}); "
            f"the Python functions it built: {built}."
        )
    else:
        msg = f"The application has no Python function {logical_id!r}; it built: {built}."
    raise TemplateError(msg)


def _resolve(value: Any, parameters: dict[str, Any], resources: dict[str, Any]) -> str | None:
    """`value` as text, intrinsic functions resolved as `sam local` would; None if not."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if not isinstance(value, dict) or len(value) != 1:
        return None
    if "Ref" in value:
        return _ref(str(value["Ref"]), parameters, resources)
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text: str = value["Fn::Sub"]
        names = _SUB.findall(text)
        found = {name: _ref(name, parameters, resources) for name in names}
        if any(v is None for v in found.values()):
            return None
        return _SUB.sub(lambda m: str(found[m.group(1)]), text)
    return None


def _ref(name: str, parameters: dict[str, Any], resources: dict[str, Any]) -> str | None:
    if name in _PSEUDO:
        return _PSEUDO[name]
    if name in parameters:
        default = resolve_parameter({"Ref": name}, parameters)
        return None if default is None else _resolve(default, {}, resources)
    if name in resources:
        return name  # what `sam local` gives a resource's Ref: its logical id
    return None


def _number(
    value: Any, parameters: dict[str, Any], default: int, logical_id: str, what: str
) -> int:
    resolved = resolve_parameter(value, parameters)
    if resolved is None:
        return default
    try:
        return int(resolved)
    except (TypeError, ValueError):
        msg = f"Function {logical_id}: {what} {json.dumps(value)} is not a number."
        raise TemplateError(msg) from None
