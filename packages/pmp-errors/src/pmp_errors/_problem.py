"""RFC 9457 problem documents: the ``type`` base URI and the safe rendering of an error."""

from __future__ import annotations

import http
import re
from typing import TYPE_CHECKING

from pmp_errors._json import JSONValue, safe_repr, to_jsonable

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ABOUT_BLANK", "STANDARD_MEMBERS", "check_base", "render_problem"]

ABOUT_BLANK = "about:blank"
"""RFC 9457's default ``type``: no semantics beyond the HTTP status code."""

STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code"})
"""The members every problem document of ours may carry; ``code`` names the error's class."""

# where public context entries that cannot be members of their own go
_NESTED = "context"
_EXTENSION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}\Z")


def check_base(base: object, *, field: str) -> str:
    """Return *base* if it is ``"about:blank"`` or an ``https://`` URL, else raise.

    Raises:
        pmp_errors.ValidationError: *base* is anything else; ``field`` names the setting.
    """
    if isinstance(base, str) and (
        base == ABOUT_BLANK or (base.startswith("https://") and len(base) > len("https://"))
    ):
        return base
    from pmp_errors._core import ValidationError

    msg = (
        f"{field} must be 'about:blank' or the https:// URL of your error documentation"
        f" (the type becomes that URL followed by the error's code), got {safe_repr(base)}"
    )
    raise ValidationError(msg, field=field, value=base)


def render_problem(
    *,
    base: str,
    code: str,
    title: str,
    status: int,
    detail: str,
    instance: str | None,
    extensions: Mapping[str, object],
) -> dict[str, JSONValue]:
    """Build the problem document; *extensions* holds only what may be shown to clients.

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
    converted = to_jsonable(dict(extensions))
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
