"""--verify's sandbox verifier prepares the managed runtime while the build goes on."""

from __future__ import annotations

import sys
import sysconfig
import threading
from pathlib import Path

import pytest

from bundler.build import verify
from bundler.bundle import manifest, runtimes
from bundler.core.errors import SandboxError
from bundler.core.interpreters import Interpreter
from bundler.core.target import Target, host_arch
from bundler.sandbox import managed_runtime

INTERP = Interpreter(Path(sys.executable), "3.12.1", Path(sys.base_prefix))


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No managed runtime installed yet, whatever this machine's cache holds."""
    monkeypatch.setenv("LAMBUNDLE_CACHE_DIR", str(tmp_path / "cache"))


def test_the_managed_runtime_is_installed_before_the_verifier_is_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = threading.Event()
    calls: list[tuple[Target, Path | None]] = []

    def runtime_dir(target: Target, *, compile_with: Path | None = None) -> Path:
        calls.append((target, compile_with))
        started.set()
        return Path("/nonexistent")

    monkeypatch.setattr(managed_runtime, "runtime_dir", runtime_dir)
    target = Target("3.12", host_arch())
    verify.sandbox_verifier(INTERP, target=target)  # not called: no bundle yet
    assert started.wait(timeout=30)
    assert calls == [(target, INTERP.path)]


def test_a_failed_preparation_is_left_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    def runtime_dir(target: Target, *, compile_with: Path | None = None) -> Path:
        raise SandboxError("Could not install awslambdaric")

    monkeypatch.setattr(managed_runtime, "runtime_dir", runtime_dir)
    thread = verify._prepare(Target("3.12", host_arch()), INTERP)
    assert thread is not None
    thread.join()
    assert not thread.is_alive()


def test_nothing_to_prepare_for_an_os_only_runtime_or_a_foreign_arch() -> None:
    foreign = "arm64" if host_arch() == "x86_64" else "x86_64"
    assert verify._prepare(Target("3.12", host_arch(), "provided.al2023"), INTERP) is None
    assert verify._prepare(Target("3.12", foreign), INTERP) is None
    assert verify._prepare(Target("3.12", host_arch()), None) is None


def test_sysconfig_is_filled_before_the_install_thread_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python < 3.12 fills sysconfig's variables lazily and not thread-safely: the thread
    # and the resolver (both looking for uv) must not be the first to ask.
    if hasattr(sysconfig, "_CONFIG_VARS_LOCK"):
        pytest.skip("sysconfig fills its variables under a lock here (3.12+)")
    seen: list[object] = []

    def runtime_dir(target: Target, *, compile_with: Path | None = None) -> Path:
        seen.append(sysconfig._CONFIG_VARS)
        return Path("/nonexistent")

    monkeypatch.setattr(managed_runtime, "runtime_dir", runtime_dir)
    monkeypatch.setattr(sysconfig, "_CONFIG_VARS", None)
    thread = verify._prepare(Target("3.12", host_arch()), INTERP)
    assert thread is not None
    thread.join()
    assert isinstance(seen[0], dict) and "EXE" in seen[0]


def test_the_verification_key_covers_the_managed_runtime_s_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, sdk = tmp_path / "client.txt", tmp_path / "sdk.txt"
    client.write_text("awslambdaric==1 --hash=sha256:aa\n")
    sdk.write_text("boto3==1 --hash=sha256:bb\n")
    monkeypatch.setattr(runtimes, "CLIENT_PINS", client)
    monkeypatch.setattr(runtimes, "SDK_PINS", sdk)
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / manifest.MANIFEST_NAME).write_text("{}")
    before = verify.verification_key(bundle, INTERP)
    sdk.write_text("boto3==2 --hash=sha256:cc\n")
    assert verify.verification_key(bundle, INTERP) != before


def test_an_installed_managed_runtime_is_seen_without_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target("3.12", host_arch())
    assert not verify._managed_runtime_installed(target)
    # runtime_dir itself, with an install that writes nothing: its path and marker.
    monkeypatch.setattr(managed_runtime, "_uv_install", lambda target, dest, pins: True)
    managed_runtime.runtime_dir(target)
    assert verify._managed_runtime_installed(target)
    assert verify._prepare(target, INTERP) is None  # nothing left to prepare
