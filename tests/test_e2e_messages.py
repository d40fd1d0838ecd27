"""Messages that tell the truth: what the user reads is what happened."""

import contextlib
import socket
import threading
import time

import pytest


@contextlib.contextmanager
def replying_server(reply: bytes, close: bool = True):
    """A loopback TCP server that writes `reply` to each connection, then closes it
    (or, with close=False, holds it open and says nothing more). Yields its port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    held = []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            if reply:
                conn.sendall(reply)
            if close:
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize(
    "reply, close, expected",
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", True, "not an SSH server: got 'HTTP/1.1 400 Bad Request'"),
        (b"", True, "closed the connection before sending an SSH banner"),
        (b"\x00\x01garbage", True, "not an SSH server: got '\\x00\\x01garbage'"),
        (b"garbage", False, "not an SSH server: got 'garbage' and no SSH banner within 2s"),
    ],
    ids=["http-400", "silent-close", "garbage-close", "garbage-open"],
)
def test_a_non_ssh_answer_is_named(pyinfra, deploy_dir, reply, close, expected):
    deploy = "from pyinfra.modules import server\nTIMEOUT = 2\nserver.shell('true')\n"
    root = deploy_dir({"deploy.py": deploy})
    with replying_server(reply, close) as port:
        started = time.monotonic()
        result = pyinfra("127.0.0.1", "deploy.py", "--port", port, cwd=root, port=False)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert expected in result.output, result.output
    assert "no SSH answer" not in result.output
    assert elapsed < 15
