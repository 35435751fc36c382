"""`lambundle inspect`: sizes against limits, largest distributions, the loader's sys.path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import strategies
from bundler.build import executor
from bundler.build.bytecode import Bytecode
from bundler.bundle import limits
from bundler.bundle.archive import ZipEntry
from bundler.bundle.inspect import inspect
from bundler.bundle.plan import Dist, PlanInputs
from bundler.cli import cli, main
from bundler.core.cache import Cache
from bundler.core.target import Target

RECORD = "big-1.0.dist-info/RECORD"


def make_bundle(
    tmp_path: Path, strategy: str, runtime: str = "", code: bytes = b"import big\n",
    extra_deps: tuple[ZipEntry, ...] = (),
) -> Path:
    """A bundle with two fake distributions, one module and one package."""
    deps = (*extra_deps,
        ZipEntry("big/__init__.py", data=b"x" * 5000),
        ZipEntry("big/__pycache__/__init__.cpython-312.pyc", data=b"y" * 1000),
        ZipEntry(RECORD, data=b"big/__init__.py,sha256=a,5000\nbig-1.0.dist-info/RECORD,,\n"),
        ZipEntry("small.py", data=b"z" * 10),
        ZipEntry("small-2.0.dist-info/RECORD", data=b"small.py,sha256=b,10\n"),
    )
    plan = strategies.get(strategy).plan(
        PlanInputs(
            target=Target("3.12", "x86_64", runtime),
            handler="app.handler",
            code=(ZipEntry("app.py", data=code),),
            deps=deps,
            runtime=(ZipEntry("bootstrap", data=b"#!/bin/sh\n", executable=True),),
            lock_text="big==1.0\nsmall==2.0\n",
            lock_sha256="a" * 64,
            distributions=(Dist("big", "1.0", 6000), Dist("small", "2.0", 10)),
        )
    )
    out = tmp_path / strategy
    executor.execute(plan, out, cache=Cache(tmp_path / "cache"), bytecode=Bytecode("none"))
    return out


@pytest.mark.parametrize(
    ("strategy", "sys_path"),
    [
        ("fat-layer", ["/var/task", "/opt/python/lib/python3.12/site-packages"]),
        ("vendored", ["/var/task", "/var/task/vendor"]),
        ("pinned", ["/var/task", "/opt/python/lib/python3.12/site-packages"]),
    ],
)
def test_inspect_reads_the_archives(tmp_path: Path, strategy: str, sys_path: list[str]) -> None:
    found = inspect(make_bundle(tmp_path, strategy))
    assert list(found.loader_sys_path) == sys_path
    assert [(d.name, d.version) for d in found.largest] == [("big", "1.0"), ("small", "2.0")]
    big = found.largest[0]
    record_size = len(b"big/__init__.py,sha256=a,5000\nbig-1.0.dist-info/RECORD,,\n")
    assert big.size == 5000 + 1000 + record_size  # pyc we compiled count for their package
    assert all(c.ok for c in found.checks)
    assert {c.name for c in found.checks} == {
        "unzipped function + layers (bytes)",
        "layers",
        "zipped function.zip (bytes)",
    }


def test_inspect_json_and_human(tmp_path: Path) -> None:
    bundle_dir = make_bundle(tmp_path, "pinned")
    result = CliRunner().invoke(cli, ["inspect", str(bundle_dir), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert doc["manifest"]["strategy"] == "pinned"
    assert doc["largest_distributions"][0]["artifact"] == "layer-2-deps.zip"
    human = CliRunner().invoke(cli, ["inspect", str(bundle_dir)])
    assert human.exit_code == 0
    assert "ok   layers: 2 of 5" in human.stdout
    assert "AWS_LAMBDA_EXEC_WRAPPER=/opt/lambundle/exec-wrapper" in human.stdout
    assert doc["locks"] == [f"/opt/lambundle/locks/pinned-{'a' * 12}.txt"]
    assert f"hash-pinned lock: /opt/lambundle/locks/pinned-{'a' * 12}.txt" in human.stdout


def test_inspect_exits_3_when_a_limit_is_exceeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle_dir = make_bundle(tmp_path, "vendored")
    monkeypatch.setattr(limits, "MAX_UNZIPPED", 10)
    result = CliRunner().invoke(cli, ["inspect", str(bundle_dir)])
    assert result.exit_code == 3
    assert "OVER unzipped function + layers" in result.stdout


def test_inspect_says_upload_through_s3_for_a_zip_over_the_direct_upload_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle_dir = make_bundle(tmp_path, "vendored")
    monkeypatch.setattr(limits, "MAX_ZIPPED", 10)
    result = CliRunner().invoke(cli, ["inspect", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    assert "OVER" not in result.stdout
    assert "S3   zipped function.zip (bytes)" in result.stdout
    assert "upload through S3" in result.stdout
    assert "Warning: function.zip is" in result.stderr and "--s3-bucket" in result.stderr
    doc = json.loads(CliRunner().invoke(cli, ["inspect", str(bundle_dir), "--json"]).stdout)
    assert doc["ok"] is True
    assert doc["warnings"] and doc["warnings"][0].startswith("function.zip is")


def test_inspect_something_that_is_not_a_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "has no bundle.json" in capsys.readouterr().err


def test_inspect_a_corrupt_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle_dir = make_bundle(tmp_path, "vendored")
    (bundle_dir / "function.zip").write_bytes(b"not a zip")
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(bundle_dir)])
    assert exit_info.value.code == 2
    assert "function.zip is 9 bytes, but bundle.json records" in capsys.readouterr().err


def test_inspect_refuses_a_zip_swapped_under_the_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle_dir = make_bundle(tmp_path, "vendored")
    other = make_bundle(tmp_path / "other", "fat-layer")
    (bundle_dir / "function.zip").write_bytes((other / "function.zip").read_bytes())
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", str(bundle_dir)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "function.zip is" in err and "not the zip this bundle was built with" in err
    assert "rebuild the bundle" in err and "Traceback" not in err


HANDLER_USING_THE_RUNTIME = b"""\
import json
import boto3
import big
from botocore.config import Config
from . import sibling
try:
    import six
except ImportError:
    six = None

def handler(event, context):
    import s3transfer  # at call time, not at import: not counted
    return 1
"""


@pytest.mark.parametrize("strategy", ["fat-layer", "vendored", "pinned"])
def test_inspect_names_the_imports_the_runtime_provides(tmp_path: Path, strategy: str) -> None:
    found = inspect(make_bundle(tmp_path, strategy, code=HANDLER_USING_THE_RUNTIME))
    # big ships in the bundle, json is the standard library, s3transfer is imported late.
    assert found.runtime_imports == ("boto3", "botocore", "six")
    assert found.to_json()["runtime_imports"] == ["boto3", "botocore", "six"]


def test_a_shipped_sdk_is_not_the_runtimes(tmp_path: Path) -> None:
    shipped = (
        ZipEntry("boto3/__init__.py", data=b""),
        ZipEntry("six.py", data=b""),
    )
    found = inspect(make_bundle(tmp_path, "vendored", code=HANDLER_USING_THE_RUNTIME,
                                extra_deps=shipped))  # fmt: skip
    assert found.runtime_imports == ("botocore",)


def test_an_os_only_runtime_provides_no_sdk(tmp_path: Path) -> None:
    found = inspect(make_bundle(tmp_path, "fat-layer", runtime="provided.al2023",
                                code=HANDLER_USING_THE_RUNTIME))  # fmt: skip
    assert found.runtime_imports == ()


def test_inspect_says_which_imports_come_from_the_runtime(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, "pinned", code=HANDLER_USING_THE_RUNTIME)
    result = CliRunner().invoke(cli, ["inspect", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "imported from the python3.12 runtime, not shipped: boto3, botocore, six" in (
        result.output
    )
