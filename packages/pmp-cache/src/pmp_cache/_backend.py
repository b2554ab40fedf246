"""The storage protocols the cache decorators use, so other stores can plug in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pmp_cache._stats import CacheStats

__all__ = ["AsyncCacheBackend", "CacheBackend"]


@runtime_checkable
class CacheBackend(Protocol):
    """What ``cache(backend=...)`` and ``async_cache(backend=...)`` need from a store.

    ``LRUCache`` and ``RedisCache`` are two. ``get`` must return ``default``
    for a missing or expired key, ``set`` store with an optional time to live
    in seconds, ``delete`` report whether it removed something, ``clear`` drop
    every entry and ``stats`` return ``CacheStats``.

    A store may also offer ``claim(key, default)`` and ``release(key)``, as
    ``RedisCache(lock=True)`` does: before computing a missing key the
    decorators call ``claim``, which either returns a value stored meanwhile
    (by another process) or ``default`` (compute now); ``set`` or, after a
    failure, ``release`` ends the claim.

    >>> from pmp_cache import LRUCache
    >>> isinstance(LRUCache(), CacheBackend)
    True
    """

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key`` or ``default``."""
        ...

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None``: the store's default)."""
        ...

    def delete(self, key: Any) -> bool:
        """Remove ``key``; return whether it was there."""
        ...

    def clear(self) -> None:
        """Remove every entry."""
        ...

    def stats(self) -> CacheStats:
        """Return the store's counters."""
        ...


@runtime_checkable
class AsyncCacheBackend(Protocol):
    """The asyncio twin of ``CacheBackend``, accepted by ``async_cache(backend=...)``.

    ``get``, ``set``, ``delete`` and ``clear`` (and ``claim``/``release`` when
    offered) are coroutine functions; ``stats`` is not. ``AsyncRedisCache`` is
    one. The decorators tell the two kinds apart by whether ``get`` is a
    coroutine function; ``cache`` accepts only the synchronous kind.

    >>> import inspect
    >>> from pmp_cache import AsyncRedisCache
    >>> inspect.iscoroutinefunction(AsyncRedisCache.get)
    True
    """

    async def get(self, key: Any, default: Any = None) -> Any:
        """Return the value for ``key`` or ``default``."""
        ...

    async def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None``: the store's default)."""
        ...

    async def delete(self, key: Any) -> bool:
        """Remove ``key``; return whether it was there."""
        ...

    async def clear(self) -> None:
        """Remove every entry."""
        ...

    def stats(self) -> CacheStats:
        """Return the store's counters."""
        ...
