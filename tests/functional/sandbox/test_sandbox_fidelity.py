"""The sandbox is Lambda, not root on this machine: Lambda's unprivileged user, our own
/etc, everything outside /tmp read-only, /tmp as big as the ephemeral storage, memory
counted by proportional set size over the whole tree, events over 6 MB refused, open files
and processes/threads limited to 1,024 each.

Each case runs a real function under bubblewrap and asserts what it saw.
"""

from __future__ import annotations

import errno
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.core.errors import RequestTooLargeError, UsageError
from bundler.sandbox import Sandbox
from bundler.sandbox.identity import host_ca_bundle
from tests.runtime.bundles import SandboxFactory, needs_bwrap, needs_python, sandbox_factory

pytestmark = [*needs_bwrap, needs_python("3.12"), pytest.mark.network]

MIB = 1024 * 1024
KILLED = "Runtime exited with error: signal: killed"


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxFactory]:
    with sandbox_factory(tmp_path) as factory:
        yield factory


def app(source: str) -> dict[str, str | bytes]:
    return {"app.py": textwrap.dedent(source)}


@pytest.mark.parametrize("lambundle", [False, True], ids=["awslambdaric", "lambundle"])
def test_the_function_is_lambdas_unprivileged_user_with_its_own_etc(
    sandboxes: SandboxFactory, lambundle: bool
) -> None:
    files = app(
        """
        import os, pwd, grp, ssl

        def handler(event, context):
            try:
                with open("/etc/shadow") as f:
                    shadow = f.read()
            except OSError as exc:
                shadow = exc.__class__.__name__
            return {
                "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()],
                "user": pwd.getpwuid(os.getuid()).pw_name,
                "group": grp.getgrgid(os.getgid()).gr_name,
                "shadow": shadow,
                "etc": sorted(os.listdir("/etc")),
                "ca": ssl.create_default_context().cert_store_stats()["x509_ca"],
                "localhost": __import__("socket").gethostbyname("localhost"),
            }
        """
    )
    out = sandboxes(files, "app.handler", lambundle=lambundle).invoke(b"{}").json()
    assert out["ids"] == [993, 993, 990, []]
    assert (out["user"], out["group"]) == ("sbx_user1051", "sbx_user1051")
    assert out["shadow"] == "FileNotFoundError"  # the host's /etc is not there at all
    assert {"passwd", "group", "hosts", "resolv.conf", "nsswitch.conf", "pki", "ssl"} <= set(
        out["etc"]
    )
    assert "shadow" not in out["etc"]
    assert out["localhost"] == "127.0.0.1"
    if host_ca_bundle() is not None:  # Lambda's CA bundle, from the host's
        assert out["ca"] > 0


def test_everything_outside_tmp_is_read_only(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os

        def handler(event, context):
            found = {}
            for path in ("/var/task/x", "/opt/x", "/x", "/var/x", "/etc/x", "/var/runtime/x",
                         "/var/lang/x", "/tmp/x"):
                try:
                    with open(path, "w") as f:
                        f.write("x")
                    found[path] = 0
                except OSError as exc:
                    found[path] = exc.errno
            return found
        """
    )
    found = sandboxes(files, "app.handler", lambundle=False).invoke(b"{}").json()
    assert found.pop("/tmp/x") == 0
    assert found == {path: errno.EROFS for path in found}
    assert len(found) == 7


def test_a_write_past_the_ephemeral_storage_gets_enospc(sandboxes: SandboxFactory) -> None:
    # 600 MB into Lambda's default 512 MB of /tmp: ENOSPC, as on Lambda.
    files = app(
        """
        import errno

        def handler(event, context):
            written = 0
            chunk = b"x" * (1024 * 1024)
            try:
                with open("/tmp/big", "wb") as f:
                    for _ in range(event["mb"]):
                        f.write(chunk)
                        f.flush()
                        written += len(chunk)
            except OSError as exc:
                return {"errno": exc.errno, "written": written}
            return {"errno": 0, "written": written}
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True, timeout_s=60.0)
    out = sb.invoke(b'{"mb": 600}').json()
    assert out["errno"] == errno.ENOSPC
    assert 500 * MIB <= out["written"] <= 512 * MIB


@pytest.mark.parametrize("lambundle", [False, True], ids=["awslambdaric", "lambundle"])
def test_open_files_and_threads_stop_at_lambdas_1024(
    sandboxes: SandboxFactory, lambundle: bool
) -> None:
    # Lambda's quotas: 1,024 file descriptors and 1,024 processes/threads per execution
    # environment, which the function cannot raise; a leak of either fails here as there.
    files = app(
        """
        import errno, resource, threading

        def handler(event, context):
            opened = []
            try:
                while len(opened) < 2000:
                    opened.append(open("/dev/null"))
            except OSError as exc:
                fds = {"errno": exc.errno, "opened": len(opened)}
            for f in opened:
                f.close()
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
                raised = True
            except (ValueError, OSError):
                raised = False
            threading.stack_size(64 * 1024)
            stop, started = threading.Event(), []
            try:
                while len(started) < 2000:
                    t = threading.Thread(target=stop.wait)
                    t.start()
                    started.append(t)
                threads = {"error": None, "started": len(started)}
            except RuntimeError as exc:
                threads = {"error": str(exc), "started": len(started)}
            stop.set()
            for t in started:
                t.join()
            return {"fds": fds, "raised": raised, "threads": threads,
                    "limits": [resource.getrlimit(resource.RLIMIT_NOFILE),
                               resource.getrlimit(resource.RLIMIT_NPROC)]}
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=lambundle, timeout_s=60.0, memory_mb=1024)
    out = sb.invoke(b"{}").json()
    assert out["limits"] == [[1024, 1024], [1024, 1024]]
    assert out["fds"]["errno"] == errno.EMFILE
    assert 1000 <= out["fds"]["opened"] < 1024
    assert out["raised"] is False
    assert out["threads"]["error"] == "can't start new thread"
    assert 900 <= out["threads"]["started"] < 1024


def test_multiprocessing_queues_fail_and_pipes_work_as_on_lambda(
    sandboxes: SandboxFactory,
) -> None:
    # Lambda has no /dev/shm: Queue, Pool and Lock (POSIX semaphores) fail there, with
    # "[Errno 38] Function not implemented" from its glibc; Process with Pipe, the way AWS
    # documents for parallel work, runs. A function that works here must work there.
    files = app(
        """
        import multiprocessing

        def square(conn, x):
            conn.send(x * x)
            conn.close()

        def handler(event, context):
            try:
                multiprocessing.Queue()
                queue = "made"
            except OSError as exc:
                queue = exc.errno
            parent, child = multiprocessing.Pipe()
            worker = multiprocessing.Process(target=square, args=(child, 7))
            worker.start()
            answer = parent.recv()
            worker.join()
            return {"queue": queue, "pipe": answer}
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True, timeout_s=30.0)
    out = sb.invoke(b"{}").json()
    assert out["queue"] != "made"  # the errno is this machine's glibc's (13 or 2 here)
    assert out["pipe"] == 49


@pytest.mark.parametrize("size_mb", [512, 1024])
def test_tmp_is_as_big_as_the_configured_ephemeral_storage(
    sandboxes: SandboxFactory, size_mb: int
) -> None:
    files = app(
        """
        import os

        def handler(event, context):
            st = os.statvfs("/tmp")
            return st.f_blocks * st.f_frsize
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=False, ephemeral_storage_mb=size_mb)
    assert sb.invoke(b"{}").json() == size_mb * MIB


@pytest.mark.parametrize("size_mb", [511, 10_241])
def test_ephemeral_storage_outside_lambdas_range_is_refused(tmp_path: Path, size_mb: int) -> None:
    with pytest.raises(UsageError, match=r"512 to 10240 MB"):
        Sandbox(tmp_path, ephemeral_storage_mb=size_mb)


def test_idle_forked_children_count_their_proportional_share(sandboxes: SandboxFactory) -> None:
    # 200 forked children each map the parent's pages: summed resident sizes are over a
    # GB, what they hold together (PSS) a few tens of MB, well under the memory size.
    files = app(
        """
        import os

        children = []

        def handler(event, context):
            r, w = os.pipe()
            for _ in range(event["n"]):
                pid = os.fork()
                if pid == 0:
                    os.read(r, 1)  # idle until the environment ends
                    os._exit(0)
                children.append(pid)
            return len(children)
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True, memory_mb=128, timeout_s=30.0)
    result = sb.invoke(b'{"n": 200}')
    assert result.error is None and result.json() == 200
    assert result.peak_rss is not None and result.peak_rss < 128 * MIB
    assert sb.running


def test_a_child_named_bwrap_is_counted_and_killed(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        import os

        def handler(event, context):
            ready_r, ready_w = os.pipe()
            if os.fork() == 0:
                with open("/proc/self/comm", "w") as comm:
                    comm.write("bwrap")
                hog = b"x" * (512 * 1024 * 1024)
                os.write(ready_w, b"!")
                os.read(os.pipe()[0], 1)  # hold it
                os._exit(len(hog))
            os.read(ready_r, 1)
            return "allocated"
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True, memory_mb=128, timeout_s=30.0)
    result = sb.invoke(b"{}")
    assert result.error == {
        "errorMessage": f"RequestId: {result.request_id} Error: {KILLED}",
        "errorType": "Runtime.ExitError",
    }
    assert result.peak_rss is not None and result.peak_rss > 128 * MIB
    assert not sb.running


def test_an_event_over_six_mb_is_refused_as_invoke_refuses_it(sandboxes: SandboxFactory) -> None:
    files = app(
        """
        def handler(event, context):
            return len(event)
        """
    )
    sb = sandboxes(files, "app.handler", lambundle=True)
    limit = 6_291_456
    fits = b'"' + b"x" * (limit - 2) + b'"'
    assert sb.invoke(fits).json() == limit - 2
    with pytest.raises(RequestTooLargeError, match=r"smaller than 6291456 bytes"):
        sb.invoke(fits + b" ")
    assert len(sb.timings) == 1  # the refused event never reached the function
