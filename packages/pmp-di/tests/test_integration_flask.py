"""Flask: a scope per request, problem responses, through the test client and a real server."""

from __future__ import annotations

import asyncio
import doctest
import importlib
import logging
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from flask import Flask, Request, Response

from pmp_di import DIContainer, LifecycleScope, RegistrationError
from pmp_di.integrations import flask as flask_integration
from pmp_di.integrations.flask import request_scope, setup, stream_with_scope
from pmp_errors import ConfigurationError, RateLimitError, ValidationError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from conftest import CheckProblem, Recorder, Serve


class Session:
    """A scoped service; the recorder learns how its scope ended."""

    def __init__(self, id_: int, path: str) -> None:
        self.id = id_
        self.path = path


class Broken:
    """A service whose factory fails."""


class Fragile:
    """A service whose cleanup fails."""


def make_app(recorder: Recorder) -> Flask:  # noqa: C901 - one route per case
    def session(request: Request) -> Iterator[Session]:
        created = Session(recorder.open(), request.path)
        outcome: str | None = None
        try:
            yield created
        except BaseException as exc:
            outcome = type(exc).__name__
            raise
        finally:
            recorder.close(created.id, outcome)

    def broken() -> Broken:
        raise ConfigurationError("cannot log in with hunter2", config_key="DB_PASSWORD")

    def fragile() -> Iterator[Fragile]:
        yield Fragile()
        raise ConfigurationError("commit failed for hunter2")

    container = (
        DIContainer()
        .register(Session, factory=session, scope=LifecycleScope.SCOPED)
        .register(Broken, factory=broken, scope=LifecycleScope.SCOPED)
        .register(Fragile, factory=fragile, scope=LifecycleScope.SCOPED)
    )
    app = Flask(__name__)
    inject = setup(app, container).inject

    @app.get("/session")
    @inject(Session)
    def show(session: Session) -> dict[str, Any]:
        time.sleep(0.005)  # let concurrent requests overlap
        again = container.resolve(Session)
        return {"id": session.id, "path": session.path, "same": again is session}

    @app.get("/invalid")
    @inject(Session)
    def invalid(session: Session) -> str:
        raise ValidationError("name is taken", field="name", value="secret-name")

    @app.get("/limited")
    def limited() -> str:
        raise RateLimitError("Slow down", retry_after=2.5, limit=10)

    @app.get("/crash")
    @inject(Session)
    def crash(session: Session) -> str:
        raise RuntimeError("secret internals")

    @app.get("/factory-fails")
    @inject(Session, Broken)
    def factory_fails(session: Session, broken: Broken) -> str:
        return "unreachable"

    @app.get("/finalizer-fails")
    @inject(Session, Fragile)
    def finalizer_fails(session: Session, fragile: Fragile) -> str:
        return "done"

    @app.get("/slow")
    @inject(Session)
    def slow(session: Session) -> str:
        time.sleep(0.3)  # the client leaves meanwhile
        return str(session.id)

    @app.get("/stream")
    @inject(Session)
    def stream(session: Session) -> Response:
        def body() -> Iterator[str]:
            for i in range(200):
                assert request_scope().resolve(Session) is session  # still open
                assert container.resolve(Session) is session
                yield f"{session.id}:{i}\n" * 100
                time.sleep(0.001)

        return Response(stream_with_scope(body()), mimetype="text/plain")

    return app


@pytest.fixture
def app(recorder: Recorder) -> Flask:
    return make_app(recorder)


def test_each_request_gets_its_own_scope_closed_after_the_view(
    app: Flask, recorder: Recorder
) -> None:
    """A scoped service is one per request, sees the request, and is finalized after it."""
    client = app.test_client()
    first = client.get("/session").get_json()
    second = client.get("/session").get_json()
    assert first["id"] != second["id"]
    assert first["same"]
    assert first["path"] == "/session"
    assert recorder.closed == [(first["id"], None), (second["id"], None)]


def test_a_portfolio_error_answers_its_problem_and_rolls_the_scope_back(
    app: Flask, recorder: Recorder, check_problem: CheckProblem
) -> None:
    """A view's ValidationError is a 422 problem; the scope's factories see the error."""
    response = app.test_client().get("/invalid")
    problem = check_problem(response, 422)
    assert problem["field"] == "name"
    assert problem["instance"] == "/invalid"
    assert "value" not in problem
    assert recorder.closed == [(recorder.opened[0], "ValidationError")]


def test_a_rate_limit_error_answers_429_with_retry_after(
    app: Flask, check_problem: CheckProblem
) -> None:
    """RateLimitError answers 429 with Retry-After in whole seconds."""
    response = app.test_client().get("/limited")
    assert check_problem(response, 429)["limit"] == 10
    assert response.headers["Retry-After"] == "3"


def test_an_unhandled_exception_answers_a_generic_500_and_is_logged(
    app: Flask, recorder: Recorder, check_problem: CheckProblem, caplog: pytest.LogCaptureFixture
) -> None:
    """Any other exception is a 500 problem showing nothing of it, logged with to_dict()."""
    with caplog.at_level(logging.ERROR, logger="pmp_errors.integrations"):
        response = app.test_client().get("/crash")
    check_problem(response, 500)
    assert recorder.closed == [(recorder.opened[0], "RuntimeError")]
    (record,) = caplog.records
    assert record.error["message"] == "secret internals"  # type: ignore[attr-defined]


def test_a_failing_factory_answers_a_problem_and_closes_the_scope(
    app: Flask, recorder: Recorder, check_problem: CheckProblem
) -> None:
    """A factory's error is answered as a problem; what was built is still finalized."""
    check_problem(app.test_client().get("/factory-fails"), 500)
    assert recorder.closed == [(recorder.opened[0], "ConfigurationError")]


def test_a_failing_finalizer_is_logged_and_the_others_still_run(
    app: Flask, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A finalizer that raises after the response was made is logged; the rest run."""
    with caplog.at_level(logging.ERROR, logger="pmp_di.integrations"):
        response = app.test_client().get("/finalizer-fails")
    assert response.status_code == 200
    assert recorder.closed == [(recorder.opened[0], None)]
    assert "closing the request scope" in caplog.text


def test_a_streamed_response_keeps_its_scope_until_it_is_closed(
    app: Flask, recorder: Recorder
) -> None:
    """The scope of a streamed response closes after its body, not at teardown."""
    with app.test_client().get("/stream") as response:
        assert recorder.closed == []
        assert len(response.get_data()) > 0
    assert recorder.closed == [(recorder.opened[0], None)]


def test_flasks_own_http_errors_are_problems_too(
    app: Flask, recorder: Recorder, check_problem: CheckProblem
) -> None:
    """A 404 is a problem document; its scope is closed as well."""
    assert check_problem(app.test_client().get("/missing"), 404)["code"] == "not_found"
    assert recorder.closed == []  # no scoped service was built
    with pytest.raises(LookupError, match="no request scope"):
        request_scope()  # and the request's scope is no longer current


def test_the_halves_install_alone() -> None:
    """setup(errors=False) installs no error handler; the error half alone opens no scope."""
    from pmp_errors.integrations.flask import setup as setup_errors

    container = DIContainer().register(Session, factory=Session, scope=LifecycleScope.SCOPED)
    scoped = Flask("scoped")
    setup(scoped, container, errors=False)
    assert not scoped.error_handler_spec[None]
    errors_only = Flask("errors_only")
    setup_errors(errors_only, unhandled=False)

    @errors_only.get("/")
    def crash() -> str:
        raise RuntimeError("secret")

    errors_only.testing = False
    response = errors_only.test_client().get("/")
    assert response.status_code == 500  # Flask's own 500, rendered as its HTTPException
    assert b"secret" not in response.data
    assert Exception not in errors_only.error_handler_spec[None][None]


def test_request_scope_outside_a_request_says_what_to_do(app: Flask) -> None:
    """request_scope() and stream_with_scope() outside a request name the setup call."""
    with app.app_context(), pytest.raises(LookupError, match="setup"):
        request_scope()
    with pytest.raises(LookupError, match="setup"):
        stream_with_scope(["body"])


@pytest.mark.parametrize("module", ["pmp_di.integrations.flask", "pmp_errors.integrations.flask"])
def test_a_missing_flask_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Importing the integration without Flask raises an ImportError naming the extra."""
    monkeypatch.setitem(sys.modules, "flask", None)
    monkeypatch.delitem(sys.modules, module)
    extra = module.partition(".")[0].replace("_", "-")
    with pytest.raises(ImportError, match=rf"pip install '{extra}\[flask\]'"):
        importlib.import_module(module)


# -- a real server ---------------------------------------------------------------------------


def test_200_concurrent_requests_each_get_their_own_scope(
    wsgi_server: Serve, recorder: Recorder
) -> None:
    """Over waitress, 200 concurrent requests see 200 sessions, each finalized once."""
    url = wsgi_server(make_app(recorder))

    async def fetch_all() -> list[dict[str, Any]]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            responses = await asyncio.gather(*(client.get("/session") for _ in range(200)))
        return [r.json() for r in responses]

    bodies = asyncio.run(fetch_all())
    ids = [body["id"] for body in bodies]
    assert len(set(ids)) == 200
    assert all(body["same"] for body in bodies)
    closed = recorder.wait_closed(200)
    assert sorted(closed) == sorted((i, None) for i in ids)


@pytest.mark.parametrize(
    "case",
    [
        ("/invalid", 422, "ValidationError"),
        ("/crash", 500, "RuntimeError"),
        ("/factory-fails", 500, "ConfigurationError"),
    ],
)
def test_faults_over_a_real_server_answer_problems_and_close_the_scope(
    wsgi_server: Serve,
    recorder: Recorder,
    check_problem: CheckProblem,
    case: tuple[str, int, str],
) -> None:
    """Over waitress, a failing view or factory is a problem document; the scope closes."""
    path, status, outcome = case
    url = wsgi_server(make_app(recorder))
    check_problem(httpx.get(url + path), status)
    assert recorder.wait_closed(1) == [(recorder.opened[0], outcome)]


def test_a_client_leaving_mid_request_still_closes_the_scope(
    wsgi_server: Serve, recorder: Recorder
) -> None:
    """A client that disconnects while the view runs: the view ends, the scope closes once."""
    url = wsgi_server(make_app(recorder))
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
    assert recorder.wait_closed(1) == [(recorder.opened[0], None)]
    time.sleep(0.1)
    assert len(recorder.closed) == 1


def test_a_client_leaving_mid_stream_still_closes_the_scope(
    wsgi_server: Serve, recorder: Recorder
) -> None:
    """A client that disconnects during a streamed body: the server closes it, the scope too."""
    url = wsgi_server(make_app(recorder))
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: test\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    (closed,) = recorder.wait_closed(1)
    assert closed[0] == recorder.opened[0]


def test_docstring_examples_pass() -> None:
    """The module's examples run and print what they show."""
    result = doctest.testmod(flask_integration, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


DOCS = Path(__file__).resolve().parents[3] / "docs" / "integrations" / "flask.md"


@pytest.mark.skipif(not DOCS.is_file(), reason="the docs are beside the tests in a checkout only")
def test_the_docs_example_runs() -> None:
    """The docs page's example runs as written, as a script of its own."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert blocks
    for code in blocks:
        subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=120)  # noqa: S603


def test_an_async_view_with_async_finalizers_still_closes_the_scope(recorder: Recorder) -> None:
    """An async view leaving async finalizers: the scope's sync and async finalizers all run."""
    closed: list[str] = []

    async def connect() -> AsyncIterator[Broken]:
        try:
            yield Broken()
        finally:
            closed.append("async")

    def session() -> Iterator[Session]:
        yield Session(recorder.open(), "/")
        closed.append("sync")

    container = DIContainer()
    container.register(Session, factory=session, scope=LifecycleScope.SCOPED)
    container.register(Broken, factory=connect, scope=LifecycleScope.SCOPED)
    app = Flask("async_view")
    inject = setup(app, container).inject

    @app.get("/")
    @inject(Session, Broken)
    async def view(session: Session, connection: Broken) -> str:
        return "ok"

    assert app.test_client().get("/").text == "ok"
    assert sorted(closed) == ["async", "sync"]


def test_setting_up_an_app_twice_is_refused(app: Flask) -> None:
    """A second setup on the same app would nest scopes and leak the outer one: refused."""
    with pytest.raises(RegistrationError, match="already set up"):
        setup(app, DIContainer())
