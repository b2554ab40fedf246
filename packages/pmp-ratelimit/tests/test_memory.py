"""MemoryStore: exact under real threads and tasks, bounded, idle keys swept."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from pmp_errors import RateLimitError, ValidationError
from pmp_ratelimit import AsyncRateLimiter, MemoryStore, Rate, RateLimiter


def test_eight_threads_on_one_key_allow_exactly_the_limit(clock):
    """8 real threads hammering one key get exactly ``limit`` requests through."""
    limiter = RateLimiter("1000/hour", store=MemoryStore(clock=clock))
    allowed = [0] * 8
    start = threading.Barrier(8)

    def hammer(index: int) -> None:
        start.wait()
        for _ in range(400):
            try:
                limiter.acquire("shared")
            except RateLimitError:
                pass
            else:
                allowed[index] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 1000


@pytest.mark.asyncio
async def test_five_hundred_tasks_on_one_key_allow_exactly_the_limit(clock):
    """500 tasks, each yielding between requests, get exactly ``limit`` through."""
    limiter = AsyncRateLimiter("300/minute", store=MemoryStore(clock=clock))

    async def one() -> int:
        passed = 0
        for _ in range(3):
            await asyncio.sleep(0)
            if (await limiter.try_acquire("shared")).allowed:
                passed += 1
        return passed

    assert sum(await asyncio.gather(*(one() for _ in range(500)))) == 300


def test_idle_keys_are_swept(clock):
    """Keys back to fresh are dropped when the table has grown past the sweep point."""
    store = MemoryStore(clock=clock)
    limiter = RateLimiter("10/second", store=store)
    for i in range(1024):
        limiter.acquire(f"old{i}")
    assert len(store) == 1024
    clock.advance(1)
    limiter.acquire("new")
    assert len(store) == 1


def test_busy_keys_stay_and_max_keys_bounds_the_table(clock):
    """At max_keys busy keys, the one closest to idle is dropped for a new one."""
    store = MemoryStore(max_keys=3, clock=clock)
    limiter = RateLimiter("1/minute", store=store)
    for key in ("a", "b", "c"):
        limiter.acquire(key)
        clock.advance(1)
    limiter.acquire("d")
    assert len(store) == 3
    limiter.acquire("a")  # "a" was dropped: it starts fresh
    with pytest.raises(RateLimitError):
        limiter.acquire("c")


def test_limiters_sharing_a_store_keep_apart(clock):
    """Two limiters with their own rates on one store do not mix their keys."""
    store = MemoryStore(clock=clock)
    fast = RateLimiter("2/second", store=store)
    slow = RateLimiter("1/minute", store=store)
    slow.acquire("k")
    fast.acquire("k")
    fast.acquire("k")
    assert len(store) == 2
    store.clear()
    assert len(store) == 0
    slow.acquire("k")


@pytest.mark.parametrize(("kwargs", "field"), [({"max_keys": 0}, "max_keys"),
                                               ({"max_keys": True}, "max_keys"),
                                               ({"clock": 5}, "clock")])  # fmt: skip
def test_bad_store_settings_are_refused(kwargs, field):
    """A non-positive max_keys or a clock that is not callable is refused."""
    with pytest.raises(ValidationError) as info:
        MemoryStore(**kwargs)
    assert info.value.context["field"] == field


def test_a_full_table_drops_a_batch_and_stays_bounded(clock):
    """Inserting far past max_keys busy keys keeps the table at most max_keys, cheaply."""
    store = MemoryStore(max_keys=64, clock=clock)
    limiter = RateLimiter("1/hour", store=store)
    sweeps = []
    sweep = store._sweep

    def counted(now: int) -> None:
        sweeps.append(now)
        sweep(now)

    store._sweep = counted  # type: ignore[method-assign]
    for i in range(1000):
        limiter.acquire(f"k{i}")
        clock.advance(0.001)
        assert len(store) <= 64
    with pytest.raises(RateLimitError):
        limiter.acquire("k999")  # the newest keys are kept
    limiter.acquire("k0")  # the oldest were dropped and start fresh
    assert len(sweeps) <= 1000 // 8 + 1  # a batch is dropped, not one key per insert


def test_limiters_with_the_same_rates_on_one_store_share_counts(clock):
    """A limiter made for each request on a shared store limits as one, as in Redis."""
    store = MemoryStore(clock=clock)
    RateLimiter("2/minute", store=store).acquire("k")
    RateLimiter("2/minute", store=store).acquire("k")
    with pytest.raises(RateLimitError):
        RateLimiter("2/minute", store=store).acquire("k")
    with pytest.raises(RateLimitError):
        RateLimiter(Rate(2, per=60), store=store).acquire("k")
    assert len(store) == 1


def test_making_limiters_while_another_thread_sweeps():
    """New limiters on a store never break a sweep running in another thread."""
    store = MemoryStore(max_keys=64)
    errors: list[BaseException] = []
    done = threading.Event()

    def insert() -> None:
        limiter = RateLimiter("1/hour", store=store)
        try:
            for i in range(20_000):
                limiter.acquire(f"k{i}")
        except BaseException as error:
            errors.append(error)
        finally:
            done.set()

    def make() -> None:
        count = 1
        while not done.is_set():
            RateLimiter(f"{count}/hour", store=store)
            count += 1

    threads = [threading.Thread(target=insert), threading.Thread(target=make)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []


@pytest.mark.parametrize("clock", [time.monotonic, lambda: 1.5, lambda: True, lambda: None])
def test_a_clock_not_in_integer_nanoseconds_is_refused(clock):
    """time.monotonic (float seconds) in place of time.monotonic_ns would limit nothing right."""
    with pytest.raises(ValidationError, match="monotonic_ns") as info:
        MemoryStore(clock=clock)
    assert info.value.context["field"] == "clock"
