"""ASGI middleware opening one container scope per HTTP request and WebSocket connection."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from pmp_errors import exception_to_dict
from pmp_errors.integrations import EXCEPTION_KEY

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping

    from pmp_di._container import DIContainer
    from pmp_di._scope import Scope

    ASGIScope = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
    Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
    ASGIApp = Callable[[ASGIScope, Receive, Send], Awaitable[None]]
    Context = Callable[[ASGIScope, Receive, Send], Mapping[Any, Any]]

__all__ = ["SCOPE_KEY", "RequestScopes", "request_scope"]

SCOPE_KEY = "pmp_di.scope"
"""Where the request's container scope is kept in the ASGI scope."""

_logger = logging.getLogger("pmp_di.integrations")


def request_scope(asgi_scope: Mapping[str, Any]) -> Scope:
    """The container scope of the request or connection described by *asgi_scope*.

    Raises:
        LookupError: no :class:`RequestScopes` middleware opened one for it.
    """
    try:
        return asgi_scope[SCOPE_KEY]  # type: ignore[no-any-return]
    except KeyError:
        msg = (
            "no container scope for this request: install the middleware with"
            " pmp_di.integrations.<framework>.setup(app, container)"
            " (Litestar: plugins=[DIPlugin(container)])"
        )
        raise LookupError(msg) from None


def declare_context(container: DIContainer, keys: Iterable[Any]) -> None:
    """Declare *keys* as values every request scope is given (``from_context=True``)."""
    for key in keys:
        container.register(key, from_context=True)


class RequestScopes:
    """ASGI middleware: one scope per HTTP request and per WebSocket connection.

    The scope is made current before the app is called and closed when the app
    returns (after the response was sent, background tasks included) or raises; its
    finalizers get the exception the app raised, or the one an error handler answered
    (recorded under ``pmp_errors.integrations.EXCEPTION_KEY``). A finalizer failing
    after the response was sent is logged to ``pmp_di.integrations``. *context* gives
    the values from outside for each scope (the request object).
    """

    __slots__ = ("_app", "_container", "_context")

    def __init__(self, app: ASGIApp, container: DIContainer, context: Context) -> None:
        self._app = app
        self._container = container
        self._context = context

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call, in a scope of its own unless it is a lifespan call."""
        kind = scope["type"]
        if kind != "http" and kind != "websocket":  # noqa: PLR1714 - two compares are cheaper
            await self._app(scope, receive, send)
            return
        request = self._container.scope(context=self._context(scope, receive, send))
        scope[SCOPE_KEY] = request
        request.activate()
        try:
            await self._app(scope, receive, send)
        except BaseException as exc:
            await request.aclose(exc)
            raise
        try:
            await request.aclose(scope.get(EXCEPTION_KEY))
        except Exception as exc:  # the response is sent: it can only be logged
            record = exception_to_dict(exc)
            _logger.exception(
                "closing the scope of %s failed after the response: %s",
                scope.get("path", "a request"),
                json.dumps(record),
                extra={"error": record},
            )
