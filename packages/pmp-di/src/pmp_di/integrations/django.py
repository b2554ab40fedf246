"""Django: one container scope per request, under WSGI and ASGI.

Needs the ``django`` extra (``pip install 'pmp-di[django]'``). Call :func:`setup` once
(in an ``AppConfig.ready()`` or the settings module) and add the middleware entries;
``MIDDLEWARE`` below lists both halves in the order they need (the problem handlers
outside, the request scope inside, so the scope's factories see the view's exception)::

    from pmp_di.integrations import django as pmp_django

    MIDDLEWARE = [..., *pmp_django.MIDDLEWARE]

The scope opens before the view, is current while it runs (so ``container.resolve`` and
functions decorated with ``ServiceProvider(container).inject`` use it, in sync and async
views) and closes, its finalizers run, when the view's response is ready, also when the
view raised or (under ASGI) the client went away and the view was cancelled; a streamed
synchronous body keeps it open until the server closes the response. Factories
receive the request as ``django.http.HttpRequest``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pmp_di._provider import ServiceProvider
from pmp_di.integrations._wsgi import ClosingBody, close_scope
from pmp_errors.integrations import EXCEPTION_KEY, requires_extra

_EXTRA = "pmp-di[django]"
with requires_extra(_EXTRA, "django"):
    from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

if sys.version_info >= (3, 12):  # asgiref's own are deprecated in favour of these
    from inspect import iscoroutinefunction, markcoroutinefunction
else:  # where Django marks async callables with asgiref's shim of the same
    import asyncio.coroutines
    import inspect

    with requires_extra(_EXTRA, "asgiref"):
        from asgiref.sync import markcoroutinefunction

    _MARK = getattr(asyncio.coroutines, "_is_coroutine", None)

    def iscoroutinefunction(func: object) -> bool:
        """A coroutine function, or a callable asgiref's ``markcoroutinefunction`` marked."""
        return inspect.iscoroutinefunction(func) or getattr(func, "_is_coroutine", None) is _MARK


if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pmp_di._container import DIContainer
    from pmp_di._scope import Scope

__all__ = ["MIDDLEWARE", "RequestScopeMiddleware", "request_scope", "setup"]

MIDDLEWARE = [
    "pmp_errors.integrations.django.ProblemMiddleware",
    "pmp_di.integrations.django.RequestScopeMiddleware",
]
"""The entries to add to ``settings.MIDDLEWARE``, in this order."""

_ERROR = "_pmp_di_error"
_SCOPE = "_pmp_di_scope"


def request_scope(request: HttpRequest) -> Scope:
    """The container scope of *request* (use it in code that is not injected).

    Raises:
        LookupError: no :class:`RequestScopeMiddleware` opened one for *request*.
    """
    scope: Scope | None = getattr(request, _SCOPE, None)
    if scope is None:
        msg = (
            "no container scope for this request: add pmp_di.integrations.django.MIDDLEWARE "
            "to settings.MIDDLEWARE and call pmp_di.integrations.django.setup(container)"
        )
        raise LookupError(msg)
    return scope


def _error(request: HttpRequest) -> BaseException | None:
    """The exception the view raised, recorded by our hook or by the problem middleware."""
    error: BaseException | None = getattr(request, _ERROR, None)
    return error if error is not None else request.META.get(EXCEPTION_KEY)


def _close_after_body(response: HttpResponseBase, scope: Scope, request: HttpRequest) -> bool:
    """For a streamed (synchronous) body: close *scope* when the body ends, not now."""
    if not isinstance(response, StreamingHttpResponse):
        return False
    content = response.streaming_content
    if not isinstance(content, Iterator):  # an async body: closed with the response
        return False

    def close(exc: BaseException | None) -> None:
        close_scope(scope, exc or _error(request))

    response.streaming_content = ClosingBody(content, close)
    return True


class _Installed:
    container: DIContainer | None = None


def setup(container: DIContainer) -> ServiceProvider:
    """Use *container* for the request scopes; return a provider whose ``inject`` decorates views.

    ``django.http.HttpRequest`` is registered as a value of each scope's context.
    Call it before the first request (``AppConfig.ready()`` is the usual place).
    """
    container.register(HttpRequest, from_context=True)
    _Installed.container = container
    return ServiceProvider(container)


class RequestScopeMiddleware:
    """Open one scope per request around the view (sync and async capable).

    >>> RequestScopeMiddleware.sync_capable and RequestScopeMiddleware.async_capable
    True
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        container = _Installed.container
        if container is None:
            msg = (
                "RequestScopeMiddleware has no container: call "
                "pmp_di.integrations.django.setup(container) before the first request"
            )
            raise RuntimeError(msg)
        self.container = container
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        """Answer *request* inside its own scope."""
        if self.is_async:
            return self._acall(request)
        scope = self._open(request)
        try:
            response: HttpResponseBase = self.get_response(request)
        except BaseException as exc:
            close_scope(scope, exc)
            raise
        if _close_after_body(response, scope, request):
            return response
        close_scope(scope, _error(request))
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        scope = self._open(request)
        try:
            response: HttpResponseBase = await self.get_response(request)
        except BaseException as exc:
            await scope.aclose(exc)
            raise
        if _close_after_body(response, scope, request):
            return response
        await scope.aclose(_error(request))
        return response

    def _open(self, request: HttpRequest) -> Scope:
        scope = self.container.scope(context={HttpRequest: request}).activate()
        setattr(request, _SCOPE, scope)
        return scope

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Remember the view's exception for the scope's factories; let others answer it."""
        setattr(request, _ERROR, exception)
