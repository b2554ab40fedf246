"""``Serializable``: the structural type of objects with a ``to_dict()`` method."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import TypeIs

__all__ = ["Serializable", "is_serializable"]


@runtime_checkable
class Serializable(Protocol):
    """Anything with a ``to_dict()`` method returning a mapping (every ``pmp_errors`` error).

    >>> from pmp_errors import ValidationError
    >>> isinstance(ValidationError("bad age", field="age"), Serializable)
    True
    """

    def to_dict(self) -> Mapping[str, object]:
        """Return the object as a mapping, ready for JSON."""
        ...


def is_serializable(obj: object, /) -> TypeIs[Serializable]:
    """Return whether ``obj.to_dict`` exists and is callable; narrows for type checkers.

    Faster than ``isinstance(obj, Serializable)`` on every Python, and stricter:
    an attribute ``to_dict = 5`` is not accepted.

    >>> is_serializable({}), is_serializable(type("Row", (), {"to_dict": dict})())
    (False, True)
    """
    return callable(getattr(obj, "to_dict", None))
