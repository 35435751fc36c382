import json

import pytest

from bundler.bundle import manifest
from bundler.bundle.manifest import Artifact, Manifest
from bundler.core.errors import BundleError
from bundler.core.target import Target


def _manifest():
    return Manifest(
        strategy="vendored",
        target=Target("3.12"),
        handler="app.handler",
        function=Artifact("function", "function.zip", "0" * 64, 10, 20),
        layers=(Artifact("runtime", "layer-1-runtime.zip", "1" * 64, 5, 9),),
        sys_path=("/var/task", "/var/task/vendor"),
        environment={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper"},
        distributions=(("requests", "2.32.3"),),
    )


def test_round_trip(tmp_path):
    m = _manifest()
    (tmp_path / "function.zip").write_bytes(b"")
    (tmp_path / "layer-1-runtime.zip").write_bytes(b"")
    manifest.write(tmp_path, m)
    assert manifest.load(tmp_path) == m
    raw = json.loads((tmp_path / "bundle.json").read_text())
    assert raw["target"]["glibc"] == "2.34"


def test_missing_directory_manifest_and_artifact_are_named(tmp_path):
    with pytest.raises(BundleError, match="not a bundle directory"):
        manifest.load(tmp_path / "nope")
    with pytest.raises(BundleError, match="has no bundle.json"):
        manifest.load(tmp_path)
    manifest.write(tmp_path, _manifest())
    with pytest.raises(BundleError, match="missing function.zip"):
        manifest.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": 99}', "unsupported schema 99"),
        ('{"schema": 1}', "malformed"),
    ],
)
def test_malformed_manifests_are_refused(tmp_path, text, message):
    (tmp_path / "bundle.json").write_text(text)
    with pytest.raises(BundleError, match=message):
        manifest.load(tmp_path)


def test_artifact_names_cannot_escape_the_bundle(tmp_path):
    raw = _manifest().to_json()
    raw["layers"][0]["file"] = "../../etc/passwd"
    (tmp_path / "bundle.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="plain file name"):
        manifest.load(tmp_path)
