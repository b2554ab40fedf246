"""Web framework integrations: exception handlers that answer with problem documents.

Each framework has its own module, imported only when you import it and behind an extra
named after the framework (``pip install 'pmp-errors[fastapi]'``):
``pmp_errors.integrations.fastapi``, ``.starlette``, ``.litestar``, ``.flask``, ``.django``.

This package itself holds what they share and imports no framework:

>>> from pmp_errors import RateLimitError
>>> from pmp_errors.integrations import render
>>> answer = render(RateLimitError("Slow down", retry_after=2.5, limit=10), instance="/orders")
>>> answer.status, answer.headers["Retry-After"], answer.headers["Content-Type"]
(429, '3', 'application/problem+json')
"""

from __future__ import annotations

from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import (
    EXCEPTION_KEY,
    LOGGER_NAME,
    PROBLEM_JSON,
    FieldError,
    ProblemResponse,
    render,
    render_status,
    render_validation,
)

__all__ = [
    "EXCEPTION_KEY",
    "LOGGER_NAME",
    "PROBLEM_JSON",
    "FieldError",
    "ProblemResponse",
    "render",
    "render_status",
    "render_validation",
    "requires_extra",
]
