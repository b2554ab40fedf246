"""``RedisCache`` and ``AsyncRedisCache``: a cache shared by processes and machines.

The protocol (keys, payloads, fail-open policy, the lock) is written once in
``_redis_protocol``; ``_redis_sync`` and ``_redis_async`` carry its steps out.
redis-py is imported only when a cache is made, so ``import pmp_cache`` works
without the ``pmp-cache[redis]`` extra.
"""

from __future__ import annotations

from pmp_cache._redis_async import AsyncRedisCache
from pmp_cache._redis_config import CacheUnavailableError, RedisCacheStats
from pmp_cache._redis_sync import RedisCache

__all__ = ["AsyncRedisCache", "CacheUnavailableError", "RedisCache", "RedisCacheStats"]
