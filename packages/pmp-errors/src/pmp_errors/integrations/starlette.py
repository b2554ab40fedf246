"""Starlette: answer errors with RFC 9457 problem documents (``pmp-errors[starlette]``).

>>> from starlette.applications import Starlette
>>> from pmp_errors.integrations.starlette import setup
>>> app = Starlette()
>>> setup(app)  # PortfolioError, HTTPException and (by default) any other exception

Each handler records the exception it answered in the request's ASGI scope under
:data:`pmp_errors.integrations.EXCEPTION_KEY`. Errors in a WebSocket endpoint close
the connection (code 1011 for a server error, 1008 otherwise).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, cast

from pmp_errors._core import PortfolioError
from pmp_errors._problem import check_base
from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import (
    EXCEPTION_KEY,
    ProblemResponse,
    render,
    render_status,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.applications import Starlette
    from starlette.requests import HTTPConnection
    from starlette.types import ExceptionHandler

with requires_extra("pmp-errors[starlette]", "starlette"):
    from starlette.exceptions import HTTPException
    from starlette.responses import Response
    from starlette.websockets import WebSocket

__all__ = ["problem_handler", "problem_response", "setup"]

_WS_POLICY_VIOLATION, _WS_INTERNAL_ERROR = 1008, 1011


def problem_response(answer: ProblemResponse) -> Response:
    """A Starlette response sending *answer*.

    >>> from pmp_errors.integrations import render_status
    >>> problem_response(render_status(404)).status_code
    404
    """
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))


def problem_handler(
    *, base: str | None = None, answer: Callable[[Exception, str], ProblemResponse] | None = None
) -> ExceptionHandler:
    """An exception handler answering with a problem document.

    *answer* turns an exception and the request path into the response (by default
    :func:`~pmp_errors.integrations.render`, and ``render_status`` for an
    ``HTTPException``); *base* is the problem type's base URL.

    >>> handler = problem_handler(base="https://docs.example.com/errors/")

    Raises:
        pmp_errors.ValidationError: *base* is not ``about:blank`` or an https:// URL.
    """
    if base is not None:
        check_base(base, field="base")

    def default(exc: Exception, path: str) -> ProblemResponse:
        if isinstance(exc, HTTPException):
            return render_status(
                exc.status_code, exc.detail, headers=exc.headers, instance=path, base=base
            )
        return render(exc, instance=path, base=base)

    make = default if answer is None else answer

    async def handler(connection: HTTPConnection, exc: Exception) -> Response | None:
        connection.scope[EXCEPTION_KEY] = exc
        response = make(exc, connection.url.path)
        if isinstance(connection, WebSocket):
            code = _WS_INTERNAL_ERROR if response.status >= 500 else _WS_POLICY_VIOLATION  # noqa: PLR2004
            with contextlib.suppress(Exception):  # the client may be gone already
                await connection.close(code=code)
            return None
        return problem_response(response)

    return cast("ExceptionHandler", handler)  # it serves requests and websockets both


def setup(app: Starlette, *, unhandled: bool = True, base: str | None = None) -> None:
    """Answer ``PortfolioError``, ``HTTPException`` and (if *unhandled*) any error with problems.

    Any other exception answers a generic 500 and is logged with ``to_dict()``;
    Starlette then raises it again to the server, as it does for every server error.
    """
    handler = problem_handler(base=base)
    app.add_exception_handler(PortfolioError, handler)
    app.add_exception_handler(HTTPException, handler)
    if unhandled:
        app.add_exception_handler(Exception, handler)
