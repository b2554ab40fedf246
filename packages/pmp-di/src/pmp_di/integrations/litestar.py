"""Litestar: one container scope per request and WebSocket connection (``pmp-di[litestar]``).

``DIPlugin(container)`` opens a scope per HTTP request and WebSocket connection and (unless
``errors=False``) installs the ``pmp_errors`` problem-document handlers. Handlers receive
services as Litestar dependencies: ``dependencies={"greeter": provide(Greeter)}`` and a
``greeter: NamedDependency[Greeter]`` parameter. Factories receive the request as
``litestar.Request`` or ``Request[Any, Any, Any]`` (a WebSocket connection as
``litestar.WebSocket``, or with ``[Any, Any, Any]``).

>>> from litestar import Litestar
>>> from pmp_di import DIContainer, LifecycleScope
>>> from pmp_di.integrations.litestar import DIPlugin, provide
>>> class Greeter: ...
>>> container = DIContainer().register(Greeter, scope=LifecycleScope.SCOPED)
>>> app = Litestar(plugins=[DIPlugin(container)], dependencies={"greeter": provide(Greeter)})

A complete example is on the documentation's Litestar page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pmp_di.integrations._asgi import RequestScopes, declare_context, request_scope
from pmp_errors.integrations import requires_extra

with requires_extra("pmp-di[litestar]", "litestar"):
    from litestar import Request, WebSocket
    from litestar.di import Provide
    from litestar.enums import ScopeType
    from litestar.middleware import DefineMiddleware
    from litestar.plugins import InitPluginProtocol
    from litestar.types import Scope  # noqa: TC002 - Litestar reads the annotation

    from pmp_errors.integrations.litestar import ProblemPlugin

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from litestar.config.app import AppConfig
    from litestar.types import ASGIApp, Receive, Send

    from pmp_di._container import DIContainer

__all__ = ["DIPlugin", "RequestScopes", "connection_context", "provide", "request_scope"]

_provided: dict[Any, Provide] = {}


_ANY_REQUEST = Request[Any, Any, Any]
_ANY_WEBSOCKET = WebSocket[Any, Any, Any]
CONTEXT_KEYS = (Request, _ANY_REQUEST, WebSocket, _ANY_WEBSOCKET)
"""The types a request's scope is given: declared on the container by :class:`DIPlugin`."""


def connection_context(scope: Scope, receive: Receive, send: Send) -> Mapping[Any, Any]:
    """The values a request's container scope is given: its ``Request`` or ``WebSocket``.

    Each under the bare class and as ``[Any, Any, Any]``, the two ways a factory annotates it.
    """
    if scope["type"] == ScopeType.HTTP:
        request = Request[Any, Any, Any](scope, receive, send)
        return {Request: request, _ANY_REQUEST: request}
    websocket = WebSocket[Any, Any, Any](scope, receive, send)
    return {WebSocket: websocket, _ANY_WEBSOCKET: websocket}


def provide(service: Any) -> Provide:
    """The Litestar dependency resolving *service* in the request's scope.

    >>> provide(int) is provide(int)
    True
    """
    found = _provided.get(service)
    if found is None:

        async def resolve(scope: Scope) -> Any:
            # request_scope reads the scope the plugin stored, or says it is not installed
            return await request_scope(cast("Mapping[str, Any]", scope)).aresolve(service)

        found = _provided[service] = Provide(resolve)
    return found


class DIPlugin(InitPluginProtocol):
    """Open a container scope per request and connection; with *errors*, answer with problems.

    >>> from litestar import Litestar
    >>> from pmp_di import DIContainer
    >>> app = Litestar(plugins=[DIPlugin(DIContainer())])
    """

    def __init__(self, container: DIContainer, *, errors: bool = True) -> None:
        self._container = container
        self._errors = errors
        declare_context(container, CONTEXT_KEYS)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the scope middleware (outermost of the app's) and the error handlers."""
        scopes = cast("Callable[..., ASGIApp]", RequestScopes)  # ASGI, in Litestar's types
        middleware = DefineMiddleware(scopes, container=self._container, context=connection_context)
        app_config.middleware.insert(0, middleware)
        if self._errors:
            app_config = ProblemPlugin().on_app_init(app_config)
        return app_config
