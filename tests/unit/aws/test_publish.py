"""Pure parts of `bundler.aws.publish`: names, digests, and which layer version is reused."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from bundler.aws import publish


@pytest.mark.parametrize(
    ("prefix", "artifact", "name"),
    [
        ("lambundle-", "runtime", "lambundle-runtime"),
        ("my app.", "deps", "my-app-deps"),
        ("", "numpy+pandas/deps", "numpy-pandas-deps"),
        ("team_", "räksmörgås", "team_r-ksm-rg-s"),
        ("", "...", "layer"),
    ],
)
def test_layer_names_use_lambdas_alphabet(prefix: str, artifact: str, name: str) -> None:
    assert publish.layer_name(prefix, artifact) == name


def test_layer_names_are_cut_to_lambdas_length() -> None:
    assert len(publish.layer_name("p-", "x" * 100)) == 64


def test_dependency_layers_are_named_by_their_lock() -> None:
    lock = "0123456789abcdef" * 4
    assert publish.layer_name("lambundle-", "deps", lock) == "lambundle-deps-0123456789ab"
    assert publish.layer_name("lambundle-", "fat", lock) == "lambundle-fat-0123456789ab"
    assert publish.layer_name("lambundle-", "runtime", lock) == "lambundle-runtime"
    assert publish.layer_name("lambundle-", "fat", None) == "lambundle-fat"


def test_an_update_keeps_the_users_variables_and_drops_a_stale_wrapper() -> None:
    current = {
        "TABLE": "orders",  # set by the user on the function: kept
        "LOG_LEVEL": "debug",  # also in what publish sets: publish wins
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper",  # the old bundle's
    }
    merged = publish.merged_environment(current, {"LOG_LEVEL": "info"})
    assert merged == {"TABLE": "orders", "LOG_LEVEL": "info"}
    wrapped = publish.merged_environment(
        {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/other-wrapper"}, {}
    )
    assert wrapped == {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/other-wrapper"}  # not ours: kept


def test_code_sha256_is_the_base64_of_the_digest() -> None:
    data = b"zip bytes"
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert publish.code_sha256(hashlib.sha256(data).hexdigest()) == expected


class FakeLayers:
    """ListLayerVersions (in pages, without CodeSha256, as AWS) and GetLayerVersion."""

    def __init__(self, versions: list[dict[str, Any]]) -> None:
        self.versions = versions
        self.fetched: list[int] = []

    def get_paginator(self, operation: str) -> FakeLayers:
        assert operation == "list_layer_versions"
        return self

    def paginate(self, LayerName: str) -> list[dict[str, Any]]:
        listed = [{k: v for k, v in item.items() if k != "sha"} for item in self.versions]
        return [{"LayerVersions": listed[:2]}, {"LayerVersions": listed[2:]}]

    def get_layer_version(self, LayerName: str, VersionNumber: int) -> dict[str, Any]:
        self.fetched.append(VersionNumber)
        item = next(v for v in self.versions if v["Version"] == VersionNumber)
        return {
            "LayerVersionArn": f"arn:aws:lambda:r:1:layer:{LayerName}:{VersionNumber}",
            "Content": {"CodeSha256": publish.code_sha256(item["sha"])},
        }


def version(number: int, sha: str, runtime: str = "python3.12", arch: str = "x86_64") -> dict[
    str, Any
]:
    return {
        "Version": number,
        "sha": sha,
        "CompatibleRuntimes": [runtime],
        "CompatibleArchitectures": [arch],
    }


def test_the_newest_version_with_the_same_content_runtime_and_arch_is_reused() -> None:
    same, other = "aa" * 32, "bb" * 32
    client = FakeLayers(
        [
            version(1, same),
            version(2, other),
            version(3, same, arch="arm64"),
            version(4, same, runtime="python3.11"),
            version(5, same),
            version(6, other),
        ]
    )
    found = publish.find_layer_version(client, "deps", same, "python3.12", "x86_64")
    assert found == "arn:aws:lambda:r:1:layer:deps:5"
    assert client.fetched == [6, 5]  # newest first; 3 and 4 never fetched


def test_nothing_is_reused_when_no_version_holds_the_content() -> None:
    client = FakeLayers([version(1, "bb" * 32)])
    assert publish.find_layer_version(client, "deps", "aa" * 32, "python3.12", "x86_64") is None


def test_only_the_recent_versions_are_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "RECENT_LAYER_VERSIONS", 3)
    client = FakeLayers([version(1, "aa" * 32)] + [version(n, "bb" * 32) for n in range(2, 8)])
    assert publish.find_layer_version(client, "deps", "aa" * 32, "python3.12", "x86_64") is None
    assert client.fetched == [7, 6, 5]
