"""LRU/TTL caching with statistics: a mapping and sync/async decorators with single flight.

>>> from pmp_cache import LRUCache, cache
>>> store: LRUCache[str, int] = LRUCache(maxsize=128, ttl=3600)
>>> store.set("user:123", 42)
>>> store.get("user:123")
42
>>> @cache(maxsize=256)
... def square(x: int) -> int:
...     return x * x
>>> square(3), square.cache_info().misses
(9, 1)
"""

from __future__ import annotations

from pmp_cache._backend import AsyncCacheBackend, CacheBackend
from pmp_cache._decorators import AsyncCachedFunction, CachedFunction, async_cache, cache
from pmp_cache._errors import ReentrantCallError, UnhashableArgumentError
from pmp_cache._lru import LRUCache
from pmp_cache._redis import AsyncRedisCache, CacheUnavailableError, RedisCache, RedisCacheStats
from pmp_cache._s3fifo import S3FIFOCache
from pmp_cache._serializers import (
    JsonSerializer,
    PayloadRejectedError,
    PickleSerializer,
    Serializer,
)
from pmp_cache._stats import CacheInfo, CacheStats

__all__ = [
    "AsyncCacheBackend",
    "AsyncCachedFunction",
    "AsyncRedisCache",
    "CacheBackend",
    "CacheInfo",
    "CacheStats",
    "CacheUnavailableError",
    "CachedFunction",
    "JsonSerializer",
    "LRUCache",
    "PayloadRejectedError",
    "PickleSerializer",
    "RedisCache",
    "RedisCacheStats",
    "ReentrantCallError",
    "S3FIFOCache",
    "Serializer",
    "UnhashableArgumentError",
    "async_cache",
    "cache",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pmp-cache")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
