"""Flask: one container scope per request, and ``setup`` installing it with the error handlers.

Needs the ``flask`` extra (``pip install 'pmp-di[flask]'``). The scope opens before the
first ``before_request`` function, is current for the whole request (so ``container.resolve``
and functions decorated with ``ServiceProvider(container).inject`` use it) and closes, its
finalizers run, when the request is torn down, also when the view raised or the client
went away; a streamed body wrapped in :func:`stream_with_scope` keeps it open until the
server closes the response.
Factories receive the request as ``flask.Request``.

>>> from flask import Flask, Request
>>> from pmp_di import DIContainer, LifecycleScope
>>> from pmp_di.integrations.flask import setup
>>> class Greeter:
...     def __init__(self, request: Request) -> None:
...         self.path = request.path
>>> container = DIContainer().register(Greeter, scope=LifecycleScope.SCOPED)
>>> app = Flask(__name__)
>>> inject = setup(app, container).inject
>>> @app.get("/hello")
... @inject(Greeter)
... def hello(greeter: Greeter) -> str:
...     return greeter.path
>>> app.test_client().get("/hello").text
'/hello'
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_di._errors import RegistrationError
from pmp_di._provider import ServiceProvider
from pmp_di.integrations._wsgi import ClosingBody, close_scope
from pmp_errors.integrations import requires_extra

with requires_extra("pmp-di[flask]", "flask", "werkzeug"):
    from flask import Flask, Request, request

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from flask.typing import ResponseReturnValue
    from werkzeug.exceptions import HTTPException

    from pmp_di._container import DIContainer
    from pmp_di._scope import Scope

__all__ = ["request_scope", "setup", "setup_scope", "stream_with_scope"]

T = TypeVar("T")

_logger = logging.getLogger("pmp_di.integrations")


class _Request:
    """One request's scope, the exception that ended its view (if any), and who closes it."""

    __slots__ = ("error", "on_close", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.error: BaseException | None = None
        self.on_close = False  # a streamed body closes the scope (after it was sent)

    def close(self, exc: BaseException | None = None) -> None:
        if _current.get() is self:
            _current.set(None)
        try:
            close_scope(self.scope, exc or self.error)
        except Exception:  # the response is already on its way: log, never mask it
            _logger.exception("closing the request scope of %s failed", self.scope)


_current: ContextVar[_Request | None] = ContextVar("pmp_di_flask_request", default=None)
_EXTENSION = "pmp_di"
_NO_REQUEST = (
    "no request scope: call this while handling a request of an app set up with "
    "pmp_di.integrations.flask.setup(app, container)"
)


def stream_with_scope(body: Iterable[T]) -> Iterator[T]:
    """Keep the request scope open until the streamed *body* was sent (or the client left).

    Without it the scope closes when the request is torn down, before a streamed body
    is made; with it, scoped services stay usable (and current) in the body, and their
    finalizers run when the server closes the response.

    >>> from flask import Flask, Response
    >>> from pmp_di import DIContainer
    >>> app = Flask(__name__)
    >>> _ = setup(app, DIContainer())
    >>> @app.get("/numbers")
    ... def numbers() -> Response:
    ...     return Response(stream_with_scope(str(i) for i in range(3)))
    >>> with app.test_client().get("/numbers") as response:
    ...     response.text
    '012'

    Raises:
        LookupError: outside a request of an app set up with :func:`setup_scope`.
    """
    state = _current.get()
    if state is None:
        raise LookupError(_NO_REQUEST)
    state.on_close = True
    return ClosingBody(body, state.close)


def request_scope() -> Scope:
    """The scope of the request being handled (use it in code that is not injected).

    Also while a streamed response's body is made.

    Raises:
        LookupError: outside a request of an app set up with :func:`setup_scope`.
    """
    state = _current.get()
    if state is None:
        raise LookupError(_NO_REQUEST)
    return state.scope


def _current_request() -> Request:
    """The request object itself, not Flask's proxy to whichever request is current."""
    proxy: Any = request
    current: Request = proxy._get_current_object()  # noqa: SLF001 - werkzeug's documented API
    return current


class _Hooks:
    """The request hooks of one app: open the scope, remember the error, close the scope."""

    __slots__ = ("container", "handle_user_exception", "keys")

    def __init__(self, app: Flask, container: DIContainer) -> None:
        self.container = container
        self.keys: list[type[Request]] = [Request]
        if app.request_class is not Request:
            self.keys.append(app.request_class)
        self.handle_user_exception = app.handle_user_exception

    def open_scope(self) -> None:
        current: Request = _current_request()
        scope = self.container.scope(context=dict.fromkeys(self.keys, current))
        _current.set(_Request(scope.activate()))

    def close_on_teardown(self, exc: BaseException | None) -> None:
        state = _current.get()
        if state is not None and not state.on_close:
            state.close(exc)

    def record_error(self, e: Exception) -> HTTPException | ResponseReturnValue:
        state = _current.get()
        if state is not None:
            state.error = e
        return self.handle_user_exception(e)


def setup_scope(app: Flask, container: DIContainer) -> ServiceProvider:
    """Open one scope of *container* per request of *app*; return a provider for ``inject``.

    ``flask.Request`` (and ``app.request_class``) is registered as a value of the scope's
    context. A view's exception, handled by an error handler or not, reaches the
    factories' context managers when the scope closes, so a session can roll back.

    Raises:
        pmp_di.RegistrationError: *app* already has request scopes.
    """
    if _EXTENSION in app.extensions:
        msg = f"request scopes are already set up on {app!r}; call setup once per app"
        raise RegistrationError(msg, argument="app", value=repr(app))
    app.extensions[_EXTENSION] = container
    hooks = _Hooks(app, container)
    for key in hooks.keys:
        container.register(key, from_context=True)
    app.before_request_funcs.setdefault(None, []).insert(0, hooks.open_scope)
    app.teardown_request(hooks.close_on_teardown)
    app.handle_user_exception = hooks.record_error  # type: ignore[method-assign]
    return ServiceProvider(container)


def setup(
    app: Flask,
    container: DIContainer,
    *,
    errors: bool = True,
    unhandled: bool = True,
    base: str | None = None,
) -> ServiceProvider:
    """Install request scopes (:func:`setup_scope`) and, with ``errors``, the problem handlers.

    The handlers are ``pmp_errors.integrations.flask.setup(app, unhandled=, base=)``.
    Returns the ``ServiceProvider`` whose ``inject`` decorates views.
    """
    provider = setup_scope(app, container)
    if errors:
        from pmp_errors.integrations.flask import setup as setup_errors

        setup_errors(app, unhandled=unhandled, base=base)
    return provider
