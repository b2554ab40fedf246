"""@rate_limited keeps the function and limits it per key, sync and async."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING

import pytest

from pmp_errors import ConfigurationError, RateLimitError, ValidationError
from pmp_ratelimit import AsyncRateLimiter, MemoryStore, RateLimiter, rate_limited

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator


def test_sync_function_is_limited_per_key(clock):
    """The key function picks the key from the call's arguments."""
    limiter = RateLimiter("1/second", store=MemoryStore(clock=clock))

    @rate_limited(limiter, key=lambda user, **_: user)
    def send(user: str, text: str = "") -> str:
        """Send text."""
        return f"{user}:{text}"

    assert send("alice", text="hi") == "alice:hi"
    assert send("bob") == "bob:"
    with pytest.raises(RateLimitError) as info:
        send("alice")
    assert info.value.retry_after == 1.0
    assert send.__name__ == "send"
    assert send.__doc__ == "Send text."
    assert inspect.signature(send) == inspect.signature(send.__wrapped__)  # type: ignore[attr-defined]


def test_without_a_key_the_function_shares_one_limit(clock):
    """Without key=, every call counts against the function's qualified name."""
    limiter = RateLimiter("1/second", store=MemoryStore(clock=clock), sleep=clock.sleep)

    @rate_limited(limiter, wait=2)
    def ping() -> int:
        return 1

    assert ping() + ping() == 2
    assert clock.slept == [1.0]
    assert not limiter.try_acquire(ping.__qualname__).allowed


def test_fixed_key_and_cost(clock):
    """A string key is used as is; cost takes several places."""
    limiter = RateLimiter("4/second", store=MemoryStore(clock=clock))

    @rate_limited(limiter, key="batch", cost=2)
    def batch() -> None:
        return None

    batch()
    batch()
    with pytest.raises(RateLimitError):
        batch()
    assert limiter.try_acquire("batch").remaining == 0


@pytest.mark.asyncio
async def test_async_function_with_async_limiter(clock):
    """An AsyncRateLimiter limits a coroutine function and waits on its sleep."""
    limiter = AsyncRateLimiter("1/second", store=MemoryStore(clock=clock), sleep=clock.async_sleep)

    @rate_limited(limiter, key=str, wait=1)
    async def work(n: int) -> int:
        await asyncio.sleep(0)
        return n

    assert await work(1) == 1
    assert await work(1) == 1
    assert clock.slept == [1.0]
    assert inspect.iscoroutinefunction(work)


@pytest.mark.asyncio
async def test_async_function_with_sync_limiter_waits_without_blocking(clock, monkeypatch):
    """A RateLimiter on a coroutine function waits with asyncio.sleep, not time.sleep."""
    limiter = RateLimiter(
        "1/second", store=MemoryStore(clock=clock), sleep=lambda _: pytest.fail("blocked")
    )
    real_sleep = asyncio.sleep
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    @rate_limited(limiter, wait=5)
    async def work() -> str:
        return "done"

    assert await work() == "done"
    assert await work() == "done"
    assert slept == [1.0]


def test_bad_settings_are_refused():
    """A non-limiter, a non-string key, a bad cost or an async limiter on a sync function."""
    with pytest.raises(ConfigurationError, match="needs a RateLimiter"):
        rate_limited("5/second")  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="must be a str"):
        rate_limited(RateLimiter("5/second"), key=5)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="cost 6 exceeds"):
        rate_limited(RateLimiter("5/second"), cost=6)
    with pytest.raises(ConfigurationError, match="coroutine and async generator functions only"):
        rate_limited(AsyncRateLimiter("5/second"))(lambda: None)  # type: ignore[arg-type, return-value]


def test_a_key_function_returning_a_non_string_is_refused():
    """A key function must return a str; anything else raises ValidationError."""

    @rate_limited(RateLimiter("5/second"), key=lambda n: n)
    def f(n: int) -> int:
        return n

    with pytest.raises(ValidationError, match="must be a str"):
        f(3)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_async_generator_functions_are_limited_without_blocking(clock, monkeypatch, kind):
    """An async generator function waits for its turn with asyncio.sleep, with either limiter."""
    store = MemoryStore(clock=clock)
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        clock.sleep(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    async def numbers(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    if kind == "sync":
        blocking = RateLimiter("1/second", store=store, sleep=lambda _: pytest.fail("blocked"))
        stream = rate_limited(blocking, key="stream", wait=5)(numbers)
    else:
        limiter = AsyncRateLimiter("1/second", store=store, sleep=clock.async_sleep)
        stream = rate_limited(limiter, key="stream", wait=5)(numbers)
    assert [i async for i in stream(3)] == [0, 1, 2]
    assert clock.slept == []
    assert [i async for i in stream(2)] == [0, 1]
    assert clock.slept == [1.0]
    assert inspect.isasyncgenfunction(stream)


@pytest.mark.asyncio
async def test_an_async_generator_wrapper_passes_values_and_errors_on():
    """asend, athrow and aclose reach the decorated async generator."""
    seen: list[object] = []

    @rate_limited(AsyncRateLimiter("5/second"), key="echo")
    async def echo() -> AsyncGenerator[int, int]:
        value = 0
        try:
            while True:
                try:
                    value = yield value + 1
                except KeyError as error:
                    seen.append(error)
        finally:
            seen.append("closed")

    gen = echo()
    assert await anext(gen) == 1
    assert await gen.asend(10) == 11
    assert await gen.athrow(KeyError("k")) == 11
    await gen.aclose()
    assert repr(seen) == repr([KeyError("k"), "closed"])


@pytest.mark.parametrize("wrapper", [classmethod, staticmethod, property])
def test_decorating_what_is_not_a_function_is_refused(wrapper):
    """@rate_limited above @classmethod (and the like) says where to put it instead."""
    with pytest.raises(ConfigurationError, match="under @classmethod") as info:
        rate_limited(RateLimiter("5/second"))(wrapper(lambda cls: cls))
    assert info.value.config_key == "func"
