"""A CloudFormation or SAM template as text: read (JSON, or YAML with CloudFormation's
short-form tags) into plain data, and written back.

CloudFormation's YAML has tags of its own (`!Ref X`, `!GetAtt A.B`, `!Sub "..."`, `!If
[...]`) that a YAML library does not know. They are read into the long form that JSON
templates use (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": "..."}`), which
CloudFormation, SAM, cfn-lint and `aws cloudformation package` all accept, so the output
template is written in long form: one spelling for both input syntaxes
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html).

Two more departures from a plain YAML reader, both because CloudFormation reads it that way:
a date such as `AWSTemplateFormatVersion: 2010-09-09` stays text, and a key given twice in
one mapping is an error (CloudFormation refuses the template) rather than silently the last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bundler.aws.template import render
from bundler.core.errors import TemplateError

# The short forms CloudFormation's YAML accepts, and the long-form key each stands for.
_INTRINSICS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And", "Base64", "Cidr", "Equals", "FindInMap", "ForEach", "GetAtt", "GetAZs",
            "If", "ImportValue", "Join", "Length", "Not", "Or", "Select", "Split", "Sub",
            "ToJsonString", "Transform",
        )
    },
}  # fmt: skip


class _Loader(yaml.SafeLoader):
    """SafeLoader with CloudFormation's tags, dates as text and duplicate keys refused."""


# Timestamps stay strings (CloudFormation has no date type): drop that implicit resolver.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            line = key_node.start_mark.line + 1
            msg = f"the key {key!r} appears twice in one mapping (line {line})"
            raise yaml.constructor.ConstructorError(None, None, msg, key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _intrinsic(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _INTRINSICS.get(suffix)
    if name is None:
        msg = f"!{suffix} is not a CloudFormation function"
        raise yaml.constructor.ConstructorError(None, None, msg, node.start_mark)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            # `!GetAtt Resource.Attribute`: the attribute may itself hold dots.
            resource, _, attribute = str(value).partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = _mapping(loader, node)
    return {name: value}


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_multi_constructor("!", _intrinsic)


def parse(text: str, where: str) -> tuple[dict[str, Any], bool]:
    """The template in `text` and whether it was JSON; `where` names it in errors."""
    is_json = text.lstrip().startswith("{")
    try:
        data = json.loads(text) if is_json else yaml.load(text, Loader=_Loader)
    except json.JSONDecodeError as exc:
        msg = f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}); fix the template."
        raise TemplateError(msg) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        msg = f"{where} is not a valid YAML template ({problem}{at}); fix the template."
        raise TemplateError(msg) from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        msg = (
            f"{where} is not a CloudFormation template: it needs a top-level `Resources` "
            "mapping (AWS::Serverless::Function and other resources by logical id)."
        )
        raise TemplateError(msg)
    return data, is_json


def load(path: Path) -> tuple[dict[str, Any], bool]:
    """The template at `path` and whether it was JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{path} does not exist; pass a SAM or CloudFormation template."
        raise TemplateError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"Cannot read the template {path} ({exc}); pass a UTF-8 template file."
        raise TemplateError(msg) from None
    return parse(text, str(path))


def dumps(template: dict[str, Any], *, as_json: bool) -> str:
    """The template as JSON or as YAML (long-form intrinsics, double-quoted strings)."""
    return render(template, as_json=as_json)
