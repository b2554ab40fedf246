"""Starlette: one container scope per request and WebSocket connection (``pmp-di[starlette]``).

``setup(app, container)`` installs the scopes and, unless ``errors=False``, the
``pmp_errors`` problem-document handlers. Factories receive the request as
``starlette.requests.Request`` (a WebSocket connection as ``starlette.websockets.WebSocket``);
endpoints resolve from the request's scope with :func:`resolve` or ``container.resolve``.

>>> import asyncio, httpx
>>> from starlette.applications import Starlette
>>> from starlette.requests import Request
>>> from starlette.responses import PlainTextResponse
>>> from pmp_di import DIContainer, LifecycleScope
>>> from pmp_di.integrations.starlette import resolve, setup
>>> class Greeter:
...     def __init__(self, request: Request) -> None:
...         self.path = request.url.path
>>> async def hello(request: Request) -> PlainTextResponse:
...     greeter = await resolve(request, Greeter)
...     return PlainTextResponse(greeter.path)
>>> app = Starlette()
>>> app.add_route("/hello", hello)
>>> setup(app, DIContainer().register(Greeter, scope=LifecycleScope.SCOPED))
>>> async def get(path: str) -> str:
...     transport = httpx.ASGITransport(app)
...     async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
...         return (await client.get(path)).text
>>> asyncio.run(get("/hello"))
'/hello'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pmp_di.integrations._asgi import RequestScopes, declare_context, request_scope
from pmp_errors.integrations import requires_extra

with requires_extra("pmp-di[starlette]", "starlette"):
    from starlette.requests import HTTPConnection, Request
    from starlette.websockets import WebSocket

    from pmp_errors.integrations.starlette import setup as setup_errors

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.applications import Starlette
    from starlette.types import Receive, Scope, Send

    from pmp_di._container import DIContainer

__all__ = ["RequestScopes", "connection_context", "request_scope", "resolve", "setup"]

T = TypeVar("T")


CONTEXT_KEYS = (Request, WebSocket)
"""The types a request's scope is given: declared on the container by :func:`setup`."""


def connection_context(scope: Scope, receive: Receive, send: Send) -> Mapping[Any, Any]:
    """The values a request's container scope is given: its ``Request`` or ``WebSocket``."""
    if scope["type"] == "http":
        return {Request: Request(scope, receive, send)}
    return {WebSocket: WebSocket(scope, receive, send)}


async def resolve(connection: HTTPConnection, service: type[T]) -> T:
    """Resolve *service* in the scope of *connection*, awaiting async factories."""
    return await request_scope(connection.scope).aresolve(service)


def setup(app: Starlette, container: DIContainer, *, errors: bool = True) -> None:
    """Open a scope per request and WebSocket connection; with *errors*, answer with problems.

    *errors* installs ``pmp_errors.integrations.starlette.setup(app)`` too. Call it
    before the app serves its first request.
    """
    declare_context(container, CONTEXT_KEYS)
    app.add_middleware(RequestScopes, container=container, context=connection_context)
    if errors:
        setup_errors(app)
