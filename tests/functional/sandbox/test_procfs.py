"""What /proc tells the sandbox: which process holds a connection, how one that is not
our child ended. On real sockets and processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from bundler.sandbox.procfs import socket_holder, wait_exit


def test_socket_holder_finds_the_process_of_a_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        try:
            peer, address = client.getsockname(), server.getsockname()
            assert socket_holder(peer, address, os.getpid(), isolated=False) == os.getpid()
            # Another server port: not this connection.
            assert socket_holder(peer, ("127.0.0.1", 1), os.getpid(), isolated=False) is None
        finally:
            accepted.close()
            client.close()


def test_wait_exit_reads_the_status_of_a_process_that_ended() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    try:
        # Not reaped yet (Popen reaps on wait), as a worker whose parent is busy elsewhere.
        assert wait_exit(proc.pid, 30) == (True, 3)
    finally:
        proc.wait()
    blocked = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    try:
        assert wait_exit(blocked.pid, 0.1) == (False, None)
    finally:
        blocked.kill()
        blocked.wait()
