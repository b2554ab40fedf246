"""Litestar: answer errors, validation failures included, with problem documents.

Install with ``pip install 'pmp-errors[litestar]'``.

>>> from litestar import Litestar
>>> from pmp_errors.integrations.litestar import ProblemPlugin
>>> app = Litestar(route_handlers=[], plugins=[ProblemPlugin()])

A ``ValidationException`` answers 422 with ``errors``: one ``{"field", "message"}`` per
failed check (``"query.limit"``), never the value sent. Handlers you give the app
yourself for the same exception classes win.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pmp_errors._core import PortfolioError
from pmp_errors._problem import check_base
from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import (
    EXCEPTION_KEY,
    FieldError,
    ProblemResponse,
    render,
    render_status,
    render_validation,
)

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.types import ExceptionHandlersMap

with requires_extra("pmp-errors[litestar]", "litestar"):
    from litestar import Request, Response
    from litestar.exceptions import HTTPException, ValidationException
    from litestar.plugins import InitPluginProtocol

__all__ = ["ProblemPlugin", "exception_handlers", "field_errors", "problem_response"]


def problem_response(answer: ProblemResponse) -> Response[bytes]:
    """A Litestar response sending *answer*.

    >>> from pmp_errors.integrations import render_status
    >>> problem_response(render_status(404)).status_code
    404
    """
    headers = dict(answer.headers)
    media_type = headers.pop("Content-Type")
    return Response(answer.body, status_code=answer.status, headers=headers, media_type=media_type)


def field_errors(extra: object) -> list[FieldError]:
    """The failed checks of a ``ValidationException``'s ``extra``, without the values sent.

    >>> field_errors([{"key": "limit", "source": "query", "message": "Expected `int`"}])
    [FieldError(field='query.limit', message='Expected `int`')]
    """
    found = []
    for error in extra if isinstance(extra, list) else [extra] if extra else []:
        if isinstance(error, Mapping):
            where = [_text(error[part]) for part in ("source", "key") if error.get(part)]
            found.append(FieldError(".".join(where) or "request", str(error.get("message", ""))))
    return found


def _text(part: object) -> str:
    return str(part.value if isinstance(part, enum.Enum) else part)  # ParamType.QUERY: "query"


def _answer(exc: Exception, path: str, base: str | None) -> ProblemResponse:
    if isinstance(exc, ValidationException):
        errors = field_errors(exc.extra) or [FieldError("request", exc.detail)]
        return render_validation(errors, instance=path, base=base)
    if isinstance(exc, HTTPException):
        headers = exc.headers or {}
        return render_status(exc.status_code, exc.detail, headers=headers, instance=path, base=base)
    return render(exc, instance=path, base=base)


def exception_handlers(*, unhandled: bool = True, base: str | None = None) -> ExceptionHandlersMap:
    """The handlers to give ``Litestar(exception_handlers=...)``, keyed by exception class.

    They cover ``PortfolioError``, Litestar's ``HTTPException`` and
    ``ValidationException``, and (with *unhandled*) any other exception, which answers
    a generic 500 and is logged with ``to_dict()``.

    >>> sorted(kind.__name__ for kind in exception_handlers())
    ['Exception', 'HTTPException', 'PortfolioError', 'ValidationException']

    Raises:
        pmp_errors.ValidationError: *base* is not ``about:blank`` or an https:// URL.
    """
    if base is not None:
        check_base(base, field="base")

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        request.scope[EXCEPTION_KEY] = exc  # type: ignore[literal-required]
        return problem_response(_answer(exc, request.url.path, base))

    kinds: list[type[Exception]] = [PortfolioError, HTTPException, ValidationException]
    if unhandled:
        kinds.append(Exception)
    return dict.fromkeys(kinds, handler)


class ProblemPlugin(InitPluginProtocol):
    """Install :func:`exception_handlers` on the app (yours for the same classes win).

    >>> from litestar import Litestar
    >>> app = Litestar(plugins=[ProblemPlugin(base="https://docs.example.com/errors/")])
    """

    def __init__(self, *, unhandled: bool = True, base: str | None = None) -> None:
        self._handlers = exception_handlers(unhandled=unhandled, base=base)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the handlers to the app's configuration."""
        app_config.exception_handlers = {**self._handlers, **app_config.exception_handlers}
        return app_config
