"""RateLimiter and AsyncRateLimiter over a MemoryStore with a fake clock."""

from __future__ import annotations

import asyncio
import math

import pytest

from pmp_errors import ConfigurationError, RateLimitError, ValidationError
from pmp_ratelimit import AsyncRateLimiter, Decision, MemoryStore, RateLimiter


@pytest.fixture
def limiter(clock):
    """2 per second, on the fake clock, sleeping on it."""
    return RateLimiter("2/second", store=MemoryStore(clock=clock), sleep=clock.sleep)


@pytest.fixture
def alimiter(clock):
    """The async twin of ``limiter``."""
    return AsyncRateLimiter("2/second", store=MemoryStore(clock=clock), sleep=clock.async_sleep)


def test_acquire_raises_rate_limit_error_with_retry_after_and_limit(limiter, clock):
    """Over the limit, acquire raises RateLimitError saying when to retry and which limit."""
    limiter.acquire("alice")
    limiter.acquire("alice")
    with pytest.raises(RateLimitError, match="rate limit of 2 exceeded for key 'alice'") as info:
        limiter.acquire("alice")
    assert info.value.retry_after == 0.5
    assert info.value.limit == 2
    assert info.value.context["key"] == "alice"
    assert info.value.to_problem()["status"] == 429
    clock.advance(0.5)
    limiter.acquire("alice")


@pytest.mark.parametrize(
    "args",
    [(), (1,), (1, 0.0), (1, -0.0), (1, 0), (1, float("0"))],
    ids=["omitted", "cost", "cost-wait", "negative-zero", "int-wait", "other-zero"],
)
def test_defaults_given_explicitly_count_the_same(limiter, clock, args):
    """Whatever form a cost of 1 and no wait take, a known key counts once per call."""
    limiter.acquire("k")  # the key is known: the next calls take the inlined path if any
    limiter.acquire("k", *args)
    with pytest.raises(RateLimitError):
        limiter.acquire("k", *args)
    assert clock.slept == []
    clock.advance(0.5)
    assert limiter.try_acquire("k").remaining == 0


def test_keys_are_independent(limiter):
    """One key's use leaves another's burst whole."""
    limiter.acquire("alice")
    limiter.acquire("alice")
    assert limiter.try_acquire("bob").remaining == 1


def test_try_acquire_returns_a_decision(limiter, clock):
    """try_acquire never raises for a refusal and counts only allowed requests."""
    first = limiter.try_acquire("k")
    assert first == Decision(allowed=True, remaining=1, retry_after=0.0, reset=0.5, limit=2)
    assert limiter.try_acquire("k", 1)
    refused = limiter.try_acquire("k")
    assert not refused
    assert refused == Decision(allowed=False, remaining=0, retry_after=0.5, reset=1.0, limit=2)
    clock.advance(0.25)
    assert limiter.try_acquire("k").retry_after == 0.25


def test_cost_takes_several_places(limiter):
    """A request of cost 2 takes the whole burst of 2."""
    assert limiter.try_acquire("k", 2).remaining == 0
    with pytest.raises(RateLimitError):
        limiter.acquire("k")


def test_wait_sleeps_for_the_turn_within_the_budget(limiter, clock):
    """With wait=, acquire sleeps exactly retry_after and then passes."""
    limiter.acquire("k", 2)
    limiter.acquire("k", wait=0.5)
    assert clock.slept == [0.5]
    with pytest.raises(RateLimitError) as info:
        limiter.acquire("k", wait=0.4)
    assert info.value.retry_after == 0.5
    assert clock.slept == [0.5]


class _Subclass(RateLimiter):
    """Overrides acquire, so that the general path (not the inlined one) runs."""

    def acquire(self, key: str, cost: int = 1, wait: float = 0.0) -> None:
        super().acquire(key, cost, wait)


@pytest.mark.parametrize("kind", [RateLimiter, _Subclass])
def test_wait_may_be_given_by_position_on_every_path(kind, clock):
    """acquire(key, cost, wait) is acquire(key, cost, wait=wait), inlined or not."""
    limiter = kind("2/second", store=MemoryStore(clock=clock), sleep=clock.sleep)
    limiter.acquire("k", 2)
    limiter.acquire("k", 1, 0.5)
    assert clock.slept == [0.5]
    with pytest.raises(RateLimitError):
        limiter.acquire("k", 1, 0.4)
    with pytest.raises(ValidationError, match="wait must be"):
        limiter.acquire("k", 1, -1.0)


@pytest.mark.asyncio
async def test_async_wait_may_be_given_by_position(alimiter, clock):
    """The async acquire takes wait by position too."""
    await alimiter.acquire("k", 2)
    await alimiter.acquire("k", 1, 0.5)
    assert clock.slept == [0.5]


@pytest.mark.asyncio
async def test_async_acquire_raises_and_waits(alimiter, clock):
    """The async limiter decides the same and waits without blocking."""
    await alimiter.acquire("k")
    await alimiter.acquire("k")
    with pytest.raises(RateLimitError) as info:
        await alimiter.acquire("k")
    assert info.value.retry_after == 0.5
    await alimiter.acquire("k", wait=1)
    assert clock.slept == [0.5]
    decision = await alimiter.try_acquire("k")
    assert not decision.allowed
    assert decision.retry_after == 0.5


@pytest.mark.parametrize("key", [1, None, b"alice", ("a",), ["a"], {}])
def test_non_string_keys_are_refused(limiter, key):
    """A key that is not a str raises ValidationError naming the key."""
    with pytest.raises(ValidationError, match="rate-limit key must be a str") as info:
        limiter.acquire(key)
    assert info.value.context["field"] == "key"
    with pytest.raises(ValidationError):
        limiter.try_acquire(key)
    limiter.acquire("a")  # now a str key with state: other keys still refused
    with pytest.raises(ValidationError, match="rate-limit key must be a str"):
        limiter.acquire(key)


@pytest.mark.asyncio
async def test_async_non_string_keys_are_refused(alimiter):
    """The async limiter refuses non-string keys too."""
    with pytest.raises(ValidationError, match="must be a str"):
        await alimiter.acquire(3)
    with pytest.raises(ValidationError, match="must be a str"):
        await alimiter.try_acquire(3)


@pytest.mark.parametrize(
    ("cost", "wait", "message"),
    [(0, 0, "cost must be a positive int"), (1.0, 0, "cost must be a positive int"),
     (True, 0, "cost must be a positive int"), (3, 0, "cost 3 exceeds the limit 2"),
     (1, -1, "wait must be a finite number"), (1, math.nan, "wait must be a finite number"),
     (1, math.inf, "wait must be a finite"), (1, "1", "wait must be a finite number"),
     pytest.param(1, 10**400, "wait must be a finite number", id="wait-beyond-a-float")],
)  # fmt: skip
def test_bad_cost_and_wait_are_refused(limiter, cost, wait, message):
    """A cost that is not a positive int (or above a limit) and a bad wait are refused."""
    with pytest.raises(ValidationError, match=message):
        limiter.acquire("k", cost, wait=wait)
    with pytest.raises(ValidationError, match=message):
        limiter.check_request("k", cost, wait=wait)


def test_a_str_subclass_is_a_key(limiter):
    """A subclass of str is accepted as a key."""

    class Name(str):
        __slots__ = ()

    limiter.acquire(Name("alice"))
    assert limiter.try_acquire("alice").remaining == 0


@pytest.mark.asyncio
async def test_a_str_subclass_key_counts_as_its_text_whatever_its_hash(limiter, alimiter):
    """A str subclass that is unhashable or hashes otherwise is limited as its text, as in Redis."""

    class Unhashable(str):
        __slots__ = ()
        __hash__ = None  # type: ignore[assignment]

    class OwnHash(str):
        __slots__ = ()

        def __hash__(self) -> int:
            return 7

    limiter.acquire(Unhashable("alice"))
    assert limiter.try_acquire(OwnHash("alice")).remaining == 0
    with pytest.raises(RateLimitError):
        limiter.acquire("alice")
    assert limiter.try_acquire(Unhashable("bob")).remaining == 1
    await alimiter.acquire(OwnHash("carol"))
    assert (await alimiter.try_acquire(Unhashable("carol"))).remaining == 0


def test_default_store_and_real_clock():
    """Without a store the limiter keeps its own MemoryStore on the monotonic clock."""
    limiter = RateLimiter("1/hour")
    assert isinstance(limiter.store, MemoryStore)
    limiter.acquire("k")
    with pytest.raises(RateLimitError) as info:
        limiter.acquire("k")
    assert 3599 < (info.value.retry_after or 0) <= 3600
    assert asyncio.run(AsyncRateLimiter("1/hour").try_acquire("k")).allowed


def test_a_subclass_overriding_acquire_is_called(clock):
    """The inlined common call never hides a subclass's own acquire."""
    calls = []

    class Logged(RateLimiter):
        def acquire(self, key: str, cost: int = 1, wait: float = 0.0) -> None:
            calls.append(key)
            super().acquire(key, cost, wait=wait)

    limiter = Logged("1/minute", store=MemoryStore(clock=clock))
    limiter.acquire("alice")
    with pytest.raises(RateLimitError):
        limiter.acquire("alice")
    assert calls == ["alice", "alice"]


@pytest.mark.parametrize("store", ["redis://127.0.0.1:6379/0", object(), MemoryStore])
def test_a_store_that_is_not_a_store_is_refused(store):
    """A URL or any other object as the store gets a clear error, from both limiters."""
    for kind in (RateLimiter, AsyncRateLimiter):
        with pytest.raises(ConfigurationError, match="RedisStore") as info:
            kind("1/second", store=store)
        assert info.value.config_key == "store"


@pytest.mark.asyncio
@pytest.mark.parametrize("wait", [None, "", [], False])
async def test_a_wait_that_is_not_seconds_is_refused_allowed_or_not(limiter, alimiter, wait):
    """wait=None and other falsy non-numbers get the same ValidationError on every path."""
    for _ in range(3):  # a new key, a known key (the inlined path), then a refusal
        with pytest.raises(ValidationError, match="wait must be a finite number"):
            limiter.acquire("k", wait=wait)
        with pytest.raises(ValidationError, match="wait must be a finite number"):
            await alimiter.acquire("k", wait=wait)
        limiter.try_acquire("k")
        await alimiter.try_acquire("k")
