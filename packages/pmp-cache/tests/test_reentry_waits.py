"""Callers that only look like re-entry wait for the computation instead of failing.

A context copied *before* a computation started (by ``asyncio.to_thread``, a task,
``contextvars.copy_context()``) holds the same values as one copied while it runs;
only the copy made while it runs belongs to it. These tests keep any cheaper
re-entry tracking from raising ``ReentrantCallError`` at callers of the first kind.
"""

import asyncio
import contextvars
import threading
import time
from typing import Any

import pytest

from pmp_cache import cache


def _core(f: Any) -> Any:
    return f.cache_stats.__self__


def _until_waited_for(f: Any, key: object, waiter: threading.Thread | None = None) -> None:
    """Spin until a caller waits for ``key``'s flight (or ``waiter`` ended, or 5 s passed)."""
    flights = _core(f).flights
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (waiter is None or waiter.is_alive()):
        flight = flights.get(key)
        if flight is not None and flight[1] is not None:
            return
        time.sleep(0.001)


@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
def test_a_thread_with_the_owners_own_context_copied_before_waits_for_it(options: Any):
    """The computing thread's context, copied before it computes, is not the computation's."""
    got: list[object] = []
    started = threading.Event()

    @cache(**options)
    def slow(x: int) -> int:
        if x == 1:
            started.set()
            _until_waited_for(slow, 1, waiter)
        return x

    assert slow(0) == 0  # a computation in this context before the copy

    def late() -> None:
        started.wait(5)
        try:
            got.append(slow(1))
        except BaseException as exc:
            got.append(exc)

    waiter = threading.Thread(target=contextvars.copy_context().run, args=(late,))
    waiter.start()
    assert slow(1) == 1
    waiter.join(5)
    assert got == [1]
    assert slow.cache_info().misses == 2


def test_to_thread_callers_on_one_loop_share_a_computation():
    """Two tasks calling a sync cached function through asyncio.to_thread: one computation."""
    started, release = threading.Event(), threading.Event()
    calls = 0

    @cache
    def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        if x == 1:
            started.set()
            release.wait(5)
        return x

    async def main() -> list[int]:
        assert slow(0) == 0  # the loop thread's context has computed before the copies
        first = asyncio.create_task(asyncio.to_thread(slow, 1))
        await asyncio.to_thread(started.wait, 5)
        second = asyncio.create_task(asyncio.to_thread(slow, 1))
        await asyncio.to_thread(_until_waited_for, slow, 1)
        release.set()
        return list(await asyncio.gather(first, second))

    assert asyncio.run(main()) == [1, 1]
    assert calls == 2
    assert (slow.cache_info().hits, slow.cache_info().misses) == (1, 2)


def test_a_worker_started_before_the_loop_thread_computes_waits_for_it():
    """A to_thread worker started before the loop thread computes a key waits for its value."""
    started = threading.Event()

    @cache
    def slow(x: int) -> int:
        if x == 1:
            started.set()
            _until_waited_for(slow, 1)
        return x

    def late() -> int:
        started.wait(5)
        return slow(1)

    async def main() -> tuple[int, int]:
        assert slow(0) == 0
        worker = asyncio.create_task(asyncio.to_thread(late))
        await asyncio.sleep(0.01)  # the worker runs, with a copy of this task's context
        return slow(1), await worker  # computed here, on the loop thread, while it waits

    assert asyncio.run(main()) == (1, 1)


def test_sync_cached_calls_from_tasks_on_one_loop_thread():
    """Tasks interleaving nested sync cached calls on one thread never see each other's."""

    @cache(maxsize=None)
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    async def task(n: int) -> int:
        total = 0
        for k in range(n, n + 30):
            total += fib(k)
            await asyncio.sleep(0)
        return total

    async def main() -> list[int]:
        return list(await asyncio.gather(*(task(n) for n in range(10))))

    expected = [sum(fib(k) for k in range(n, n + 30)) for n in range(10)]
    fib.cache_clear()
    assert asyncio.run(main()) == expected
