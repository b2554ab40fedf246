"""Process-wide switches that apply at once and can be undone with ``with``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["Restorer"]


class Restorer:
    """Undoes a setting change when used as a context manager.

    Returned by :func:`set_retry_testing` and :func:`set_validation_enabled`: the new
    setting is in force as soon as the function returns; leaving a ``with`` block
    puts the previous one back.

    >>> from pmp_decorators import set_validation_enabled
    >>> with set_validation_enabled(False):
    ...     pass  # checks are off here
    """

    __slots__ = ("_undo",)

    def __init__(self, undo: Callable[[], None]) -> None:
        self._undo = undo

    def restore(self) -> None:
        """Put the previous setting back."""
        self._undo()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._undo()
