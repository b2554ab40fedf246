"""A typed, lazily computed, cached attribute (a non-data descriptor)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self

__all__ = ["CachedProperty"]

T = TypeVar("T")


class CachedProperty(Generic[T]):
    """Compute an attribute on first access, then keep it in the instance ``__dict__``.

    A non-data descriptor: once cached, reading the attribute is a plain instance
    attribute read. ``del obj.attr`` forgets the value (the next read recomputes it);
    assigning sets it. On the class the descriptor itself is returned. A class whose
    ``__slots__`` leave no ``__dict__`` is refused with a ``TypeError`` when the class
    is created (on Python 3.10/3.11 Python wraps it in a ``RuntimeError``), and so is
    a metaclass (a class's own ``__dict__`` is read-only).

    ``CachedProperty.locked`` adds a lock per instance, so the getter runs exactly
    once even when several threads read the attribute first at the same time, without
    making other instances wait.

    >>> class ExpensiveComputation:
    ...     @CachedProperty
    ...     def result(self):
    ...         return sum(range(1000))
    >>> calc = ExpensiveComputation()
    >>> calc.result, calc.__dict__
    (499500, {'result': 499500})
    """

    def __init__(self, func: Callable[[Any], T], *, lock: bool = False) -> None:
        if not callable(func):
            msg = f"CachedProperty needs a callable getter, got {func!r}"
            raise TypeError(msg)
        self.func = func
        self.attrname: str | None = None
        self.lock = lock
        self.__doc__ = func.__doc__
        self.__wrapped__ = func
        self.__module__ = getattr(func, "__module__", __name__)
        self._guard = threading.Lock()
        self._pending: dict[int, list[Any]] = {}

    @classmethod
    def locked(cls, func: Callable[[Any], T]) -> CachedProperty[T]:
        """Like ``CachedProperty(func)``, but the getter runs once under concurrent reads.

        >>> class Model:
        ...     @CachedProperty.locked
        ...     def weights(self):
        ...         return [0.5, 0.25]
        >>> Model().weights
        [0.5, 0.25]
        """
        return cls(func, lock=True)

    @property
    def __isabstractmethod__(self) -> bool:
        return bool(getattr(self.func, "__isabstractmethod__", False))

    def __set_name__(self, owner: type, name: str) -> None:
        if self.attrname is None:
            self.attrname = name
        elif name != self.attrname:
            msg = (
                f"Cannot assign the same CachedProperty to two different names "
                f"({self.attrname!r} and {name!r})."
            )
            raise TypeError(msg)
        if issubclass(owner, type):
            msg = (
                f"CachedProperty {name!r} cannot cache on classes: {owner.__qualname__} is a "
                f"metaclass and a class's __dict__ is read-only; use a property instead"
            )
            raise TypeError(msg)
        if not owner.__dictoffset__:
            msg = (
                f"CachedProperty {name!r} needs an instance __dict__, but {owner.__qualname__} "
                f"has __slots__ without '__dict__'; add '__dict__' to __slots__ or use @property"
            )
            raise TypeError(msg)

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object, owner: type | None = None) -> Self | T:
        if instance is None:
            return self
        name = self.attrname
        if name is None:
            msg = "Cannot use a CachedProperty without calling __set_name__ on it."
            raise TypeError(msg)
        if self.lock:
            return self._get_locked(instance, name)
        value = self.func(instance)
        instance.__dict__[name] = value
        return value

    def _get_locked(self, instance: object, name: str) -> T:
        key = id(instance)
        with self._guard:  # held only to find or make this instance's lock
            entry = self._pending.get(key)
            if entry is None:
                entry = self._pending[key] = [threading.RLock(), 0]
            entry[1] += 1
        try:
            with entry[0]:
                cache = instance.__dict__
                if name in cache:  # another thread finished first
                    return cache[name]  # type: ignore[no-any-return]
                value = self.func(instance)
                cache[name] = value
                return value
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._pending[key]

    def __repr__(self) -> str:
        return f"<CachedProperty {self.attrname or getattr(self.func, '__qualname__', '?')}>"
