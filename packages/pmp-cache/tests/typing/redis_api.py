"""Types users see from the Redis backend; checked by mypy --strict, never run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio
from typing_extensions import assert_type

from pmp_cache import (
    AsyncCacheBackend,
    AsyncCachedFunction,
    AsyncRedisCache,
    CacheBackend,
    CacheStats,
    CacheUnavailableError,
    JsonSerializer,
    LRUCache,
    PickleSerializer,
    RedisCache,
    RedisCacheStats,
    Serializer,
    async_cache,
    cache,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine

shared = RedisCache("redis://localhost:6379/0", namespace="app", version=2, ttl=300)
assert_type(shared.get("user:1"), Any)
assert_type(shared.set("user:1", {"name": "Ada"}, ttl=60), None)
assert_type(shared.delete("user:1"), bool)
assert_type(shared.clear(), None)
assert_type(shared.stats(), RedisCacheStats)
assert_type(shared.stats()["errors"], int)
assert_type(shared.client, redis.Redis)
assert_type(shared.local, LRUCache[Any, Any] | None)

signed = RedisCache(
    client=redis.Redis(),
    serializer=PickleSerializer(secret=b"0123456789abcdef0123456789abcdef"),
    strict=True,
    local_maxsize=1024,
    local_ttl=2,
    lock=True,
)
serializer: Serializer = JsonSerializer()
assert_type(serializer.dumps([1]), bytes)

async_shared = AsyncRedisCache(client=redis.asyncio.Redis(), namespace="app")


async def use() -> None:
    """Coroutines where the sync cache returns values."""
    assert_type(await async_shared.get("k"), Any)
    assert_type(await async_shared.set("k", 1), None)
    assert_type(await async_shared.delete("k"), bool)
    assert_type(await async_shared.claim("k"), Any)
    assert_type(async_shared.stats(), RedisCacheStats)
    await async_shared.aclose()


try:
    shared.get("k")
except CacheUnavailableError as exc:
    assert_type(exc.context, dict[str, Any])


@async_cache(backend=async_shared, ttl=60)
async def profile(user_id: int) -> dict[str, object]:
    return {"id": user_id}


@cache(backend=shared)
def square(x: int) -> int:
    return x * x


async_backend: AsyncCacheBackend = async_shared
sync_backend: CacheBackend = shared
assert_type(square(2), int)
as_async: AsyncCachedFunction[[int], Coroutine[Any, Any, dict[str, object]]] = profile


async def use_profile() -> None:
    """The coroutine controls of a function cached in an async backend."""
    assert_type(await profile(1), dict[str, object])
    assert_type(await profile.acache_invalidate(1), bool)
    assert_type(await profile.acache_clear(), None)
    assert_type(profile.cache_stats(), CacheStats)
    await profile.acache_invalidate("1")  # type: ignore[arg-type]
