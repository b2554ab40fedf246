"""Real servers on free loopback ports, for the web integrations' tests."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

Serve = Callable[[Any], str]


class Recorder:
    """What a served app saw: scoped sessions opened, and how each scope ended (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.opened: list[int] = []
        self.closed: list[tuple[int, str | None]] = []
        self._done = threading.Condition(self.lock)
        self._ids = itertools.count()

    def open(self) -> int:
        """Record a new session; return its id."""
        with self.lock:
            self.opened.append(next(self._ids))
            return self.opened[-1]

    def close(self, session: int, outcome: str | None) -> None:
        """Record that *session*'s scope ended (*outcome*: the exception's name, if any)."""
        with self._done:
            self.closed.append((session, outcome))
            self._done.notify_all()

    def wait_closed(self, count: int) -> list[tuple[int, str | None]]:
        """Wait (up to 10 s) until *count* sessions were closed; return all closings."""
        with self._done:
            assert self._done.wait_for(lambda: len(self.closed) >= count, timeout=10)
            return list(self.closed)


@pytest.fixture
def recorder() -> Recorder:
    """A fresh record of sessions opened and closed."""
    return Recorder()


@contextlib.contextmanager
def _waitress(app: Any) -> Iterator[str]:
    import waitress.server
    from waitress import wasyncore

    server: Any = waitress.server.create_server(
        app, host="127.0.0.1", port=0, threads=8, connection_limit=400
    )
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()  # lets the running requests finish
        # close every connection from the server's own loop, which then ends
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(10)


@contextlib.contextmanager
def _uvicorn(app: Any) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def wsgi_server() -> Iterator[Serve]:
    """Serve a WSGI app with waitress (8 threads); gives its base URL."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(_waitress(app))


@pytest.fixture
def asgi_server() -> Iterator[Serve]:
    """Serve an ASGI app with uvicorn; gives its base URL."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(_uvicorn(app))


CheckProblem = Callable[[Any, int], dict[str, Any]]


def _check_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json  # a property in Flask's test client, a method in httpx
    problem: dict[str, Any] = body() if callable(body) else body
    for member, kind in (("type", str), ("title", str), ("status", int), ("detail", str)):
        assert isinstance(problem[member], kind), member
    assert problem["status"] == status
    assert isinstance(problem["instance"], str)
    for secret in ("hunter2", "secret"):
        assert secret not in response.text
    return problem


@pytest.fixture
def check_problem() -> CheckProblem:
    """Check an httpx response is an RFC 9457 document with *status* and no secret in it."""
    return _check_problem
