"""FastAPI: answer errors, validation failures included, with problem documents.

Install with ``pip install 'pmp-errors[fastapi]'``.

>>> from fastapi import FastAPI
>>> from pmp_errors.integrations.fastapi import setup
>>> app = FastAPI()
>>> setup(app)  # PortfolioError, HTTPException, RequestValidationError, any other exception

A ``RequestValidationError`` answers 422 with ``errors``: one ``{"field", "message"}``
per failed check (``"body.age"``), never the value sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pmp_errors._core import PortfolioError
from pmp_errors._problem import check_base
from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import (
    FieldError,
    ProblemResponse,
    render,
    render_status,
    render_validation,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from fastapi import FastAPI

with requires_extra("pmp-errors[fastapi]", "fastapi", "starlette"):
    from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
    from starlette.exceptions import HTTPException

    from pmp_errors.integrations.starlette import problem_handler

__all__ = ["field_errors", "setup"]


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """The failed checks of a ``RequestValidationError``, without the values sent.

    >>> field_errors([{"loc": ("query", "limit"), "msg": "Input should be an integer"}])
    [FieldError(field='query.limit', message='Input should be an integer')]
    """
    return [
        FieldError(".".join(str(part) for part in error.get("loc", ())), str(error.get("msg", "")))
        for error in errors
    ]


def setup(app: FastAPI, *, unhandled: bool = True, base: str | None = None) -> None:
    """Answer pmp errors, HTTP errors and FastAPI's validation errors with problem documents.

    With *unhandled* (the default) any other exception answers a generic 500 and is
    logged with ``to_dict()``. *base* is the problem type's base URL.

    Raises:
        pmp_errors.ValidationError: *base* is not ``about:blank`` or an https:// URL.
    """
    if base is not None:
        check_base(base, field="base")

    def answer(exc: Exception, path: str) -> ProblemResponse:
        if isinstance(exc, (RequestValidationError, WebSocketRequestValidationError)):
            return render_validation(field_errors(exc.errors()), instance=path, base=base)
        if isinstance(exc, HTTPException):
            return render_status(
                exc.status_code, exc.detail, headers=exc.headers, instance=path, base=base
            )
        return render(exc, instance=path, base=base)

    handler = problem_handler(answer=answer)
    for kind in (PortfolioError, HTTPException, RequestValidationError):
        app.add_exception_handler(kind, handler)
    app.add_exception_handler(WebSocketRequestValidationError, handler)
    if unhandled:
        app.add_exception_handler(Exception, handler)
