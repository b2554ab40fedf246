"""Exceptions raised by pmp_typing on misuse and on unwrapping a failure."""

from __future__ import annotations

from typing import Any

from pmp_errors import PortfolioError, ValidationError

__all__ = ["ArgumentTypeError", "FailureError", "safe_repr"]


def safe_repr(value: object) -> str:
    """Return ``repr(value)``, or a placeholder when that ``__repr__`` raises."""
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real problem
        return f"<{type(value).__name__} object (repr failed)>"


class ArgumentTypeError(ValidationError, TypeError):
    """An argument has the wrong type; names the argument, the value and what was expected.

    Private on purpose: catch it as ``pmp_errors.ValidationError`` or as ``TypeError``
    (it is both), so it never clashes with other packages' validation errors.

    >>> from pmp_errors import ValidationError
    >>> from pmp_typing import Pipeline
    >>> try:
    ...     Pipeline(1).add(42)  # type: ignore[arg-type]
    ... except ValidationError as e:
    ...     (e.field, e.value, isinstance(e, TypeError))
    ('fn', 42, True)
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
