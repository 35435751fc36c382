"""The deployable template of a built application: the input template with each built
function's `CodeUri` pointing at its `function.zip`, its layers (one
`AWS::Serverless::LayerVersion` per distinct zip) in front of its own `Layers` in the
manifest's order, and the bundle's environment (the exec wrapper) in its `Environment`.

Everything else is kept: parameters, conditions, outputs, other resources, intrinsic
functions (in their long form, bundler.app.document). The template is written into the
application directory, so each local path the template had (a Node.js function's
`CodeUri`, a layer's `ContentUri`, an API's `DefinitionUri`, ...) is rewritten relative to
it, which is where `sam deploy` and `aws cloudformation package` resolve them from
(https://docs.aws.amazon.com/cli/latest/reference/cloudformation/package.html lists the
properties they upload).
"""

from __future__ import annotations

import copy
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bundler.app.application import FUNCTION, LAMBDA_FUNCTION, Application
from bundler.app.sharing import SharedLayer
from bundler.aws.publish import DEFAULT_LAYER_PREFIX, lambda_arch, layer_name
from bundler.bundle.manifest import Manifest
from bundler.core.errors import TemplateError

LAYER = "AWS::Serverless::LayerVersion"
LAMBDA_LAYER = "AWS::Lambda::LayerVersion"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# Properties holding a local path that `aws cloudformation package` uploads, by type.
_PACKAGED: dict[str, tuple[str, ...]] = {
    FUNCTION: ("CodeUri",),
    LAYER: ("ContentUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::Application": ("Location",),
    "AWS::Serverless::GraphQLApi": ("SchemaUri",),
    LAMBDA_FUNCTION: ("Code",),
    LAMBDA_LAYER: ("Content",),
    "AWS::ApiGateway::RestApi": ("BodyS3Location",),
    "AWS::ApiGatewayV2::Api": ("BodyS3Location",),
    "AWS::AppSync::GraphQLSchema": ("DefinitionS3Location",),
    "AWS::AppSync::Resolver": (
        "RequestMappingTemplateS3Location", "ResponseMappingTemplateS3Location", "CodeS3Location",
    ),
    "AWS::AppSync::FunctionConfiguration": (
        "RequestMappingTemplateS3Location", "ResponseMappingTemplateS3Location", "CodeS3Location",
    ),
    "AWS::StepFunctions::StateMachine": ("DefinitionS3Location",),
    "AWS::CloudFormation::Stack": ("TemplateURL",),
    "AWS::ElasticBeanstalk::ApplicationVersion": ("SourceBundle",),
    "AWS::CloudFormation::ModuleVersion": ("ModulePackage",),
    "AWS::CloudFormation::ResourceVersion": ("SchemaHandlerPackage",),
}  # fmt: skip
# `Globals` sections whose paths apply to the resources above.
_GLOBAL_PATHS = {"Function": ("CodeUri",), "Api": ("DefinitionUri",), "HttpApi": ("DefinitionUri",)}
_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def output_template(
    app: Application,
    built: Mapping[str, tuple[str, Manifest]],
    layers: Sequence[SharedLayer],
    out: Path,
    *,
    layer_prefix: str = DEFAULT_LAYER_PREFIX,
) -> dict[str, Any]:
    """The template for the application directory `out`.

    `built` maps each built function's logical id to its `function.zip` (relative to
    `out`) and its manifest; `layers` are the application's distinct layers.
    """
    template = copy.deepcopy(app.template)
    resources: dict[str, Any] = template["Resources"]
    _rewrite_paths(template, app.root, out, set(built))
    layer_ids = _layer_resources(layers, resources, layer_prefix, sam=has_sam_transform(template))
    by_sha = {layer.sha256: layer_ids[layer.file] for layer in layers}
    for fn in app.functions:
        code, manifest = built[fn.logical_id]
        props = resources[fn.logical_id].setdefault("Properties", {})
        props[fn.code_key] = code
        props["Layers"] = [
            *({"Ref": by_sha[layer.sha256]} for layer in manifest.layers),
            *props.get("Layers", []),
        ]
        variables = props.setdefault("Environment", {}).setdefault("Variables", {})
        for key, value in manifest.environment.items():
            if fn.environment.get(key, value) != value:
                msg = (
                    f"Function {fn.logical_id} sets {key} to {fn.environment[key]!r}; its "
                    f"{manifest.strategy} bundle needs {value!r}. Remove the variable from "
                    "the template (lambundle sets it)."
                )
                raise TemplateError(msg)
            variables[key] = value
    return template


def has_sam_transform(template: dict[str, Any]) -> bool:
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in transforms


def _layer_resources(
    layers: Sequence[SharedLayer], resources: dict[str, Any], prefix: str, *, sam: bool
) -> dict[str, str]:
    """Add one LayerVersion per distinct layer; their logical ids by file.

    A SAM template gets `AWS::Serverless::LayerVersion`s; a plain CloudFormation one (no
    SAM transform to expand them) `AWS::Lambda::LayerVersion`s, whose `Content` path
    `aws cloudformation package` uploads as it uploads SAM's `ContentUri`.
    """
    names = [layer_name(prefix, layer.name, layer.lock_sha256) for layer in layers]
    repeated = Counter(names)
    ids: dict[str, str] = {}
    for layer, name in zip(layers, names, strict=True):
        logical = "Lambundle" + "".join(
            w[:1].upper() + w[1:] for w in _ALNUM.split(layer.name) if w
        ) + "Layer" + layer.sha256[:8]
        while logical in resources:
            logical += "X"
        ids[layer.file] = logical
        properties = {
            # Layers of one name but other bytes (the runtime layer of two Pythons) get
            # their digest in the name, so one stack never publishes them as versions of
            # one layer.
            "LayerName": name if repeated[name] == 1 else f"{name}-{layer.sha256[:12]}",
            "Description": f"lambundle {layer.name} layer",
            "ContentUri" if sam else "Content": layer.file,
            "CompatibleRuntimes": list(layer.runtimes),
            "CompatibleArchitectures": [lambda_arch(a) for a in layer.architectures],
        }
        # Functions of other stacks may use the same version (a shared pinned layer):
        # deleting this stack must not delete it under them.
        if sam:
            resources[logical] = {
                "Type": LAYER, "Properties": {**properties, "RetentionPolicy": "Retain"},
            }  # fmt: skip
        else:
            resources[logical] = {
                "Type": LAMBDA_LAYER, "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain", "Properties": properties,
            }  # fmt: skip
    return ids


def _rewrite_paths(template: dict[str, Any], root: Path, out: Path, built: set[str]) -> None:
    """Local paths of the resources left alone made relative to `out` instead of `root`."""
    for section, keys in _GLOBAL_PATHS.items():
        props = (template.get("Globals") or {}).get(section)
        if isinstance(props, dict):
            _rewrite_keys(props, keys, root, out)
    for logical_id, resource in template["Resources"].items():
        if logical_id in built or not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        props = resource.get("Properties")
        if isinstance(props, dict) and kind in _PACKAGED:
            _rewrite_keys(props, _PACKAGED[kind], root, out)
        if kind == "AWS::Glue::Job" and isinstance(props, dict):
            command = props.get("Command")
            if isinstance(command, dict):
                _rewrite_keys(command, ("ScriptLocation",), root, out)
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            # An image function's build context (`sam build` reads it).
            _rewrite_keys(metadata, ("DockerContext",), root, out)
        if kind in (FUNCTION, LAYER) and _packages_template_dir(template, resource):
            # `package` uploads the template's directory for a missing CodeUri/ContentUri:
            # that directory is no longer the template's, so it is named.
            key = "CodeUri" if kind == FUNCTION else "ContentUri"
            resource.setdefault("Properties", {})[key] = _relative(root, out)
    _rewrite_includes(template, root, out)


def _packages_template_dir(template: dict[str, Any], resource: dict[str, Any]) -> bool:
    props = resource.get("Properties") or {}
    if resource["Type"] == LAYER:
        return "ContentUri" not in props
    global_fn = (template.get("Globals") or {}).get("Function") or {}
    return not any(
        key in props or key in global_fn for key in ("CodeUri", "InlineCode", "ImageUri")
    ) and props.get("PackageType", global_fn.get("PackageType", "Zip")) == "Zip"


def _rewrite_keys(props: dict[str, Any], keys: Sequence[str], root: Path, out: Path) -> None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, str) and _is_local(value):
            props[key] = _relative(root / value, out)


def _rewrite_includes(node: Any, root: Path, out: Path) -> None:
    """`Fn::Transform: {Name: AWS::Include, Parameters: {Location: ./local.yaml}}`."""
    if isinstance(node, dict):
        transform = node.get("Fn::Transform")
        if isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
            params = transform.get("Parameters")
            if isinstance(params, dict):
                _rewrite_keys(params, ("Location",), root, out)
        for value in node.values():
            _rewrite_includes(value, root, out)
    elif isinstance(node, list):
        for value in node:
            _rewrite_includes(value, root, out)


def _is_local(value: str) -> bool:
    return "://" not in value and not value.startswith("s3:") and not Path(value).is_absolute()


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.absolute(), base.absolute())).as_posix()
