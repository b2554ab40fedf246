"""Django: a scope per request, problem responses, via the test clients and real servers."""

from __future__ import annotations

import asyncio
import doctest
import importlib
import re
import socket
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import django
import httpx
import pytest
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from pmp_di import DIContainer, LifecycleScope
from pmp_di.integrations import django as django_integration
from pmp_di.integrations.django import MIDDLEWARE, RequestScopeMiddleware, request_scope, setup
from pmp_errors import ConfigurationError, RateLimitError, ValidationError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from conftest import CheckProblem, Recorder, Serve

URLS = "pmp_di_django_test_urls"


class Session:
    """A scoped service; the recorder learns how its scope ended."""

    def __init__(self, id_: int, path: str) -> None:
        self.id = id_
        self.path = path


class Broken:
    """A service whose factory fails."""


class Fragile:
    """A service whose cleanup fails."""


class Pool:
    """A service with an async finalizer."""


def make_urls(recorder: Recorder) -> types.ModuleType:  # noqa: C901 - one view per case
    def session(request: HttpRequest) -> Iterator[Session]:
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

    async def pool() -> AsyncIterator[Pool]:
        yield Pool()

    container = (
        DIContainer()
        .register(Pool, factory=pool, scope=LifecycleScope.SCOPED)
        .register(Session, factory=session, scope=LifecycleScope.SCOPED)
        .register(Broken, factory=broken, scope=LifecycleScope.SCOPED)
        .register(Fragile, factory=fragile, scope=LifecycleScope.SCOPED)
    )
    inject = setup(container).inject

    @inject(Session)
    def show(session: Session, request: HttpRequest) -> JsonResponse:
        time.sleep(0.005)  # let concurrent requests overlap
        same = container.resolve(Session) is request_scope(request).resolve(Session) is session
        return JsonResponse({"id": session.id, "path": request.path, "same": same})

    @inject(Session)
    async def ashow(session: Session, request: HttpRequest) -> JsonResponse:
        await asyncio.sleep(0.005)
        same = await container.aresolve(Session) is session
        return JsonResponse({"id": session.id, "path": request.path, "same": same})

    @inject(Session, Pool)
    async def mixed(session: Session, pool: Pool, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"id": session.id})

    @inject(Session)
    def invalid(session: Session, request: HttpRequest) -> JsonResponse:
        raise ValidationError("name is taken", field="name", value="secret-name")

    def limited(request: HttpRequest) -> JsonResponse:
        raise RateLimitError("Slow down", retry_after=2.5, limit=10)

    @inject(Session)
    def crash(session: Session, request: HttpRequest) -> JsonResponse:
        raise RuntimeError("secret internals")

    @inject(Session, Broken)
    def factory_fails(session: Session, broken: Broken, request: HttpRequest) -> JsonResponse:
        return JsonResponse({})

    @inject(Session, Fragile)
    def finalizer_fails(session: Session, fragile: Fragile, request: HttpRequest) -> JsonResponse:
        return JsonResponse({})

    @inject(Session)
    def stream(session: Session, request: HttpRequest) -> StreamingHttpResponse:
        def body() -> Iterator[str]:
            for i in range(3):
                assert container.resolve(Session) is session  # the scope is still open
                yield f"{session.id}:{i}\n"

        return StreamingHttpResponse(body())

    @inject(Session)
    def slow_sync(session: Session, request: HttpRequest) -> JsonResponse:
        time.sleep(0.3)  # the client leaves meanwhile
        return JsonResponse({"id": session.id})

    @inject(Session)
    async def slow(session: Session, request: HttpRequest) -> JsonResponse:
        await asyncio.sleep(10)
        return JsonResponse({})

    module = types.ModuleType(URLS)
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("session", show),
        path("asession", ashow),
        path("invalid", invalid),
        path("mixed", mixed),
        path("limited", limited),
        path("crash", crash),
        path("factory-fails", factory_fails),
        path("finalizer-fails", finalizer_fails),
        path("slow", slow),
        path("slow-sync", slow_sync),
        path("stream", stream),
    ]
    module.handler500 = "pmp_errors.integrations.django.server_error"  # type: ignore[attr-defined]
    return module


@pytest.fixture
def urls(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Django configured for this test: our URLconf, both middlewares, DEBUG off."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="not-a-secret",  # noqa: S106
            ALLOWED_HOSTS=["*"],
            INSTALLED_APPS=[],
            LOGGING_CONFIG=None,
        )
        django.setup()
    monkeypatch.setitem(sys.modules, URLS, make_urls(recorder))
    with override_settings(ROOT_URLCONF=URLS, MIDDLEWARE=MIDDLEWARE):
        yield


@pytest.mark.usefixtures("urls")
def test_each_request_gets_its_own_scope_closed_after_the_view(recorder: Recorder) -> None:
    """A scoped service is one per request, sees the request, and is finalized after it."""
    client = Client()
    first = client.get("/session").json()
    second = client.get("/session").json()
    assert first["id"] != second["id"]
    assert first["same"]
    assert first["path"] == "/session"
    assert recorder.closed == [(first["id"], None), (second["id"], None)]


@pytest.mark.asyncio
@pytest.mark.usefixtures("urls")
async def test_async_views_get_their_scope_too(recorder: Recorder) -> None:
    """Through the ASGI handler, sync and async views each get their own scope."""
    client = AsyncClient()
    first = (await client.get("/asession")).json()
    second = (await client.get("/session")).json()
    assert first["same"]
    assert second["same"]
    assert recorder.closed == [(first["id"], None), (second["id"], None)]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["wsgi", "asgi"])
@pytest.mark.parametrize(
    "case",
    [
        ("/invalid", 422, "ValidationError"),
        ("/crash", 500, "RuntimeError"),
        ("/factory-fails", 500, "ConfigurationError"),
    ],
)
@pytest.mark.asyncio
@pytest.mark.usefixtures("urls")
async def test_faults_answer_problems_and_the_scope_sees_the_error(
    recorder: Recorder,
    check_problem: CheckProblem,
    case: tuple[str, int, str],
    asynchronous: bool,
) -> None:
    """A failing view or factory is a problem; the scope's factories see its exception."""
    url, status, outcome = case
    if asynchronous:
        response: Any = await AsyncClient().get(url)
    else:
        response = Client().get(url)
    problem = check_problem(response, status)
    assert problem["instance"] == url
    assert recorder.closed == [(recorder.opened[0], outcome)]


@pytest.mark.usefixtures("urls")
def test_the_scope_sees_the_error_whatever_the_middleware_order(recorder: Recorder) -> None:
    """With the scope middleware outside the problem middleware, factories still see the error."""
    with override_settings(MIDDLEWARE=list(reversed(MIDDLEWARE))):
        assert Client().get("/invalid").status_code == 422
    assert recorder.closed == [(recorder.opened[0], "ValidationError")]


@pytest.mark.usefixtures("urls")
def test_a_rate_limit_error_answers_429_with_retry_after(check_problem: CheckProblem) -> None:
    """RateLimitError answers 429 with Retry-After in whole seconds."""
    response = Client().get("/limited")
    assert check_problem(response, 429)["limit"] == 10
    assert response.headers["Retry-After"] == "3"


@pytest.mark.usefixtures("urls")
def test_a_failing_finalizer_answers_a_500_problem(
    recorder: Recorder, check_problem: CheckProblem
) -> None:
    """A finalizer that raises: the others run, and handler500 answers a generic problem."""
    response = Client(raise_request_exception=False).get("/finalizer-fails")
    check_problem(response, 500)
    assert recorder.closed == [(recorder.opened[0], None)]


@pytest.mark.usefixtures("urls")
def test_a_streamed_body_keeps_its_scope_until_it_was_sent(recorder: Recorder) -> None:
    """A StreamingHttpResponse's scope closes after its body, not when the view returns."""
    response: Any = Client().get("/stream")
    assert recorder.closed == []
    assert b"".join(response.streaming_content).count(b"\n") == 3
    response.close()
    assert recorder.closed == [(recorder.opened[0], None)]


@pytest.mark.usefixtures("urls")
def test_a_streamed_body_over_waitress_closes_its_scope_once(
    wsgi_server: Serve, recorder: Recorder
) -> None:
    """Over waitress, the scope of a streamed body closes once, after the body was sent."""
    url = wsgi_server(get_wsgi_application())
    assert httpx.get(url + "/stream").text.count("\n") == 3
    assert recorder.wait_closed(1) == [(recorder.opened[0], None)]
    time.sleep(0.1)
    assert len(recorder.closed) == 1


@pytest.mark.usefixtures("urls")
def test_an_async_view_under_wsgi_still_closes_its_scope(recorder: Recorder) -> None:
    """An async view served by the sync handler leaves async finalizers: all of them run."""
    response = Client().get("/mixed")
    assert response.status_code == 200
    assert recorder.closed == [(response.json()["id"], None)]


def test_request_scope_outside_the_middleware_says_what_to_do() -> None:
    """request_scope() of a request no middleware saw names the settings to add."""
    with pytest.raises(LookupError, match="MIDDLEWARE"):
        request_scope(HttpRequest())


def test_the_middleware_needs_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without setup(container), building the middleware says what to call."""
    monkeypatch.setattr(django_integration._Installed, "container", None)
    with pytest.raises(RuntimeError, match=r"setup\(container\)"):
        RequestScopeMiddleware(lambda request: None)  # noqa: ARG005


@pytest.mark.parametrize("module", ["pmp_di.integrations.django", "pmp_errors.integrations.django"])
def test_a_missing_django_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Importing the integration without Django raises an ImportError naming the extra."""
    for name in [m for m in sys.modules if m == "django" or m.startswith("django.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    extra = module.partition(".")[0].replace("_", "-")
    with pytest.raises(ImportError, match=rf"pip install '{extra}\[django\]'"):
        importlib.import_module(module)


def test_docstring_examples_pass() -> None:
    """The module's examples run and print what they show."""
    result = doctest.testmod(django_integration, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# -- real servers ----------------------------------------------------------------------------


def _fetch_all(url: str, path: str, count: int) -> list[dict[str, Any]]:
    async def fetch_all() -> list[dict[str, Any]]:
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            responses = await asyncio.gather(*(client.get(path) for _ in range(count)))
        return [r.json() for r in responses]

    return asyncio.run(fetch_all())


@pytest.mark.parametrize(
    ("server", "path"),
    [("waitress", "/session"), ("uvicorn", "/session"), ("uvicorn", "/asession")],
)
@pytest.mark.usefixtures("urls")
def test_200_concurrent_requests_each_get_their_own_scope(
    wsgi_server: Serve, asgi_server: Serve, recorder: Recorder, server: str, path: str
) -> None:
    """Over waitress (WSGI) and uvicorn (ASGI), 200 requests: 200 sessions, each closed once."""
    if server == "waitress":
        url = wsgi_server(get_wsgi_application())
    else:
        url = asgi_server(get_asgi_application())
    bodies = _fetch_all(url, path, 200)
    ids = [body["id"] for body in bodies]
    assert len(set(ids)) == 200
    assert all(body["same"] for body in bodies)
    assert sorted(recorder.wait_closed(200)) == sorted((i, None) for i in ids)


@pytest.mark.parametrize(
    "case",
    [
        (server, *fault)
        for server in ("waitress", "uvicorn")
        for fault in (
            ("/invalid", 422, "ValidationError"),
            ("/crash", 500, "RuntimeError"),
            ("/factory-fails", 500, "ConfigurationError"),
            ("/finalizer-fails", 500, None),
        )
    ],
)
@pytest.mark.usefixtures("urls")
def test_faults_over_real_servers_answer_problems_and_close_the_scope(
    wsgi_server: Serve,
    asgi_server: Serve,
    recorder: Recorder,
    check_problem: CheckProblem,
    case: tuple[str, str, int, str | None],
) -> None:
    """Over both servers, every fault is a problem document and the scope closes."""
    server, path_, status, outcome = case
    if server == "waitress":
        url = wsgi_server(get_wsgi_application())
    else:
        url = asgi_server(get_asgi_application())
    check_problem(httpx.get(url + path_), status)
    assert recorder.wait_closed(1) == [(recorder.opened[0], outcome)]


@pytest.mark.usefixtures("urls")
def test_a_client_leaving_a_wsgi_request_still_closes_its_scope(
    wsgi_server: Serve, recorder: Recorder
) -> None:
    """Over waitress, a client that disconnects while the view runs: the scope closes once."""
    url = wsgi_server(get_wsgi_application())
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /slow-sync HTTP/1.1\r\nHost: test\r\n\r\n")
    assert recorder.wait_closed(1) == [(recorder.opened[0], None)]
    time.sleep(0.1)
    assert len(recorder.closed) == 1


@pytest.mark.usefixtures("urls")
def test_a_client_leaving_cancels_the_async_view_and_closes_its_scope(
    asgi_server: Serve, recorder: Recorder
) -> None:
    """Over uvicorn, a client that disconnects mid-request: the view is cancelled, scope closed."""
    url = asgi_server(get_asgi_application())
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        deadline = time.monotonic() + 10
        while not recorder.opened:  # the view is running
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert recorder.wait_closed(1) == [(recorder.opened[0], "CancelledError")]


DOCS = Path(__file__).resolve().parents[3] / "docs" / "integrations" / "django.md"


@pytest.mark.skipif(not DOCS.is_file(), reason="the docs are beside the tests in a checkout only")
def test_the_docs_example_runs() -> None:
    """The docs page's example runs as written, as a script of its own."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert blocks
    for code in blocks:
        subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=120)  # noqa: S603
