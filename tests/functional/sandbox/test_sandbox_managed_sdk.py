"""The managed runtime's emulation carries what AWS's python3.X runtimes carry: the AWS SDK
for Python where AWS keeps it, and the same sys.path whether AWS's client (awslambdaric,
started by the emulated bootstrap.py) or lambundle's exec wrapper starts the function.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.bundle.runtimes import distribution_modules, managed_runtime, sdk_version
from bundler.cli import cli
from bundler.core import interpreters
from bundler.core.target import Target
from bundler.sandbox import Sandbox
from bundler.sandbox import managed_runtime as managed
from tests.runtime.bundles import SandboxFactory, needs_bwrap, sandbox_factory

pytestmark = [*needs_bwrap, pytest.mark.network]


def _skip_reason(python: str) -> str | None:
    """Why this machine cannot play AWS's python{python}: no such interpreter, or only a
    distribution's (Debian's keeps dist-packages where AWS's has site-packages, so the SDK
    has nowhere to be mounted and sys.path differs; the sandbox warns)."""
    interp = interpreters.find(python)
    if interp is None:
        return f"no {python}"
    if not (interp.prefix / f"lib/python{python}/site-packages").is_dir():
        return f"{interp.path} has no site-packages (a distribution's Python); use pyenv or uv's"
    return None


_REASONS = {v: _skip_reason(v) for v in ("3.10", "3.11", "3.12", "3.13")}
PYTHONS = [
    pytest.param(v, marks=pytest.mark.skipif(why is not None, reason=str(why)))
    for v, why in _REASONS.items()
]

REPORT = {
    "app.py": textwrap.dedent(
        """
        import os, sys
        import boto3

        def handler(event, context):
            client = boto3.client("s3", region_name="us-east-1")
            return {
                "sys_path": sys.path,
                "boto3": [boto3.__file__, boto3.__version__],
                "region": client.meta.region_name,
                "pythonpath": os.environ.get("PYTHONPATH"),
            }
        """
    )
}


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxFactory]:
    with sandbox_factory(tmp_path) as factory:
        yield factory


def aws_sys_path(python: str) -> list[str]:
    """The sys.path AWS's python3.X runtime gives a function with no layers and no
    PYTHONPATH (python-layers.html prints it for 3.13): the /opt directories are added
    again at the end because they do not exist."""
    lang = f"/var/lang/lib/python{python}"
    opt = [f"/opt/python/lib/python{python}/site-packages", "/opt/python"]
    sdk = [f"{lang}/site-packages"] if python != "3.10" else []
    return [
        "/var/task", *opt, *sdk, "/var/runtime",
        f"/var/lang/lib/python{python.replace('.', '')}.zip", lang, f"{lang}/lib-dynload",
        f"{lang}/site-packages", *opt,
    ]  # fmt: skip


@pytest.mark.parametrize("python", PYTHONS)
def test_sys_path_and_sdk_are_awss_under_either_client(
    sandboxes: SandboxFactory, python: str
) -> None:
    runtime = f"python{python}"
    seen = {}
    for lambundle in (False, True):
        sb = sandboxes(REPORT, "app.handler", runtime=runtime, lambundle=lambundle)
        result = sb.invoke(b"{}")
        assert result.error is None, result.logs
        seen[lambundle] = result.json()
    aws, ours = seen[False], seen[True]
    assert ours["sys_path"] == aws["sys_path"] == aws_sys_path(python)
    sdk_dir = managed_runtime(python).sdk_dir
    assert aws["boto3"] == ours["boto3"] == [f"{sdk_dir}/boto3/__init__.py", sdk_version()]
    assert aws["region"] == ours["region"] == "us-east-1"
    # bootstrap.py hands /var/runtime to child processes; lambundle's runtime does too.
    assert aws["pythonpath"] == ours["pythonpath"] == "/var/runtime"


def test_sys_path_with_the_users_pythonpath_is_the_same_too(sandboxes: SandboxFactory) -> None:
    # With PYTHONPATH set, AWS's bootstrap.py puts only the task root in front.
    seen = {}
    for lambundle in (False, True):
        sb = sandboxes(
            REPORT, "app.handler", lambundle=lambundle, env={"PYTHONPATH": "/var/task/lib"}
        )
        result = sb.invoke(b"{}")
        assert result.error is None, result.logs
        seen[lambundle] = result.json()
    assert seen[True]["sys_path"] == seen[False]["sys_path"]
    assert seen[True]["sys_path"][:3] == ["/var/task", "/var/runtime", "/var/task/lib"]
    assert seen[True]["pythonpath"] == seen[False]["pythonpath"] == "/var/task/lib"


@pytest.mark.skipif(interpreters.find("3.12") is None, reason="needs Python 3.12")
@pytest.mark.parametrize("strategy", ["fat-layer", "vendored", "pinned"])
def test_a_function_using_the_runtimes_boto3_verifies_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    # The most common pattern on the managed runtimes: boto3 imported, not shipped.
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text(REPORT["app.py"])
    (src / "requirements.txt").write_text("")
    out = tmp_path / "out"
    built = CliRunner().invoke(
        cli,
        ["bundle", str(src), "--strategy", strategy, "--python", "3.12", "--handler",
         "app.handler", "--out", str(out), "--verify", "--json"],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    with Sandbox(out) as sb:
        result = sb.invoke(b"{}")
    assert result.error is None, result.logs
    assert result.json()["region"] == "us-east-1"


def test_the_runtimes_module_list_is_what_the_pins_install(tmp_path: Path) -> None:
    dirs = managed.install(Target("3.12"), cache=tmp_path / "cache")
    installed: dict[str, set[str]] = {}
    for root in {dirs.runtime, dirs.sdk}:
        for dist_info in root.glob("*.dist-info"):
            name = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            name = name.lower().replace("_", "-")
            top = dist_info / "top_level.txt"
            modules = set(top.read_text().split()) if top.is_file() else set()
            if not modules:  # wheels without top_level.txt: what RECORD installs at the top
                record = (dist_info / "RECORD").read_text().splitlines()
                modules = {
                    line.split(",")[0].split("/")[0].removesuffix(".py")
                    for line in record
                    if ".dist-info/" not in line and not line.startswith("..")
                }
            installed[name] = modules - {"__pycache__"}
    expected = {name: set(mods) for name, mods in distribution_modules().items()}
    assert installed == expected
    assert (dirs.sdk / "boto3").is_dir() and (dirs.runtime / "awslambdaric").is_dir()
