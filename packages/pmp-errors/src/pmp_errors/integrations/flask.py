"""Flask: answer every ``PortfolioError`` (and any unhandled exception) with a problem document.

Needs the ``flask`` extra (``pip install 'pmp-errors[flask]'``).

>>> from flask import Flask
>>> from pmp_errors import RateLimitError
>>> from pmp_errors.integrations.flask import setup
>>> app = Flask(__name__)
>>> setup(app)
>>> @app.get("/slow")
... def slow() -> str:
...     raise RateLimitError("Slow down", retry_after=2.5, limit=10)
>>> response = app.test_client().get("/slow")
>>> response.status_code, response.headers["Retry-After"], response.content_type
(429, '3', 'application/problem+json')
"""

from __future__ import annotations

from pmp_errors._core import PortfolioError
from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import render

with requires_extra("pmp-errors[flask]", "flask", "werkzeug"):
    from flask import Flask, Response, request
    from werkzeug.exceptions import HTTPException

__all__ = ["problem_response", "setup"]


def problem_response(exc: BaseException, *, base: str | None = None) -> Response:
    """The ``application/problem+json`` response for *exc*, for the current request.

    A ``PortfolioError`` answers with its status, headers and safe ``to_problem()``;
    any other exception with a generic 500 that shows nothing of it (and is logged
    with ``to_dict()``).
    """
    answer = render(exc, instance=request.path, base=base)
    return Response(answer.body, status=answer.status, headers=dict(answer.headers))


def setup(app: Flask, *, unhandled: bool = True, base: str | None = None) -> None:
    """Register error handlers on *app* that answer with problem documents.

    Every ``PortfolioError`` gets its own status (429 with ``Retry-After`` for a
    ``RateLimitError``); with ``unhandled=True`` any other exception answers a
    generic 500 problem too (Flask's own ``HTTPException`` responses, such as 404,
    are left as they are). ``base`` is the problem types' base URL.
    """

    def portfolio_error(exc: PortfolioError) -> Response:
        return problem_response(exc, base=base)

    app.register_error_handler(PortfolioError, portfolio_error)
    if unhandled:

        def any_error(exc: Exception) -> Response | HTTPException:
            if isinstance(exc, HTTPException):
                return exc
            return problem_response(exc, base=base)

        app.register_error_handler(Exception, any_error)
