"""An application: the Python functions of a SAM template that lambundle builds, and the
resources it leaves as they are.

A function is built when it is an `AWS::Serverless::Function` of `PackageType: Zip` (the
default) whose `Runtime`, on the function or in `Globals.Function`, is `python3.X`, with a
local `CodeUri` (a directory, or a PEP 723 `.py` script); or a plain CloudFormation
`AWS::Lambda::Function` of such a runtime whose `Code` is a local path (read as its
`CodeUri`; Globals do not apply to it). Its settings are SAM's: the
function's own property, else the one in `Globals.Function`; lists (`Layers`) are the
globals' then the function's, and `Environment.Variables` are merged with the function's
winning (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/
sam-specification-template-anatomy-globals.html).

Per-function build settings live in the resource's `Metadata`, where SAM keeps its
`BuildMethod`: `Metadata: {lambundle: {strategy: pinned, slim: true, bytecode: false}}`,
or `skip: true` to leave the function alone. A `BuildMethod` other than `python3.X` or
`lambundle` (SAM's `makefile`, say) means someone else builds the function: it is left
alone too.

Functions of other runtimes, container images without a Python `Runtime` of their own,
code already in S3 or inline, and every other resource are left alone (and say why).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from bundler.app.document import load
from bundler.core.errors import TemplateError
from bundler.core.target import ARCHITECTURES, PYTHON_VERSIONS, Target

FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"  # plain CloudFormation: `Code`, no Globals
STRATEGIES = ("fat-layer", "vendored", "pinned")
METADATA_KEY = "lambundle"
_METADATA_KEYS = {"strategy": str, "slim": bool, "bytecode": bool, "skip": bool}
_PYTHON_RUNTIME = re.compile(r"^python(?P<version>\d+\.\d+)$")


@dataclasses.dataclass(frozen=True)
class Function:
    """One Python function to build, with its settings from the template."""

    logical_id: str
    source: Path  # absolute: the CodeUri directory or script
    handler: str
    target: Target
    strategy: str
    slim: bool = False
    bytecode: bool = True
    # As the template has them (intrinsic functions included); see bundler.app.local.
    memory: Any = None
    timeout: Any = None
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    layers: tuple[Any, ...] = ()  # the template's own layers: Globals' then the function's
    kind: str = FUNCTION  # or LAMBDA_FUNCTION

    @property
    def code_key(self) -> str:
        """The property holding the function's code: SAM's `CodeUri`, or `Code`."""
        return code_key(self.kind)


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A function the build leaves as the template has it, and why."""

    logical_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Application:
    path: Path  # the template, absolute
    template: dict[str, Any]
    is_json: bool
    functions: tuple[Function, ...]
    skipped: tuple[Skipped, ...]

    @property
    def root(self) -> Path:
        """The directory relative paths in the template are relative to."""
        return self.path.parent

    def function(self, logical_id: str) -> Function:
        for fn in self.functions:
            if fn.logical_id == logical_id:
                return fn
        msg = _unknown_function(logical_id, self)
        raise TemplateError(msg)


def read_application(path: Path, strategy: str) -> Application:
    """The application of the template at `path`, `strategy` being the default one.

    Every problem a function has is found here, before anything is built: one error that
    names the function's logical id and the fix.
    """
    path = path.absolute()
    template, is_json = load(path)
    globals_fn = _mapping(_mapping(template, "Globals", "the template"), "Function", "Globals")
    parameters = _mapping(template, "Parameters", "the template")
    functions: list[Function] = []
    skipped: list[Skipped] = []
    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in (FUNCTION, LAMBDA_FUNCTION):
            continue
        props = function_properties(kind, _mapping(resource, "Properties", logical_id))
        merged = merge_globals(globals_fn, props) if kind == FUNCTION else props
        metadata = _mapping(resource, "Metadata", logical_id)
        why_not = _why_not_built(logical_id, merged, props, metadata, parameters, kind)
        if why_not is not None:
            skipped.append(Skipped(logical_id, why_not))
            continue
        functions.append(
            _function(logical_id, merged, metadata, parameters, path.parent, strategy, kind)
        )
    return Application(path, template, is_json, tuple(functions), tuple(skipped))


def code_key(kind: str) -> str:
    return "Code" if kind == LAMBDA_FUNCTION else "CodeUri"


def function_properties(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    """A function's properties in SAM's terms: an `AWS::Lambda::Function`'s `Code` (a local
    path that `aws cloudformation package` uploads, or an S3 location) as `CodeUri`, its
    `Code.ZipFile` as `InlineCode`."""
    if kind != LAMBDA_FUNCTION:
        return props
    view = {k: v for k, v in props.items() if k != "Code"}
    code = props.get("Code")
    if isinstance(code, dict) and "ZipFile" in code:
        view["InlineCode"] = code["ZipFile"]
    elif isinstance(code, dict) and "ImageUri" in code:
        view["ImageUri"] = code["ImageUri"]
    elif code is not None:
        view["CodeUri"] = code
    return view


def merge_globals(globals_fn: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """A function's properties with `Globals.Function` applied as SAM applies them."""
    merged: dict[str, Any] = _merge(globals_fn, props)
    return merged


def _merge(base: Any, own: Any) -> Any:
    if isinstance(base, dict) and isinstance(own, dict) and not _is_intrinsic(own):
        merged = dict(base)
        for key, value in own.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(own, list):
        return [*base, *own]
    return own


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")


def resolve_parameter(value: Any, parameters: dict[str, Any]) -> Any:
    """`value`, or the `Default` of the parameter a `{"Ref": ...}` names (None if none)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        param = parameters.get(value["Ref"])
        return param.get("Default") if isinstance(param, dict) else None
    return value


def _why_not_built(
    logical_id: str,
    merged: dict[str, Any],
    props: dict[str, Any],
    metadata: dict[str, Any],
    parameters: dict[str, Any],
    kind: str,
) -> str | None:
    """Why the function is left alone, None when lambundle builds it; errors for a Python
    function lambundle cannot build."""
    key = code_key(kind)
    own = _mapping(metadata, METADATA_KEY, f"{logical_id} Metadata")
    if own.get("skip") is True:
        return f"Metadata {METADATA_KEY}.skip"
    package_type = resolve_parameter(merged.get("PackageType", "Zip"), parameters)
    runtime = resolve_parameter(merged.get("Runtime"), parameters)
    if package_type == "Image":
        if _PYTHON_RUNTIME.match(str(props.get("Runtime", ""))) or own:
            msg = (
                f"Function {logical_id} is PackageType: Image; lambundle builds zip functions "
                "(layers and function.zip). Build the image with `sam build`, and remove "
                f"Runtime and Metadata.{METADATA_KEY} from it (or set PackageType: Zip)."
            )
            raise TemplateError(msg)
        return "PackageType Image (a container image: built by `sam build`)"
    if package_type != "Zip":
        msg = f"Function {logical_id}: PackageType must be Zip or Image, not {package_type!r}."
        raise TemplateError(msg)
    if not isinstance(runtime, str):
        if own:
            msg = f"Function {logical_id} has no Runtime; set Runtime: python3.X to build it."
            raise TemplateError(msg)
        return "no Runtime"
    if not runtime.startswith("python"):
        return f"runtime {runtime}"
    match = _PYTHON_RUNTIME.match(runtime)
    if match is None or match["version"] not in PYTHON_VERSIONS:
        supported = ", ".join(f"python{v}" for v in PYTHON_VERSIONS)
        msg = (
            f"Function {logical_id}: Runtime {runtime} is not one lambundle builds for; "
            f"use one of {supported}."
        )
        raise TemplateError(msg)
    build_method = metadata.get("BuildMethod")
    if build_method is not None and build_method not in (runtime, METADATA_KEY):
        return f"Metadata BuildMethod {build_method} (built by SAM)"
    if "InlineCode" in merged and "CodeUri" not in props:
        return "InlineCode" if kind == FUNCTION else "Code.ZipFile (inline)"
    code_uri = merged.get("CodeUri")
    if isinstance(code_uri, dict) or (
        isinstance(code_uri, str) and code_uri.startswith(("s3://", "https://", "http://"))
    ):
        return f"{key} in S3 (already built)"
    if isinstance(code_uri, str) and code_uri.endswith(".zip"):
        return f"{key} is a zip (already built)"
    return None


def _function(
    logical_id: str,
    merged: dict[str, Any],
    metadata: dict[str, Any],
    parameters: dict[str, Any],
    root: Path,
    strategy: str,
    kind: str,
) -> Function:
    settings = _settings(logical_id, metadata)
    runtime = str(resolve_parameter(merged["Runtime"], parameters))
    code_uri = merged.get("CodeUri")
    key = code_key(kind)
    if not isinstance(code_uri, str) or not code_uri:
        where = " (on the function or in Globals)" if kind == FUNCTION else ""
        msg = (
            f"Function {logical_id} has no {key}; set it{where} to the function's source "
            "directory or .py script, relative to the template."
        )
        raise TemplateError(msg)
    source = (root / code_uri).absolute()
    if not source.exists():
        msg = (
            f"Function {logical_id}: {key} {code_uri} does not exist (looked for {source}); "
            "point it at the function's source directory or .py script."
        )
        raise TemplateError(msg)
    if source.is_file() and source.suffix != ".py":
        msg = (
            f"Function {logical_id}: {key} {code_uri} is a file but not a .py script; "
            "point it at the function's source directory or a PEP 723 script."
        )
        raise TemplateError(msg)
    handler = resolve_parameter(merged.get("Handler"), parameters)
    if not isinstance(handler, str) or not handler:
        msg = f"Function {logical_id} has no Handler; set Handler: module.function."
        raise TemplateError(msg)
    return Function(
        logical_id=logical_id,
        source=source,
        handler=handler,
        target=Target(runtime.removeprefix("python"), _arch(logical_id, merged, parameters)),
        strategy=settings.get("strategy", strategy),
        slim=settings.get("slim", False),
        bytecode=settings.get("bytecode", True),
        memory=merged.get("MemorySize"),
        timeout=merged.get("Timeout"),
        environment=_variables(logical_id, merged),
        layers=_layers(logical_id, merged),
        kind=kind,
    )


def _settings(logical_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    own = _mapping(metadata, METADATA_KEY, f"{logical_id} Metadata")
    for key, value in own.items():
        kind = _METADATA_KEYS.get(key)
        if kind is None:
            msg = (
                f"Function {logical_id}: Metadata {METADATA_KEY}.{key} is not a setting; "
                f"use {', '.join(_METADATA_KEYS)}."
            )
            raise TemplateError(msg)
        if not isinstance(value, kind):
            msg = f"Function {logical_id}: Metadata {METADATA_KEY}.{key} must be a {kind.__name__}."
            raise TemplateError(msg)
    if "strategy" in own and own["strategy"] not in STRATEGIES:
        msg = (
            f"Function {logical_id}: Metadata {METADATA_KEY}.strategy {own['strategy']!r} is "
            f"not one of {', '.join(STRATEGIES)}."
        )
        raise TemplateError(msg)
    return own


def _arch(logical_id: str, merged: dict[str, Any], parameters: dict[str, Any]) -> str:
    archs = resolve_parameter(merged.get("Architectures", ["x86_64"]), parameters)
    if isinstance(archs, list):
        archs = [resolve_parameter(a, parameters) for a in archs]
    if not isinstance(archs, list) or len(archs) != 1 or archs[0] not in ARCHITECTURES:
        msg = (
            f"Function {logical_id}: Architectures must be one of [x86_64] or [arm64] "
            f"(found {archs!r})."
        )
        raise TemplateError(msg)
    return str(archs[0])


def _variables(logical_id: str, merged: dict[str, Any]) -> dict[str, Any]:
    environment = merged.get("Environment", {})
    variables = environment.get("Variables", {}) if isinstance(environment, dict) else None
    if not isinstance(variables, dict) or _is_intrinsic(variables):
        msg = (
            f"Function {logical_id}: Environment.Variables must be a mapping lambundle can add "
            "its exec-wrapper variable to; move the intrinsic function into each value."
        )
        raise TemplateError(msg)
    return dict(variables)


def _layers(logical_id: str, merged: dict[str, Any]) -> tuple[Any, ...]:
    layers = merged.get("Layers", [])
    if not isinstance(layers, list):
        msg = f"Function {logical_id}: Layers must be a list of layer ARNs or Refs."
        raise TemplateError(msg)
    return tuple(layers)


def _mapping(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = f"{key} of {where} must be a mapping."
        raise TemplateError(msg)
    return value


def _unknown_function(logical_id: str, app: Application) -> str:
    built = ", ".join(fn.logical_id for fn in app.functions) or "none"
    for skipped in app.skipped:
        if skipped.logical_id == logical_id:
            return (
                f"Function {logical_id} is not one lambundle builds ({skipped.reason}); "
                f"the Python functions of {app.path.name}: {built}."
            )
    return f"{app.path.name} has no Python function {logical_id!r}; its Python functions: {built}."
