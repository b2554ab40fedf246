"""MemoryStore: exact under real threads and tasks, bounded, idle keys dropped."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmp_errors import RateLimitError, ValidationError
from pmp_ratelimit import AsyncRateLimiter, MemoryStore, Rate, RateLimiter
from pmp_ratelimit._gcra import Policy


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


def test_idle_keys_are_dropped_as_new_keys_come(clock):
    """Each new key drops up to two idle ones, the longest kept first; busy keys stay."""
    store = MemoryStore(clock=clock)
    limiter = RateLimiter("10/second", store=store)
    for i in range(1024):
        limiter.acquire(f"old{i}")
    assert len(store) == 1024
    clock.advance(1)  # every old key is idle now
    for i in range(100):
        limiter.acquire(f"new{i}")
    assert len(store) == 1024 - 200 + 100
    for i in range(100, 512):
        limiter.acquire(f"new{i}")
    assert len(store) == 512  # every old key dropped, no new one (they are busy)
    for _ in range(9):  # its first request was above: nine more fill its burst of ten
        limiter.acquire("new0")
    with pytest.raises(RateLimitError):
        limiter.acquire("new0")  # its state was kept throughout


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


@pytest.mark.parametrize("reading", [1.5e12, "soon", None, True])
def test_a_clock_that_stops_returning_ints_is_refused_and_corrupts_nothing(reading):
    """A reading that is not integer ns raises ValidationError; every key's state stays good."""
    now = [10**12]
    store = MemoryStore(clock=lambda: now[0])
    limiter = RateLimiter("2/second", "5/minute", store=store)
    single = RateLimiter("2/second", store=store)
    limiter.acquire("k")
    single.acquire("k")
    now[0] = reading
    for call in (limiter.acquire, single.acquire, limiter.try_acquire):
        with pytest.raises(ValidationError, match="clock") as info:
            call("k")
        assert info.value.context["field"] == "clock"
    now[0] = 10**12 + 10**9
    limiter.acquire("k")
    single.acquire("k")
    assert limiter.try_acquire("k").remaining == 0
    assert single.try_acquire("k").remaining == 0


def test_a_clock_returning_an_int_subclass_counts_as_its_value(clock):
    """A reading of an int subclass is taken as a plain int; the stdlib clocks go unwrapped."""

    class Tick(int):
        pass

    store = MemoryStore(clock=lambda: Tick(clock()))
    limiter = RateLimiter("1/second", store=store)
    limiter.acquire("k")
    assert not limiter.try_acquire("k").allowed
    assert all(type(s) is int for _, table, _ in store._tables.values() for s in table.values())
    assert MemoryStore()._now is time.monotonic_ns


def test_a_full_table_stays_bounded_and_drops_the_oldest_busy_keys(clock):
    """Inserting far past max_keys busy keys keeps the table at most max_keys."""
    store = MemoryStore(max_keys=64, clock=clock)
    limiter = RateLimiter("1/hour", store=store)
    for i in range(1000):
        limiter.acquire(f"k{i}")
        clock.advance(0.001)
        assert len(store) <= 64
    with pytest.raises(RateLimitError):
        limiter.acquire("k999")  # the newest keys are kept
    limiter.acquire("k0")  # the oldest were dropped and start fresh


def test_no_insert_looks_at_more_than_a_few_keys(clock, monkeypatch):
    """A new key, even into a full table, reads a bounded number of states: no pause."""
    store = MemoryStore(max_keys=10_000, clock=clock)
    limiter = RateLimiter("1/hour", store=store)
    reads = 0
    idle, latest = Policy.idle, Policy.latest

    def counted_idle(self: Policy, packed: Any, now: int) -> bool:
        nonlocal reads
        reads += 1
        return idle(self, packed, now)

    def counted_latest(self: Policy, packed: Any) -> int:
        nonlocal reads
        reads += 1
        return latest(self, packed)

    monkeypatch.setattr(Policy, "idle", counted_idle)
    monkeypatch.setattr(Policy, "latest", counted_latest)
    most = 0
    for i in range(25_000):  # all busy: past max_keys, every insert must free a slot
        reads = 0
        limiter.acquire(f"k{i}")
        most = max(most, reads)
        clock.advance(0.000001)
    assert len(store) == 10_000
    assert most <= 2 + 16  # the hand's 2 keys, then a window of 16


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


@settings(max_examples=150, deadline=None)
@given(
    max_keys=st.integers(1, 8),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("acquire"), st.integers(0, 1), st.integers(0, 12)),
            st.tuples(st.just("advance"), st.sampled_from([0.01, 0.3, 2.0])),
            st.tuples(st.just("clear")),
        ),
        max_size=80,
    ),
)
def test_the_hand_keeps_the_table_bounded_and_its_queue_exact(max_keys, steps):
    """Whatever comes, the store holds at most max_keys keys, each queued once for the hand."""
    now = [1_000_000_000_000]
    store = MemoryStore(max_keys=max_keys, clock=lambda: now[0])
    limiters = [
        RateLimiter("3/second", store=store),
        RateLimiter("2/second", "5/minute", store=store),
    ]
    for step in steps:
        if step[0] == "acquire":
            limiters[step[1]].try_acquire(f"k{step[2]}")
        elif step[0] == "advance":
            now[0] += round(step[1] * 1_000_000_000)
        else:
            store.clear()
        tables = list(store._tables.values())
        assert len(store) == sum(len(table) for _, table, _ in tables) <= max_keys
        for _, table, order in tables:
            assert sorted(order) == sorted(table)  # every kept key queued once, no other
