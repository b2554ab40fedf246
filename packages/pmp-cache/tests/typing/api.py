"""Types users see from pmp_cache; checked by mypy --strict, never run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import assert_type

from pmp_cache import (
    CachedFunction,
    CacheInfo,
    CacheStats,
    LRUCache,
    S3FIFOCache,
    async_cache,
    cache,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine

store: LRUCache[str, int] = LRUCache(maxsize=128, ttl=3600)
store.set("user:123", 42)
assert_type(store.get("user:123"), int | None)
assert_type(store.get("user:123", 0), int)
assert_type(store.get("user:123", "none"), int | str)
assert_type(store.peek("user:123"), int | None)
assert_type(store["user:123"], int)
assert_type(store.pop("user:123"), int)
assert_type(store.pop("user:123", None), int | None)
assert_type(store.popitem(), tuple[str, int])
assert_type(store.setdefault("a", 1), int)
assert_type(store.delete("a"), bool)
assert_type(store.expire(), int)
assert_type(store.stats(), CacheStats)
assert_type(store.stats()["hit_rate"], float)
assert_type(store.maxsize, int | None)
assert_type(store.copy(), LRUCache[str, int])
store.set("a", 1, ttl=5)
store.set("a", "x")  # type: ignore[arg-type]


@cache(maxsize=256, ttl=3600)
def expensive_computation(x: int) -> int:
    return sum(range(x))


as_protocol: CachedFunction[[int], int] = expensive_computation
assert_type(expensive_computation(3), int)
assert_type(expensive_computation.cache_stats(), CacheStats)
assert_type(expensive_computation.cache_info(), CacheInfo)
assert_type(expensive_computation.cache_invalidate(3), bool)
expensive_computation.cache_clear()
expensive_computation("3")  # type: ignore[arg-type]
expensive_computation.cache_invalidate(x="3")  # type: ignore[arg-type]


@cache
def bare(name: str, *, loud: bool = False) -> str:
    return name.upper() if loud else name


assert_type(bare("a", loud=True), str)


@async_cache(maxsize=128)
async def fetch(user_id: int) -> dict[str, int]:
    return {"id": user_id}


fetch_call: Coroutine[Any, Any, dict[str, int]] = fetch(1)
fetch_call.close()
assert_type(fetch.cache_info(), CacheInfo)


@async_cache
async def bare_async(x: int) -> str:
    return str(x)


async def use_bare_async() -> None:
    assert_type(await bare_async(1), str)


class Service:
    @cache(maxsize=8)
    def greet(self, who: str) -> str:
        return who


assert_type(Service().greet("x"), str)
assert_type(Service.greet.cache_stats(), CacheStats)


@cache(
    maxsize=8,
    ttl=10,
    stale=5,
    unless=lambda result: result is None,
    on_event=lambda _kind, _key: None,
    namespace="lookups",
)
def lookup(x: int) -> int | None:
    return x


assert_type(lookup.cache_refresh(1), int | None)
lookup.cache_refresh("1")  # type: ignore[arg-type]
cache(stale="5")  # type: ignore[call-overload]
cache(unless=3)  # type: ignore[call-overload]
cache(undeclared=1)  # type: ignore[call-overload]


@async_cache(ttl=10, stale=1)
async def refreshed(x: int) -> str:
    return str(x)


async def use_refresh() -> None:
    assert_type(await refreshed.acache_refresh(1), str)
    await refreshed.acache_refresh("1")  # type: ignore[arg-type]


@async_cache  # type: ignore[arg-type]  # async_cache wraps async functions only
def not_async(x: int) -> int:
    return x


assert_type(Service().greet.cache_refresh("x"), str)
assert_type(Service.greet.cache_refresh(Service(), "x"), str)


scan_proof: S3FIFOCache[str, int] = S3FIFOCache(maxsize=128, ttl=60)
assert_type(scan_proof.get("a"), int | None)
assert_type(scan_proof.copy(), S3FIFOCache[str, int])
as_lru: LRUCache[str, int] = scan_proof


@cache(maxsize=64, policy="s3fifo")
def scan_proof_square(x: int) -> int:
    return x * x


assert_type(scan_proof_square(2), int)
cache(policy="lfu")  # type: ignore[call-overload]


class Kinds:
    @cache
    @classmethod
    def above(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"

    @classmethod
    @cache
    def below(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"

    @cache
    @staticmethod
    def static_above(x: int) -> str:
        return str(x)

    @staticmethod
    @cache
    def static_below(x: int) -> str:
        return str(x)

    @async_cache
    @classmethod
    async def async_above(cls, x: int) -> str:
        return str(x)

    @classmethod
    @async_cache
    async def async_below(cls, x: int) -> str:
        return str(x)

    @cache
    def method(this, x: int) -> str:  # noqa: N805 - any name for the instance
        return str(x)


assert_type(Kinds.above(1), str)
assert_type(Kinds.below(1), str)
assert_type(Kinds().above(1), str)
assert_type(Kinds().below(1), str)
assert_type(Kinds.static_above(1), str)
assert_type(Kinds.static_below(1), str)
assert_type(Kinds().method(1), str)
assert_type(Kinds.method(Kinds(), 1), str)
assert_type(Kinds.below.cache_info(), CacheInfo)
Kinds.above("1")  # type: ignore[arg-type]
Kinds.below("1")  # type: ignore[arg-type]
Kinds().above("1")  # type: ignore[arg-type]
Kinds().below("1")  # type: ignore[arg-type]
Kinds.static_below("1")  # type: ignore[arg-type]


async def use_async_class_methods() -> None:
    assert_type(await Kinds.async_above(1), str)
    assert_type(await Kinds.async_below(1), str)
    assert_type(await Kinds().async_below(1), str)
    await Kinds.async_below("1")  # type: ignore[arg-type]
