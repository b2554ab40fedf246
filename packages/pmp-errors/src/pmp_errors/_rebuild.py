"""Rebuild an exception from an RFC 9457 problem document, as a client receives it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from pmp_errors._core import APIError, PortfolioError, ValidationError
from pmp_errors._json import safe_repr
from pmp_errors._problem import ABOUT_BLANK, STANDARD_MEMBERS
from pmp_errors._registry import find_class

__all__ = ["ProblemError", "from_problem"]

_CODE_IN_TYPE = re.compile(r"[^/#:?]+\Z")


class ProblemError(APIError):
    """A problem document that no local error class matches, rebuilt by :func:`from_problem`.

    An ``APIError``: the failure is another service's. ``status_code`` is the
    document's ``status``, ``problem_type`` its ``type``; its extension members
    are the context (and stay public).

    >>> e = from_problem(
    ...     {
    ...         "type": "https://example.com/probs/out-of-credit",
    ...         "status": 403,
    ...         "detail": "Your balance is 30",
    ...         "balance": 30,
    ...     }
    ... )
    >>> type(e).__name__, e.status_code, e.problem_type, e.context["balance"], str(e)
    ('ProblemError', 403, 'https://example.com/probs/out-of-credit', 30, 'Your balance is 30')
    """

    title = "Upstream problem"

    @property
    def problem_type(self) -> str:
        """The ``type`` URI of the problem document."""
        return str(self.context.get("problem_type", ABOUT_BLANK))


def from_problem(problem: Mapping[str, object], /) -> PortfolioError:
    """Rebuild the exception a problem document describes (e.g. ``json.loads`` of a response).

    The class is the one whose ``code`` is the document's ``code`` member or, without
    one, the last segment of its ``type`` URI; a document that matches no class
    becomes a :class:`ProblemError`. The class's ``__init__`` is not run (as when
    unpickling): the message is the ``detail`` (or the ``title``), the context the
    extension members, all of them public, so that ``to_problem()`` gives the same
    document back.

    >>> from pmp_errors import RateLimitError
    >>> e = from_problem(RateLimitError("Slow down", retry_after=30.0).to_problem())
    >>> type(e).__name__, e.retry_after, str(e)
    ('RateLimitError', 30.0, 'Slow down')

    Raises:
        ValidationError: ``problem`` is not a mapping with string keys.
    """
    given = cast("object", problem)  # checked: callers may be untyped
    if not isinstance(given, Mapping) or not all(isinstance(key, str) for key in given):
        msg = (
            "from_problem() takes a problem document, a mapping of member names to values"
            f" such as json.loads(response_body), got {safe_repr(problem)}"
        )
        raise ValidationError(msg, field="problem", value=problem)
    type_uri = _text(problem.get("type")) or ABOUT_BLANK
    code = _text(problem.get("code"))
    if code is None and type_uri != ABOUT_BLANK:
        found = _CODE_IN_TYPE.search(type_uri)
        code = found.group() if found else None
    cls = find_class(code) if code else None
    context: dict[str, Any] = {
        key: value for key, value in problem.items() if key not in STANDARD_MEMBERS
    }
    nested = context.pop("context", None)
    if isinstance(nested, Mapping):
        context.update(nested)
    elif nested is not None:
        context["context"] = nested
    exposed = frozenset(context)
    if cls is None or issubclass(cls, ProblemError):  # another service's problem
        cls = cls or ProblemError
        status = problem.get("status")
        if isinstance(status, int) and not isinstance(status, bool):
            context["status_code"] = status
        context["problem_type"] = type_uri
    instance = _text(problem.get("instance"))
    if instance is not None:
        context["instance"] = instance
    message = _text(problem.get("detail")) or _text(problem.get("title")) or ""
    error = BaseException.__new__(cls)
    error.args = (message,)
    error.message = message
    error.context = context
    return error.expose(*exposed)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
