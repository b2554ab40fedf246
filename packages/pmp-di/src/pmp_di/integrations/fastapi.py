"""FastAPI: one container scope per request, and services in endpoint signatures.

Install with ``pip install 'pmp-di[fastapi]'``. ``setup(app, container)`` opens a scope
per HTTP request and WebSocket connection and (unless ``errors=False``) installs the
``pmp_errors`` problem-document handlers. Endpoints (and FastAPI dependencies) declare a
service as ``Injected[T]``, which is ``Annotated[T, provide(T)]``: the parameter is typed
``T``, resolved from the request's scope, and absent from the OpenAPI schema. Factories
receive the request as ``fastapi.Request`` (a WebSocket connection as ``fastapi.WebSocket``).

>>> import asyncio, httpx
>>> from fastapi import FastAPI, Request
>>> from pmp_di import DIContainer, LifecycleScope
>>> from pmp_di.integrations.fastapi import Injected, setup
>>> class Greeter:
...     def __init__(self, request: Request) -> None:
...         self.path = request.url.path
>>> app = FastAPI()
>>> @app.get("/hello")
... async def hello(greeter: Injected[Greeter]) -> str:
...     return greeter.path
>>> setup(app, DIContainer().register(Greeter, scope=LifecycleScope.SCOPED))
>>> async def get(path: str) -> str:
...     transport = httpx.ASGITransport(app)
...     async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
...         return (await client.get(path)).json()
>>> asyncio.run(get("/hello"))
'/hello'
>>> app.openapi()["paths"]["/hello"]["get"].get("parameters", [])
[]
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pmp_di.integrations._asgi import SCOPE_KEY, RequestScopes, declare_context, request_scope
from pmp_errors.integrations import requires_extra

with requires_extra("pmp-di[fastapi]", "fastapi", "starlette"):
    from fastapi import Depends
    from starlette.requests import HTTPConnection  # noqa: TC002 - FastAPI reads the annotation

    from pmp_di.integrations.starlette import CONTEXT_KEYS, connection_context
    from pmp_errors.integrations.fastapi import setup as setup_errors

if TYPE_CHECKING:
    from typing import TypeAlias

    from fastapi import FastAPI

    from pmp_di._container import DIContainer

__all__ = ["Injected", "RequestScopes", "provide", "request_scope", "setup"]

T = TypeVar("T")

_provided: dict[Any, Any] = {}


def provide(service: Any) -> Any:
    """The FastAPI dependency resolving *service* in the request's scope.

    Use it as ``Annotated[Service, provide(Service)]`` (which ``Injected[Service]``
    spells shorter), or as ``Depends``-style default. One dependency object per
    service, so FastAPI resolves it once per request.

    >>> provide(int) is provide(int)
    True
    """
    try:
        return _provided[service]
    except (KeyError, TypeError):
        pass

    async def resolve(connection: HTTPConnection) -> Any:
        try:
            scope = connection.scope[SCOPE_KEY]
        except KeyError:  # setup() was not called: say so
            scope = request_scope(connection.scope)
        return await scope.aresolve(service)

    resolve.__qualname__ = resolve.__name__ = f"provide({getattr(service, '__name__', service)})"
    dependency = Depends(resolve)
    with contextlib.suppress(TypeError):  # an unhashable key: not shared
        _provided[service] = dependency
    return dependency


if TYPE_CHECKING:
    Injected: TypeAlias = Annotated[T, "resolved from the request's container scope"]
else:

    class Injected:
        """``Injected[T]`` is ``Annotated[T, provide(T)]``: a service resolved per request."""

        __slots__ = ()

        def __class_getitem__(cls, service: Any) -> Any:
            return Annotated[service, provide(service)]


def setup(app: FastAPI, container: DIContainer, *, errors: bool = True) -> None:
    """Open a scope per request and WebSocket connection; with *errors*, answer with problems.

    *errors* installs ``pmp_errors.integrations.fastapi.setup(app)`` too (validation
    errors included). Call it before the app serves its first request.
    """
    declare_context(container, CONTEXT_KEYS)
    app.add_middleware(RequestScopes, container=container, context=connection_context)
    if errors:
        setup_errors(app)
