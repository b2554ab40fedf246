"""GCRA against a reference model: a leaky bucket per rate, exact in integer ticks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmp_errors import RateLimitError
from pmp_ratelimit import AsyncRateLimiter, MemoryStore, Rate, RateLimiter
from pmp_ratelimit._gcra import Policy, State, admit, decide

TPS = 1_000  # a coarse clock keeps the interesting boundaries reachable


@dataclass
class Bucket:
    """A leaky bucket: fills by T*cost per request, drains one per tick, holds at most W."""

    interval: int
    capacity: int
    level: int = 0
    at: int = 0

    def level_at(self, now: int) -> int:
        return max(0, self.level - (now - self.at))


@dataclass
class Model:
    """The reference: a request passes when every bucket has room for it."""

    buckets: list[Bucket]
    log: list[bool] = field(default_factory=list)

    def request(self, now: int, cost: int) -> bool:
        fits = all(b.level_at(now) + b.interval * cost <= b.capacity for b in self.buckets)
        if fits:
            for b in self.buckets:
                b.level, b.at = b.level_at(now) + b.interval * cost, now
        return fits

    def wait(self, now: int, cost: int) -> int:
        """Ticks until a request of *cost* would fit (0 when it fits now)."""
        return max(0, *(b.level_at(now) + b.interval * cost - b.capacity for b in self.buckets))

    def room(self, now: int) -> int:
        return min((b.capacity - b.level_at(now)) // b.interval for b in self.buckets)

    def drained(self, now: int) -> int:
        """Ticks until every bucket is empty again (a full burst is back)."""
        return max(b.level_at(now) for b in self.buckets)

    def tightest(self, now: int) -> int:
        """The index of the first bucket with the least room."""
        rooms = [(b.capacity - b.level_at(now)) // b.interval for b in self.buckets]
        return rooms.index(min(rooms))


rates = st.lists(
    st.builds(Rate, st.integers(1, 6), st.sampled_from([0.01, 0.04, 0.1, 0.3, 1.0])),
    min_size=1,
    max_size=3,
)
steps = st.lists(st.tuples(st.integers(0, 120), st.integers(1, 3)), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(rates=rates, steps=steps)
def test_decisions_match_the_leaky_bucket_model(rates, steps):
    """Every allow/refuse, remaining and retry_after equals the reference model's, tick-exact."""
    policy = Policy(tuple(rates), TPS)
    model = Model([Bucket(t, w) for t, w in zip(policy.intervals, policy.windows, strict=True)])
    state: State | None = None
    now = 0
    for gap, wanted in steps:
        now += gap
        cost = min(wanted, *policy.limits)
        kept, decision = decide(policy, state, now, cost)
        assert decision.allowed == model.request(now, cost)
        assert (admit(policy, state, now, cost) is not None) == decision.allowed
        assert decision.remaining == max(model.room(now), 0)
        assert decision.reset * TPS == pytest.approx(model.drained(now), abs=1e-6)
        if decision.allowed:
            state = kept
            assert decision.retry_after == 0.0
            assert decision.limit == policy.limits[model.tightest(now)]
        else:
            ticks = round(decision.retry_after * TPS)
            assert ticks > 0
            assert admit(policy, state, now + ticks - 1, cost) is None
            assert admit(policy, state, now + ticks, cost) is not None


@given(limit=st.integers(1, 50), per=st.integers(1, 100))
def test_a_fresh_key_allows_exactly_a_burst_of_limit(limit, per):
    """At one instant exactly ``limit`` requests pass, the next waits one interval."""
    policy = Policy((Rate(limit, per=per),), TPS)
    state = None
    for _ in range(limit):
        state = admit(policy, state, 0, 1)
        assert state is not None
    kept, decision = decide(policy, state, 0, 1)
    assert not decision.allowed
    assert kept == state
    assert round(decision.retry_after * TPS) == policy.intervals[0]
    assert decision.limit == limit


def test_the_binding_rate_is_the_one_that_refuses():
    """With 2/second and 3/minute the minute rate refuses the fourth request, and says so."""
    policy = Policy((Rate(2, per=1), Rate(3, per=60)), TPS)
    state = None
    now = 0
    for _ in range(3):
        state = admit(policy, state, now, 1)
        now += 1_000
    _, decision = decide(policy, state, now, 1)
    assert not decision.allowed
    assert decision.limit == 3
    assert decision.retry_after == 17.0  # the first request frees its place at 20 s


def test_idle_state_is_fresh():
    """A key whose arrival times have all passed is idle."""
    policy = Policy((Rate(2, per=1),), TPS)
    state = admit(policy, None, 0, 1)
    assert state is not None
    assert not policy.idle(state, 0)
    assert policy.idle(state, 500)


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


keyed_steps = st.lists(  # gaps in quarters of the shortest interval, give or take one tick
    st.tuples(
        st.integers(0, 8), st.integers(-1, 1), st.sampled_from(["a", "b", "c"]), st.integers(1, 3)
    ),
    min_size=1,
    max_size=40,
)


def expected_decisions(policy: Policy, steps) -> list[tuple[int, str, int, int]]:
    """The model's wait (0: allowed) for each (time, key, cost) of *steps*."""
    models: dict[str, Model] = {}
    now, out = 0, []
    quarter = min(policy.intervals) // 4
    for gap, jitter, key, wanted in steps:
        now += gap * quarter + (jitter if gap else 0)
        cost = min(wanted, *policy.limits)
        buckets = [Bucket(t, w) for t, w in zip(policy.intervals, policy.windows, strict=True)]
        model = models.setdefault(key, Model(buckets))
        wait = model.wait(now, cost)
        assert model.request(now, cost) == (wait == 0)
        out.append((now, key, cost, wait))
    return out


@settings(max_examples=100, deadline=None)
@given(rates=rates, steps=keyed_steps)
def test_limiters_decide_as_the_model_through_every_path(rates, steps):
    """The inlined acquire, try_acquire and the async twin wait as the model says, to the ns."""
    expected = expected_decisions(Policy(tuple(rates), MemoryStore.ticks_per_second), steps)
    clock = Clock()
    limiter = RateLimiter(*rates, store=MemoryStore(clock=clock))
    ns = MemoryStore.ticks_per_second
    for index, (now, key, cost, wait) in enumerate(expected):
        clock.now = now
        if index % 2:
            assert round(limiter.try_acquire(key, cost).retry_after * ns) == wait
        else:
            try:
                limiter.acquire(key, cost)
            except RateLimitError as exc:
                assert round((exc.retry_after or 0) * ns) == wait > 0
            else:
                assert wait == 0

    async def replay() -> None:
        twin_clock = Clock()
        twin = AsyncRateLimiter(*rates, store=MemoryStore(clock=twin_clock))
        for now, key, cost, wait in expected:
            twin_clock.now = now
            assert round((await twin.try_acquire(key, cost)).retry_after * ns) == wait

    asyncio.run(replay())
