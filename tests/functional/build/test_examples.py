"""Every example, bundled in every strategy, started in the sandbox and invoked.

Examples with third-party dependencies need the package index (marked `network`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from bundler.build.pipeline import BuildOptions, BuildResult, bundle
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.core.errors import BundlerError
from bundler.sandbox import Sandbox

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
STRATEGIES = ["fat-layer", "vendored", "pinned"]

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(interpreters.find("3.12") is None, reason="no Python 3.12 to run bundles"),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    # One cache per module: wheels and locks are downloaded once for all strategies.
    return Cache(tmp_path_factory.mktemp("cache"))


def build(example: str, strategy: str, tmp_path: Path, cache: Cache, **kw: object) -> BuildResult:
    src = EXAMPLES / example
    copy = tmp_path / example
    if src.is_dir():
        shutil.copytree(src, copy)
    else:
        shutil.copy(src, copy)
    # verify=True: the build itself proves the handler imports in the sandbox.
    options = BuildOptions(copy, strategy, out=tmp_path / "out", verify=True, **kw)  # type: ignore[arg-type]
    result = bundle(options, cache=cache)
    assert result.verified
    return result


def invoke(bundle_dir: Path, body: bytes) -> bytes:
    with Sandbox(bundle_dir, timeout_s=20) as sb:
        result = sb.invoke(body)
    assert result.function_error is None, (result.payload, result.logs)
    return result.payload


LOCAL = [
    ("hello", b'{"name": "lambda"}', lambda p: json.loads(p)["message"] == "hello, lambda"),
    ("script-empty", b"{}", lambda p: p == b""),
    ("script-hello", b"{}", lambda p: p == b"hello from a script\n"),
    ("script-echo", b'{"x": [1, 2]}', lambda p: p == b'{"x": [1, 2]}'),
]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("example", "body", "check"), LOCAL, ids=[e[0] for e in LOCAL])
def test_local_examples_start_and_answer(
    tmp_path: Path,
    cache: Cache,
    example: str,
    body: bytes,
    check,
    strategy: str,  # type: ignore[no-untyped-def]
) -> None:
    result = build(example, strategy, tmp_path, cache)
    assert check(invoke(result.out, body))


@pytest.mark.parametrize("runtime", ["provided.al2023", "python3.12"])
def test_both_runtimes_start(tmp_path: Path, cache: Cache, runtime: str) -> None:
    from bundler.core.target import Target

    result = build("hello", "fat-layer", tmp_path, cache, target=Target("3.12", runtime=runtime))
    assert json.loads(invoke(result.out, b"{}"))["message"] == "hello, world"


def test_a_handler_that_fails_to_import_fails_the_build(tmp_path: Path, cache: Cache) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "app.py").write_text("import not_installed\n\ndef handler(event, context):\n    pass\n")
    out = tmp_path / "out"
    good = bundle(BuildOptions(EXAMPLES / "hello", "vendored", out=out, verify=True), cache=cache)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(BundlerError, match="Runtime.ImportModuleError.*not_installed"):
        bundle(BuildOptions(src, "vendored", out=out, verify=True), cache=cache)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert good.verified
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_user_module_named_runtime_still_imports(tmp_path: Path, cache: Cache) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "runtime.py").write_text("NAME = 'mine'\n")
    (src / "app.py").write_text(
        "import runtime\n\ndef handler(event, context):\n    return runtime.NAME\n"
    )
    for strategy in STRATEGIES:
        result = bundle(
            BuildOptions(src, strategy, out=tmp_path / strategy, verify=True), cache=cache
        )
        assert invoke(result.out, b"{}") == b'"mine"'


# -- with dependencies from the package index ---------------------------------------------


@pytest.mark.network
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_requests_fn(tmp_path: Path, cache: Cache, strategy: str) -> None:
    result = build("requests-fn", strategy, tmp_path, cache)
    answer = json.loads(invoke(result.out, b"{}"))
    assert answer["url"] == "https://example.com/?q=lambda"
    names = {name for name, _ in result.manifest.distributions}
    assert {"requests", "urllib3", "idna", "certifi"} <= {n.lower() for n in names}
    assert result.manifest.lock_sha256


@pytest.mark.network
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_native_fn(tmp_path: Path, cache: Cache, strategy: str) -> None:
    result = build("native-fn", strategy, tmp_path, cache)
    answer = json.loads(invoke(result.out, b'{"id": 7, "items": ["a"]}'))
    assert answer["order"] == {"id": 7, "items": ["a"]}
    zips = [result.out / a.file for a in (result.manifest.function, *result.manifest.layers)]
    shared = [n for z in zips for n in zipfile.ZipFile(z).namelist() if n.endswith(".so")]
    assert any("x86_64-linux-gnu" in n for n in shared), shared


@pytest.mark.network
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pep723_script(tmp_path: Path, cache: Cache, strategy: str) -> None:
    result = build("pep723-script.py", strategy, tmp_path, cache)
    assert result.manifest.handler == "pep723-script.py"
    answer = json.loads(invoke(result.out, b'{"b": 1, "a": 2}'))
    assert answer["keys"] == ["a", "b"]


@pytest.mark.network
def test_vendored_layout_and_pinned_lock(tmp_path: Path, cache: Cache) -> None:
    vendored = build("requests-fn", "vendored", tmp_path / "v", cache)
    names = zipfile.ZipFile(vendored.out / "function.zip").namelist()
    assert "vendor/requests/__init__.py" in names
    assert "vendor/requests/__pycache__/__init__.cpython-312.pyc" in names
    assert json.loads(
        zipfile.ZipFile(vendored.out / "function.zip").read(".lambundle/paths.json")
    ) == {"sys_path": ["vendor"]}
    pinned = build("requests-fn", "pinned", tmp_path / "p", cache)
    deps = zipfile.ZipFile(pinned.out / "layer-2-deps.zip")
    locks = [n for n in deps.namelist() if n.startswith("lambundle/locks/")]
    assert len(locks) == 1
    assert "--hash=sha256:" in deps.read(locks[0]).decode()
    assert "python/lib/python3.12/site-packages/requests/__init__.py" in deps.namelist()


@pytest.mark.network
def test_pinned_shared_gives_one_identical_dependency_layer(tmp_path: Path, cache: Cache) -> None:
    outs = []
    for function in ("orders", "invoices"):
        src = EXAMPLES / "pinned-shared" / function
        result = bundle(
            BuildOptions(src, "pinned", out=tmp_path / function, verify=True), cache=cache
        )
        assert json.loads(invoke(result.out, b"{}"))["function"] == function
        outs.append(result)
    a, b = (r.manifest for r in outs)
    assert a.lock_sha256 == b.lock_sha256
    assert [layer.sha256 for layer in a.layers] == [layer.sha256 for layer in b.layers]
    assert a.function.sha256 != b.function.sha256


@pytest.mark.network
def test_slim_keeps_imports_working(tmp_path: Path, cache: Cache) -> None:
    full = build("native-fn", "vendored", tmp_path / "full", cache)
    slim = build("native-fn", "vendored", tmp_path / "slim", cache, slim=True)
    assert slim.manifest.function.unzipped_size < full.manifest.function.unzipped_size
    names = zipfile.ZipFile(slim.out / "function.zip").namelist()
    assert not [n for n in names if n.endswith(".pyi")]
    assert [n for n in names if ".dist-info/" in n]
    assert json.loads(invoke(slim.out, b'{"id": 1}'))["order"]["id"] == 1


@pytest.mark.network
def test_builds_with_dependencies_are_reproducible(tmp_path: Path) -> None:
    # Two fresh caches and two source locations: the lock is resolved, the wheels are
    # downloaded and installed, and the bytecode compiled twice, independently.
    results = []
    for place in ("a", "b"):
        fresh = Cache(tmp_path / place / "cache")
        shutil.copytree(EXAMPLES / "requests-fn", tmp_path / place / "src")
        options = BuildOptions(tmp_path / place / "src", "vendored", out=tmp_path / place / "out")
        results.append(bundle(dataclasses.replace(options, verify=False), cache=fresh))
    one, two = (r.out for r in results)
    for name in ("function.zip", "layer-1-runtime.zip", "bundle.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
