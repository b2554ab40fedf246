"""Tour section: an LRU/TTL mapping, cached functions with single flight, async caching."""

from __future__ import annotations

import asyncio
import threading

from pmp_cache import LRUCache, UnhashableArgumentError, async_cache, cache

__all__ = ["show"]


class _Clock:
    """A clock the tour moves by hand, so expiry shows without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _mapping() -> None:
    clock = _Clock()
    store: LRUCache[str, int] = LRUCache(maxsize=2, ttl=3600, timer=clock)
    store.set("user:123", 42)
    store.set("session:9", 7, ttl=60)  # a shorter life for this entry only
    print(f"store.get('user:123') -> {store.get('user:123')}")
    store["user:456"] = 43  # full: evicts the least recently used, session:9
    print(f"after a third insert: {list(store)}")
    clock.now = 3600.0
    print(f"an hour later: {dict(store.items())}")
    stats = store.stats()
    print(
        f"stats: hits={stats['hits']} misses={stats['misses']} evictions={stats['evictions']} "
        f"expirations={stats['expirations']} hit rate={stats['hit_rate']:.0%}"
    )


def _decorator() -> None:
    calls: list[int] = []
    gate = threading.Event()

    @cache(maxsize=256, ttl=3600)
    def expensive_computation(x: int) -> int:
        calls.append(x)
        gate.wait(1)
        return sum(range(x))

    barrier = threading.Barrier(8)
    results: list[int] = []

    def worker() -> None:
        barrier.wait()
        results.append(expensive_computation(10_000))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    print(
        f"\n8 threads asked for expensive_computation(10_000) at once: the function ran "
        f"{len(calls)} time(s), every thread got {results[0]}"
    )
    print(f"cache_stats() -> {expensive_computation.cache_stats()}")
    try:
        expensive_computation([1, 2])  # type: ignore[arg-type]
    except UnhashableArgumentError as e:
        print(f"unhashable argument -> {type(e).__name__} (also a TypeError), field={e.field!r}")
    expensive_computation.cache_clear()
    print(f"after cache_clear(): {expensive_computation.cache_info()}")


def _async() -> None:
    loads: list[int] = []

    @async_cache(maxsize=128)
    async def fetch_user(user_id: int) -> dict[str, int]:
        loads.append(user_id)
        await asyncio.sleep(0)
        return {"id": user_id}

    async def main() -> None:
        first, *rest = await asyncio.gather(*(fetch_user(7) for _ in range(5)))
        same = all(r is first for r in rest)
        print(
            f"\n5 concurrent awaits of fetch_user(7): {len(loads)} load(s), shared result: {same}"
        )
        print(f"cache_info() -> {fetch_user.cache_info()}")

    asyncio.run(main())


def show() -> None:
    """Show the cache mapping, the sync decorator's single flight and async caching."""
    _mapping()
    _decorator()
    _async()
