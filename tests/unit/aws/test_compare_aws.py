"""Logic of `compare --aws` with a fake Lambda client: REPORT parsing, forcing, errors.

The fake records every call in order and answers invokes from a script; the real API is
exercised against moto's server in tests/functional/test_compare_aws.py.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bundler.aws import compare as compare_aws
from bundler.aws import publish, reports
from bundler.bundle import manifest as mf
from bundler.core.errors import UsageError
from bundler.core.target import Target
from bundler.measure.report import build_report, dumps, render_table
from bundler.measure.runner import MeasureError

botocore = pytest.importorskip("botocore")
from botocore.exceptions import ClientError  # noqa: E402

REGION = "eu-west-1"
WRAPPER = {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/lambundle/exec-wrapper"}
XRAY = "XRAY TraceId: 1-5e8b2e5a-2b7c3a4b5c6d7e8f\tSegmentId: 6a8b9c0d1e2f3a4b\tSampled: true"
ARN = f"arn:aws:lambda:{REGION}:123456789012"


def report_line(duration: float = 1.52, init: float | None = None, max_mb: int = 40,
                extra: str = "") -> str:
    line = (f"REPORT RequestId: 8f5d6a1e-0c1b-4e4c-9a51-2f7c1c0f6b3e\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: 1024 MB\t"
            f"Max Memory Used: {max_mb} MB\t")  # fmt: skip
    if init is not None:
        line += f"Init Duration: {init:.2f} ms\t"
    return line + extra


def log_tail(report: str, *, xray: bool = False) -> str:
    rid = "8f5d6a1e-0c1b-4e4c-9a51-2f7c1c0f6b3e"
    lines = [f"START RequestId: {rid} Version: $LATEST", "hello from the handler",
             f"END RequestId: {rid}", report]  # fmt: skip
    if xray:
        lines.append(XRAY)
    return "\n".join(lines) + "\n"


# -- parsing -------------------------------------------------------------------------------


def test_a_cold_report_has_init_duration_and_every_figure() -> None:
    found = reports.parse_report(log_tail(report_line(2.31, init=130.49), xray=True))
    assert found == reports.InvokeReport(
        duration_ms=2.31, billed_ms=3, memory_mb=1024, max_memory_mb=40, init_ms=130.49
    )
    assert found.cold


def test_a_warm_report_has_no_init_duration() -> None:
    found = reports.parse_report(log_tail(report_line(0.98)))
    assert found is not None
    assert found.duration_ms == 0.98
    assert found.init_ms is None
    assert not found.cold


def test_a_snapstart_restore_is_not_an_init() -> None:
    line = report_line(3.5, extra="Restore Duration: 412.19 ms\tBilled Restore Duration: 150 ms\t")
    found = reports.parse_report(log_tail(line))
    assert found is not None
    assert found.restore_ms == 412.19
    assert found.init_ms is None


def test_the_json_log_format_report_is_read_too() -> None:
    record = {"time": "2026-11-28T01:00:00.000Z", "type": "platform.report",
              "record": {"requestId": "r", "status": "success",
                         "metrics": {"durationMs": 2.5, "billedDurationMs": 3,
                                     "memorySizeMB": 1024, "maxMemoryUsedMB": 41,
                                     "initDurationMs": 88.25}}}  # fmt: skip
    found = reports.parse_report('{"type": "platform.start"}\n' + json.dumps(record) + "\n")
    assert found == reports.InvokeReport(2.5, 3, 1024, 41, 88.25)


def test_the_last_report_counts_and_a_tail_without_one_is_none() -> None:
    two = log_tail(report_line(9.0, init=50.0)) + log_tail(report_line(1.0))
    found = reports.parse_report(two)
    assert found is not None and found.duration_ms == 1.0 and found.init_ms is None
    assert reports.parse_report("START RequestId: x\nEND RequestId: x\n") is None


def test_log_result_is_base64_of_the_tail() -> None:
    text = log_tail(report_line())
    assert reports.decode_logs(base64.b64encode(text.encode()).decode()) == text
    assert reports.decode_logs(None) == ""
    assert reports.decode_logs("not base64!") == ""


@pytest.mark.parametrize(
    ("variant", "name"),
    [("fat-layer", "lambundle-cmp-fat-layer"), ("pinned-py3.13", "lambundle-cmp-pinned-py3-13"),
     ("fat-layer-no-pyc-slim", "lambundle-cmp-fat-layer-no-pyc-slim")],
)  # fmt: skip
def test_function_names_use_lambdas_alphabet(variant: str, name: str) -> None:
    assert compare_aws.function_name("lambundle-cmp-", variant) == name


def test_function_names_are_cut_to_64() -> None:
    assert len(compare_aws.function_name("p" * 60, "vendored")) == 64


# -- a fake Lambda -------------------------------------------------------------------------


def not_found(operation: str) -> ClientError:
    error = {"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"}}
    return ClientError(error, operation)  # type: ignore[arg-type]


class FakeLambda:
    """Creates, configures and deletes in memory; invokes answer from `script`.

    Each scripted answer is a REPORT line (logged with START/END as Lambda does), a dict
    with a function error's payload (a platform error: a cold REPORT follows), or a tuple
    (function error payload, log tail).
    """

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.functions: dict[str, dict[str, Any]] = {}
        self.layer_versions: dict[str, int] = {}
        self.fail_delete = False
        self.meta = SimpleNamespace(region_name=REGION)

    def _call(self, op: str, **kw: Any) -> None:
        self.calls.append((op, kw))

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    # layers (publish.find_layer_version, publish_layer_version)
    def get_paginator(self, op: str) -> FakeLambda:
        return self

    def paginate(self, LayerName: str) -> list[dict[str, Any]]:
        return [{"LayerVersions": []}]

    def publish_layer_version(self, **kw: Any) -> dict[str, Any]:
        self._call("publish_layer_version", **kw)
        n = self.layer_versions[kw["LayerName"]] = self.layer_versions.get(kw["LayerName"], 0) + 1
        return {"LayerVersionArn": f"{ARN}:layer:{kw['LayerName']}:{n}"}  # fmt: skip

    def delete_layer_version(self, **kw: Any) -> None:
        self._call("delete_layer_version", **kw)

    # functions
    def get_function(self, FunctionName: str) -> dict[str, Any]:
        if FunctionName not in self.functions:
            raise not_found("GetFunction")
        return {"Configuration": self.functions[FunctionName]}

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        return dict(self.get_function(FunctionName)["Configuration"])

    def create_function(self, **kw: Any) -> dict[str, Any]:
        self._call("create_function", **kw)
        self.functions[kw["FunctionName"]] = dict(kw)
        return {"FunctionArn": f"{ARN}:function:{kw['FunctionName']}"}

    def update_function_configuration(self, **kw: Any) -> dict[str, Any]:
        self._call("update_function_configuration", **kw)
        self.functions[kw["FunctionName"]].update(kw)
        return {"FunctionArn": f"{ARN}:function:{kw['FunctionName']}"}

    def update_function_code(self, **kw: Any) -> dict[str, Any]:
        self._call("update_function_code", **kw)
        return {}

    def get_waiter(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(wait=lambda **kw: self._call(f"wait:{name}", **kw))

    def delete_function(self, **kw: Any) -> None:
        self._call("delete_function", **kw)
        if self.fail_delete:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
            raise ClientError(error, "DeleteFunction")  # type: ignore[arg-type]
        if self.functions.pop(kw["FunctionName"], None) is None:
            raise not_found("DeleteFunction")

    def invoke(self, **kw: Any) -> dict[str, Any]:
        self._call("invoke", **kw)
        assert kw["LogType"] == "Tail"
        answer = self.script.pop(0)
        if isinstance(answer, tuple):  # (error payload, the whole log tail)
            payload, logs = answer
            return {"StatusCode": 200, "FunctionError": "Unhandled",
                    "LogResult": base64.b64encode(logs.encode()).decode(),
                    "Payload": io.BytesIO(json.dumps(payload).encode())}  # fmt: skip
        if isinstance(answer, dict):
            logs = log_tail(report_line(5.0, init=90.0))
            return {"StatusCode": 200, "FunctionError": "Unhandled",
                    "LogResult": base64.b64encode(logs.encode()).decode(),
                    "Payload": io.BytesIO(json.dumps(answer).encode())}  # fmt: skip
        logs = log_tail(answer)
        return {"StatusCode": 200, "LogResult": base64.b64encode(logs.encode()[-4096:]).decode(),
                "Payload": io.BytesIO(b'"ok"')}  # fmt: skip


def small_bundle(tmp_path: Path, name: str = "pinned", env: dict[str, str] | None = None) -> Path:
    """A bundle directory with a function zip, one layer and the manifest's environment."""
    out = tmp_path / name
    out.mkdir()
    code = "def handler(e, c):\n    return 'ok'\n"
    for file in ("function.zip", "layer-1-runtime.zip"):
        with zipfile.ZipFile(out / file, "w") as zf:
            zf.writestr("app.py", code)
    manifest = mf.Manifest(
        strategy="pinned", target=Target("3.12", "x86_64"), handler="app.handler",
        function=mf.describe_artifact("function", out / "function.zip", len(code)),
        layers=(mf.describe_artifact("runtime", out / "layer-1-runtime.zip", len(code)),),
        environment=dict(WRAPPER if env is None else env),
    )  # fmt: skip
    mf.write(out, manifest)
    return out


def runner_for(fake: FakeLambda, **kw: Any) -> compare_aws.AwsRunner:
    options = compare_aws.AwsOptions(role="arn:aws:iam::123456789012:role/lambda-exec", **kw)
    return compare_aws.AwsRunner(options, clients=publish.Clients(fake, None))


COLD = report_line(12.5, init=180.25, max_mb=55)
WARM = report_line(1.25)


# -- cold starts ---------------------------------------------------------------------------


def test_a_cold_start_changes_the_configuration_waits_then_invokes(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])  # the first invoke after deploy, then the cold start
    runner = runner_for(fake)
    run = runner.cold(small_bundle(tmp_path))
    after_deploy = fake.ops()[fake.ops().index("invoke") + 1 :]
    assert after_deploy == [
        "update_function_configuration", "wait:function_updated_v2", "invoke"
    ]  # fmt: skip
    update = next(kw for op, kw in fake.calls if op == "update_function_configuration")
    variables = update["Environment"]["Variables"]
    # The manifest's environment (the exec wrapper) is kept; the nonce is added to it.
    assert {k: v for k, v in variables.items() if k != "LAMBUNDLE_COLD"} == WRAPPER
    assert variables["LAMBUNDLE_COLD"]
    assert update["FunctionName"] == "lambundle-cmp-pinned"
    sample = run.sample
    assert math.isnan(sample.extract_ms)
    assert (sample.init_ms, sample.first_invoke_ms) == (180.25, 12.5)
    assert sample.cold_total_ms == 180.25 + 12.5
    assert sample.peak_rss_kb == 55 * 1024
    assert "REPORT" in run.logs
    assert any("extract: not measured on AWS" in w for w in run.warnings)


def test_every_cold_start_gets_a_new_nonce_and_the_extra_environment(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD, COLD])
    runner = runner_for(fake)
    bundle = small_bundle(tmp_path)
    runner.cold(bundle)
    runner.cold(bundle, env={"PYTHONPROFILEIMPORTTIME": "1"})
    updates = [kw["Environment"]["Variables"] for op, kw in fake.calls
               if op == "update_function_configuration"]  # fmt: skip
    assert len(updates) == 2
    assert updates[0]["LAMBUNDLE_COLD"] != updates[1]["LAMBUNDLE_COLD"]
    assert updates[1]["PYTHONPROFILEIMPORTTIME"] == "1"
    assert updates[1]["AWS_LAMBDA_EXEC_WRAPPER"] == WRAPPER["AWS_LAMBDA_EXEC_WRAPPER"]
    # Published once, though started twice.
    assert fake.ops().count("create_function") == 1
    assert fake.ops().count("publish_layer_version") == 1


def test_a_start_that_was_not_cold_is_forced_again_once(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, WARM, COLD])
    run = runner_for(fake).cold(small_bundle(tmp_path))
    assert fake.ops().count("update_function_configuration") == 2
    assert run.sample.init_ms == 180.25


def test_two_starts_that_were_not_cold_are_an_error(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, WARM, WARM])
    with pytest.raises(MeasureError, match="no Init Duration in the REPORT after two"):
        runner_for(fake).cold(small_bundle(tmp_path))
    assert fake.ops().count("update_function_configuration") == 2


def test_a_snapstart_restore_is_named_in_the_error(tmp_path: Path) -> None:
    restored = report_line(3.0, extra="Restore Duration: 300.00 ms\t")
    fake = FakeLambda([COLD, restored, restored])
    with pytest.raises(MeasureError, match="SnapStart restore"):
        runner_for(fake).cold(small_bundle(tmp_path))


def test_a_function_error_names_the_variant_and_the_error(tmp_path: Path) -> None:
    error = {
        "errorMessage": "Unable to import module 'app': No module named 'requests'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "r",
        "stackTrace": [],
    }
    fake = FakeLambda([error])
    with pytest.raises(MeasureError) as raised:
        runner_for(fake).cold(small_bundle(tmp_path, "vendored"))
    message = str(raised.value)
    assert "vendored (function lambundle-cmp-vendored)" in message
    assert "Runtime.ImportModuleError: Unable to import module 'app'" in message


def test_a_missing_report_is_an_error_not_a_zero(tmp_path: Path) -> None:
    fake = FakeLambda(["no report here"])
    with pytest.raises(MeasureError) as raised:
        runner_for(fake).cold(small_bundle(tmp_path))
    assert str(raised.value).startswith(
        "pinned (function lambundle-cmp-pinned): the invoke's log tail has no REPORT line"
    )


def test_the_baseline_keeps_an_environment_without_a_wrapper(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    runner_for(fake).cold(small_bundle(tmp_path, "baseline", env={}))
    created = next(kw for op, kw in fake.calls if op == "create_function")
    assert created["Environment"] == {"Variables": {}}
    update = next(kw for op, kw in fake.calls if op == "update_function_configuration")
    assert list(update["Environment"]["Variables"]) == ["LAMBUNDLE_COLD"]


def test_options_reach_the_function(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    runner_for(fake, memory=2048, prefix="cmp-").cold(small_bundle(tmp_path))
    created = next(kw for op, kw in fake.calls if op == "create_function")
    assert created["FunctionName"] == "cmp-pinned"
    assert created["MemorySize"] == 2048
    assert created["Layers"] == [f"{ARN}:layer:cmp-runtime:1"]


def test_no_role_is_a_usage_error_with_the_fix() -> None:
    options = compare_aws.AwsOptions(role="")
    with pytest.raises(UsageError, match="needs --role ARN"):
        compare_aws.AwsRunner(options, clients=publish.Clients(FakeLambda(), None))


# -- warm invokes --------------------------------------------------------------------------


def test_warm_samples_are_report_durations_and_a_cold_one_is_retried(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD, WARM, WARM, COLD, WARM])
    runner = runner_for(fake)
    bundle = small_bundle(tmp_path)
    runner.cold(bundle)
    with runner.warm(bundle) as session:
        assert session.invoke() == 1.25
        assert session.invoke() == 1.25  # a cold answer, then a warm one
    assert fake.script == []
    # Warm invokes never change the configuration: only the cold start did.
    assert fake.ops().count("update_function_configuration") == 1


def test_warm_invokes_that_keep_starting_cold_are_an_error(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD, COLD, COLD])
    runner = runner_for(fake)
    bundle = small_bundle(tmp_path)
    with runner.warm(bundle) as session, pytest.raises(MeasureError, match="no warm one"):
        session.invoke()


# -- cleanup -------------------------------------------------------------------------------


def test_close_deletes_the_functions_and_layer_versions_it_created(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    runner = runner_for(fake)
    runner.cold(small_bundle(tmp_path))
    assert runner.close() == []
    deletes = [(op, kw) for op, kw in fake.calls if op.startswith("delete")]
    assert deletes == [
        ("delete_function", {"FunctionName": "lambundle-cmp-pinned"}),
        ("delete_layer_version", {"LayerName": "lambundle-cmp-runtime", "VersionNumber": 1}),
    ]
    assert runner.close() == []  # nothing twice


def test_keep_deletes_nothing_and_says_what_was_kept(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    runner = runner_for(fake, keep=True)
    runner.cold(small_bundle(tmp_path))
    (kept,) = runner.close()
    assert "lambundle-cmp-pinned" in kept and "layer:lambundle-cmp-runtime:1" in kept
    assert not [op for op in fake.ops() if op.startswith("delete")]


def test_a_failed_deletion_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    runner = runner_for(fake)
    runner.cold(small_bundle(tmp_path))
    fake.fail_delete = True
    warnings = runner.close()
    assert "could not delete function lambundle-cmp-pinned: AccessDeniedException" in warnings[0]
    assert "delete-function" in warnings[-1]
    assert "delete_layer_version" in fake.ops()  # the rest was still cleaned up


def test_a_function_that_existed_before_is_updated_and_never_deleted(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    fake.functions["lambundle-cmp-pinned"] = {"FunctionName": "lambundle-cmp-pinned"}
    runner = runner_for(fake)
    runner.cold(small_bundle(tmp_path))
    runner.close()
    assert "delete_function" not in fake.ops()
    assert any("existed before this run" in note for note in runner.notes)


def test_a_failed_deploy_still_cleans_up_the_layer_it_published(tmp_path: Path) -> None:
    fake = FakeLambda()

    def refuse(**kw: Any) -> dict[str, Any]:
        message = "The role defined for the function cannot be assumed by Lambda."
        error = {"Error": {"Code": "InvalidParameterValueException", "Message": message}}
        raise ClientError(error, "CreateFunction")  # type: ignore[arg-type]

    fake.create_function = refuse  # type: ignore[method-assign]
    runner = runner_for(fake)
    with pytest.raises(publish.PublishError, match="--role"):
        runner.cold(small_bundle(tmp_path))
    runner.close()
    assert ("delete_layer_version", {"LayerName": "lambundle-cmp-runtime", "VersionNumber": 1}) in [
        (op, kw) for op, kw in fake.calls
    ]


# -- the report ----------------------------------------------------------------------------


def test_unmeasured_extraction_is_null_in_json_and_a_dash_in_the_table() -> None:
    from bundler.measure.report import VariantSamples

    sample = compare_aws.AwsColdSample(math.nan, 180.0, 12.0, 55 * 1024)
    variant = VariantSamples("pinned", 1000, 2000, cold=[sample, sample], warm_ms=[1.0])
    report = build_report([variant], baseline=None, settings={"where": "aws"})
    row = json.loads(dumps(report))["variants"][0]
    assert row["extract_ms"]["median"] is None
    assert row["cold_total_ms"]["median"] == 192.0
    table_row = render_table(report).splitlines()[2].split()
    assert table_row[3] == "-"  # extract


def test_an_account_wide_failure_is_not_retried_for_every_variant(tmp_path: Path) -> None:
    fake = FakeLambda()

    def refuse(**kw: Any) -> dict[str, Any]:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        raise ClientError(error, "PublishLayerVersion")  # type: ignore[arg-type]

    fake.publish_layer_version = refuse  # type: ignore[method-assign]
    runner = runner_for(fake)
    with pytest.raises(publish.PublishError, match="AccessDeniedException"):
        runner.cold(small_bundle(tmp_path, "pinned"))
    calls = len(fake.calls)
    with pytest.raises(publish.PublishError, match="not published, as the first failed"):
        runner.cold(small_bundle(tmp_path, "vendored"))
    assert len(fake.calls) == calls  # AWS was not asked again
    assert runner.account_error is not None and "AccessDeniedException" in runner.account_error


# -- function errors: the handler's count, init and platform failures drop the variant ------

HANDLER_ERROR = {"errorMessage": "no 'name' in the event", "errorType": "KeyError",
                 "requestId": "r", "stackTrace": ['  File "/var/task/app.py", line 2']}
INIT_REPORT = ("INIT_REPORT Init Duration: 41.50 ms\tPhase: init\tStatus: error\t"
               "Error Type: Runtime.Unknown")  # fmt: skip


def test_a_handler_that_raises_is_still_a_measured_cold_start(tmp_path: Path) -> None:
    # The handler's exception is logged, and the REPORT line is there as on any invoke.
    fake = FakeLambda([COLD, (HANDLER_ERROR, log_tail(report_line(7.5, init=150.0)))])
    runner = runner_for(fake)
    run = runner.cold(small_bundle(tmp_path))
    assert (run.sample.init_ms, run.sample.first_invoke_ms) == (150.0, 7.5)
    (note,) = runner.notes
    assert note.startswith("pinned (function lambundle-cmp-pinned): the handler raised KeyError")


def test_a_handler_error_on_every_invoke_still_gives_warm_samples(tmp_path: Path) -> None:
    def raised(report: str) -> tuple[dict[str, Any], str]:
        return HANDLER_ERROR, log_tail(report)

    fake = FakeLambda([raised(COLD), raised(COLD), raised(WARM), raised(WARM)])
    runner = runner_for(fake)
    bundle = small_bundle(tmp_path)
    runner.cold(bundle)
    with runner.warm(bundle) as session:
        assert session.invoke() == 1.25
    assert len(runner.notes) == 1  # said once per variant, not per invoke


def test_an_init_failure_in_the_log_drops_the_variant_whatever_the_payload(
    tmp_path: Path,
) -> None:
    # Module-level code raised: the runtime reported it as an init error of the user's
    # own type; only the log's INIT_REPORT says init failed.
    logs = INIT_REPORT + "\n" + log_tail(
        report_line(5.0, init=42.0, extra="Status: error\tError Type: Runtime.Unknown\t")
    )
    fake = FakeLambda([(HANDLER_ERROR, logs)])
    with pytest.raises(MeasureError) as raised:
        runner_for(fake).cold(small_bundle(tmp_path, "vendored"))
    message = str(raised.value)
    assert message.startswith(
        "vendored (function lambundle-cmp-vendored) failed on AWS before or outside its "
        "handler (init error (Runtime.Unknown)): KeyError: no 'name' in the event"
    )
    assert "INIT_REPORT" in message  # the log tail is shown


def test_a_timeout_drops_the_variant(tmp_path: Path) -> None:
    # Lambda's timeout payload has no errorType; the REPORT's status says it.
    payload = {"errorMessage": "2026-11-28T03:00:00.000Z r Task timed out after 30.00 seconds"}
    logs = log_tail(report_line(30000.0, init=80.0, extra="Status: timeout\t"))
    fake = FakeLambda([COLD, (payload, logs)])
    runner = runner_for(fake)
    bundle = small_bundle(tmp_path)
    with pytest.raises(MeasureError, match=r"\(invoke timeout\): .*Task timed out"):
        runner.cold(bundle)
    assert runner.notes == []


def test_a_function_error_without_a_report_is_an_error_naming_it(tmp_path: Path) -> None:
    fake = FakeLambda([(HANDLER_ERROR, "START RequestId: r\n[ERROR] KeyError: 'name'\n")])
    with pytest.raises(MeasureError) as raised:
        runner_for(fake).cold(small_bundle(tmp_path))
    message = str(raised.value)
    failed = "the invoke failed (KeyError: no 'name' in the event) and its log tail has no REPORT"
    assert failed in message


def json_record(kind: str, **record: Any) -> str:
    return json.dumps({"time": "2026-11-28T03:00:00.000Z", "type": kind, "record": record})


@pytest.mark.parametrize(
    ("logs", "found"),
    [
        (INIT_REPORT, "init error (Runtime.Unknown)"),
        ("INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout", "init timeout"),
        (report_line(3.0, extra="Status: error\tError Type: Runtime.ExitError\t"),
         "invoke error (Runtime.ExitError)"),
        (report_line(3000.0, extra="Status: timeout\t"), "invoke timeout"),
        (json_record("platform.initReport", phase="init", status="error",
                     errorType="Runtime.ImportModuleError"),
         "init error (Runtime.ImportModuleError)"),
        (json_record("platform.initRuntimeDone", status="failure"), "init failure"),
        (json_record("platform.report", status="timeout", metrics={"durationMs": 3000}),
         "invoke timeout"),
        # What a handler's own exception leaves: its traceback and an ordinary REPORT.
        (log_tail(report_line(3.0, init=90.0)).replace("hello from the handler",
                                                        "[ERROR] KeyError: 'name'"), None),
        (json_record("platform.report", status="success", metrics={"durationMs": 3}), None),
        (json_record("platform.initReport", phase="init", status="success"), None),
    ],
)  # fmt: skip
def test_platform_failures_are_read_from_text_and_json_logs(logs: str, found: str | None) -> None:
    assert reports.platform_failure(logs) == found


# -- timeout ---------------------------------------------------------------------------------


def test_the_timeout_reaches_the_function_and_the_settings(tmp_path: Path) -> None:
    fake = FakeLambda([COLD, COLD])
    runner = runner_for(fake, timeout=120)
    runner.cold(small_bundle(tmp_path))
    created = next(kw for op, kw in fake.calls if op == "create_function")
    assert created["Timeout"] == 120
    assert runner.where()[1]["timeout_s"] == 120


# -- S3 uploads ------------------------------------------------------------------------------


class FakeS3:
    """A bucket in memory: keys that exist, and every call in order."""

    def __init__(self, existing: set[str] | None = None) -> None:
        self.keys = set(existing or ())
        self.calls: list[tuple[str, str]] = []
        self.refuse: set[str] = set()  # operations answered with AccessDenied

    def _maybe_refuse(self, op: str) -> None:
        if op in self.refuse:
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise ClientError(error, op)  # type: ignore[arg-type]

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append(("head_object", Key))
        if "HeadObject" in self.refuse:
            error = {"Error": {"Code": "403", "Message": "Forbidden"}}
            raise ClientError(error, "HeadObject")  # type: ignore[arg-type]
        if Key not in self.keys:
            error = {"Error": {"Code": "404", "Message": "Not Found"}}
            raise ClientError(error, "HeadObject")  # type: ignore[arg-type]
        return {}

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        self.calls.append(("upload_file", key))
        self.keys.add(key)

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.calls.append(("delete_object", Key))
        self._maybe_refuse("DeleteObject")
        self.keys.discard(Key)


def s3_runner(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, s3: FakeS3, **kw: Any
) -> tuple[compare_aws.AwsRunner, FakeLambda]:
    """A runner that has published and cold-started `bundle`, every zip through S3."""
    monkeypatch.setattr(publish, "MAX_DIRECT_UPLOAD", 10)
    fake = FakeLambda([COLD, COLD])
    options = compare_aws.AwsOptions(role="arn:aws:iam::123456789012:role/lambda-exec",
                                     s3_bucket="artifacts", **kw)  # fmt: skip
    runner = compare_aws.AwsRunner(options, clients=publish.Clients(fake, s3))
    runner.cold(bundle)
    return runner, fake


def keys_of(bundle: Path) -> tuple[str, str]:
    manifest = mf.load(bundle)
    layer = manifest.layers[0]
    return (f"lambundle/{manifest.function.sha256}/function.zip",
            f"lambundle/{layer.sha256}/{layer.file}")  # fmt: skip


def test_close_deletes_the_s3_objects_it_uploaded_and_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = small_bundle(tmp_path)
    s3 = FakeS3(existing={"someone/else.zip"})
    runner, fake = s3_runner(bundle, monkeypatch, s3)
    function_key, layer_key = keys_of(bundle)
    created = next(kw for op, kw in fake.calls if op == "create_function")
    assert created["Code"] == {"S3Bucket": "artifacts", "S3Key": function_key}
    (summary,) = runner.close()
    assert summary == (
        "deleted the S3 objects this run uploaded: "
        f"s3://artifacts/{layer_key}, s3://artifacts/{function_key}"
    )
    assert s3.keys == {"someone/else.zip"}
    assert runner.close() == []  # nothing twice


def test_an_s3_object_that_existed_before_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keys name the content, so an earlier `lambundle publish` may have put the same zip.
    bundle = small_bundle(tmp_path)
    function_key, layer_key = keys_of(bundle)
    s3 = FakeS3(existing={layer_key})
    runner, _ = s3_runner(bundle, monkeypatch, s3)
    summary = runner.close()
    assert summary == [
        f"deleted the S3 objects this run uploaded: s3://artifacts/{function_key}",
        f"s3://artifacts/{layer_key} existed before this run: kept",
    ]
    assert ("delete_object", layer_key) not in s3.calls
    assert s3.keys == {layer_key}


def test_a_failed_s3_deletion_names_the_key_to_delete_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = small_bundle(tmp_path)
    s3 = FakeS3()
    runner, fake = s3_runner(bundle, monkeypatch, s3)
    function_key, layer_key = keys_of(bundle)
    s3.refuse.add("DeleteObject")
    warnings = runner.close()
    assert f"could not delete s3://artifacts/{function_key}: AccessDenied: Access Denied" \
        in warnings  # fmt: skip
    assert f"could not delete s3://artifacts/{layer_key}: AccessDenied: Access Denied" in warnings
    assert f"aws s3 rm s3://artifacts/{function_key}" in warnings[-1]
    assert not any(w.startswith("deleted") for w in warnings)
    assert "delete_function" in fake.ops()  # the rest was still cleaned up


def test_when_s3_will_not_say_whether_a_key_existed_it_is_kept_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = small_bundle(tmp_path)
    s3 = FakeS3()
    s3.refuse.add("HeadObject")
    runner, _ = s3_runner(bundle, monkeypatch, s3)
    function_key, _ = keys_of(bundle)
    summary = runner.close()
    assert not [op for op, _ in s3.calls if op == "delete_object"]
    assert any(
        line.startswith(f"kept s3://artifacts/{function_key}: S3 refused to say")
        and f"aws s3 rm s3://artifacts/{function_key}" in line
        for line in summary
    )


def test_keep_keeps_the_s3_uploads_and_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = small_bundle(tmp_path)
    s3 = FakeS3()
    runner, _ = s3_runner(bundle, monkeypatch, s3, keep=True)
    function_key, layer_key = keys_of(bundle)
    (kept,) = runner.close()
    assert f"s3://artifacts/{function_key}" in kept and f"s3://artifacts/{layer_key}" in kept
    assert not [op for op, _ in s3.calls if op == "delete_object"]
