"""`lambundle template`: a SAM template that deploys a bundle like `publish` does.

One `AWS::Serverless::LayerVersion` per layer and one `AWS::Serverless::Function` using
them in the manifest's order. SAM resolves `ContentUri`/`CodeUri` relative to the
template's directory, so the paths are written relative to where the template goes
(`sam deploy` then uploads the zips). The YAML comes from the small emitter below: the
document is only mappings, lists, strings and integers, and every string is written
double-quoted in JSON's syntax, which YAML reads unchanged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from bundler.aws.publish import (
    DEFAULT_LAYER_PREFIX,
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    lambda_arch,
    layer_name,
)
from bundler.bundle import manifest as mf

_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LOGICAL_ID = re.compile(r"[^A-Za-z0-9]+")


def build(
    bundle_dir: Path,
    *,
    relative_to: Path,
    function_name: str | None = None,
    layer_prefix: str = DEFAULT_LAYER_PREFIX,
    memory: int = DEFAULT_MEMORY,
    timeout: int = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """The template for `bundle_dir`, its zip paths relative to the directory `relative_to`."""
    manifest = mf.load_checked(bundle_dir)  # the zips SAM uploads are the ones described
    runtime = manifest.target.runtime
    arch = lambda_arch(manifest.target.arch)
    resources: dict[str, Any] = {}
    refs: list[dict[str, str]] = []
    for index, artifact in enumerate(manifest.layers, start=1):
        logical = logical_id(f"Layer{index}", artifact.name)
        refs.append({"Ref": logical})
        resources[logical] = {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": layer_name(layer_prefix, artifact.name, manifest.lock_sha256),
                "Description": f"lambundle {manifest.strategy} {artifact.name} layer",
                "ContentUri": _relative(bundle_dir / artifact.file, relative_to),
                "CompatibleRuntimes": [runtime],
                "CompatibleArchitectures": [arch],
                # Other functions may use the same version (a shared pinned layer):
                # deleting the stack must not delete it under them.
                "RetentionPolicy": "Retain",
            },
        }
    properties: dict[str, Any] = {}
    if function_name:
        properties["FunctionName"] = function_name
    properties.update(
        {
            "CodeUri": _relative(bundle_dir / manifest.function.file, relative_to),
            "Handler": manifest.handler,
            "Runtime": runtime,
            "Architectures": [arch],
            "MemorySize": memory,
            "Timeout": timeout,
        }
    )
    if refs:
        properties["Layers"] = refs
    if manifest.environment:
        properties["Environment"] = {"Variables": dict(manifest.environment)}
    resources[logical_id("Function", function_name or "")] = {
        "Type": "AWS::Serverless::Function",
        "Properties": properties,
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"lambundle {manifest.strategy} bundle ({runtime}, {arch})",
        "Resources": resources,
    }


def logical_id(kind: str, name: str) -> str:
    """A CloudFormation logical ID (alphanumeric only): `kind` then `name` in CamelCase."""
    words = [w for w in _LOGICAL_ID.split(name) if w]
    return (kind + "".join(w[:1].upper() + w[1:] for w in words))[:255]


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.absolute(), base.absolute())).as_posix()


def render(template: dict[str, Any], *, as_json: bool = False) -> str:
    """The template as YAML (default) or JSON text."""
    if as_json:
        return json.dumps(template, indent=2) + "\n"
    return "\n".join(_yaml(template, 0)) + "\n"


def write(
    bundle_dir: Path,
    out: Path,
    *,
    function_name: str | None = None,
    layer_prefix: str = DEFAULT_LAYER_PREFIX,
) -> dict[str, Any]:
    """Write the template to `out` (JSON when it ends in .json, else YAML); return it."""
    template = build(
        bundle_dir,
        relative_to=out.absolute().parent,
        function_name=function_name,
        layer_prefix=layer_prefix,
    )
    out.write_text(render(template, as_json=out.suffix == ".json"), encoding="utf-8")
    return template


def _scalar(value: Any) -> str:
    # An application's template (bundler.app) also carries nulls and floats through.
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return json.dumps(str(value))


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else json.dumps(key)


def _yaml(value: Any, indent: int) -> list[str]:
    """Block-style YAML lines for a mapping or a list; empty ones in flow style."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_key(key)}:")
                lines.extend(_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{_key(key)}: {_flow(item)}")
        return lines
    for item in value:
        if isinstance(item, (dict, list)) and item:
            nested = _yaml(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}- {_flow(item)}")
    return lines


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}" if not value else json.dumps(value)
    if isinstance(value, list):
        return "[]" if not value else json.dumps(value)
    return _scalar(value)
