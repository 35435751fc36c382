"""examples/app built in every strategy with real wheels from the package index: its
output template passes cfn-lint and SAM's translator, identical layers are one artifact,
and each function answers when invoked by its logical id in the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bundler.app.builder import AppOptions, build_application
from bundler.app.local import local_function
from bundler.core import interpreters
from bundler.core.cache import Cache
from bundler.sandbox import Sandbox
from tests.functional.app.checks import check_deployable

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "app"
PYTHON_FUNCTIONS = ["OrdersFunction", "InvoicesFunction", "ValidateFunction", "ReportFunction"]

pytestmark = [
    pytest.mark.network,
    pytest.mark.sandbox,
    pytest.mark.skipif(interpreters.find("3.12") is None, reason="no Python 3.12 to run bundles"),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache(tmp_path_factory.mktemp("cache"))


@pytest.mark.parametrize("strategy", ["fat-layer", "vendored", "pinned"])
def test_the_example_application_builds_deploys_and_runs(
    strategy: str, tmp_path: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "app"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns(".lambundle"))
    messages: list[str] = []
    result = build_application(
        AppOptions(src / "template.yaml", strategy, verify=True), cache=cache,
        report=messages.append,
    )  # fmt: skip
    out = src / ".lambundle" / f"template-{strategy}"
    assert result.out == out
    assert [fn.logical_id for fn in result.functions] == PYTHON_FUNCTIONS
    assert all(fn.verified for fn in result.functions)
    assert [s.logical_id for s in result.skipped] == ["WebFunction"]
    layers = {fn.logical_id: [result.layer_file(a.sha256) for a in fn.manifest.layers]
              for fn in result.functions}  # fmt: skip
    # Orders and Invoices have the same requirements: the same dependency layer (pinned,
    # fat-layer), made once: the second of them took the lock and the tree from the cache.
    if strategy != "vendored":
        assert layers["OrdersFunction"] == layers["InvoicesFunction"]
        assert layers["ValidateFunction"][-1] != layers["OrdersFunction"][-1]
        second = [m for m in messages if m.startswith("[InvoicesFunction]")]
        assert any("Lock reused from the cache" in m for m in second), second
        assert not any("Installing" in m or "Downloading" in m for m in second), second
    if strategy != "fat-layer":  # one runtime layer for all four
        assert len({fn_layers[0] for fn_layers in layers.values()}) == 1
    assert result.sizes.saved > 0
    assert result.sizes.shared == sum(
        (out / f).stat().st_size
        for f in [*(f"{fn}/function.zip" for fn in PYTHON_FUNCTIONS),
                  *(layer.file for layer in result.layers)]
    )  # fmt: skip
    saved = json.loads((out / "app.json").read_text())["bytes"]
    assert saved == result.sizes.to_json()

    translated = check_deployable(out / "template.yaml", monkeypatch)["Resources"]
    lambdas = {k for k, v in translated.items() if v["Type"] == "AWS::Lambda::Function"}
    assert lambdas == {*PYTHON_FUNCTIONS, "WebFunction"}
    assert translated["OrdersFunction"]["Properties"]["MemorySize"] == 512

    answers = {}
    for logical_id in PYTHON_FUNCTIONS:
        run = local_function(out / "template.yaml", logical_id)
        with Sandbox(
            run.bundle_dir, env=run.environment, timeout_s=run.timeout_s,
            memory_mb=run.memory_mb, function_name=logical_id,
        ) as sb:
            invoked = sb.invoke(b'{"id": 7}')
        assert invoked.function_error is None, (invoked.payload, invoked.logs)
        answers[logical_id] = json.loads(invoked.payload)
    assert answers["OrdersFunction"]["table"] == "Orders"  # the Ref of a resource, locally
    assert answers["OrdersFunction"]["memory"] == "512"
    assert (answers["InvoicesFunction"]["stage"], answers["InvoicesFunction"]["currency"]) == (
        "dev", None,  # !If has no local value: left out, with a warning
    )  # fmt: skip
    assert answers["ValidateFunction"]["order"] == {"id": 7, "items": []}
    assert answers["ReportFunction"]["event"] == {"id": 7}
