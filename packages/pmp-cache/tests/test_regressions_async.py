"""Regression tests for async_cache under cancellation, child tasks and shared counters."""

import asyncio
import contextlib
from typing import Any

import pytest

from pmp_cache import ReentrantCallError, async_cache


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
async def test_a_caller_after_the_last_waiter_was_cancelled_starts_afresh(options: Any):
    """A call arriving while a cancelled flight winds down computes anew, not CancelledError."""
    calls = 0
    started = asyncio.Event()

    @async_cache(**options)
    async def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        started.set()
        if calls == 1:
            await asyncio.sleep(10)
        return x

    first = asyncio.create_task(slow(1))
    await started.wait()
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    # The shared task is cancelled but its done-callback has not run yet.
    assert await slow(1) == 1
    assert calls == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("spawn", ["gather", "create_task"])
@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
async def test_reentry_through_a_child_task_raises(spawn: str, options: Any):
    """A computation awaiting a child task that calls it with the same key fails, not hangs."""

    @async_cache(**options)
    async def f(x: int) -> int:
        if spawn == "gather":
            await asyncio.gather(f(x))
        else:
            await asyncio.create_task(f(x))
        return x

    with pytest.raises(ReentrantCallError):
        await asyncio.wait_for(f(1), 5)


class _ATemp:
    def __init__(self, n: int) -> None:
        self.n = n

    @async_cache
    async def plain(self, x: int) -> int:
        return self.n + x

    @async_cache(ttl=5)
    async def star(self, *args: int) -> int:
        return self.n + sum(args)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["plain", "star"])
async def test_async_cached_methods_work_on_temporary_objects(name: str):
    """Await A().m(1) and m = A().m; await m(1) work."""
    import gc

    assert await getattr(_ATemp(1), name)(2) == 3
    m = getattr(_ATemp(2), name)
    gc.collect()
    assert await m(2) == 4
    assert await m(2) == 4


def test_an_async_cached_method_read_from_the_class_is_a_coroutine_function():
    """inspect.iscoroutinefunction is True for the method on the class and on an instance."""
    import inspect

    assert inspect.iscoroutinefunction(_ATemp.plain)
    assert inspect.iscoroutinefunction(_ATemp.star)
    assert inspect.iscoroutinefunction(_ATemp(1).plain)


class _AKinds:
    @async_cache
    @classmethod
    async def make(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"


@pytest.mark.asyncio
async def test_async_cache_above_classmethod():
    """@async_cache above @classmethod works and stays a coroutine function."""
    import inspect

    kinds: Any = _AKinds  # mypy types a function under @classmethod as the plain function
    assert await kinds.make(1) == "_AKinds:1"
    assert kinds.make.cache_info().misses == 1
    assert inspect.iscoroutinefunction(kinds.make)


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
@pytest.mark.parametrize("star", [False, True])
async def test_callers_joining_one_computation_count_as_hits(options: Any, star: bool):
    """100 concurrent calls of one key: one miss (the computation) and 99 hits."""
    calls: list[int] = []

    async def body(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.01)
        return x

    if star:

        async def f(*args: int) -> int:
            return await body(*args)
    else:

        async def f(x: int) -> int:  # type: ignore[misc]
            return await body(x)

    cached = async_cache(**options)(f)
    results = await asyncio.gather(*(cached(1) for _ in range(100)))
    assert set(results) == {1}
    assert calls == [1]
    info = cached.cache_info()
    assert (info.hits, info.misses) == (99, 1)


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
async def test_reentry_through_another_event_loop_in_a_thread_raises(options: Any):
    """A call from asyncio.run in asyncio.to_thread, inside the computation, is re-entry."""
    depth = 0

    @async_cache(**options)
    async def nested(x: int) -> object:
        nonlocal depth
        depth += 1
        if depth > 2:  # without the check it would recurse until the threads run out
            return "runaway"
        return await asyncio.to_thread(asyncio.run, nested(x))

    with pytest.raises(ReentrantCallError):
        await nested(1)
    assert depth == 1
