"""Flask: answer errors with RFC 9457 problem documents (``pmp-errors[flask]``).

>>> from flask import Flask
>>> from pmp_errors import RateLimitError
>>> from pmp_errors.integrations.flask import setup
>>> app = Flask(__name__)
>>> setup(app)  # PortfolioError, HTTPException and (by default) any other exception
>>> @app.get("/slow")
... def slow() -> str:
...     raise RateLimitError("Slow down", retry_after=2.5, limit=10)
>>> response = app.test_client().get("/slow")
>>> response.status_code, response.headers["Retry-After"], response.content_type
(429, '3', 'application/problem+json')
>>> app.test_client().get("/nowhere").json["code"]
'not_found'

Each handler records the exception it answered in the WSGI environ under
:data:`pmp_errors.integrations.EXCEPTION_KEY`.
"""

from __future__ import annotations

from pmp_errors._core import PortfolioError
from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import (
    EXCEPTION_KEY,
    ProblemResponse,
    render,
    render_status,
)

with requires_extra("pmp-errors[flask]", "flask", "werkzeug"):
    from flask import Flask, Response, request
    from werkzeug.exceptions import HTTPException

__all__ = ["problem_response", "setup"]

_CONTENT = frozenset({"content-type", "content-length"})


def problem_response(answer: ProblemResponse) -> Response:
    """The Flask response sending *answer* (from ``pmp_errors.integrations.render``)."""
    return Response(answer.body, status=answer.status, headers=dict(answer.headers))


def _answer(exc: Exception, base: str | None) -> Response | HTTPException:
    request.environ[EXCEPTION_KEY] = exc
    if not isinstance(exc, HTTPException):
        return problem_response(render(exc, instance=request.path, base=base))
    if exc.code is None or exc.code < 400:  # noqa: PLR2004 - a redirect, not an error
        return exc
    headers = {k: v for k, v in exc.get_headers() if k.lower() not in _CONTENT}
    answer = render_status(
        exc.code, exc.description, headers=headers, instance=request.path, base=base
    )
    return problem_response(answer)


def setup(app: Flask, *, unhandled: bool = True, base: str | None = None) -> None:
    """Answer ``PortfolioError``, ``HTTPException`` and (if *unhandled*) any error with problems.

    A ``PortfolioError`` answers with its status and safe ``to_problem()`` (429 with
    ``Retry-After`` for a ``RateLimitError``); Flask's own HTTP errors (404, 405, ...)
    with their status; any other exception with a generic 500 that shows nothing of it,
    logged with ``to_dict()``. *base* is the problem types' base URL.
    """

    def answer(exc: Exception) -> Response | HTTPException:
        return _answer(exc, base)

    app.register_error_handler(PortfolioError, answer)
    app.register_error_handler(HTTPException, answer)
    if unhandled:
        app.register_error_handler(Exception, answer)
