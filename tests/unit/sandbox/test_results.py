"""Lambda's REPORT line: Init Duration on a cold start, Restore Duration with SnapStart."""

from bundler.sandbox.results import MIB, Timings, report_line


def test_a_warm_invoke_reports_duration_and_memory():
    timings = Timings(cold=False, started=0.0, finished=1.5, handed=1.0)
    assert report_line("rid", timings, 10 * MIB + 1, 128) == (
        "REPORT RequestId: rid\tDuration: 500.00 ms\tBilled Duration: 500 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 11 MB\t"
    )


def test_a_cold_start_adds_init_duration():
    timings = Timings(
        cold=True, started=0.0, finished=2.0, spawned=0.0, first_next=0.75, handed=1.0
    )
    assert report_line("rid", timings, None, 128).endswith("Init Duration: 750.00 ms\t")


def test_a_snapstart_cold_start_reports_the_restore_instead():
    timings = Timings(
        cold=True, started=0.0, finished=2.0, spawned=0.0, first_next=0.75, handed=1.0,
        snapshot=0.25, restored=0.5,
    )
    line = report_line("rid", timings, None, 128)
    assert "Init Duration" not in line
    assert line.endswith("Restore Duration: 250.00 ms\tBilled Restore Duration: 250 ms\t")
