"""An environment's log, read back in pieces and split as Lambda splits it."""

import json
from pathlib import Path

from bundler.sandbox.logs import EnvironmentLog, split_cold_start_logs, split_concurrent_logs
from bundler.sandbox.results import Timings


def test_each_take_is_what_came_since_the_last(tmp_path):
    log = EnvironmentLog(tmp_path / "environment-1.log")
    assert log.file is not None
    log.file.write(b"one\n")
    log.file.flush()
    assert (log.take(), log.size()) == ("one\n", 4)
    log.file.write(b"two\n")
    log.close()
    assert log.take() == "two\n" and log.take() == ""
    assert log.tail(3) == "wo\n"
    (tmp_path / "environment-1.log").unlink()
    assert log.size() is None and log.tail(3) is None


def test_a_cold_start_splits_at_the_hand_out():
    cold = Timings(cold=True, started=0.0, finished=1.0)
    logs = "init\ninvoke\n"
    assert split_cold_start_logs(logs, 0, 5, None, cold) == ("init\n", "invoke\n")
    # The log was read from offset 100 on: the split is a file offset.
    assert split_cold_start_logs(logs, 100, 105, None, cold) == ("init\n", "invoke\n")
    # Never handed out: all of it came from init.
    assert split_cold_start_logs(logs, 0, None, None, cold) == (logs, "")


def test_a_snapstart_cold_start_puts_init_report_where_init_ended():
    timings = Timings(
        cold=True, started=0.0, finished=1.0, spawned=0.0, snapshot=0.25, restored=0.5
    )
    logs = "init\nhook\ninvoke\n"
    init, invoke = split_cold_start_logs(logs, 0, 10, 5, timings)
    assert init == "init\nINIT_REPORT Init Duration: 250.00 ms\nhook\n"
    assert invoke == "invoke\n"


def test_concurrent_logs_keep_own_and_unattributed_lines(tmp_path: Path) -> None:
    mine, other = "11111111-1111", "22222222-2222"
    log = tmp_path / "environment.log"
    init = b"init line\n"
    window = (
        b"tail of a line begun before\n"
        + json.dumps({"message": "mine", "requestId": mine}).encode() + b"\n"
        + json.dumps({"message": "theirs", "requestId": other}).encode() + b"\n"
        + b"a plain print\n"
        + b"{not json\n"
        + b"half a line being writ"
    )
    log.write_bytes(init + b"partial " + window)
    mark = len(init) + len(b"partial ")
    init_logs, invoke_logs = split_concurrent_logs(log, mine, mark, cold=True)
    assert init_logs == "init line\npartial "
    assert invoke_logs.splitlines() == [
        json.dumps({"message": "mine", "requestId": mine}), "a plain print", "{not json"
    ]
    assert split_concurrent_logs(log, mine, mark, cold=False)[0] == ""
    # Never handed out (an init error): everything so far is init output.
    assert split_concurrent_logs(log, mine, None, cold=True) == (log.read_text(), "")
