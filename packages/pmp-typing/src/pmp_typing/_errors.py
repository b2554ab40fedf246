"""Exceptions raised by pmp_typing on misuse and on unwrapping a failure."""

from __future__ import annotations

from typing import Any

from pmp_errors import PortfolioError, ValidationError

__all__ = ["FailureError", "TypeValidationError", "safe_repr"]


def safe_repr(value: object) -> str:
    """Return ``repr(value)``, or a placeholder when that ``__repr__`` raises."""
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real problem
        return f"<{type(value).__name__} object (repr failed)>"


class TypeValidationError(ValidationError, TypeError):
    """An argument has the wrong type; names the argument, the value and what was expected.

    It is both a ``pmp_errors.ValidationError`` and a ``TypeError``.

    >>> from pmp_typing import Pipeline
    >>> try:
    ...     Pipeline(1).add(42)  # type: ignore[arg-type]
    ... except TypeError as e:
    ...     e.field
    'fn'
    """


class FailureError(PortfolioError):
    """``get_or_raise()`` was called on a ``Failure`` whose error is not an exception.

    The original error is kept as ``.error``; the message shows its ``repr``.

    >>> from pmp_typing import Result
    >>> try:
    ...     Result.failure("disk full").get_or_raise()
    ... except FailureError as e:
    ...     (str(e), e.error)
    ("get_or_raise() called on Failure('disk full')", 'disk full')
    """

    title = "Unwrapped a failure"

    def __init__(self, message: str, /, *, error: object = None, **context: Any) -> None:
        context["error"] = error
        super().__init__(message, **context)

    @property
    def error(self) -> object:
        """The error held by the ``Failure`` that was unwrapped."""
        return self.context["error"]
