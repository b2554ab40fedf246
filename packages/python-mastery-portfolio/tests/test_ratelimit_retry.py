"""retry from pmp-decorators honours the retry_after of pmp-ratelimit's RateLimitError."""

from __future__ import annotations

import asyncio

import pytest

from python_mastery_portfolio import (
    AsyncRateLimiter,
    MemoryStore,
    RateLimiter,
    RateLimitError,
    async_retry,
    rate_limited,
    retry,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += round(seconds * 1_000_000_000)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def test_retry_waits_the_rate_limit_errors_retry_after() -> None:
    """Retry sleeps exactly the limiter's retry_after (not its shorter delay) and then passes."""
    clock = Clock()
    limiter = RateLimiter("2/second", store=MemoryStore(clock=clock))

    @retry(max_attempts=3, delay=0.01, exceptions=(RateLimitError,), sleep=clock.sleep)
    @rate_limited(limiter, key="api")
    def call() -> str:
        return "ok"

    assert [call(), call(), call()] == ["ok", "ok", "ok"]
    assert clock.slept == [0.5]


def test_retry_gives_up_with_the_rate_limit_error() -> None:
    """Out of attempts, retry raises the RateLimitError with its retry_after."""
    clock = Clock()
    limiter = RateLimiter("1/minute", store=MemoryStore(clock=clock))

    @retry(max_attempts=1, exceptions=(RateLimitError,), sleep=clock.sleep)
    @rate_limited(limiter, key="api")
    def call() -> str:
        return "ok"

    call()
    with pytest.raises(RateLimitError) as info:
        call()
    assert info.value.retry_after == 60.0


def test_async_retry_waits_the_rate_limit_errors_retry_after() -> None:
    """async_retry honours retry_after from an AsyncRateLimiter the same way."""
    clock = Clock()
    limiter = AsyncRateLimiter("1/second", store=MemoryStore(clock=clock))

    @async_retry(max_attempts=2, delay=0.01, exceptions=(RateLimitError,), sleep=clock.async_sleep)
    @rate_limited(limiter, key="api")
    async def call() -> str:
        return "ok"

    async def both() -> list[str]:
        return [await call(), await call()]

    assert asyncio.run(both()) == ["ok", "ok"]
    assert clock.slept == [1.0]
