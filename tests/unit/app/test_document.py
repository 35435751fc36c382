"""Reading templates: CloudFormation's short-form tags into long form, JSON, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.app.document import dumps, load, parse
from bundler.core.errors import TemplateError

TAGGED = """\
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Description: !Sub "${AWS::StackName} function"
      Role: !GetAtt Role.Arn
      Nested: !GetAtt Stack.Outputs.Value
      Memory: !If [IsProd, 1024, !Ref AWS::NoValue]
      Parts: !Split [",", !ImportValue shared-list]
      Subnet: !Select [0, !GetAZs ""]
      Code: !Base64 |
        print("hi")
      Joined: !Join ["-", [a, !FindInMap [Map, !Ref Key, Name]]]
      When: !Condition IsProd
      Nothing: null
      Ratio: 1.5
"""


def test_short_form_tags_are_read_into_long_form() -> None:
    template, is_json = parse(TAGGED, "t.yaml")
    assert not is_json
    # A date stays text: CloudFormation has no date type.
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    props = template["Resources"]["Fn"]["Properties"]
    assert props["Description"] == {"Fn::Sub": "${AWS::StackName} function"}
    assert props["Role"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert props["Nested"] == {"Fn::GetAtt": ["Stack", "Outputs.Value"]}
    assert props["Memory"] == {"Fn::If": ["IsProd", 1024, {"Ref": "AWS::NoValue"}]}
    assert props["Parts"] == {"Fn::Split": [",", {"Fn::ImportValue": "shared-list"}]}
    assert props["Subnet"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert props["Code"] == {"Fn::Base64": 'print("hi")\n'}
    assert props["Joined"] == {
        "Fn::Join": ["-", ["a", {"Fn::FindInMap": ["Map", {"Ref": "Key"}, "Name"]}]]
    }
    assert props["When"] == {"Condition": "IsProd"}
    assert props["Nothing"] is None
    assert props["Ratio"] == 1.5


@pytest.mark.parametrize("as_json", [False, True])
def test_what_is_written_reads_back_the_same(as_json: bool) -> None:
    template, _ = parse(TAGGED, "t.yaml")
    again, is_json = parse(dumps(template, as_json=as_json), "out")
    assert again == template
    assert is_json is as_json


def test_a_json_template_is_read_as_json(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}')
    template, is_json = load(path)
    assert is_json
    assert template["Resources"]["A"]["Type"] == "AWS::SNS::Topic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Resources:\n  A: [unclosed\n", "not a valid YAML template"),
        ("Resources:\n  A: !Bogus x\n", "!Bogus is not a CloudFormation function"),
        ("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n",
         "'A' appears twice in one mapping (line 3)"),
        ('{"Resources": {"A": }}', "not valid JSON"),
        ("just: text\n", "needs a top-level `Resources` mapping"),
        ("- a\n- b\n", "needs a top-level `Resources` mapping"),
    ],
)  # fmt: skip
def test_a_template_that_does_not_parse_is_one_clear_error(text: str, expected: str) -> None:
    with pytest.raises(TemplateError) as raised:
        parse(text, "bad.yaml")
    assert expected in str(raised.value)
    assert "bad.yaml" in str(raised.value)


def test_a_missing_template_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        load(tmp_path / "template.yaml")
