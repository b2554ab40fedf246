"""Argument checks shared by the cache class and the decorators."""

from __future__ import annotations

from typing import Any

from pmp_errors import ValidationError

__all__ = ["check_callable", "check_hook", "check_maxsize", "check_timer", "check_ttl"]


def check_maxsize(maxsize: object) -> int | None:
    """Return ``maxsize`` if it is ``None`` or an int >= 0, else raise naming it."""
    if maxsize is None or (type(maxsize) is int and maxsize >= 0):
        return maxsize
    raise ValidationError(
        f"maxsize must be an int >= 0 or None, got {maxsize!r}", field="maxsize", value=maxsize
    )


def check_ttl(ttl: object, name: str = "ttl") -> float | None:
    """Return ``ttl`` as a float if it is ``None`` or a number > 0, else raise naming it."""
    if ttl is None:
        return None
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
        return float(ttl)
    raise ValidationError(
        f"{name} must be a number of seconds > 0 or None, got {ttl!r}", field=name, value=ttl
    )


def check_callable(value: Any, name: str, expected: str) -> None:
    """Raise naming ``name`` unless ``value`` is ``None`` or callable (``expected`` says how)."""
    if value is not None and not callable(value):
        raise ValidationError(
            f"{name} must be {expected} or None, got {value!r}", field=name, value=value
        )


def check_timer(timer: Any) -> None:
    """Raise naming ``timer`` unless it is ``None`` or callable."""
    check_callable(timer, "timer", "a zero-argument callable returning seconds")


def check_hook(hook: Any) -> None:
    """Raise naming ``on_event`` unless it is ``None`` or callable."""
    check_callable(hook, "on_event", "a callable taking (kind, key)")
