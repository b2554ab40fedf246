"""The ``cache`` and ``async_cache`` decorators."""

from __future__ import annotations

import functools
import inspect
import threading
import time as _time
import weakref
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

from pmp_cache._backend import AsyncCacheBackend, CacheBackend
from pmp_cache._core import Core, new_flight
from pmp_cache._fastpath import compile_wrapper, fast_parameters
from pmp_cache._lru import MISSING, LRUCache, _TimedDict
from pmp_cache._stats import CacheInfo, CacheStats
from pmp_cache._validate import check_maxsize, check_timer, check_ttl
from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Hashable

    from typing_extensions import Self

__all__ = ["AsyncCachedFunction", "CachedFunction", "async_cache", "cache"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


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

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, instance: object, owner: type[Any] | None = None
    ) -> AsyncCachedFunction[..., R_co]: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        """Methods: each instance gets its own cache, holding the instance weakly."""
        ...


# -- fast wrappers ----------------------------------------------------------------------
# Hot paths are written for speed: locals bound once, no lock, one dict lookup per hit.
# ``try: move(key) except KeyError: pass`` stays inline: ``contextlib.suppress`` would
# add a context manager to every hit. A KeyError there means another thread evicted the
# entry after it was read, which still counts as a hit.


def _sync_backend_wrapper(core: Core) -> Callable[..., Any]:
    make_key, fetch = core.make_key, core.fetch

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            key = make_key(args, kwargs)
        except TypeError:
            core.check_key(args, kwargs)
            raise
        return fetch(key, args, kwargs)

    return wrapper


def _sync_timed_wrapper(core: Core, store: LRUCache[Any, Any]) -> Callable[..., Any]:
    compute, begin, finish, fail, make_key = (
        core.compute,
        core.begin,
        core.finish,
        core.fail,
        core.make_key,
    )
    fast = core.key is None and not core.typed
    data = store._data  # noqa: SLF001 - the store is private to this function
    get, move, timer = data.get, data.move_to_end, store._timer  # noqa: SLF001

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if fast and not kwargs and len(args) == 1:
            key = args[0]
            if isinstance(key, tuple):
                key = args
        else:
            key = make_key(args, kwargs)
        try:
            entry = get(key, MISSING)
        except TypeError:
            core.check_key(args, kwargs)
            raise
        if entry is not MISSING:
            if entry[1] > (_time.monotonic() if timer is None else timer()):
                try:  # noqa: SIM105 - see above
                    move(key)
                except KeyError:  # pragma: no cover - see above
                    pass
                store._hits += 1  # noqa: SLF001
                return entry[0]
            store._drop_expired(key, entry)  # noqa: SLF001
        store._misses += 1  # noqa: SLF001
        flight = new_flight()
        value = begin(key, flight)
        if value is not flight:
            return value
        try:
            value = compute(flight, args, kwargs)
        except BaseException as exc:
            fail(key, flight, exc)
            raise
        finish(key, flight, value)
        return value

    return wrapper


def _sync_plain_wrapper(core: Core, store: LRUCache[Any, Any]) -> Callable[..., Any]:
    compute, begin, finish, fail, make_key = (
        core.compute,
        core.begin,
        core.finish,
        core.fail,
        core.make_key,
    )
    fast = core.key is None and not core.typed
    data = store._data  # noqa: SLF001 - the store is private to this function
    get, move = data.get, data.move_to_end

    def plain_wrapper(*args: Any, **kwargs: Any) -> Any:
        if fast and not kwargs and len(args) == 1:
            key = args[0]
            if isinstance(key, tuple):
                key = args
        else:
            key = make_key(args, kwargs)
        try:
            value = get(key, MISSING)
        except TypeError:
            core.check_key(args, kwargs)
            raise
        if value is not MISSING:
            try:  # noqa: SIM105 - see above
                move(key)
            except KeyError:  # pragma: no cover - see above
                pass
            store._hits += 1  # noqa: SLF001
            return value
        store._misses += 1  # noqa: SLF001
        flight = new_flight()
        value = begin(key, flight)
        if value is not flight:
            return value
        try:
            value = compute(flight, args, kwargs)
        except BaseException as exc:
            fail(key, flight, exc)
            raise
        finish(key, flight, value)
        return value

    return plain_wrapper


def _async_backend_wrapper(core: Core) -> Callable[..., Any]:
    make_key, afetch = core.make_key, core.afetch

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            key = make_key(args, kwargs)
        except TypeError:
            core.check_key(args, kwargs)
            raise
        return await afetch(key, args, kwargs)

    return wrapper


def _async_store_wrapper(core: Core, store: LRUCache[Any, Any]) -> Callable[..., Any]:
    amiss, make_key = core.amiss, core.make_key
    fast = core.key is None and not core.typed
    data = store._data  # noqa: SLF001 - the store is private to this function
    get, move, timer = data.get, data.move_to_end, store._timer  # noqa: SLF001
    timed = type(data) is _TimedDict

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if fast and not kwargs and len(args) == 1:
            key = args[0]
            if isinstance(key, tuple):
                key = args
        else:
            key = make_key(args, kwargs)
        try:
            entry = get(key, MISSING)
        except TypeError:
            core.check_key(args, kwargs)
            raise
        if entry is not MISSING:
            if not timed:
                try:  # noqa: SIM105 - see above
                    move(key)
                except KeyError:  # pragma: no cover - see above
                    pass
                store._hits += 1  # noqa: SLF001
                return entry
            if entry[1] > (_time.monotonic() if timer is None else timer()):
                try:  # noqa: SIM105 - see above
                    move(key)
                except KeyError:  # pragma: no cover - see above
                    pass
                store._hits += 1  # noqa: SLF001
                return entry[0]
            store._drop_expired(key, entry)  # noqa: SLF001
        store._misses += 1  # noqa: SLF001
        return await amiss(key, args, kwargs)

    return wrapper


def _make_wrapper(core: Core, *, is_async: bool) -> Callable[..., Any]:
    if core.key is None:
        params = fast_parameters(core.signature_of, core.skip)
        if params is not None:
            core.bound_keys = True
            return compile_wrapper(core, params, is_async=is_async)
    if core.store is not None:
        if is_async:
            return _async_store_wrapper(core, core.store)
        if type(core.store._data) is _TimedDict:  # noqa: SLF001
            return _sync_timed_wrapper(core, core.store)
        return _sync_plain_wrapper(core, core.store)
    return _async_backend_wrapper(core) if is_async else _sync_backend_wrapper(core)


def _attach(wrapper: Any, core: Core, func: Callable[..., Any], *, is_async: bool) -> None:
    functools.update_wrapper(wrapper, func)
    wrapper.cache_stats = core.stats
    wrapper.cache_info = core.info
    wrapper.cache_clear = core.clear
    wrapper.cache_invalidate = lambda *args, **kwargs: core.invalidate(args, kwargs)
    if is_async:
        wrapper.acache_clear = core.aclear
        wrapper.acache_invalidate = lambda *args, **kwargs: core.ainvalidate(args, kwargs)


# -- methods ----------------------------------------------------------------------------


class _CachedMethod(Generic[R]):
    """Descriptor giving each instance its own cache without keeping the instance alive.

    The per-instance cached function holds the instance through a weak
    reference and is dropped when the instance is collected.
    """

    def __init__(self, func: Callable[..., Any], build: Callable[..., Any]) -> None:
        functools.update_wrapper(self, func)
        self._func = func
        self._build = build
        self._lock = threading.Lock()
        self._per_instance: dict[int, Any] = {}

    def __get__(self, instance: object, owner: type[Any] | None = None) -> Any:
        if instance is None:
            return self
        bound = self._per_instance.get(id(instance))
        if bound is None:
            bound = self._bind(instance)
        return bound

    def _bind(self, instance: object) -> Any:
        func = self._func
        key = id(instance)
        try:
            ref = weakref.ref(instance, lambda _: self._per_instance.pop(key, None))
        except TypeError:
            qualname = getattr(func, "__qualname__", repr(func))
            raise ConfigurationError(
                f"{type(instance).__name__} instances cannot be weakly referenced, so the "
                f"cached method {qualname}() cannot give them their own cache; add "
                "'__weakref__' to the class's __slots__",
                config_key="__slots__",
            ) from None

        def call(*args: Any, **kwargs: Any) -> Any:
            obj = ref()
            if obj is None:  # the caller kept the bound cache after dropping the instance
                msg = f"the instance behind {func.__qualname__}() was garbage-collected"
                raise ReferenceError(msg)
            return func(obj, *args, **kwargs)

        with self._lock:
            bound = self._per_instance.get(key)
            if bound is None:  # pragma: no branch - else: another thread bound it first
                bound = self._per_instance[key] = self._build(call, func)
        return bound

    def __call__(self, instance: object, /, *args: Any, **kwargs: Any) -> Any:
        return self.__get__(instance)(*args, **kwargs)

    def _bound(self) -> list[Any]:
        return list(self._per_instance.values())

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

    async def acache_clear(self) -> None:
        """``cache_clear`` as a coroutine, as async cached functions offer it."""
        self.cache_clear()

    async def acache_invalidate(self, instance: object, /, *args: Any, **kwargs: Any) -> bool:
        """``cache_invalidate`` as a coroutine, as async cached functions offer it."""
        return self.cache_invalidate(instance, *args, **kwargs)


def _is_method(func: Callable[..., Any]) -> bool:
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


# -- the decorators ---------------------------------------------------------------------


def _check_identity(func: Callable[..., Any]) -> None:
    """Refuse a backend-backed function whose name is not unique and stable across processes."""
    qualname = getattr(func, "__qualname__", None)
    module = getattr(func, "__module__", None)
    if isinstance(qualname, str) and isinstance(module, str) and "<" not in qualname:
        return
    raise ConfigurationError(
        f"{func!r} has no unique, stable name (a lambda, a closure or a function made inside "
        "another function): its entries in a shared backend would mix with those of its "
        "siblings; pass namespace='...' naming this function's entries",
        config_key="namespace",
    )


def _check(
    *,
    is_async: bool,
    maxsize: object,
    ttl: object,
    typed: object,
    key: object,
    timer: object,
    backend: object,
    namespace: object,
) -> tuple[int | None, float | None]:
    checked_maxsize = check_maxsize(maxsize)
    checked_ttl = check_ttl(ttl)
    if not isinstance(typed, bool):
        raise ValidationError(
            f"typed must be True or False, got {typed!r}", field="typed", value=typed
        )
    if key is not None and not callable(key):
        raise ValidationError(
            f"key must be a callable taking the function's arguments or None, got {key!r}",
            field="key",
            value=key,
        )
    check_timer(timer)
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValidationError(
            f"namespace must be a non-empty str or None, got {namespace!r}",
            field="namespace",
            value=namespace,
        )
    if backend is not None:
        if not isinstance(backend, CacheBackend):
            raise ValidationError(
                "backend must provide get/set/delete/clear/stats (see CacheBackend), "
                f"got {backend!r}",
                field="backend",
                value=backend,
            )
        if (
            is_async
            and not inspect.iscoroutinefunction(backend.get)
            and not isinstance(backend, LRUCache)
        ):
            raise ValidationError(
                f"backend {backend!r} is synchronous: async_cache would block the event loop "
                "on every call to it; use an async backend such as AsyncRedisCache (or an "
                "in-memory LRUCache)",
                field="backend",
                value=backend,
            )
        if not is_async and inspect.iscoroutinefunction(backend.get):
            raise ValidationError(
                f"backend {backend!r} is async (its get is a coroutine function): use it "
                "with async_cache, or give cache a sync backend such as RedisCache",
                field="backend",
                value=backend,
            )
    return checked_maxsize, checked_ttl


def _decorator(
    *,
    is_async: bool,
    maxsize: object,
    ttl: object,
    typed: object,
    key: object,
    timer: object,
    backend: object,
    namespace: object,
) -> Callable[[Callable[..., Any]], Any]:
    checked_maxsize, checked_ttl = _check(
        is_async=is_async,
        maxsize=maxsize,
        ttl=ttl,
        typed=typed,
        key=key,
        timer=timer,
        backend=backend,
        namespace=namespace,
    )

    def build(func: Callable[..., Any], signature_of: Callable[..., Any] | None = None) -> Any:
        core = Core(
            func,
            maxsize=checked_maxsize,
            ttl=checked_ttl,
            typed=cast("bool", typed),
            key=cast("Callable[..., Hashable] | None", key),
            timer=cast("Callable[[], float] | None", timer),
            backend=cast("CacheBackend | AsyncCacheBackend | None", backend),
            signature_of=signature_of,
            skip=0 if signature_of is None else 1,
            namespace=cast("str | None", namespace),
        )
        wrapper = _make_wrapper(core, is_async=is_async)
        _attach(wrapper, core, func if signature_of is None else signature_of, is_async=is_async)
        return wrapper

    def decorate(func: Callable[..., Any]) -> Any:
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
        if _is_method(func):
            if backend is not None:
                raise ConfigurationError(
                    f"{func.__qualname__}() is a method: a shared backend cannot tell "
                    "instances apart; cache a function of explicit arguments instead",
                    config_key="backend",
                )
            return _CachedMethod(func, build)
        if backend is not None and namespace is None:
            _check_identity(func)
        return build(func)

    return decorate


@overload
def cache(maxsize: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cache(
    maxsize: int | None = 128,
    ttl: float | None = None,
    *,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] | None = None,
    backend: CacheBackend | None = None,
    namespace: str | None = None,
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]: ...
def cache(
    maxsize: Any = 128,
    ttl: float | None = None,
    *,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] | None = None,
    backend: CacheBackend | None = None,
    namespace: str | None = None,
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
    clears the whole backend). On a method, each instance gets its own cache and is not
    kept alive by it. Usable bare (``@cache``) or configured.

    >>> @cache(maxsize=256, ttl=3600)
    ... def expensive_computation(x: int) -> int:
    ...     return sum(range(x))
    >>> expensive_computation(10), expensive_computation(10)
    (45, 45)
    >>> expensive_computation.cache_stats()["hits"]
    1
    """
    if callable(maxsize):
        return cache()(maxsize)
    return _decorator(
        is_async=False,
        maxsize=maxsize,
        ttl=ttl,
        typed=typed,
        key=key,
        timer=timer,
        backend=backend,
        namespace=namespace,
    )


@overload
def async_cache(
    maxsize: Callable[P, Awaitable[R]], /
) -> AsyncCachedFunction[P, Coroutine[Any, Any, R]]: ...
@overload
def async_cache(
    maxsize: int | None = 128,
    ttl: float | None = None,
    *,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] | None = None,
    backend: CacheBackend | AsyncCacheBackend | None = None,
    namespace: str | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], AsyncCachedFunction[P, Coroutine[Any, Any, R]]]: ...
def async_cache(
    maxsize: Any = 128,
    ttl: float | None = None,
    *,
    typed: bool = False,
    key: Callable[..., Hashable] | None = None,
    timer: Callable[[], float] | None = None,
    backend: CacheBackend | AsyncCacheBackend | None = None,
    namespace: str | None = None,
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
    if callable(maxsize):
        return async_cache()(maxsize)
    return _decorator(
        is_async=True,
        maxsize=maxsize,
        ttl=ttl,
        typed=typed,
        key=key,
        timer=timer,
        backend=backend,
        namespace=namespace,
    )
