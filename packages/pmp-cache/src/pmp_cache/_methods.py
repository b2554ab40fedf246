"""Cached methods: one cache per instance, stored on the instance, bound like a method.

``obj.method`` is a plain bound method (``types.MethodType``) of the instance's
own cached function, which takes ``self`` first and keys by the other
arguments. The bound method keeps ``obj`` alive while it can be called, as any
bound method does (``A().m(1)`` and ``m = A().m; m(1)`` work); the cache itself
lives in the instance's ``__dict__``, so a cached value that refers to
``self`` forms a cycle the garbage collector frees with the instance. A class
with ``__slots__`` (no ``__dict__``) but ``__weakref__`` keeps the caches in a
table that drops an instance's cache when the instance dies; there, a value
that refers to ``self`` keeps it alive.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from types import MethodType
from typing import TYPE_CHECKING, Any, cast

from pmp_cache._stats import CacheInfo, CacheStats
from pmp_errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CachedMethod", "is_method"]


class _Slot:
    """An instance's cache in its ``__dict__``, valid only for the instance that made it.

    A copy of the instance shares its ``__dict__`` values (``copy.copy``) or
    pickles them; the owner's id tells a copy to make its own cache, and a
    pickled slot comes back empty.
    """

    __slots__ = ("owner", "wrapper")

    def __init__(self, owner: int, wrapper: Any) -> None:
        self.owner = owner
        self.wrapper = wrapper

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Slot, (0, None))


class CachedMethod:
    """Descriptor giving each instance its own cache (see the module docstring).

    Read from the class it is a function taking the instance first, whose
    ``cache_*`` controls act on every live instance's cache.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        build: Callable[..., Any],
        refresh: Callable[[Any, Callable[..., Any]], None],
    ) -> None:
        functools.update_wrapper(self, func)
        self._refresh = refresh
        if inspect.iscoroutinefunction(func):  # so that inspect sees a coroutine function
            self.__code__ = func.__code__
            self.__defaults__ = getattr(func, "__defaults__", None)
            self.__kwdefaults__ = getattr(func, "__kwdefaults__", None)
            if hasattr(inspect, "markcoroutinefunction"):  # pragma: no branch - Python >= 3.12
                inspect.markcoroutinefunction(self)
        self._func = func
        self._build = build
        self._attr = f"__pmp_cache_{func.__name__}_{id(self):x}"
        self._lock = threading.Lock()
        self._live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._slotted: dict[int, Any] = {}  # instances without __dict__: id -> wrapper

    def __set_name__(self, owner: type[Any], name: str) -> None:
        # One name per class and method: a subclass overriding the method (and calling
        # ``super()``) has a cache of its own on the same instance.
        self._attr = f"__pmp_cache_{owner.__module__}.{owner.__qualname__}.{name}"

    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        if instance is None:
            return self
        try:
            slot = instance.__dict__.get(self._attr)
        except AttributeError:  # __slots__ without __dict__
            wrapper = self._slotted.get(id(instance)) or self._bind_slotted(instance)
            return MethodType(wrapper, instance)
        if slot is None or slot.owner != id(instance):
            slot = self._bind(instance)
        return MethodType(slot.wrapper, instance)

    def _new(self, instance: object) -> Any:
        wrapper = self._build(self._func)
        ref: Callable[[], object]
        try:
            ref = weakref.ref(instance)  # a strong one would keep the instance alive from its cache
        except TypeError:  # __slots__ with __dict__ but no __weakref__: a cycle the GC frees

            def ref() -> object:
                return instance

        def call(*args: Any, **kwargs: Any) -> Any:
            return wrapper(ref(), *args, **kwargs)

        self._refresh(wrapper, call)
        self._live[id(wrapper)] = wrapper
        return wrapper

    def _bind(self, instance: object) -> _Slot:
        with self._lock:
            slot = instance.__dict__.get(self._attr)
            if slot is None or slot.owner != id(instance):
                slot = _Slot(id(instance), self._new(instance))
                instance.__dict__[self._attr] = slot
        return cast("_Slot", slot)

    def _bind_slotted(self, instance: object) -> Any:
        key = id(instance)
        slotted = self._slotted
        try:
            weakref.ref(instance, lambda _: slotted.pop(key, None))
        except TypeError:
            qualname = getattr(self._func, "__qualname__", repr(self._func))
            raise ConfigurationError(
                f"{type(instance).__name__} instances have neither a __dict__ nor weak "
                f"references, so the cached method {qualname}() cannot give them their own "
                "cache; add '__weakref__' to the class's __slots__",
                config_key="__slots__",
            ) from None
        with self._lock:
            wrapper = slotted.get(key)
            if wrapper is None:  # pragma: no branch - else: another thread bound it first
                wrapper = slotted[key] = self._new(instance)
        return wrapper

    def __call__(self, instance: object, /, *args: Any, **kwargs: Any) -> Any:
        return self.__get__(instance)(*args, **kwargs)

    def _bound(self) -> list[Any]:
        return list(self._live.values())

    def cache_stats(self) -> CacheStats:
        """Counters summed over every live instance."""
        totals: dict[str, Any] = dict.fromkeys(
            ("hits", "misses", "evictions", "expirations", "currsize"), 0
        )
        maxsize: int | None = 0
        for bound in self._bound():
            stats = bound.cache_stats()
            for name in totals:
                totals[name] += stats[name]
            maxsize = (
                None if maxsize is None or stats["maxsize"] is None else maxsize + stats["maxsize"]
            )
        lookups = totals["hits"] + totals["misses"]
        return cast(
            "CacheStats",
            {
                **totals,
                "hit_rate": totals["hits"] / lookups if lookups else 0.0,
                "maxsize": maxsize,
            },
        )

    def cache_info(self) -> CacheInfo:
        """``functools``-style counters summed over every live instance."""
        s = self.cache_stats()
        return CacheInfo(s["hits"], s["misses"], s["maxsize"], s["currsize"])

    def cache_clear(self) -> None:
        """Clear the cache of every live instance."""
        for bound in self._bound():
            bound.cache_clear()

    def cache_invalidate(self, instance: object, /, *args: Any, **kwargs: Any) -> bool:
        """Drop one instance's entry for these arguments."""
        return bool(self.__get__(instance).cache_invalidate(*args, **kwargs))

    def cache_refresh(self, instance: object, /, *args: Any, **kwargs: Any) -> Any:
        """Recompute and store one instance's entry for these arguments; return the result."""
        return self.__get__(instance).cache_refresh(*args, **kwargs)

    async def acache_refresh(self, instance: object, /, *args: Any, **kwargs: Any) -> Any:
        """``cache_refresh`` of an async cached method."""
        return await self.__get__(instance).acache_refresh(*args, **kwargs)

    async def acache_clear(self) -> None:
        """``cache_clear`` as a coroutine, as async cached functions offer it."""
        self.cache_clear()

    async def acache_invalidate(self, instance: object, /, *args: Any, **kwargs: Any) -> bool:
        """``cache_invalidate`` as a coroutine, as async cached functions offer it."""
        return self.cache_invalidate(instance, *args, **kwargs)


def is_method(func: Callable[..., Any]) -> bool:
    """Whether ``func`` is defined in a class body and takes ``self`` first."""
    parts = getattr(func, "__qualname__", "").split(".")
    code = getattr(func, "__code__", None)
    return (
        len(parts) >= 2  # noqa: PLR2004 - "Class.method"
        and parts[-2] != "<locals>"
        and code is not None
        and code.co_argcount >= 1
        and code.co_varnames[0] == "self"
    )
