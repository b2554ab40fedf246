"""RFC 9457 problem documents: the ``type`` base URI and the safe rendering of an error."""

from __future__ import annotations

import http
import math
import re
from typing import TYPE_CHECKING, Any, cast

from pmp_errors._json import JSONValue, Walk, convert, safe_repr, safe_str

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pmp_errors._core import PortfolioError

__all__ = [
    "ABOUT_BLANK",
    "STANDARD_MEMBERS",
    "check_base",
    "check_code",
    "check_names",
    "check_text",
    "is_error_status",
    "problem_detail",
    "public_context",
    "public_error",
    "render_problem",
    "retry_after_header",
]

ABOUT_BLANK = "about:blank"
"""RFC 9457's default ``type``: no semantics beyond the HTTP status code."""

STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code"})
"""The members every problem document of ours may carry; ``code`` names the error's class."""

# where public context entries that cannot be members of their own go
_NESTED = "context"
_EXTENSION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}\Z")
# the characters RFC 3986 allows in a URI, after the scheme
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+\Z")
# a code ends the type URI: URI-unreserved characters only
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~-]*\Z")


def is_error_status(status: object) -> bool:
    """Whether *status* is an HTTP error status: an ``int`` (not a ``bool``) from 400 to 599."""
    return type(status) is int and 400 <= status <= 599  # noqa: PLR2004


def check_names(names: object, *, field: str) -> frozenset[str]:
    """Return *names* (context keys) as a frozenset, or raise naming *field*.

    Raises:
        pmp_errors.ValidationError: *names* is a ``str`` or not a collection of ``str``.
    """
    if not isinstance(names, str):
        try:
            result = frozenset(cast("Iterable[object]", names))
        except TypeError:
            pass
        else:
            if all(isinstance(name, str) for name in result):
                return cast("frozenset[str]", result)
    msg = (
        f"{field} takes the names of context entries that may be shown to clients,"
        f" e.g. 'field', got {safe_repr(names)}"
    )
    raise _invalid(msg, field, names)


def _invalid(msg: str, field: str, value: object) -> Exception:
    from pmp_errors._core import ValidationError

    return ValidationError(msg, field=field, value=value)


def check_base(base: object, *, field: str) -> str:
    """Return *base* if it is ``"about:blank"`` or an ``https://`` URL, else raise.

    Raises:
        pmp_errors.ValidationError: *base* is anything else; ``field`` names the setting.
    """
    if isinstance(base, str) and (base == ABOUT_BLANK or _HTTPS_URL.match(base)):
        return base
    msg = (
        f"{field} must be 'about:blank' or the https:// URL of your error documentation"
        f" (the type becomes that URL followed by the error's code), got {safe_repr(base)}"
    )
    raise _invalid(msg, field, base)


def check_code(code: object, *, field: str) -> str:
    """Return *code* if it can end a ``type`` URI (letters, digits, ``_.~-``), else raise.

    Raises:
        pmp_errors.ValidationError: *code* is anything else; ``field`` names the setting.
    """
    if isinstance(code, str) and _CODE.match(code):
        return code
    msg = (
        f"{field} must be a str of letters, digits and '_.~-' such as 'payment_declined'"
        f" (it ends the problem's type URI), got {safe_repr(code)}"
    )
    raise _invalid(msg, field, code)


def check_text(text: object, *, field: str) -> str:
    """Return *text* if it is a ``str`` (a problem's ``title`` or ``detail``), else raise.

    Raises:
        pmp_errors.ValidationError: *text* is not a ``str``; ``field`` names the setting.
    """
    if isinstance(text, str):
        return text
    msg = f"{field} must be a str (problem documents carry it as text), got {safe_repr(text)}"
    raise _invalid(msg, field, text)


def render_problem(
    *,
    base: str,
    code: str,
    title: str,
    status: int,
    detail: str,
    instance: str | None,
    extensions: Mapping[str, object],
    walk: Walk,
) -> dict[str, JSONValue]:
    """Build the problem document; *extensions* holds only what may be shown to clients.

    *walk* converts the extensions: it must render the errors inside them safely too.

    With ``about:blank`` the title is the status's reason phrase, as RFC 9457 asks.
    """
    if base == ABOUT_BLANK:
        problem: dict[str, JSONValue] = {"type": ABOUT_BLANK, "title": _phrase(status, title)}
    else:
        problem = {"type": base + code, "title": title}
    problem["status"] = status
    problem["detail"] = detail
    if instance is not None:
        problem["instance"] = instance
    problem["code"] = code
    nested: dict[str, JSONValue] = {}
    converted = convert(dict(extensions), 0, walk)
    for key, value in (converted if isinstance(converted, dict) else {}).items():
        if key == _NESTED or key in STANDARD_MEMBERS or not _EXTENSION_NAME.match(key):
            nested[key] = value
        else:
            problem[key] = value
    if nested:
        problem[_NESTED] = nested
    return problem


def _phrase(status: int, fallback: str) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return fallback


def problem_detail(error: PortfolioError, status: int) -> str:
    """The ``detail`` of *error*'s problem: its message, or for a 5xx its ``server_detail``."""
    return error.server_detail if status >= 500 else safe_str(error)  # noqa: PLR2004


def public_context(error: PortfolioError) -> dict[str, Any]:
    """The context entries of *error* that its problem shows (those in ``exposed``)."""
    context = vars(error).get("context")
    exposed = error.exposed
    return {
        key: value
        for key, value in (context.items() if isinstance(context, dict) else ())
        if key in exposed
    }


_NESTED_MEMBERS = frozenset({"code", "status", "detail", "context"})


def public_error(exc: BaseException, depth: int, walk: Walk) -> JSONValue:
    """Render an error found inside public context as its problem would show it.

    Another library's exception, or an error that fails to render, shows nothing of its
    own (never its repr, which holds every context entry).
    """
    from pmp_errors._core import PortfolioError

    detail = PortfolioError.server_detail
    nothing: dict[str, JSONValue] = {"code": None, "status": 500, "detail": detail}
    if not isinstance(exc, PortfolioError):
        return nothing
    try:
        status = exc.http_status
        if not is_error_status(status):  # an overridden http_status
            status = type(exc).status
        out: dict[str, JSONValue] = {
            "code": exc.code,
            "status": status,
            "detail": problem_detail(exc, status),
        }
        members = convert(public_context(exc), depth + 1, walk)
    except Exception:  # noqa: BLE001 - a broken error shows nothing of its own
        return nothing
    nested: dict[str, JSONValue] = {}
    for key, value in (members if isinstance(members, dict) else {}).items():
        (nested if key in _NESTED_MEMBERS else out)[key] = value
    if nested:
        out["context"] = nested
    return out


MAX_RETRY_AFTER = 2**31 - 1
"""The longest ``Retry-After`` given (68 years): every client parses it."""


def retry_after_header(wait: object) -> dict[str, str]:
    """``Retry-After`` for a wait of *wait* seconds, rounded up; none unless a finite number."""
    if isinstance(wait, bool) or not isinstance(wait, int | float):
        return {}
    if isinstance(wait, float) and not math.isfinite(wait):
        return {}
    return {"Retry-After": str(min(MAX_RETRY_AFTER, max(0, math.ceil(wait))))}
