import dataclasses
import json
import zipfile

import pytest

from bundler.bundle import manifest
from bundler.bundle.archive import ZipEntry, unzipped_size, write_zip
from bundler.bundle.manifest import Artifact, Manifest
from bundler.core.errors import BundleError, WheelError
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


def built(tmp_path):
    """A bundle directory whose manifest describes its zips, as `bundle` writes them."""
    write_zip(tmp_path / "function.zip", [ZipEntry("app.py", data=b"def handler(e, c): pass\n")])
    write_zip(tmp_path / "layer-1-runtime.zip", [ZipEntry("bootstrap", data=b"#!/bin/sh\n")])
    artifacts = [
        manifest.describe_artifact(name, tmp_path / file, unzipped_size(tmp_path / file))
        for name, file in (("function", "function.zip"), ("runtime", "layer-1-runtime.zip"))
    ]
    found = Manifest("vendored", Target("3.12"), "app.handler", artifacts[0], (artifacts[1],))
    manifest.write(tmp_path, found)
    return found


def test_load_checked_accepts_what_was_built(tmp_path):
    found = built(tmp_path)
    assert manifest.load_checked(tmp_path) == found


def test_a_swapped_zip_of_another_size_is_refused(tmp_path):
    built(tmp_path)
    write_zip(tmp_path / "function.zip", [ZipEntry("app.py", data=b"import os\n" * 100)])
    with pytest.raises(BundleError, match=r"function.zip is [\d,]+ bytes, but bundle.json") as info:
        manifest.load_checked(tmp_path)
    assert "rebuild the bundle with `lambundle bundle SRC`" in str(info.value)


def test_a_swapped_zip_of_the_same_size_is_refused_by_its_sha256(tmp_path):
    built(tmp_path)
    layer = tmp_path / "layer-1-runtime.zip"
    data = bytearray(layer.read_bytes())
    data[-1] ^= 1  # the end record's comment length: same size, other bytes
    layer.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="layer-1-runtime.zip does not match the sha256"):
        manifest.load_checked(tmp_path)


def test_a_manifest_that_understates_the_unzipped_size_is_refused(tmp_path):
    raw = built(tmp_path).to_json()
    raw["function"]["unzipped_size"] = 1
    (tmp_path / "bundle.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="function.zip unpacks to more than the 1 bytes"):
        manifest.load_checked(tmp_path)


def test_a_manifest_that_overstates_the_unzipped_size_is_refused(tmp_path):
    raw = built(tmp_path).to_json()
    raw["function"]["unzipped_size"] += 1
    (tmp_path / "bundle.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="function.zip holds .* bundle.json records"):
        manifest.load_checked(tmp_path)


def test_a_hostile_member_name_is_refused_before_use(tmp_path):
    found = built(tmp_path)
    bad = tmp_path / "function.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escape.py", "x")
    raw = found.to_json()
    raw["function"] = dataclasses.asdict(manifest.describe_artifact("function", bad, 1))
    (tmp_path / "bundle.json").write_text(json.dumps(raw))
    with pytest.raises(WheelError, match="Refusing archive member '../escape.py'"):
        manifest.load_checked(tmp_path)
