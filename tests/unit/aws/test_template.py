"""The template's YAML emitter and names: what it writes, YAML reads back unchanged."""

from __future__ import annotations

import json

import pytest

from bundler.aws import template

yaml = pytest.importorskip("yaml")

AWKWARD = {
    "Plain": "value",
    "Quoted": 'he said "yes": no # not a comment',
    "Numberish": "2010-09-09",
    "Boolish": "true",
    "Empty": "",
    "Unicode": "räksmörgås ✓",
    "Newline": "a\nb\tc\\d",
    "Int": 30,
    "EmptyList": [],
    "EmptyMap": {},
    "List": ["a", {"Ref": "X"}, ["nested", 1], {"K": {"Deep": ["v"]}}],
    "Map": {"weird key: x": "v", "AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper"},
}


def test_yaml_round_trips_awkward_values() -> None:
    text = template.render(AWKWARD)
    assert yaml.safe_load(text) == AWKWARD


def test_json_output_is_the_same_document() -> None:
    assert json.loads(template.render(AWKWARD, as_json=True)) == AWKWARD


@pytest.mark.parametrize(
    ("kind", "name", "logical"),
    [
        ("Function", "", "Function"),
        ("Function", "my-fn", "FunctionMyFn"),
        ("Layer2", "deps", "Layer2Deps"),
        ("Function", "a_b.c d", "FunctionABCD"),
    ],
)
def test_logical_ids_are_alphanumeric(kind: str, name: str, logical: str) -> None:
    assert template.logical_id(kind, name) == logical
