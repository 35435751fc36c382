"""The done-when of issue 11: 10,000 invokes through a real `lambundle serve` on loopback,
with the function killing itself and timing out among them. Every request gets its own
answer, and serve's resident memory and open file descriptors stay flat: measured after
a warm-up batch and after the last one, compared with a tolerance (no timing asserts).
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.bundles import make_bundle, needs_bwrap, needs_python

pytestmark = [*needs_bwrap, needs_python("3.12"), pytest.mark.network, pytest.mark.slow]

APP = {
    "app.py": (
        "import os, signal, time\n"
        "def handler(event, context):\n"
        "    if event['do'] == 'kill':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    if event['do'] == 'hang':\n"
        "        time.sleep(30)\n"
        "    return {'id': event['id']}\n"
    )
}
TOTAL = 10_000
BATCH = 1_000
CLIENTS = 4
MIB = 1024 * 1024


def what(n: int) -> str:
    """Every 500th invoke kills the function, every 1,000th (offset) runs past its timeout."""
    if n % 500 == 250:
        return "kill"
    if n % 1_000 == 750:
        return "hang"
    return "echo"


def usage(pid: int) -> tuple[int, int]:
    """(resident bytes, open file descriptors) of process `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss * 1024, len(list(Path(f"/proc/{pid}/fd").iterdir()))


def test_ten_thousand_invokes_each_answered_and_serve_stays_flat(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, APP, "app.handler", lambundle=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bundler.cli import main; main(sys.argv[1:])",
         "serve", str(bundle), "--port", "0", "--timeout", "1"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        port = int(banner.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        # serve writes every invoke's logs to stderr: keep reading it, or it blocks.
        drain = threading.Thread(target=proc.stderr.read, daemon=True)
        drain.start()

        def client(numbers: list[int]) -> list[tuple[int, int, Any]]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            answers = []
            try:
                for n in numbers:
                    conn.request("POST", "/2015-03-31/functions/function/invocations",
                                 body=json.dumps({"id": n, "do": what(n)}))  # fmt: skip
                    resp = conn.getresponse()
                    answers.append((n, resp.status, json.loads(resp.read())))
            finally:
                conn.close()
            return answers

        answers: list[tuple[int, int, Any]] = []
        samples = []
        with ThreadPoolExecutor(CLIENTS) as pool:
            for start in range(0, TOTAL, BATCH):
                shares = [list(range(start + i, start + BATCH, CLIENTS)) for i in range(CLIENTS)]
                for part in pool.map(client, shares):
                    answers += part
                samples.append(usage(proc.pid))
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    assert sorted(n for n, _, _ in answers) == list(range(TOTAL))
    for n, status, body in answers:
        assert status == 200, (n, body)
        if what(n) == "echo":
            assert body == {"id": n}, (n, body)  # its own answer, never another's
        else:
            expected = "Runtime.ExitError" if what(n) == "kill" else "Sandbox.Timedout"
            assert body["errorType"] == expected, (n, body)
            assert body["errorMessage"].startswith("RequestId: ")
    (warm_rss, warm_fds), (end_rss, end_fds) = samples[0], samples[-1]
    # 9,000 invokes after the warm-up: under 170 bytes each (keeping every invoke's timings
    # cost about 300).
    assert end_rss - warm_rss < 1.5 * MIB, samples
    assert end_fds - warm_fds <= CLIENTS, samples
