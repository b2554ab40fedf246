"""A real ``redis-server`` for the packages' tests: a free loopback port, a temp dir, restarts.

A pytest plugin shared by every package with a Redis backend: a package's ``tests/conftest.py``
puts this folder on ``sys.path`` and imports it as a plugin in ``pytest_configure``, finding the
folder beside the pytest configuration file (the repository's ``pyproject.toml``), so that a
copy of the tests run elsewhere (the ``isolated`` nox session) finds it too.

``redis_server`` (module scope) yields a running ``RedisServer`` and ``redis_url`` its URL, with
the database emptied after each test. Without the binary the tests are skipped with an install
hint, except when ``CI`` is set, where a missing server is a failure. Without redis-py (the
package's ``[redis]`` extra) the tests using it are skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

INSTALL_HINT = (
    "redis-server is not on PATH; install it (apt-get install redis-server, "
    "brew install redis) to run the Redis backend tests"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process bound to 127.0.0.1; ``stop``/``start`` keep the port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (on the same port as before) and wait until it answers PING."""
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line of our own
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while not _ping(self.port):
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                message = self.process.stderr.read().decode(errors="replace")
                self.process.stderr.close()
                msg = f"redis-server exited with {self.process.returncode}: {message}"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                self.stop()
                msg = "redis-server did not answer PING within 10 s"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def stop(self) -> None:
        """Kill the server and wait for it to exit; clients then fail to connect."""
        process, self.process = self.process, None
        if process is None:
            return
        process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
        deadline = time.monotonic() + 5
        while _ping(self.port) and time.monotonic() < deadline:  # pragma: no cover - rare
            time.sleep(0.01)


def redis_binary() -> str:
    """The path of ``redis-server``; skip (locally) or fail (CI) when it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but redis-server is missing: " + INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return binary


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A running ``redis-server`` for one test module, stopped afterwards."""
    pytest.importorskip("redis", reason="redis-py is not installed: install the [redis] extra")
    server = RedisServer(redis_binary(), tmp_path_factory.mktemp("redis"))
    attempts = 3  # another process may take the free port before the server does
    for attempt in range(attempts):
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            server.port = free_port()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The URL of a running server whose database is emptied after each test."""
    if redis_server.process is None:  # a test stopped it and failed before restarting
        redis_server.start()
    yield redis_server.url
    if redis_server.process is None:
        redis_server.start()
    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=2) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        with contextlib.suppress(OSError):
            sock.recv(64)
