"""Cached functions defined in a class body: per-instance caches for methods.

Whether a function is a method is known from how it is used, never from the name
of its first parameter. ``cache`` returns a ``CachedMethod`` for a function
defined in a class body (its ``__qualname__`` says so); it is a method when the
class is made with it in its namespace (``__set_name__``) or when it is read
through an instance (``__get__``). Under ``@staticmethod`` or ``@classmethod``
neither happens, and it is called as the function it wraps: one cache keyed by
every argument (the class included, for a class method).

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
from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self

__all__ = ["CachedMethod", "defined_in_class"]


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


class CachedMethod(functools.partial[Any]):
    """Descriptor giving each instance its own cache (see the module docstring).

    It is a ``functools.partial`` of the function it calls when called itself,
    so that a call costs no Python frame of its own (C code forwards it, by
    vectorcall from Python 3.12): the cached function (a static or class
    method), or, once it is known to be a method, a function that calls the
    first argument's own cache. Read from the class it is a function taking
    the instance first, whose ``cache_*`` controls act on every live
    instance's cache.
    """

    __slots__ = (
        "_attr",
        "_build",
        "_func",
        "_function",
        "_live",
        "_lock",
        "_method",
        "_owners",
        "_shared",
        "_slotted",
    )

    _attr: str
    _build: Callable[..., Any]
    _func: Callable[..., Any]
    _function: Any  # the cached function of a static or class method, once made
    _live: weakref.WeakValueDictionary[int, Any]
    _lock: threading.Lock
    _method: bool
    _owners: tuple[type[Any], ...]  # the classes it was defined or copied in
    _shared: bool
    _slotted: dict[int, Any]

    def __new__(
        cls,
        func: Callable[..., Any],
        build: Callable[..., Any],
        *,
        method: bool,
        shared: bool,
    ) -> Self:
        """``build(func, method=...)`` makes a cached function, per instance if ``method``."""
        if method and shared:
            _refuse_shared(func)
        self = super().__new__(cls, func)  # the partial's function is set below
        functools.update_wrapper(self, func)
        self._func = func
        self._build = build
        self._shared = shared  # a method over a shared backend is refused
        self._attr = f"__pmp_cache_{func.__name__}_{id(self):x}"
        self._lock = threading.Lock()
        self._live = weakref.WeakValueDictionary()
        self._slotted = {}  # instances without __dict__: id -> wrapper
        self._function = None
        self._method = method
        self._owners = ()
        self._forward(self._call_method if method else self._call_function)
        return self

    def __repr__(self) -> str:
        return f"<cached {self._func.__qualname__}>"

    def __reduce__(self) -> str:
        return self._func.__qualname__  # pickled by reference, as functions are

    def _forward(self, make: Callable[[], Callable[..., Any]]) -> None:
        """Calls of this descriptor go to ``make()`` (a coroutine function if the function is)."""
        cast("Any", self).__setstate__((make(), (), {}, self.__dict__))  # the partial's function

    def _call_method(self) -> Callable[..., Any]:
        """A function calling its first argument's own cache."""
        get = self.__get__
        if _is_async(self._func):

            async def call(instance: object, /, *args: Any, **kwargs: Any) -> Any:
                return await get(instance)(*args, **kwargs)
        else:

            def call(instance: object, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                return get(instance)(*args, **kwargs)

        return call

    def _call_function(self) -> Callable[..., Any]:
        """A function making the cached function at its first call, which then takes over.

        Most functions in a class body are methods, whose own cached function would
        never be used: it is made only when needed (compiling it costs about a millisecond).
        """
        function = self._cached_function
        if _is_async(self._func):

            async def call(*args: Any, **kwargs: Any) -> Any:
                return await function()(*args, **kwargs)
        else:

            def call(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                return function()(*args, **kwargs)

        return call

    def _cached_function(self) -> Any:
        """The cached function of a static or class method (one cache), made once."""
        with self._lock:
            if self._function is None:
                self._function = self._build(self._func)
                if not self._method:
                    self._forward(lambda: self._function)
            return self._function

    def __set_name__(self, owner: type[Any], name: str) -> None:
        # One name per class and method: a subclass overriding the method (and calling
        # ``super()``) has a cache of its own on the same instance.
        if self._shared:
            _refuse_shared(self._func)
        self._owners = (*self._owners, owner)
        where = (owner.__module__, owner.__qualname__)
        self._attr = f"__pmp_cache_{where[0]}.{where[1]}.{name}"
        # A class redefined over itself (``class A(A)``) shares its name with a base:
        # the count of same-named classes in its MRO tells the two apart.
        same = sum((c.__module__, c.__qualname__) == where for c in owner.__mro__)
        if same > 1:
            self._attr += f"#{same}"
        if not self._method:
            self._method = True
            self._forward(self._call_method)

    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        if instance is None:
            return self
        try:
            slot = instance.__dict__.get(self._attr)
        except AttributeError:  # __slots__ without __dict__
            wrapper = self._slotted.get(id(instance)) or self._bind_slotted(instance)
            return MethodType(wrapper, instance)
        if slot is None or slot.owner != id(instance):
            if instance is owner and not self._method:  # a classmethod above, Python < 3.13
                return MethodType(self._function or self._cached_function(), instance)
            slot = self._bind(instance)
        return MethodType(slot.wrapper, instance)

    def _new(self, instance: object) -> Any:
        if self._shared:
            _refuse_shared(self._func)
        wrapper = self._build(self._func, method=True)
        ref: Callable[[], object]
        try:
            ref = weakref.ref(instance)  # a strong one would keep the instance alive from its cache
        except TypeError:  # __slots__ with __dict__ but no __weakref__: a cycle the GC frees

            def ref() -> object:
                return instance

        function = weakref.ref(wrapper)  # the wrapper holds this call: no cycle keeps its cache

        def call(*args: Any, **kwargs: Any) -> Any:
            return cast("Any", function())(ref(), *args, **kwargs)

        attach_refresh(wrapper, call, is_async=_is_async(self._func))
        self._live[id(wrapper)] = wrapper
        return wrapper

    def _bind(self, instance: object) -> _Slot:
        with self._lock:
            slot = instance.__dict__.get(self._attr)
            if slot is None or slot.owner != id(instance):
                slot = _Slot(id(instance), self._new(instance))
                if isinstance(instance, type):  # a metaclass's method: a read-only namespace
                    type.__setattr__(instance, self._attr, slot)
                else:
                    instance.__dict__[self._attr] = slot
        return cast("_Slot", slot)

    def _bind_slotted(self, instance: object) -> Any:
        key = id(instance)
        slotted = self._slotted
        try:  # forget the cache when the instance dies (its id may then be reused)
            weakref.finalize(instance, slotted.pop, key, None)
        except TypeError:
            self._check_instance((instance,))  # an int or a str, say: not an instance at all
            qualname = getattr(self._func, "__qualname__", repr(self._func))
            fix = (
                "cache a function of its fields instead (a staticmethod or a module function)"
                if isinstance(instance, (tuple, int, str, bytes))  # no __weakref__ possible
                else "add '__weakref__' to the class's __slots__ (a dataclass: "
                "@dataclass(slots=True, weakref_slot=True))"
            )
            raise ConfigurationError(
                f"{type(instance).__name__} instances have neither a __dict__ nor weak "
                f"references, so the cached method {qualname}() cannot give them their own "
                f"cache; {fix}",
                config_key="__slots__",
            ) from None
        with self._lock:
            wrapper = slotted.get(key)
            if wrapper is None:  # pragma: no branch - else: another thread bound it first
                wrapper = slotted[key] = self._new(instance)
        return wrapper

    def _caches(self) -> list[Any]:
        """Every live instance's cache, and the function's own unless it is a method."""
        # valuerefs() copies the table at once (list() in C): another thread binding an
        # instance meanwhile cannot change it under an iteration, as it could values()'s.
        live = [wrapper for ref in self._live.valuerefs() if (wrapper := ref()) is not None]
        return [*live, *(() if self._method else (self._cached_function(),))]

    def _target(self, args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
        """The cache a control with these arguments acts on, and the arguments for it."""
        if self._method:
            self._check_instance(args)
            return self.__get__(args[0]), args[1:]
        return self._cached_function(), args

    def _check_instance(self, args: tuple[Any, ...]) -> None:
        """Refuse arguments that do not start with an instance of the method's class."""
        owners = self._owners
        if args and (not owners or isinstance(args[0], owners)):
            return
        cls = owners[-1].__qualname__ if owners else "its class"
        name = self._func.__name__
        got = f"got {args[0]!r} first" if args else "got no arguments"
        raise ValidationError(
            f"{self._func.__qualname__}() is a method of {cls}: read from the class it takes "
            f"an instance first, {cls}.{name}(obj, ...) (and .cache_invalidate(obj, ...)), or "
            f"use obj.{name}(...); {got}",
            field="self",
            value=args[0] if args else None,
        )

    def cache_stats(self) -> CacheStats:
        """Counters summed over every live instance."""
        totals: dict[str, Any] = dict.fromkeys(
            ("hits", "misses", "evictions", "expirations", "currsize"), 0
        )
        maxsize: int | None = 0
        for bound in self._caches():
            stats = bound.cache_stats()
            for name in totals:
                totals[name] += stats[name]
            maxsize = (
                None if maxsize is None or stats["maxsize"] is None else maxsize + stats["maxsize"]
            )
        hits, misses = totals["hits"], totals["misses"]
        return cast(
            "CacheStats",
            {  # in the order of every other cache_stats()
                "hits": hits,
                "misses": misses,
                "hit_rate": hits / (hits + misses) if hits + misses else 0.0,
                **totals,
                "maxsize": maxsize,
            },
        )

    def cache_info(self) -> CacheInfo:
        """``functools``-style counters summed over every live instance."""
        s = self.cache_stats()
        return CacheInfo(s["hits"], s["misses"], s["maxsize"], s["currsize"])

    def cache_clear(self) -> None:
        """Clear the cache of every live instance."""
        for bound in self._caches():
            bound.cache_clear()

    def cache_invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Drop one entry: of the instance given first, for a method."""
        target, rest = self._target(args)
        return bool(target.cache_invalidate(*rest, **kwargs))

    def cache_refresh(self, *args: Any, **kwargs: Any) -> Any:
        """Recompute and store one entry (of the instance given first, for a method)."""
        target, rest = self._target(args)
        return target.cache_refresh(*rest, **kwargs)

    async def acache_refresh(self, *args: Any, **kwargs: Any) -> Any:
        """``cache_refresh`` of an async cached method."""
        target, rest = self._target(args)
        return await target.acache_refresh(*rest, **kwargs)

    async def acache_clear(self) -> None:
        """``cache_clear`` as a coroutine, as async cached functions offer it."""
        if not _is_async(self._func):
            self.cache_clear()
            return
        for bound in self._caches():
            await bound.acache_clear()

    async def acache_invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """``cache_invalidate`` as a coroutine, as async cached functions offer it."""
        if not _is_async(self._func):
            return self.cache_invalidate(*args, **kwargs)
        target, rest = self._target(args)
        return bool(await target.acache_invalidate(*rest, **kwargs))


def _is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func)


def _refuse_shared(func: Callable[..., Any]) -> Any:
    qualname = getattr(func, "__qualname__", repr(func))
    raise ConfigurationError(
        f"{qualname}() is a method: a shared backend cannot tell instances apart; cache a "
        "function of explicit arguments instead (a staticmethod, or one taking the key)",
        config_key="backend",
    )


def attach_refresh(target: Any, call: Callable[..., Any], *, is_async: bool) -> None:
    """Give ``target`` ``cache_refresh`` (``acache_refresh``): drop the entry, then call.

    The controls hold ``target``'s invalidation, not ``target`` itself: an instance's
    cache is then freed with the instance, without waiting for the garbage collector.
    """
    if is_async:
        ainvalidate = target.acache_invalidate

        async def acache_refresh(*args: Any, **kwargs: Any) -> Any:
            await ainvalidate(*args, **kwargs)
            return await call(*args, **kwargs)

        target.acache_refresh = target.cache_refresh = acache_refresh
    else:
        invalidate = target.cache_invalidate

        def cache_refresh(*args: Any, **kwargs: Any) -> Any:
            invalidate(*args, **kwargs)
            return call(*args, **kwargs)

        target.cache_refresh = cache_refresh


def defined_in_class(func: Callable[..., Any]) -> bool:
    """Whether ``func`` was defined in a class body (its qualified name says so)."""
    parts = getattr(func, "__qualname__", "").split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>"  # noqa: PLR2004 - "Class.function"
