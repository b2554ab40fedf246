"""Pickling and copying of exceptions: no ``__init__`` re-run, every attribute and slot kept."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["restore", "slot_values"]

E = TypeVar("E", bound=BaseException)


def slot_values(exc: BaseException) -> dict[str, object]:
    """Return the values of the ``__slots__`` of *exc*'s classes that are set.

    ``BaseException.__setstate__`` sets every entry of the state as an attribute, so
    these can travel in the same state dict as ``__dict__``.
    """
    values: dict[str, object] = {}
    for cls in type(exc).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            name = slot
            if slot.startswith("__") and not slot.endswith("__"):  # stored name-mangled
                name = f"_{cls.__name__.lstrip('_')}{slot}"
            if name not in {"__dict__", "__weakref__"} and hasattr(exc, name):
                values[name] = getattr(exc, name)
    return values


def restore(cls: type[E], args: tuple[object, ...]) -> E:
    """Rebuild an exception without re-running ``__init__`` (its state follows)."""
    exc = BaseException.__new__(cls)
    exc.args = args
    return exc
