"""The error raised when a value does not match its declared type."""

from __future__ import annotations

from typing import Any

from pmp_errors import ValidationError

__all__ = ["TypeValidationError"]


class TypeValidationError(ValidationError, TypeError):
    """A value does not match its declared type; both a ``ValidationError`` and a ``TypeError``.

    ``field`` names the argument (or ``"return"``), ``value`` is the offending value,
    ``expected`` the type it should have had, and ``path`` where the value sits inside
    the argument (``xs[99]``, ``d['b']``; equal to ``field`` for the argument itself).

    >>> e = TypeValidationError("bad", field="xs", value="x", expected="int", path="xs[1]")
    >>> isinstance(e, TypeError), e.field, e.path, e.expected
    (True, 'xs', 'xs[1]', 'int')
    """

    def __init__(
        self,
        message: str,
        /,
        *,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
        path: str | None = None,
        **context: Any,
    ) -> None:
        if expected is not None:
            context["expected"] = expected
        if path is not None:
            context["path"] = path
        super().__init__(message, field=field, value=value, **context)

    @property
    def expected(self) -> str | None:
        """The type the value should have had, as written in an annotation."""
        return self.context.get("expected")

    @property
    def path(self) -> str | None:
        """Where the offending value sits inside the argument, e.g. ``xs[99]``."""
        return self.context.get("path")
