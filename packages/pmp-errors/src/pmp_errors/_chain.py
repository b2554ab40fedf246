"""Render any exception, its notes, group members and cause chain as JSON-safe data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from pmp_errors._json import JSONValue, Walk, convert, safe_repr, safe_str

__all__ = ["ErrorDict", "describe", "exception_to_dict"]

MAX_CHAIN = 8
"""How many causes ``to_dict()`` follows before it stops."""

MAX_GROUP = 50
"""How many members of an exception group are rendered."""

MAX_NOTES = 200
"""How many notes of one exception are rendered."""


class _Links(TypedDict, total=False):
    cause: ErrorDict
    chained: str
    exceptions: list[ErrorDict]


class ErrorDict(_Links):
    """The shape of ``PortfolioError.to_dict()`` and of every cause inside it.

    ``cause`` holds the next exception of the chain (``chained`` says whether it
    was an explicit ``cause`` or an implicit ``context``); ``exceptions`` holds the
    members of an exception group.
    """

    type: str
    code: str | None
    message: str
    context: dict[str, JSONValue]
    notes: list[str]


def exception_to_dict(exc: BaseException) -> ErrorDict:
    """Describe any exception as JSON-safe data, following its cause chain.

    The result never contains tracebacks or local variables. Explicit causes
    (``raise ... from``) are followed before implicit ones; chains are cut after
    a few links and never loop, also through exceptions held in a context.

    >>> try:
    ...     raise ValueError("bad") from KeyError("k")
    ... except ValueError as e:
    ...     exception_to_dict(e)["cause"]["type"]
    'KeyError'
    """
    walk = Walk()
    walk.path.add(id(exc))
    return describe(exc, 0, walk)


def describe(exc: BaseException, depth: int, walk: Walk) -> ErrorDict:
    """Describe *exc*, whose id is on ``walk.path``, found at *depth* of *walk*; never raises."""
    walk.left -= 1
    try:
        return _describe(exc, depth, walk)
    except Exception:  # noqa: BLE001 - a hostile exception must not break rendering
        return {
            "type": safe_repr(type(exc)),
            "code": None,
            "message": safe_repr(exc),
            "context": {},
            "notes": [],
        }


def _describe(exc: BaseException, depth: int, walk: Walk) -> ErrorDict:
    from pmp_errors._core import PortfolioError

    out: ErrorDict
    if isinstance(exc, PortfolioError):
        out = {
            "type": type(exc).__qualname__,
            "code": exc.code,
            "message": safe_str(exc),
            "context": _context(vars(exc).get("context", {}), depth + 1, walk),
            "notes": _notes(exc),
        }
    else:
        out = {
            "type": _qualname(exc),
            "code": None,
            "message": safe_str(exc),
            "context": {},
            "notes": _notes(exc),
        }
    try:
        members = getattr(exc, "exceptions", None)
    except Exception:  # noqa: BLE001 - not a readable group: render the rest
        members = None
    if isinstance(members, tuple) and depth < MAX_CHAIN:  # an exception group
        out["exceptions"] = [
            _linked(member, depth + 1, walk)
            for member in members[:MAX_GROUP]
            if isinstance(member, BaseException) and id(member) not in walk.path and walk.left > 0
        ]
    link, how = _next_link(exc)
    if link is not None and depth < MAX_CHAIN and id(link) not in walk.path and walk.left > 0:
        cause = _linked(link, depth + 1, walk)
        cause["chained"] = how
        out["cause"] = cause
    return out


def _linked(exc: BaseException, depth: int, walk: Walk) -> ErrorDict:
    walk.path.add(id(exc))
    try:
        return describe(exc, depth, walk)
    finally:
        walk.path.discard(id(exc))


def _next_link(exc: BaseException) -> tuple[BaseException | None, str]:
    if exc.__cause__ is not None:
        return exc.__cause__, "cause"
    if exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__, "context"
    return None, ""


def _context(context: object, depth: int, walk: Walk) -> dict[str, JSONValue]:
    converted = convert(context, depth, walk)
    return converted if isinstance(converted, dict) else {"value": converted}


def _notes(exc: BaseException) -> list[str]:
    """Render ``__notes__`` the way the traceback module shows them, bounded."""
    try:
        notes = getattr(exc, "__notes__", None)
    except Exception as error:  # noqa: BLE001 - a raising __notes__ must not escape
        return [f"<__notes__ could not be read: {safe_repr(error)}>"]
    if notes is None:
        return []
    if not isinstance(notes, Sequence) or isinstance(notes, str | bytes | bytearray):
        return [safe_repr(notes)]
    rendered = [safe_str(note) for note in notes[:MAX_NOTES]]
    if len(notes) > MAX_NOTES:
        rendered.append(f"<truncated: {len(notes) - MAX_NOTES} more>")
    return rendered


def _qualname(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
