"""Starlette, FastAPI and Litestar: a scope per request, problem responses, over real servers."""

import asyncio
import contextlib
import doctest
import importlib
import itertools
import logging
import sys
import threading
import types
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, Any

import httpx
import litestar
import pytest
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import StreamingResponse
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pmp_di import DIContainer, LifecycleScope
from pmp_di.integrations import fastapi as fastapi_di
from pmp_di.integrations import litestar as litestar_di
from pmp_di.integrations import starlette as starlette_di
from pmp_di.integrations.starlette import RequestScopes, connection_context, request_scope
from pmp_errors import ConfigurationError, RateLimitError

Serve = Callable[[Any], str]  # the conftest's server fixture: app -> base URL
CheckProblem = Callable[[Any, int], dict[str, Any]]
Resolve = Callable[[type[Any]], Awaitable[Any]]

PRIVATE = "hunter2"
_ids = itertools.count()


class Session:
    """A scoped service made by an async generator; knows the request's path."""

    def __init__(self, path: str) -> None:
        self.id = next(_ids)
        self.path = path


class Tx:
    """A scoped service made by a sync generator."""

    def __init__(self) -> None:
        self.id = next(_ids)


class Service:
    """A scoped service with two dependencies."""

    def __init__(self, session: Session, tx: Tx) -> None:
        self.session = session
        self.tx = tx


class Broken:
    """A service whose factory fails."""


class Fragile:
    """A service whose cleanup fails."""


class Recorder:
    """What the server saw: instances made, and how each was closed (thread-safe)."""

    def __init__(self) -> None:
        self.done = threading.Condition()
        self.opened: list[int] = []
        self.closed: list[tuple[int, str | None]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def open(self, instance_id: int) -> None:
        with self.done:
            self.opened.append(instance_id)

    def close(self, instance_id: int, outcome: str | None) -> None:
        with self.done:
            self.closed.append((instance_id, outcome))
            self.done.notify_all()

    def wait_closed(self, count: int) -> list[tuple[int, str | None]]:
        with self.done:
            assert self.done.wait_for(lambda: len(self.closed) >= count, timeout=20)
            return list(self.closed)


def make_container(recorder: Recorder, request_type: type[Any]) -> DIContainer:
    """Session (async, sees the request), Tx (sync), Service on both, and two faulty ones."""

    async def session(request: Any) -> AsyncIterator[Session]:
        made = Session(request.url.path)
        recorder.open(made.id)
        outcome = None
        try:
            yield made
        except BaseException as exc:
            outcome = type(exc).__name__
            raise
        finally:
            recorder.close(made.id, outcome)

    session.__annotations__["request"] = request_type

    def tx() -> Iterator[Tx]:
        made = Tx()
        recorder.open(made.id)
        try:
            yield made
        except BaseException as exc:
            recorder.close(made.id, type(exc).__name__)
            raise
        recorder.close(made.id, None)

    def broken() -> Broken:
        raise ConfigurationError("cannot reach db", config_key=PRIVATE)

    async def fragile() -> AsyncIterator[Fragile]:
        yield Fragile()
        raise RuntimeError(PRIVATE)

    container = DIContainer()
    container.register(Session, factory=session, scope=LifecycleScope.SCOPED)
    container.register(Tx, factory=tx, scope=LifecycleScope.SCOPED)
    container.register(Service, scope=LifecycleScope.SCOPED)
    container.register(Broken, factory=broken, scope=LifecycleScope.SCOPED)
    container.register(Fragile, factory=fragile, scope=LifecycleScope.SCOPED)
    return container


async def behave(name: str, resolve: Resolve, recorder: Recorder) -> dict[str, Any]:
    """What each route does with its request's scope; the same for every framework."""
    service = await resolve(Service)
    if name == "ok":
        await asyncio.sleep(0.005)  # let concurrent requests interleave
        again = await resolve(Session)
        return {"session": service.session.id, "tx": service.tx.id, "again": again.id}
    if name == "raise":
        raise ValueError(PRIVATE)
    if name == "rate":
        raise RateLimitError("Slow down", retry_after=1.5, limit=5)
    if name == "factory":
        await resolve(Broken)
    if name == "finalizer":
        await resolve(Fragile)
    if name == "slow":
        recorder.started.set()
        for _ in range(2000):
            if recorder.release.is_set():
                break
            await asyncio.sleep(0.005)
    return {"path": service.session.path}


def starlette_app(recorder: Recorder) -> Starlette:
    async def endpoint(request: Request) -> Response:
        async def resolve(service: type[Any]) -> Any:
            return await starlette_di.resolve(request, service)

        return JSONResponse(await behave(request.path_params["name"], resolve, recorder))

    app = Starlette(routes=[Route("/{name}", endpoint)])
    starlette_di.setup(app, make_container(recorder, Request))
    return app


def fastapi_app(recorder: Recorder) -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    async def ok(
        service: fastapi_di.Injected[Service],
        session: Annotated[Session, fastapi_di.provide(Session)],
    ) -> dict[str, Any]:
        await asyncio.sleep(0.005)
        return {"session": service.session.id, "tx": service.tx.id, "again": session.id}

    @app.get("/{name}")
    async def other(name: str, request: Request) -> dict[str, Any]:
        return await behave(name, request_scope(request.scope).aresolve, recorder)

    fastapi_di.setup(app, make_container(recorder, Request))
    return app


def litestar_app(recorder: Recorder) -> litestar.Litestar:
    @litestar.get("/ok", dependencies={"service": litestar_di.provide(Service)})
    async def ok(
        service: NamedDependency[Service], session: NamedDependency[Session]
    ) -> dict[str, Any]:
        await asyncio.sleep(0.005)
        return {"session": service.session.id, "tx": service.tx.id, "again": session.id}

    @litestar.get("/{name:str}")
    async def other(
        name: FromPath[str], request: litestar.Request[Any, Any, Any]
    ) -> dict[str, Any]:
        return await behave(name, request_scope(request.scope).aresolve, recorder)

    container = make_container(recorder, litestar.Request[Any, Any, Any])
    return litestar.Litestar(
        [ok, other],
        plugins=[litestar_di.DIPlugin(container)],
        dependencies={"session": Provide(_session_from_scope)},
        logging_config=None,
    )


async def _session_from_scope(request: litestar.Request[Any, Any, Any]) -> Session:
    return await request_scope(request.scope).aresolve(Session)


APPS: dict[str, Callable[[Recorder], Any]] = {
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "litestar": litestar_app,
}


@pytest.fixture(params=sorted(APPS))
def served(request: pytest.FixtureRequest, asgi_server: Serve) -> tuple[str, Recorder]:
    """A framework's app on a real uvicorn server, with what it records."""
    recorder = Recorder()
    return asgi_server(APPS[request.param](recorder)), recorder


def test_concurrent_requests_get_own_instances(served: tuple[str, Recorder]) -> None:
    """200 concurrent requests: each its own scoped instances, every finalizer run once."""
    url, recorder = served

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            return await asyncio.gather(*(client.get("/ok") for _ in range(200)))

    responses = asyncio.run(run())
    assert {response.status_code for response in responses} == {200}
    bodies = [response.json() for response in responses]
    assert all(body["again"] == body["session"] for body in bodies)
    made = [body["session"] for body in bodies] + [body["tx"] for body in bodies]
    assert len(set(made)) == 400
    closed = recorder.wait_closed(400)
    assert sorted(closed) == sorted((instance, None) for instance in made)
    assert sorted(recorder.opened) == sorted(made)


@pytest.mark.parametrize(
    ("name", "status", "outcome"),
    [("raise", 500, "ValueError"), ("rate", 429, "RateLimitError"), ("factory", 500, None)],
)
def test_faults_close_the_scope(
    served: tuple[str, Recorder], check_problem: CheckProblem, name: str, status: int, outcome: Any
) -> None:
    """An endpoint or factory raising: a problem response, finalizers run and see the error."""
    url, recorder = served
    response = httpx.get(f"{url}/{name}", timeout=10)
    problem = check_problem(response, status)
    assert problem["instance"] == f"/{name}"
    closed = recorder.wait_closed(2)
    assert len(closed) == 2
    if name == "factory":  # the factory's own error reaches the finalizers
        assert {how for _, how in closed} == {"ConfigurationError"}
    else:
        assert {how for _, how in closed} == {outcome}
    if name == "rate":
        assert response.headers["Retry-After"] == "2"
        assert problem["limit"] == 5


def test_finalizer_failure_is_logged_after_response(
    served: tuple[str, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    """A cleanup failing after the response was sent: the others still run, it is logged."""
    url, recorder = served
    with caplog.at_level(logging.ERROR, logger="pmp_di.integrations"):
        response = httpx.get(f"{url}/finalizer", timeout=10)
        assert response.status_code == 200
        assert PRIVATE not in response.text
        assert len(recorder.wait_closed(2)) == 2
        for _ in range(200):
            if caplog.records:
                break
            threading.Event().wait(0.01)
    assert any(PRIVATE in record.getMessage() for record in caplog.records)


def test_client_disconnect_still_closes(served: tuple[str, Recorder]) -> None:
    """A client that gives up mid-request: the scope closes all the same."""
    url, recorder = served
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{url}/slow", timeout=httpx.Timeout(10, read=0.3))
    assert recorder.started.is_set()
    recorder.release.set()
    assert {how for _, how in recorder.wait_closed(2)} == {None}


# -- test clients: the small cases ---------------------------------------------------------


def call(app: Any, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)

    return asyncio.run(go())


@pytest.mark.parametrize("name", sorted(APPS))
def test_request_reaches_factories(name: str) -> None:
    """Factories get the framework's request object from the scope's context."""
    assert call(APPS[name](Recorder()), "/path").json() == {"path": "/path"}


def test_fastapi_openapi_stays_clean() -> None:
    """Injected parameters do not appear in the OpenAPI schema."""
    operation = fastapi_app(Recorder()).openapi()["paths"]["/ok"]["get"]
    assert operation.get("parameters", []) == []
    assert "requestBody" not in operation


def test_fastapi_sync_endpoint_uses_current_scope() -> None:
    """A sync endpoint (run in a thread) resolves from the request's scope with the container."""
    recorder = Recorder()
    container = make_container(recorder, Request)
    app = FastAPI()

    @app.get("/sync")
    def sync_endpoint() -> int:
        return container.resolve(Tx).id

    fastapi_di.setup(app, container)
    made = call(app, "/sync").json()
    assert recorder.wait_closed(1) == [(made, None)]


def test_scope_outlives_streamed_body_and_background_tasks() -> None:
    """The scope closes after a streamed body and after the background tasks."""
    recorder = Recorder()
    app = FastAPI()

    @app.get("/stream")
    async def stream(tx: fastapi_di.Injected[Tx]) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(3):
                assert recorder.closed == []
                yield f"{tx.id},".encode()

        return StreamingResponse(body())

    @app.get("/later")
    async def later(tx: fastapi_di.Injected[Tx], tasks: BackgroundTasks) -> None:
        tasks.add_task(lambda: recorder.opened.append(len(recorder.closed)))

    fastapi_di.setup(app, make_container(recorder, Request))
    made = int(call(app, "/stream").text.split(",")[0])
    assert recorder.closed == [(made, None)]
    call(app, "/later")
    assert recorder.opened[-1] == 1  # the task ran before the second Tx was closed
    assert len(recorder.closed) == 2


def test_errors_false_leaves_error_handling_alone() -> None:
    """setup(errors=False) installs only the scopes."""
    app = Starlette(routes=[Route("/", lambda _: Response(status_code=204))])
    starlette_di.setup(app, DIContainer(), errors=False)
    assert call(app, "/nowhere").headers["Content-Type"] != "application/problem+json"


def test_scope_lookup_without_setup() -> None:
    """Resolving without the middleware names the setup call."""
    with pytest.raises(LookupError, match=r"setup\(app, container\)"):
        request_scope({"type": "http"})


async def _never(*_: Any) -> Any:
    raise AssertionError


def test_injection_without_setup_names_it() -> None:
    """An injected endpoint of an app without setup() fails saying what to call."""
    app = FastAPI()

    @app.get("/")
    async def endpoint(tx: fastapi_di.Injected[Tx]) -> None: ...

    async def call_raising() -> None:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            await client.get("/")

    with pytest.raises(LookupError, match=r"setup\(app, container\)"):
        asyncio.run(call_raising())
    resolver = litestar_di.provide(Tx).dependency
    with pytest.raises(LookupError, match=r"setup\(app, container\)"):
        asyncio.run(resolver(scope={"type": "http"}))


def test_lifespan_passes_through() -> None:
    """A lifespan call gets no scope."""
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        assert "pmp_di.scope" not in scope

    app = RequestScopes(inner, DIContainer(), connection_context)
    asyncio.run(app({"type": "lifespan"}, _never, _never))
    assert seen == ["lifespan"]


def _starlette_ws(recorder: Recorder) -> Any:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def talk(websocket: WebSocket) -> None:
        await websocket.accept()
        for _ in range(2):
            await websocket.receive_text()
            tx = await starlette_di.resolve(websocket, Tx)
            await websocket.send_text(str(tx.id))
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/ws", talk)])
    starlette_di.setup(app, make_container(recorder, Request))
    return app


def _fastapi_ws(recorder: Recorder) -> Any:
    from fastapi import WebSocket

    app = FastAPI()

    @app.websocket("/ws")
    async def talk(websocket: WebSocket, tx: fastapi_di.Injected[Tx]) -> None:
        await websocket.accept()
        for _ in range(2):
            await websocket.receive_text()
            again = await fastapi_di.request_scope(websocket.scope).aresolve(Tx)
            assert again is tx
            await websocket.send_text(str(tx.id))
        await websocket.close()

    fastapi_di.setup(app, make_container(recorder, Request))
    return app


def _litestar_ws(recorder: Recorder) -> Any:
    @litestar.websocket("/ws")
    async def talk(socket: litestar.WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        for _ in range(2):
            await socket.receive_text()
            tx = await request_scope(socket.scope).aresolve(Tx)
            await socket.send_text(str(tx.id))
        await socket.close()

    container = make_container(recorder, litestar.Request)
    return litestar.Litestar([talk], plugins=[litestar_di.DIPlugin(container)])


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "litestar"])
def test_websocket_connection_has_one_scope(framework: str) -> None:
    """One scope per WebSocket connection, closed when the connection ends."""
    recorder = Recorder()
    build = {"starlette": _starlette_ws, "fastapi": _fastapi_ws, "litestar": _litestar_ws}
    app = build[framework](recorder)
    client_type = _litestar_client if framework == "litestar" else _starlette_client
    ids = []
    for _ in range(2):
        with client_type(app) as client, client.websocket_connect("/ws") as ws:
            for _ in range(2):
                ws.send_text("x")
                ids.append(int(ws.receive_text()))
    assert ids[0] == ids[1]
    assert ids[2] == ids[3]
    assert ids[0] != ids[2]
    assert sorted(recorder.wait_closed(2)) == [(ids[0], None), (ids[2], None)]


@contextlib.contextmanager
def _starlette_client(app: Any) -> Iterator[Any]:
    with warnings.catch_warnings():  # Starlette's client asks for another httpx package
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        client = TestClient(app)
    with client:
        yield client


@contextlib.contextmanager
def _litestar_client(app: Any) -> Iterator[Any]:
    from litestar.testing import TestClient

    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("module", [starlette_di, fastapi_di, litestar_di])
def test_docstring_examples_pass(module: types.ModuleType) -> None:
    """The integration modules' examples run."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("framework", ["fastapi", "starlette", "litestar"])
def test_missing_framework_names_the_extra(framework: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing an integration without its framework says which extra to install."""
    monkeypatch.setitem(sys.modules, framework, None)
    for name in [n for n in sys.modules if n.startswith(f"{framework}.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [n for n in sys.modules if n.startswith("pmp_di.integrations.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=rf"pip install 'pmp-di\[{framework}\]'"):
        importlib.import_module(f"pmp_di.integrations.{framework}")
