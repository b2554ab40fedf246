"""Types users see from pmp_ratelimit; checked by mypy --strict, never run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from typing import Any

from typing_extensions import assert_type

from pmp_ratelimit import (
    AsyncRateLimiter,
    AsyncRedisStore,
    Decision,
    MemoryStore,
    Rate,
    RateLimiter,
    RedisStore,
    Store,
    rate_limited,
)

limiter = RateLimiter("5/second", Rate(1000, per=3600), store=MemoryStore(max_keys=10))
assert_type(limiter.acquire("alice"), None)
assert_type(limiter.acquire("alice", 2, wait=1.5), None)
decision = limiter.try_acquire("alice")
assert_type(decision, Decision)
assert_type(decision.allowed, bool)
assert_type(decision.remaining, int)
assert_type(decision.retry_after, float)
assert_type(decision.reset, float)
assert_type(decision.limit, int)
assert_type(limiter.rates, tuple[Rate, ...])
assert_type(Rate.parse("100/minute"), Rate)

alimiter = AsyncRateLimiter("5/second")


async def use_async() -> None:
    assert_type(await alimiter.acquire("alice"), None)
    assert_type(await alimiter.try_acquire("alice"), Decision)
    assert_type(await fetch("https://example.org"), bytes)
    assert_type(fetch("https://example.org"), Coroutine[Any, Any, bytes])  # type: ignore[unused-coroutine]


store: Store = RedisStore("redis://127.0.0.1:6379/0", on_outage="closed")
assert_type(RedisStore("redis://127.0.0.1:6379/0").errors, int)
AsyncRateLimiter("1/s", store=AsyncRedisStore("redis://127.0.0.1:6379/0"))


@rate_limited(limiter, key=lambda user, _amount: user)
def pay(user: str, amount: int) -> str:
    return f"{user} paid {amount}"


assert_type(pay("alice", 3), str)
pay("alice", "3")  # type: ignore[arg-type]


@rate_limited(alimiter, key="crawler", wait=1.0)
async def fetch(url: str) -> bytes:
    return url.encode()


limiter.acquire(42)  # type: ignore[arg-type]
RedisStore("redis://", on_outage="maybe")  # type: ignore[arg-type]


@rate_limited(alimiter, key="feed", wait=1.0)
async def feed(n: int) -> AsyncIterator[int]:
    yield n


async def use_feed() -> None:
    assert_type(feed(3), AsyncIterator[int])
    assert_type([n async for n in feed(3)], list[int])
    feed("3")  # type: ignore[arg-type]


rate_limited(alimiter)(pay)  # type: ignore[arg-type]  # an AsyncRateLimiter on a plain function
