"""Starlette, FastAPI and Litestar WebSocket connections over a real uvicorn server.

One container scope per connection; its finalizers run once, after the client left or
the endpoint raised, and see how it ended.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import fastapi
import litestar
import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from pmp_di import DIContainer, LifecycleScope
from pmp_di.integrations import fastapi as fastapi_di
from pmp_di.integrations import litestar as litestar_di
from pmp_di.integrations import starlette as starlette_di
from pmp_di.integrations.starlette import request_scope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from conftest import Recorder, Serve

PRIVATE = "hunter2"


class Session:
    """A scoped service made by an async generator; knows the connection's path."""

    def __init__(self, id_: int, path: str) -> None:
        self.id = id_
        self.path = path


def make_container(recorder: Recorder, connection_type: Any) -> DIContainer:
    """A container whose scoped Session sees the connection and records how it ends."""

    async def session(connection: Any) -> AsyncIterator[Session]:
        made = Session(recorder.open(), connection.url.path)
        with recorder.closing(made.id):
            yield made

    session.__annotations__["connection"] = connection_type
    return DIContainer().register(Session, factory=session, scope=LifecycleScope.SCOPED)


async def converse(
    receive: Callable[[], Awaitable[str]],
    send: Callable[[str], Awaitable[None]],
    resolve: Callable[[], Awaitable[Session]],
) -> None:
    """Answer each message with the connection's Session; "raise" makes the endpoint fail."""
    while True:
        text = await receive()
        if text == "raise":
            raise ValueError(PRIVATE)
        session = await resolve()
        await send(json.dumps({"id": session.id, "path": session.path}))


def starlette_app(recorder: Recorder) -> Starlette:
    async def talk(websocket: WebSocket) -> None:
        await websocket.accept()

        async def resolve() -> Session:
            return await starlette_di.resolve(websocket, Session)

        await converse(websocket.receive_text, websocket.send_text, resolve)

    app = Starlette(routes=[WebSocketRoute("/ws", talk)])
    starlette_di.setup(app, make_container(recorder, WebSocket))
    return app


def fastapi_app(recorder: Recorder) -> fastapi.FastAPI:
    app = fastapi.FastAPI()

    @app.websocket("/ws")
    async def talk(websocket: fastapi.WebSocket, first: fastapi_di.Injected[Session]) -> None:
        await websocket.accept()

        async def resolve() -> Session:
            again = await request_scope(websocket.scope).aresolve(Session)
            assert again is first
            return again

        await converse(websocket.receive_text, websocket.send_text, resolve)

    fastapi_di.setup(app, make_container(recorder, fastapi.WebSocket))
    return app


def litestar_app(recorder: Recorder) -> litestar.Litestar:
    @litestar.websocket("/ws")
    async def talk(socket: litestar.WebSocket[Any, Any, Any]) -> None:
        await socket.accept()

        async def receive() -> str:
            return await socket.receive_text()

        async def resolve() -> Session:
            return await request_scope(socket.scope).aresolve(Session)

        await converse(receive, socket.send_text, resolve)

    container = make_container(recorder, litestar.WebSocket)
    return litestar.Litestar([talk], plugins=[litestar_di.DIPlugin(container)], logging_config=None)


APPS = {"starlette": starlette_app, "fastapi": fastapi_app, "litestar": litestar_app}


@pytest.fixture(params=sorted(APPS))
def url(request: pytest.FixtureRequest, asgi_server: Serve, recorder: Recorder) -> str:
    """The WebSocket URL of a framework's app served by uvicorn."""
    return asgi_server(APPS[request.param](recorder)).replace("http://", "ws://") + "/ws"


def ask(ws: Any) -> dict[str, Any]:
    ws.send("hello")
    answer: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return answer


def test_one_scope_per_connection_closed_after_the_client_leaves(
    url: str, recorder: Recorder
) -> None:
    """Each connection has its own Session for all its messages; it closes once, on leaving."""
    with connect(url, open_timeout=10) as first, connect(url, open_timeout=10) as second:
        one = [ask(first), ask(first)]
        two = [ask(second), ask(second)]
        assert one[0] == one[1]
        assert two[0] == two[1]
        assert one[0]["id"] != two[0]["id"]
        assert one[0]["path"] == "/ws"
        assert recorder.closed == []  # nothing closes while the clients are connected
    closed = recorder.wait_closed(2)
    # the endpoint ended with the framework's WebSocketDisconnect, and the finalizers see it
    assert {outcome for _, outcome in closed} == {"WebSocketDisconnect"}
    assert sorted(session for session, _ in closed) == sorted([one[0]["id"], two[0]["id"]])
    threading.Event().wait(0.2)  # a second closing would show by now
    assert len(recorder.closed) == 2
    assert sorted(recorder.opened) == sorted([one[0]["id"], two[0]["id"]])


def test_an_endpoint_that_raises_closes_with_1011_and_its_scope_sees_the_error(
    url: str, recorder: Recorder
) -> None:
    """The endpoint raising: the client sees 1011 and no secret; the finalizer sees the error."""
    with connect(url, open_timeout=10) as ws:
        session = ask(ws)["id"]
        ws.send("raise")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1011
    assert PRIVATE not in info.value.rcvd.reason
    assert recorder.wait_closed(1) == [(session, "ValueError")]
    threading.Event().wait(0.2)
    assert len(recorder.closed) == 1
