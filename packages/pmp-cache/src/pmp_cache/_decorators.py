"""The ``cache`` and ``async_cache`` decorators."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast, overload

from pmp_cache._core import Core
from pmp_cache._fastpath import compile_wrapper
from pmp_cache._methods import CachedMethod, attach_refresh, defined_in_class
from pmp_cache._options import check_identity, check_options, check_stale, fill_options
from pmp_cache._signature import fast_parameters
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Hashable

    from typing_extensions import Self, Unpack

    from pmp_cache._backend import AsyncCacheBackend, CacheBackend
    from pmp_cache._options import CacheOptions
    from pmp_cache._stats import CacheInfo, CacheStats

__all__ = ["AsyncCachedFunction", "CachedFunction", "async_cache", "cache"]

P = ParamSpec("P")
Q = ParamSpec("Q")  # the parameters of a class method after its class
T_contra = TypeVar("T_contra", contravariant=True)
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")


class _ClassFirst(Protocol[T_contra, Q, R_co]):
    """A callable taking a class first: a cached class method, bound to its class when read.

    (A self-type of ``CachedFunction[Concatenate[type[T], Q], R]`` would say the same, but
    mypy 2.4 matches it whatever the first parameter is.)
    """

    def __call__(self, cls: type[T_contra], /, *args: Q.args, **kwargs: Q.kwargs) -> R_co: ...


class CachedFunction(Protocol[P, R_co]):
    """What ``@cache`` and ``@async_cache`` return: the function plus cache controls.

    Calls keep the wrapped function's signature for type checkers.

    >>> from pmp_cache import cache
    >>> @cache
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> double(2), double(2), double.cache_info()
    (4, 4, CacheInfo(hits=1, misses=1, maxsize=128, currsize=1))
    """

    @property
    def __wrapped__(self) -> Callable[P, R_co]:
        """The undecorated function."""
        ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Return the cached result, computing it once on a miss."""
        ...

    def cache_stats(self) -> CacheStats:
        """Hits, misses, hit rate, evictions, expirations, size and capacity."""
        ...

    def cache_info(self) -> CacheInfo:
        """``functools``-compatible ``(hits, misses, maxsize, currsize)``."""
        ...

    def cache_clear(self) -> None:
        """Drop every entry and reset the counters; results still being computed are not kept."""
        ...

    def cache_invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Drop the entry for these arguments (passed as to the function); report if one was."""
        ...

    def cache_refresh(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Drop the entry for these arguments, compute and store it anew, and return it.

        ``f.__wrapped__(...)`` calls the function without the cache (a bypass).
        """
        ...

    # A class method (its first parameter is a class) binds the class, read from the class
    # or from an instance; a method read from the class is the function taking the instance.
    @overload
    def __get__(
        self: _ClassFirst[T, Q, R], instance: None, owner: type[T]
    ) -> CachedFunction[Q, R]: ...
    @overload
    def __get__(
        self: _ClassFirst[T, Q, R], instance: T, owner: type[Any] | None = None
    ) -> CachedFunction[Q, R]: ...
    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, instance: object, owner: type[Any] | None = None
    ) -> CachedFunction[..., R_co]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        """Methods: each instance gets its own cache, holding the instance weakly."""
        ...


class AsyncCachedFunction(CachedFunction[P, R_co], Protocol[P, R_co]):
    """What ``@async_cache`` returns: ``CachedFunction`` plus coroutine controls.

    ``acache_clear()`` and ``acache_invalidate(...)`` work with every store;
    with an async backend such as ``AsyncRedisCache`` they are the way to
    clear (the sync ``cache_clear``/``cache_invalidate`` raise
    ``ConfigurationError`` there, as they cannot await the backend).

    >>> import asyncio
    >>> from pmp_cache import async_cache
    >>> @async_cache
    ... async def double(x: int) -> int:
    ...     return 2 * x
    >>> asyncio.run(double(2)), asyncio.run(double.acache_invalidate(2))
    (4, True)
    """

    async def acache_clear(self) -> None:
        """Drop every entry (awaiting the backend's ``clear``) and reset the counters."""
        ...

    async def acache_invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Drop the entry for these arguments (awaiting the backend); report if one was."""
        ...

    def acache_refresh(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """``cache_refresh`` awaiting the backend (``cache_refresh`` is the same coroutine)."""
        ...

    @overload
    def __get__(
        self: _ClassFirst[T, Q, R], instance: None, owner: type[T]
    ) -> AsyncCachedFunction[Q, R]: ...
    @overload
    def __get__(
        self: _ClassFirst[T, Q, R], instance: T, owner: type[Any] | None = None
    ) -> AsyncCachedFunction[Q, R]: ...
    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, instance: object, owner: type[Any] | None = None
    ) -> AsyncCachedFunction[..., R_co]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        """Methods: each instance gets its own cache, holding the instance weakly."""
        ...


def _make_wrapper(core: Core, *, is_async: bool) -> Callable[..., Any]:
    params = None if core.key is not None else fast_parameters(core.signature_of, core.skip)
    core.bound_keys = params is not None
    return compile_wrapper(core, params, is_async=is_async)


def _attach(wrapper: Any, core: Core, func: Callable[..., Any], *, is_async: bool) -> None:
    functools.update_wrapper(wrapper, func)
    wrapper.cache_stats = core.stats
    wrapper.cache_info = core.info
    wrapper.cache_clear = core.clear
    wrapper.cache_invalidate = lambda *args, **kwargs: core.invalidate(args, kwargs)
    if is_async:
        wrapper.acache_clear = core.aclear
        wrapper.acache_invalidate = lambda *args, **kwargs: core.ainvalidate(args, kwargs)
    if not core.skip:  # a cached method's refresh needs its instance: see CachedMethod
        attach_refresh(wrapper, wrapper, is_async=is_async)


# -- the decorators ---------------------------------------------------------------------


# Decorated objects that are not callable themselves (a property is refused by name).
_WRAPPERS = (
    classmethod,
    staticmethod,
    functools.partialmethod,
    property,
    functools.cached_property,
)


def _check_decorated(func: object, *, is_async: bool) -> None:
    """Refuse what the decorators cannot wrap, saying what to do instead."""
    if isinstance(func, (property, functools.cached_property)):
        raise ValidationError(
            f"the cache decorators wrap a function, got {func!r}; put @property above "
            "@cache (or use functools.cached_property alone)",
            field="func",
            value=func,
        )
    if not callable(func):
        raise ValidationError(
            f"the cache decorators wrap a callable, got {func!r}", field="func", value=func
        )
    if is_async and not inspect.iscoroutinefunction(func):
        raise ValidationError(
            f"async_cache wraps an async function; {func!r} is not one (use cache)",
            field="func",
            value=func,
        )


def _decorator(
    *, is_async: bool, maxsize: object, ttl: object, backend: object, options: dict[str, Any]
) -> Callable[[Callable[..., Any]], Any]:
    checked_stale = check_stale(options["stale"], ttl=ttl, backend=backend)
    checked_maxsize, checked_ttl = check_options(
        is_async=is_async, maxsize=maxsize, ttl=ttl, backend=backend, options=options
    )
    typed, key, timer = options["typed"], options["key"], options["timer"]
    unless, on_event, namespace = options["unless"], options["on_event"], options["namespace"]

    def build(func: Callable[..., Any], *, method: bool = False) -> Any:
        """The cached function (``method``: one instance's, taking the instance first)."""
        if backend is not None and namespace is None:
            check_identity(func)
        core = Core(
            func,
            maxsize=checked_maxsize,
            ttl=checked_ttl,
            typed=cast("bool", typed),
            key=cast("Callable[..., Hashable] | None", key),
            timer=cast("Callable[[], float] | None", timer),
            backend=cast("CacheBackend | AsyncCacheBackend | None", backend),
            skip=1 if method else 0,
            namespace=cast("str | None", namespace),
            unless=cast("Callable[[Any], object] | None", unless),
            on_event=cast("Callable[[str, Any], object] | None", on_event),
            stale=checked_stale,
            policy=str(options["policy"]),
        )
        wrapper = _make_wrapper(core, is_async=is_async)
        _attach(wrapper, core, func, is_async=is_async)
        return wrapper

    def decorate(func: Callable[..., Any]) -> Any:
        if isinstance(func, (classmethod, staticmethod)):  # cache the function, then rewrap it
            _check_decorated(func.__func__, is_async=is_async)
            return type(func)(build(func.__func__))
        shared = backend is not None
        if isinstance(func, functools.partialmethod):
            _check_decorated(func.func, is_async=is_async)
            method = CachedMethod(func.func, build, method=True, shared=shared)
            return functools.partialmethod(method, *func.args, **func.keywords)
        _check_decorated(func, is_async=is_async)
        if defined_in_class(func):  # a method, or a static or class method (see _methods)
            if shared and namespace is None:
                check_identity(func)  # now, though its cached function is made at the first call
            return CachedMethod(func, build, method=False, shared=shared)
        return build(func)

    return decorate


class CacheDecorator(Protocol):
    """What ``cache(...)`` returns: applied to a function, or above ``@classmethod`` & co."""

    @overload
    def __call__(self, func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
    @overload
    def __call__(self, func: staticmethod[P, R], /) -> staticmethod[P, R]: ...  # type: ignore[overload-overlap]  # a staticmethod is callable too
    @overload
    def __call__(self, func: functools.partialmethod[R], /) -> functools.partialmethod[R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> CachedFunction[P, R]: ...


class AsyncCacheDecorator(Protocol):
    """What ``async_cache(...)`` returns (see ``CacheDecorator``)."""

    @overload
    def __call__(self, func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
    @overload
    def __call__(self, func: staticmethod[P, R], /) -> staticmethod[P, R]: ...  # type: ignore[overload-overlap]  # a staticmethod is callable too
    @overload
    def __call__(
        self, func: Callable[P, Awaitable[R]], /
    ) -> AsyncCachedFunction[P, Coroutine[Any, Any, R]]: ...


@overload
def cache(maxsize: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def cache(maxsize: staticmethod[P, R], /) -> staticmethod[P, R]: ...  # type: ignore[overload-overlap]  # a staticmethod is callable too
@overload
def cache(maxsize: functools.partialmethod[R], /) -> functools.partialmethod[R]: ...
@overload
def cache(maxsize: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cache(
    maxsize: int | None = 128,
    ttl: float | None = None,
    *,
    backend: CacheBackend | None = None,
    **options: Unpack[CacheOptions],
) -> CacheDecorator: ...
def cache(
    maxsize: Any = 128,
    ttl: float | None = None,
    *,
    backend: CacheBackend | None = None,
    **options: Any,
) -> Any:
    """Cache a function's results in an LRU cache with optional TTL, computing each key once.

    Concurrent calls missing the same key run the function once and share its
    result or exception (exceptions are never cached); calls for other keys do
    not wait; hits take no lock. ``typed=True`` keeps ``f(1)`` and ``f(1.0)``
    apart; ``key`` replaces the key built from the arguments; ``timer`` replaces
    ``time.monotonic``; ``backend`` stores results in another ``CacheBackend``
    (keys are prefixed with ``namespace``, by default the function's
    ``module.qualname``; a lambda, closure or ``<locals>`` function has no
    unique name, so with a backend it needs ``namespace=``; ``cache_clear``
    clears the whole backend). ``unless`` keeps results it returns true for out
    of the cache; ``stale`` (seconds, with ``ttl``) serves an expired entry
    while one refresher computes it; ``policy="s3fifo"`` evicts by S3-FIFO
    instead of LRU (see ``S3FIFOCache``); ``on_event(kind, key)`` hears hits,
    misses, evictions and expirations. On a method, each instance gets its own
    cache and is not kept alive by it. Usable bare (``@cache``) or configured.

    >>> @cache(maxsize=256, ttl=3600)
    ... def expensive_computation(x: int) -> int:
    ...     return sum(range(x))
    >>> expensive_computation(10), expensive_computation(10)
    (45, 45)
    >>> expensive_computation.cache_stats()["hits"]
    1
    """
    if callable(maxsize) or isinstance(maxsize, _WRAPPERS):
        return cache()(maxsize)
    return _decorator(
        is_async=False,
        maxsize=maxsize,
        ttl=ttl,
        backend=backend,
        options=fill_options("cache", options),
    )


@overload
def async_cache(maxsize: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def async_cache(maxsize: staticmethod[P, R], /) -> staticmethod[P, R]: ...  # type: ignore[overload-overlap]  # a staticmethod is callable too
@overload
def async_cache(
    maxsize: Callable[P, Awaitable[R]], /
) -> AsyncCachedFunction[P, Coroutine[Any, Any, R]]: ...
@overload
def async_cache(
    maxsize: int | None = 128,
    ttl: float | None = None,
    *,
    backend: CacheBackend | AsyncCacheBackend | None = None,
    **options: Unpack[CacheOptions],
) -> AsyncCacheDecorator: ...
def async_cache(
    maxsize: Any = 128,
    ttl: float | None = None,
    *,
    backend: CacheBackend | AsyncCacheBackend | None = None,
    **options: Any,
) -> Any:
    """Cache an async function's results; the same options and controls as ``cache``.

    Finished values are stored, not tasks. Concurrent misses for one key share
    one computation; cancelling one caller leaves the others waiting, and the
    work is cancelled only when every caller is. Works across event loops.
    ``backend`` is an async store (``AsyncRedisCache``, awaited) or an
    in-memory ``LRUCache``; another sync store (``RedisCache``) is refused, as
    it would block the event loop. ``acache_clear()`` and
    ``acache_invalidate(...)`` clear either kind.

    >>> import asyncio
    >>> @async_cache(maxsize=128)
    ... async def fetch(user_id: int) -> dict[str, int]:
    ...     return {"id": user_id}
    >>> asyncio.run(fetch(1))
    {'id': 1}
    """
    if callable(maxsize) or isinstance(maxsize, _WRAPPERS):
        return async_cache()(maxsize)
    return _decorator(
        is_async=True,
        maxsize=maxsize,
        ttl=ttl,
        backend=backend,
        options=fill_options("async_cache", options),
    )
