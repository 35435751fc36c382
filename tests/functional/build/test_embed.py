"""`lambundle bundle --embed-python`: a real pyenv CPython in a provided.al2023 fat layer."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.bundle.archive import extract_zip
from bundler.cli import cli, main
from bundler.core import interpreters
from tests.runtime.bundles import needs_bwrap

PY312 = interpreters.find("3.12")
PY313 = interpreters.find("3.13")
needs_312 = pytest.mark.skipif(PY312 is None, reason="needs a CPython 3.12 (pyenv install 3.12)")
EMBED = "lambundle/python"

# Says which Python runs it, and which libpython the process mapped.
APP = """\
import sys


def handler(event, context):
    maps = open("/proc/self/maps").read().splitlines()
    libpython = sorted({line.split()[-1] for line in maps if "libpython" in line})
    return {"executable": sys.executable, "prefix": sys.prefix,
            "version": list(sys.version_info[:2]), "libpython": libpython,
            "json_from": __import__("json").__file__,
            "json_cached": __import__("json").__cached__}
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(cache))
    return cache


def bundle(*args: str) -> tuple[int, str, dict | None]:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["bundle", *args, "--no-verify", "--json"])
    doc = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, result.output, doc


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The one-line error of a bundle that must fail with a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bundle", *args, "--no-verify"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert "Traceback" not in err
    return err


def function(tmp_path: Path) -> Path:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text(APP)
    return src


@pytest.fixture(scope="module")
def embedded_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    if PY312 is None:
        pytest.skip("needs a CPython 3.12")
    tmp = tmp_path_factory.mktemp("embed")
    src = function(tmp)
    out = tmp / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAMBUNDLE_CACHE_DIR", str(tmp / "cache"))
        code, output, doc = bundle(
            str(src), "--strategy", "fat-layer", "--runtime", "provided.al2023",
            "--handler", "app.handler", "--out", str(out), "--embed-python", str(PY312.path),
        )  # fmt: skip
    assert code == 0, output
    assert doc is not None
    return out, doc


@needs_312
def test_the_layer_carries_a_trimmed_interpreter(
    embedded_bundle: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    out, doc = embedded_bundle
    assert PY312 is not None
    assert doc["embedded_python"]["version"] == PY312.version
    layer = out / doc["manifest"]["layers"][0]["file"]
    with zipfile.ZipFile(layer) as zf:
        names = set(zf.namelist())
        python3 = zf.getinfo(f"{EMBED}/bin/python3")
    assert (python3.external_attr >> 16) & 0o111
    stdlib = f"{EMBED}/lib/python3.12"
    assert f"{stdlib}/os.py" in names
    # The standard library ships its own unchecked-hash pyc, none of the prefix's.
    assert f"{stdlib}/__pycache__/os.cpython-312.pyc" in names
    assert not any(".opt-1.pyc" in n or ".opt-2.pyc" in n for n in names)
    for dropped in ("test/", "idlelib/", "tkinter/", "ensurepip/", "site-packages/pip/"):
        assert not any(n.startswith(f"{stdlib}/{dropped}") for n in names), dropped
    assert not any(n.startswith((f"{EMBED}/include/", f"{EMBED}/share/")) for n in names)
    assert not any(n.endswith(".a") for n in names)
    # Counted against the limits like every file of the layer.
    total = doc["manifest"]["layers"][0]["unzipped_size"]
    assert total > doc["embedded_python"]["unzipped_size"] > 5_000_000


@needs_312
def test_the_extracted_interpreter_is_relocatable(
    embedded_bundle: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    out, doc = embedded_bundle
    extract_zip(out / doc["manifest"]["layers"][0]["file"], tmp_path)
    python3 = tmp_path / EMBED / "bin" / "python3"
    probe = "import sys, ssl, sqlite3, decimal, ctypes; print(sys.prefix)"
    result = subprocess.run(
        [str(python3), "-I", "-c", probe], capture_output=True, text=True, env={}, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / EMBED)
    dynamic = subprocess.run(["readelf", "-d", str(python3)], capture_output=True, text=True)
    if dynamic.returncode == 0 and "RUNPATH" in dynamic.stdout:
        assert "$ORIGIN" in dynamic.stdout  # not the build machine's prefix


@needs_312
@pytest.mark.parametrize("bad", ["vendored", "python3.12"])
def test_refused_outside_provided_fat_layer(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PY312 is not None
    src = function(tmp_path)
    strategy, runtime = ("vendored", "provided.al2023") if bad == "vendored" else (
        "fat-layer", "python3.12")  # fmt: skip
    err = refused(
        capsys, str(src), "--strategy", strategy, "--runtime", runtime, "--handler",
        "app.handler", "--out", str(tmp_path / "out"), "--embed-python", str(PY312.path),
    )  # fmt: skip
    assert "--embed-python" in err and "drop --embed-python" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(PY313 is None, reason="needs a CPython 3.13")
def test_a_python_of_another_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PY313 is not None
    src = function(tmp_path)
    err = refused(
        capsys, str(src), "--strategy", "fat-layer", "--runtime", "provided.al2023",
        "--handler", "app.handler", "--out", str(tmp_path / "out"),
        "--embed-python", str(PY313.prefix),
    )  # fmt: skip
    assert f"is Python {PY313.version}, but the target is 3.12" in err
    assert not (tmp_path / "out").exists()


@needs_312
@pytest.mark.parametrize("hide_local", [True, False], ids=["no-var-lang", "with-var-lang"])
@needs_bwrap[0]
@needs_bwrap[1]
def test_the_embedded_interpreter_runs_the_function_in_the_sandbox(
    embedded_bundle: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hide_local: bool,
) -> None:
    from bundler.sandbox import Sandbox

    out, _ = embedded_bundle
    if hide_local:
        # No Python 3.12 for the sandbox to mount at /var/lang (as on AWS's
        # provided.al2023): only the embedded one can start the function.
        empty = tmp_path / "empty"
        empty.mkdir()
        monkeypatch.setenv("PYENV_ROOT", str(empty))
        monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(empty))
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
        assert interpreters.find("3.12") is None
    with Sandbox(out, timeout_s=30) as sb:
        result = sb.invoke(b"{}")
        assert result.function_error is None, result.logs
        if hide_local:
            assert any("No Python 3.12 found to mount at /var/lang" in w for w in sb.warnings)
    got = json.loads(result.payload)
    opt = f"/opt/{EMBED}"
    assert got["executable"] == f"{opt}/bin/python3"
    assert got["prefix"] == opt
    assert got["version"] == [3, 12]
    assert got["json_from"] == f"{opt}/lib/python3.12/json/__init__.py"
    assert got["json_cached"] == f"{opt}/lib/python3.12/json/__pycache__/__init__.cpython-312.pyc"
    if hide_local:
        # Nothing at /var/lang: libpython comes from the layer (the rewritten RUNPATH).
        assert got["libpython"] == [f"{opt}/lib/libpython3.12.so.1.0"]


@needs_312
def test_an_interpreter_and_its_prefix_name_the_same_installation(tmp_path: Path) -> None:
    from bundler.build import embed

    assert PY312 is not None
    by_exe = embed.resolve(PY312.path, "3.12")
    assert embed.resolve(PY312.prefix, "3.12") == by_exe
    assert by_exe == (PY312.prefix.resolve(), PY312.version)
    with pytest.raises(embed.UsageError, match="not a working Python"):
        embed.resolve(tmp_path, "3.12")
