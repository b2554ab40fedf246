"""``Container[T]``: an immutable generic box with ``map`` and ``flat_map``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar, cast, final

from pmp_typing._errors import safe_repr

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Container"]

T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")


@final
class Container(Generic[T_co]):
    """An immutable box around one value; ``map`` returns a new box.

    >>> int_container: Container[int] = Container(42)
    >>> int_container.map(lambda x: x * 2)  # still a Container[int]
    Container(84)
    >>> int_container.map(str).value
    '42'

    It pickles and copies like ``Result`` (``copy.deepcopy`` copies the value).
    """

    __slots__ = ("_value",)
    __match_args__ = ("value",)
    _value: T_co

    def __init__(self, value: T_co, /) -> None:
        object.__setattr__(self, "_value", value)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        msg = f"Container is immutable: cannot set {name!r}; use map() to make a new one"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> NoReturn:
        msg = f"Container is immutable: cannot delete {name!r}"
        raise AttributeError(msg)

    def __repr__(self) -> str:
        return f"Container({safe_repr(self._value)})"

    def __reduce__(self) -> tuple[object, tuple[type[Container[T_co]]], tuple[T_co]]:
        # the default would restore the slot through __setattr__, which refuses it; the
        # value goes in the state, not the arguments, so that a value holding the box
        # gets the copy (deepcopy only knows the copy once it is made)
        return (object.__new__, (Container,), (self._value,))

    def __setstate__(self, state: tuple[T_co]) -> None:
        object.__setattr__(self, "_value", state[0])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Container):
            return self._value == cast("Container[object]", other)._value
        return False

    def __hash__(self) -> int:
        return hash((Container, self._value))

    @property
    def value(self) -> T_co:
        """The boxed value."""
        return self._value

    def map(self, fn: Callable[[T_co], U], /) -> Container[U]:
        """Return a new ``Container`` holding ``fn(value)``."""
        return Container(fn(self._value))

    def flat_map(self, fn: Callable[[T_co], Container[U]], /) -> Container[U]:
        """Return ``fn(value)``, a function that itself returns a ``Container``.

        >>> Container(3).flat_map(lambda x: Container([x] * x))
        Container([3, 3, 3])
        """
        return fn(self._value)
