"""Process-wide switches that apply at once and can be undone with ``with``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["Layers", "Restorer"]

T = TypeVar("T")


class Restorer:
    """Undoes a setting change when used as a context manager.

    Returned by :func:`set_retry_testing` and :func:`set_validation_enabled`: the new
    setting is in force as soon as the function returns; leaving a ``with`` block
    puts the previous one back.

    Undoing puts back what the latest change still in force set, in whatever order
    changes are undone (undoing one that a later change covers only takes it out from
    under that change); undoing twice does nothing.

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


class _Layer(Generic[T]):
    """One change of a setting: its value, over the change before it."""

    __slots__ = ("below", "removed", "value")

    def __init__(self, value: T, below: _Layer[T] | None) -> None:
        self.value = value
        self.below = below
        self.removed = False


class Layers(Generic[T]):
    """A process-wide setting as a stack of changes, each undone by its ``Restorer``.

    ``apply(value)`` puts a value in force; it runs under the stack's lock with the
    value of the latest change still in force, or ``base`` once every change is undone.

    >>> seen = []
    >>> layers = Layers(seen.append, base=0)
    >>> one, two = layers.push(1), layers.push(2)
    >>> one.restore()  # covered by two: nothing changes yet
    >>> two.restore()  # back to the base, as one was undone already
    >>> seen
    [1, 2, 0]
    """

    __slots__ = ("_apply", "_base", "_lock", "_top")

    def __init__(self, apply: Callable[[T], None], *, base: T) -> None:
        self._apply = apply
        self._base = base
        self._top: _Layer[T] | None = None
        self._lock = threading.Lock()

    def push(self, value: T) -> Restorer:
        """Put ``value`` in force now; the returned ``Restorer`` undoes this change."""
        with self._lock:
            layer = self._top = _Layer(value, self._top)
            self._apply(value)

        def undo() -> None:
            with self._lock:
                layer.removed = True
                if self._top is not layer:
                    return  # a later change is in force; this one is skipped when it goes
                top: _Layer[T] | None = layer
                while top is not None and top.removed:
                    top = top.below
                self._top = top
                self._apply(self._base if top is None else top.value)

        return Restorer(undo)
