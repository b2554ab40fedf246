"""From an exception to the problem response a web framework sends; never leaks, never raises."""

from __future__ import annotations

import contextlib
import http
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pmp_errors._chain import exception_to_dict
from pmp_errors._core import PortfolioError, ValidationError
from pmp_errors._json import Walk
from pmp_errors._problem import (
    ABOUT_BLANK,
    check_base,
    is_error_status,
    public_error,
    render_problem,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pmp_errors._json import JSONValue

__all__ = [
    "EXCEPTION_KEY",
    "LOGGER_NAME",
    "PROBLEM_JSON",
    "FieldError",
    "ProblemResponse",
    "render",
    "render_status",
    "render_validation",
]

PROBLEM_JSON = "application/problem+json"
"""The media type of RFC 9457 problem documents."""

LOGGER_NAME = "pmp_errors.integrations"
"""The logger server errors are written to, each with its full ``to_dict()`` record."""

EXCEPTION_KEY = "pmp_errors.exception"
"""Where a handler records the exception it answered, in the ASGI scope or WSGI environ.

Whatever closes the request afterwards (a ``pmp_di`` request scope) reads it to learn
that the request failed, although the exception never reached it.
"""

_logger = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class ProblemResponse:
    """What to send: the status, the headers (``Content-Type`` included) and the document.

    ``body`` is ``problem`` encoded as UTF-8 JSON.
    """

    status: int
    headers: Mapping[str, str]
    problem: Mapping[str, JSONValue]
    body: bytes


@dataclass(frozen=True)
class FieldError:
    """One failed check of a framework's request validation: where, and what was wrong.

    ``field`` is the dotted location (``"body.age"``); ``message`` the framework's text.
    The offending value is never kept: it may be a password.
    """

    field: str
    message: str


def render(
    exc: BaseException, *, instance: str | None = None, base: str | None = None
) -> ProblemResponse:
    """Return the problem response for *exc*; log it (with ``to_dict()``) when it is a 5xx.

    A :class:`~pmp_errors.PortfolioError` answers with its ``http_status``,
    ``http_headers`` (``Retry-After`` for a ``RateLimitError``) and the safe
    ``to_problem()``. Any other exception answers a generic 500 that shows nothing
    of it. *instance* is the request's path; *base* the problem type's base URL.

    >>> from pmp_errors import ValidationError
    >>> answer = render(ValidationError("Too short", field="password", value="hunter2"))
    >>> answer.status, answer.problem["field"], b"hunter2" in answer.body
    (422, 'password', False)
    >>> render(KeyError("secret")).problem["detail"]
    'The server could not complete the request.'
    """
    if isinstance(exc, PortfolioError):
        with contextlib.suppress(Exception):  # a hostile subclass: answer as for any other
            return _respond(exc, exc, instance, base)
    return _respond(exc, PortfolioError("unhandled exception"), instance, base)


def render_validation(
    errors: Iterable[FieldError], *, instance: str | None = None, base: str | None = None
) -> ProblemResponse:
    """Return the 422 problem response for a framework's own request validation failure.

    The document is a ``ValidationError``'s: ``field`` names the first failed location,
    ``errors`` lists every ``{"field", "message"}``; the offending values are never shown.

    >>> answer = render_validation([FieldError("query.limit", "Input should be an integer")])
    >>> answer.status, answer.problem["field"], answer.problem["errors"]
    (422, 'query.limit', [{'field': 'query.limit', 'message': 'Input should be an integer'}])
    """
    listed = [{"field": error.field, "message": error.message} for error in errors]
    field = listed[0]["field"] if listed else None
    error = ValidationError("The request is not valid", field=field, errors=listed)
    return render(error.expose("errors"), instance=instance, base=base)


def render_status(
    status: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
    base: str | None = None,
) -> ProblemResponse:
    """Return the problem response for a framework's own HTTP error (404, 405, ...).

    The ``code`` is the status's reason phrase in snake case; *detail* is shown for a
    4xx (the framework's text is meant for clients), a 5xx gets the generic one.
    *headers* (e.g. ``Allow``) are kept. A *status* that is not an error gives a 500.

    >>> answer = render_status(404, "Not Found", instance="/nowhere")
    >>> answer.status, answer.problem["code"], answer.problem["instance"]
    (404, 'not_found', '/nowhere')

    Raises:
        pmp_errors.ValidationError: *base* is not ``about:blank`` or an https:// URL.
    """
    if not is_error_status(status):
        status = 500
    phrase = _phrase(status)
    problem = render_problem(
        base=ABOUT_BLANK if base is None else check_base(base, field="base"),
        code=_snake(phrase),
        title=phrase,
        status=status,
        detail=(detail or phrase) if status < 500 else PortfolioError.server_detail,  # noqa: PLR2004
        instance=instance,
        extensions={},
        walk=Walk(public_error),
    )
    return _answer(status, {**(headers or {}), "Content-Type": PROBLEM_JSON}, problem)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Client error" if status < 500 else "Server error"  # noqa: PLR2004


def _snake(phrase: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_") or "http_error"


def _respond(
    exc: BaseException,
    shown: PortfolioError,
    instance: str | None,
    base: str | None,
) -> ProblemResponse:
    problem = shown.to_problem(instance=instance, base=base)
    status = problem["status"]
    assert isinstance(status, int)  # to_problem() always sets an int status
    headers = {**shown.http_headers, "Content-Type": PROBLEM_JSON}
    if status >= 500:  # noqa: PLR2004
        _log(exc, instance)
    return _answer(status, headers, problem)


def _answer(status: int, headers: dict[str, str], problem: dict[str, JSONValue]) -> ProblemResponse:
    body = json.dumps(problem, ensure_ascii=False, allow_nan=False).encode()
    return ProblemResponse(status=status, headers=headers, problem=problem, body=body)


def _log(exc: BaseException, instance: str | None) -> None:
    record = exception_to_dict(exc)
    _logger.error(
        "%s while answering %s: %s",
        record["type"],
        instance or "a request",
        json.dumps(record, ensure_ascii=False),
        exc_info=exc,
        extra={"error": record},
    )
