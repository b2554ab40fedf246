import asyncio
import sys
from typing import Any

import pytest

from pmp_cache import (
    LRUCache,
    ReentrantCallError,
    UnhashableArgumentError,
    async_cache,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_seed_async_example_runs_as_written():
    """The seed's @async_cache example works and caches finished values."""

    async def fetch_user_data(user_id: int) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"id": user_id}

    @async_cache(maxsize=128)
    async def async_expensive_operation(user_id: int):
        return await fetch_user_data(user_id)

    first = await async_expensive_operation(1)
    assert await async_expensive_operation(1) is first
    assert async_expensive_operation.cache_info().hits == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "options", [{}, {"ttl": 60}, {"policy": "s3fifo"}, {"ttl": 60, "policy": "s3fifo"}]
)
async def test_stampede_of_tasks_runs_once(options):
    """8 concurrent tasks missing one key share one call and one result."""
    calls: list[int] = []
    gate = asyncio.Event()

    @async_cache(**options)
    async def slow(x: int) -> object:
        calls.append(x)
        await gate.wait()
        return object()

    tasks = [asyncio.ensure_future(slow(1)) for _ in range(8)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == [1]
    assert all(r is results[0] for r in results)
    assert await slow(1) is results[0]
    stats = slow.cache_stats()
    assert (stats["hits"], stats["misses"]) == (8, 1)  # 7 joined the computation, 1 came later


@pytest.mark.asyncio
async def test_values_are_stored_not_tasks():
    """The store holds the finished value; no task is kept after completion."""

    @async_cache
    async def f(x: int) -> int:
        return x * 2

    await f(2)
    core_store = f.cache_stats()
    assert core_store["currsize"] == 1
    # the function's store holds plain values
    store = f.cache_stats.__self__.store  # type: ignore[attr-defined]
    assert dict(store.items()) == {2: 4}


@pytest.mark.asyncio
async def test_cancelling_the_computing_caller_spares_the_others():
    """Cancelling the first caller leaves the work running for the other waiters."""
    calls: list[int] = []
    gate = asyncio.Event()

    @async_cache
    async def f(x: int) -> int:
        calls.append(x)
        await gate.wait()
        return x + 100

    first = asyncio.ensure_future(f(1))
    await asyncio.sleep(0)
    others = [asyncio.ensure_future(f(1)) for _ in range(2)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*others) == [101, 101]
    assert first.cancelled()
    assert calls == [1]
    assert f.cache_info().currsize == 1


@pytest.mark.asyncio
async def test_cancelling_every_caller_cancels_the_work():
    """When all waiters are cancelled the shared computation is cancelled too."""
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @async_cache
    async def f(x: int) -> int:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return x  # pragma: no cover - never reached

    tasks = [asyncio.ensure_future(f(1)) for _ in range(3)]
    await started.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.wait_for(cancelled.wait(), 5)
    assert f.cache_info().currsize == 0


@pytest.mark.asyncio
async def test_failure_reaches_all_waiters_and_is_not_cached():
    """Every waiter gets the exception; the next call computes again."""
    calls: list[int] = []
    gate = asyncio.Event()

    @async_cache
    async def f(x: int) -> int:
        calls.append(x)
        await gate.wait()
        if len(calls) == 1:
            raise ValueError("nope")
        return x

    tasks = [asyncio.ensure_future(f(1)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert await f(1) == 1
    assert calls == [1, 1]


@pytest.mark.asyncio
async def test_failure_with_no_one_left_waiting_is_retrieved():
    """A computation failing after its only waiter left logs no 'never retrieved' error."""
    gate = asyncio.Event()
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))

    @async_cache
    async def f(x: int) -> int:
        try:
            await gate.wait()
        finally:
            raise ValueError("late")

    task = asyncio.ensure_future(f(1))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for _ in range(5):
        await asyncio.sleep(0)
    assert errors == []


def test_works_across_event_loops():
    """One decorated function serves several asyncio.run() calls."""
    calls: list[int] = []

    @async_cache
    async def f(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0)
        return x

    assert asyncio.run(f(1)) == 1
    assert asyncio.run(f(1)) == 1
    assert asyncio.run(f(2)) == 2
    assert calls == [1, 2]


def test_flight_left_by_a_dead_loop_does_not_block_a_new_loop():
    """A computation abandoned by a closed loop is replaced in the next loop."""
    calls: list[int] = []

    @async_cache
    async def f(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0)
        return x

    loop = asyncio.new_event_loop()
    try:
        coro = f(1)
        loop.run_until_complete(asyncio.wait([loop.create_task(coro)], timeout=0))
    finally:
        loop.close()
    assert asyncio.run(f(1)) == 1


@pytest.mark.asyncio
async def test_reentrant_await_raises_and_recursion_on_other_keys_works():
    """Awaiting itself with the same key raises; recursion on other keys works."""

    @async_cache
    async def loop(n: int) -> int:
        return await loop(n)

    with pytest.raises(ReentrantCallError):
        await loop(1)

    @async_cache(maxsize=None)
    async def fib(n: int) -> int:
        return n if n < 2 else await fib(n - 1) + await fib(n - 2)

    assert await fib(120) == 5358359254990966640871840


@pytest.mark.asyncio
async def test_clear_during_flight_wins():
    """A value finished after cache_clear() is returned but not stored."""
    gate = asyncio.Event()

    @async_cache
    async def f(x: int) -> int:
        await gate.wait()
        return x

    task = asyncio.ensure_future(f(1))
    await asyncio.sleep(0)
    f.cache_clear()
    gate.set()
    assert await task == 1
    assert f.cache_info().currsize == 0


@pytest.mark.asyncio
async def test_invalidate_during_flight_wins():
    """A value finished after cache_invalidate() of its key is returned but not stored."""
    gate = asyncio.Event()

    @async_cache
    async def f(x: int) -> int:
        await gate.wait()
        return x

    task = asyncio.ensure_future(f(1))
    await asyncio.sleep(0)
    assert f.cache_invalidate(1) is False
    gate.set()
    assert await task == 1
    assert f.cache_info().currsize == 0


@pytest.mark.asyncio
async def test_async_ttl_with_injected_timer():
    """async_cache(ttl=, timer=) expires entries at the deadline."""
    clock = Clock()
    calls: list[int] = []

    @async_cache(ttl=5, timer=clock)
    async def f(x: int) -> int:
        calls.append(x)
        return x

    await f(1)
    await f(1)
    clock.now = 5
    await f(1)
    assert calls == [1, 1]
    assert f.cache_stats()["expirations"] == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}, {"backend": LRUCache(), "namespace": "f"}])
async def test_unhashable_argument_in_async(options):
    """Unhashable arguments raise before anything runs."""
    calls: list[object] = []

    @async_cache(**options)
    async def f(x: object) -> int:
        calls.append(x)
        return 1

    with pytest.raises(UnhashableArgumentError) as info:
        await f({})
    assert info.value.field == "x"
    assert calls == []


@pytest.mark.asyncio
async def test_type_error_not_from_arguments_passes_through_async():
    """A TypeError from a key= function is re-raised unchanged."""

    def bad_key(x: int) -> int:
        raise TypeError("bad key")

    @async_cache(key=bad_key)
    async def f(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="bad key"):
        await f(1)

    @async_cache(key=bad_key, backend=LRUCache(), namespace="g")
    async def g(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="bad key"):
        await g(1)


@pytest.mark.asyncio
async def test_tuple_argument_and_keywords_in_async():
    """A tuple argument and keyword calls get their own entries."""
    calls: list[object] = []

    @async_cache
    async def f(*args: object, **kwargs: object) -> int:
        calls.append(args)
        return len(args)

    assert await f((1, 2)) == 1
    assert await f(1, 2) == 2
    assert await f(x=1) == 0
    assert await f((1, 2)) == 1
    assert len(calls) == 3


@pytest.mark.asyncio
async def test_async_backend_and_methods():
    """backend= works for async functions; async methods get per-instance caches."""
    shared: LRUCache[Any, Any] = LRUCache()

    @async_cache(backend=shared, namespace="f")
    async def f(x: int) -> int:
        return x + 1

    assert await f(1) == 2
    assert await f(1) == 2
    assert f.cache_stats()["hits"] == 1

    class Repo:
        def __init__(self) -> None:
            self.loads = 0

        @async_cache
        async def load(self, key: str) -> str:
            self.loads += 1
            return key.upper()

    a, b = Repo(), Repo()
    assert await a.load("k") == "K"
    assert await a.load("k") == "K"
    assert await b.load("k") == "K"
    assert (a.loads, b.loads) == (1, 1)


@pytest.mark.asyncio
async def test_bare_async_cache_on_a_function():
    """@async_cache without parentheses uses the defaults."""

    @async_cache
    async def f() -> str:
        return sys.version

    assert await f() == sys.version
    assert f.cache_info().maxsize == 128


@pytest.mark.asyncio
async def test_type_error_from_comparing_keys_passes_through_async():
    """A TypeError raised by a key's __eq__ is re-raised unchanged."""

    class Odd:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            raise TypeError("no comparing")

    @async_cache
    async def f(x: object) -> int:
        return 0

    await f(Odd())
    with pytest.raises(TypeError, match="no comparing"):
        await f(Odd())


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
async def test_star_args_async_wrappers_hit_and_expire(options):
    """Generic (*args) async wrappers count hits and expire entries."""
    clock = Clock()
    calls: list[tuple[object, ...]] = []

    @async_cache(timer=clock, **options)
    async def f(*args: object) -> int:
        calls.append(args)
        return len(args)

    assert await f(1, 2) == 2
    assert await f(1, 2) == 2
    clock.now = 10
    assert await f(1, 2) == 2
    assert len(calls) == (2 if options else 1)
    assert f.cache_stats()["hits"] == (1 if options else 2)


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}, {"backend": "lru"}])
async def test_acache_clear_and_invalidate_with_every_store(options):
    """acache_clear() and acache_invalidate() work for in-memory stores and sync backends."""
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "f"}
    calls: list[int] = []

    @async_cache(**options)
    async def f(x: int, y: int = 0) -> int:
        calls.append(x)
        return x + y

    await f(1)
    await f(2)
    assert await f.acache_invalidate(1, y=0) is True
    assert await f.acache_invalidate(1) is False
    await f(1)
    await f(2)
    assert calls == [1, 2, 1]
    await f.acache_clear()
    await f(2)
    assert calls == [1, 2, 1, 2]


@pytest.mark.asyncio
async def test_acache_controls_on_async_methods():
    """Async cached methods offer the coroutine controls too, per instance or for all."""

    class Repo:
        def __init__(self) -> None:
            self.loads = 0

        @async_cache
        async def load(self, key: str) -> str:
            self.loads += 1
            return key

    repo = Repo()
    await repo.load("k")
    assert await Repo.load.acache_invalidate(repo, "k") is True
    await repo.load("k")
    await Repo.load.acache_clear()
    await repo.load("k")
    assert repo.loads == 3
    assert await repo.load.acache_invalidate("k") is True
