"""Django: answer every ``PortfolioError`` (and any unhandled exception) with a problem document.

Needs the ``django`` extra (``pip install 'pmp-errors[django]'``). Add the middleware to
``MIDDLEWARE`` (it works under WSGI and ASGI); it answers the exceptions a view raises.
For the ones raised elsewhere (another middleware, a request scope's cleanup), point
``handler500`` in your root URLconf at :func:`server_error`::

    MIDDLEWARE = [..., "pmp_errors.integrations.django.ProblemMiddleware"]
    handler500 = "pmp_errors.integrations.django.server_error"  # in urls.py

Settings: ``PMP_ERRORS_UNHANDLED`` (default ``True``: any exception answers a generic 500
problem; ``False`` leaves those to Django) and ``PMP_ERRORS_BASE`` (the problem types'
base URL). Django's own ``Http404``, ``PermissionDenied``, ``BadRequest`` and
``SuspiciousOperation`` keep Django's answer. The middleware records the exception it
answered in ``request.META`` under :data:`pmp_errors.integrations.EXCEPTION_KEY`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pmp_errors._core import PortfolioError
from pmp_errors.integrations._imports import requires_extra
from pmp_errors.integrations._render import EXCEPTION_KEY, render

_EXTRA = "pmp-errors[django]"
with requires_extra(_EXTRA, "django"):
    from django.conf import settings
    from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
    from django.http import Http404, HttpRequest, HttpResponse

if sys.version_info >= (3, 12):  # asgiref's own are deprecated in favour of these
    from inspect import iscoroutinefunction, markcoroutinefunction
else:  # where Django marks async callables with asgiref's shim of the same
    from asyncio import iscoroutinefunction

    with requires_extra(_EXTRA, "asgiref"):
        from asgiref.sync import markcoroutinefunction

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["ProblemMiddleware", "problem_response", "server_error"]

_DJANGO_ANSWERS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


def problem_response(
    request: HttpRequest, exc: BaseException, *, base: str | None = None
) -> HttpResponse:
    """The ``application/problem+json`` response for *exc* raised while answering *request*.

    A ``PortfolioError`` answers with its status, headers and safe ``to_problem()``;
    any other exception with a generic 500 that shows nothing of it (and is logged
    with ``to_dict()``).
    """
    answer = render(exc, instance=request.path, base=base)
    return HttpResponse(answer.body, status=answer.status, headers=answer.headers)


def server_error(request: HttpRequest) -> HttpResponse:
    """A ``handler500`` view: the generic 500 problem for the exception being handled."""
    exc = sys.exc_info()[1] or RuntimeError("handler500 called without an exception")
    return problem_response(request, exc, base=getattr(settings, "PMP_ERRORS_BASE", None))


class ProblemMiddleware:
    """Turn a view's exception into a problem response (sync and async capable).

    >>> from pmp_errors.integrations.django import ProblemMiddleware
    >>> ProblemMiddleware.sync_capable and ProblemMiddleware.async_capable
    True
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]
    ) -> None:
        self.get_response = get_response
        self.unhandled: bool = getattr(settings, "PMP_ERRORS_UNHANDLED", True)
        self.base: str | None = getattr(settings, "PMP_ERRORS_BASE", None)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        """Pass the request on; the answer to a failing view comes from ``process_exception``."""
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Django's hook for a view's exception: the problem response, or ``None`` to pass."""
        request.META[EXCEPTION_KEY] = exception
        if isinstance(exception, PortfolioError) or (
            self.unhandled and not isinstance(exception, _DJANGO_ANSWERS)
        ):
            return problem_response(request, exception, base=self.base)
        return None
