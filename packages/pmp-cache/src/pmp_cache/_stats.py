"""The statistics shapes shared by ``LRUCache`` and the cache decorators."""

from __future__ import annotations

from typing import NamedTuple, TypedDict

__all__ = ["CacheInfo", "CacheStats"]


class CacheStats(TypedDict):
    """Counters returned by ``LRUCache.stats()`` and ``cache_stats()``.

    ``hit_rate`` is ``hits / (hits + misses)`` (``0.0`` before any lookup);
    ``maxsize`` is ``None`` for an unbounded cache. Expired entries are counted
    once in ``expirations``, entries pushed out by size in ``evictions``.

    >>> from pmp_cache import LRUCache
    >>> c: LRUCache[str, int] = LRUCache(maxsize=1)
    >>> c.set("a", 1)
    >>> c.set("b", 2)
    >>> c.stats()["evictions"]
    1
    """

    hits: int
    misses: int
    hit_rate: float
    evictions: int
    expirations: int
    currsize: int
    maxsize: int | None


class CacheInfo(NamedTuple):
    """``functools``-compatible statistics, as returned by ``cache_info()``.

    >>> CacheInfo(hits=1, misses=2, maxsize=128, currsize=2)
    CacheInfo(hits=1, misses=2, maxsize=128, currsize=2)
    """

    hits: int
    misses: int
    maxsize: int | None
    currsize: int
