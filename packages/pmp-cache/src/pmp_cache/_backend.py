"""The storage protocol the cache decorators use, so other stores can plug in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pmp_cache._stats import CacheStats

__all__ = ["CacheBackend"]


@runtime_checkable
class CacheBackend(Protocol):
    """What ``cache(backend=...)`` and ``async_cache(backend=...)`` need from a store.

    ``LRUCache`` is one; a store shared by processes can be another. ``get`` must
    return ``default`` for a missing or expired key, ``set`` store with an
    optional time to live in seconds, ``delete`` report whether it removed
    something, ``clear`` drop every entry and ``stats`` return ``CacheStats``.

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
