"""Poetry projects: a real poetry.lock decides the versions, real wheels come from the index.

The poetry.lock fixtures were written by real Poetry (see poetry_projects/README.md); nothing
here runs Poetry, so these tests need only the package index.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.build.pipeline import BuildOptions, bundle
from bundler.cli import cli
from bundler.core.cache import Cache
from bundler.core.target import Target
from tests.runtime.bundles import needs_python

pytestmark = pytest.mark.network

FIXTURES = Path(__file__).parent / "poetry_projects"
LOCKED = {
    "requests": "2.34.2",
    "six": "1.16.0",
    "pysocks": "1.7.1",  # requests[socks]
    "charset-normalizer": "3.5.3",  # a binary wheel per architecture
    "certifi": "2026.10.19.post1",
    "idna": "3.20",
    "urllib3": "2.8.0",
}


def copy_fixture(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def shipped(zip_path: Path, prefix: str) -> dict[str, tuple[str, str]]:
    """{distribution: (version, wheel tag)} of the dist-info directories under `prefix`."""
    out = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            if name.startswith(prefix) and name.endswith(".dist-info/WHEEL"):
                metadata = Parser().parsestr(zf.read(name[: -len("WHEEL")] + "METADATA").decode())
                wheel = Parser().parsestr(zf.read(name).decode())
                key = metadata["Name"].lower().replace("_", "-")
                out[key] = (metadata["Version"], wheel.get_all("Tag")[-1])
    return out


def bundle_and_invoke(root: Path, out: Path, strategy: str) -> object:
    """`lambundle bundle` then `lambundle invoke` (the host's target Python); the answer."""
    runner = CliRunner()
    built = runner.invoke(
        cli, ["bundle", str(root), "--strategy", strategy, "--out", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert built.exit_code == 0, built.stderr
    invoked = runner.invoke(cli, ["invoke", str(out), "--event", "-"], input="{}")
    assert invoked.exit_code == 0, invoked.stderr
    return json.loads(invoked.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("fixture", "strategy", "arch"),
    [("classic", "vendored", "x86_64"), ("pep621", "pinned", "arm64")],
)
def test_a_bundle_installs_exactly_what_poetry_lock_pins(
    tmp_path: Path, fixture: str, strategy: str, arch: str
) -> None:
    root = copy_fixture(tmp_path, fixture)
    result = bundle(
        BuildOptions(src=root, strategy=strategy, target=Target("3.12", arch),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=Cache(tmp_path / "cache"),
    )  # fmt: skip
    if strategy == "vendored":
        dists = shipped(result.out / "function.zip", "vendor/")
    else:
        layer = result.out / result.manifest.layers[-1].file
        dists = shipped(layer, "python/lib/python3.12/site-packages/")
    assert {name: version for name, (version, _) in dists.items()} == LOCKED
    machine = "aarch64" if arch == "arm64" else "x86_64"
    assert dists["charset-normalizer"][1].endswith(machine)  # the target's wheel, not the host's
    assert result.manifest.lock_sha256 is not None


def test_a_python_restricted_dependency_ships_to_its_python_only(tmp_path: Path) -> None:
    root = copy_fixture(tmp_path, "classic")
    result = bundle(
        BuildOptions(src=root, strategy="vendored", target=Target("3.10"),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=Cache(tmp_path / "cache"),
    )  # fmt: skip
    dists = shipped(result.out / "function.zip", "vendor/")
    assert dists["tomli"][0] == "2.5.0"  # tomli = {python = "<3.11"}
    assert set(dists) == {*LOCKED, "tomli"}


@pytest.mark.sandbox
@needs_python("3.12")
def test_the_locked_function_answers_in_the_sandbox(tmp_path: Path) -> None:
    answer = bundle_and_invoke(copy_fixture(tmp_path, "classic"), tmp_path / "out", "vendored")
    assert answer == {"requests": "2.34.2", "six": "1.16.0", "charset_normalizer": "3.5.3"}


def test_without_poetry_lock_the_poetry_constraints_are_resolved(tmp_path: Path) -> None:
    # The project that used to ship without its dependencies.
    root = tmp_path / "fn"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "fn"\nversion = "0.1.0"\n\n'
        '[tool.poetry.dependencies]\npython = "^3.12"\nrequests = "^2.31"\nsix = "~1.16"\n'
    )
    (root / "app.py").write_text(
        "import requests\n\ndef handler(e, c):\n    return requests.__version__\n"
    )
    said: list[str] = []
    result = bundle(
        BuildOptions(src=root, strategy="vendored", target=Target("3.12", "arm64"),
                     out=tmp_path / "out", bytecode=False, verify=False),
        cache=Cache(tmp_path / "cache"),
        report=said.append,
    )  # fmt: skip
    dists = shipped(result.out / "function.zip", "vendor/")
    assert "requests" in dists
    assert dists["six"][0].startswith("1.16.")  # ~1.16 is >=1.16,<1.17
    assert any("Poetry constraints" in line for line in said)
