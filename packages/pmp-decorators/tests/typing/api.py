"""Typed usage of pmp_decorators: checked by mypy --strict, never run."""

from __future__ import annotations

import logging

from typing_extensions import assert_type

from pmp_decorators import (
    Attempt,
    BlockTimer,
    CachedProperty,
    Restorer,
    Retrying,
    RetryState,
    TimingStats,
    TypeValidationError,
    async_retry,
    check_type,
    measure_block,
    retry,
    retrying,
    set_retry_testing,
    set_validation_enabled,
    timed,
    validate_types,
)


@retry(max_attempts=3, delay=1.0, backoff=2.0, exceptions=(IOError, ConnectionError))
def fetch(url: str, *, timeout: float = 1.0) -> bytes:
    return url.encode()


assert_type(fetch("x"), bytes)
assert_type(fetch("x", timeout=2.0), bytes)
fetch(1)  # type: ignore[arg-type]
fetch("x", retries=2)  # type: ignore[call-arg]


@retry(max_attempts=2)
async def fetch_async(url: str) -> int:
    return len(url)


async def use_fetch_async() -> None:
    assert_type(await fetch_async("x"), int)


@async_retry(max_attempts=5, delay=0.5)
async def async_unstable_operation(n: int) -> list[int]:
    return [n]


async def use_async_unstable_operation() -> None:
    assert_type(await async_unstable_operation(1), list[int])
    await async_unstable_operation("1")  # type: ignore[arg-type]


def on_retry(state: RetryState) -> None:
    assert_type(state.attempt, int)
    assert_type(state.wait, float | None)
    assert_type(state.exception, BaseException | None)


@retry(on_retry=on_retry, on_give_up=print, retry_if_result=lambda r: r is None, deadline=5.0)
def maybe() -> int | None:
    return None


assert_type(maybe(), int | None)


class Client:
    @retry(max_attempts=3)
    def get(self, path: str) -> str:
        return path

    @async_retry()
    async def aget(self, path: str) -> str:
        return path

    @validate_types()
    def put(self, path: str, body: bytes) -> int:
        return len(body)

    @timed(unit="us")
    def head(self, path: str) -> bool:
        return bool(path)

    @CachedProperty
    def session(self) -> dict[str, str]:
        return {}

    @CachedProperty.locked
    def model(self) -> list[float]:
        return [0.5]


client = Client()
assert_type(client.get("/"), str)


async def use_aget() -> None:
    assert_type(await client.aget("/"), str)


assert_type(client.put("/", b""), int)
assert_type(client.head("/"), bool)
assert_type(client.session, dict[str, str])
assert_type(client.model, list[float])
assert_type(Client.session, CachedProperty[dict[str, str]])
client.get(1)  # type: ignore[arg-type]


stats = TimingStats(unit="ms")


@timed(unit="ms", logger=logging.getLogger("x"), level=logging.INFO, stats=stats)
def slow_function(x: int) -> str:
    return str(x)


assert_type(slow_function(1), str)
assert_type(stats.mean, float | None)
assert_type(stats.count, int)


@timed()
async def slow_async() -> int:
    return 1


async def use_slow_async() -> None:
    assert_type(await slow_async(), int)


@validate_types(name=str, age=int, email=str)
def create_user(name: str, age: int, email: str) -> dict[str, object]:
    return {"name": name}


assert_type(create_user("a", 1, "e"), dict[str, object])
create_user("a", "1", "e")  # type: ignore[arg-type]


with measure_block("data_processing") as block:
    pass
assert_type(block, BlockTimer)
assert_type(block.elapsed, float | None)
assert_type(block.elapsed_ns, int | None)


async def use_async_block() -> None:
    async with measure_block("io", unit="us") as b:
        assert_type(b, BlockTimer)


assert_type(check_type([1], list[int]), list[int])
assert_type(check_type(1, int), int)
assert_type(set_retry_testing(), Restorer)
with set_validation_enabled(False) as switch:
    assert_type(switch, Restorer)

try:
    create_user("a", 1, "e")
except TypeValidationError as err:
    assert_type(err.path, str | None)
    assert_type(err.expected, str | None)
    assert_type(err.field, str | None)


# The decorated signatures are pinned: each ignore below is needed (warn_unused_ignores
# would flag it if a decorator loosened the signature to `...`).
client.put("/", "text")  # type: ignore[arg-type]
client.head(1)  # type: ignore[arg-type]
slow_function("1")  # type: ignore[arg-type]
Client.get(client, 1)  # type: ignore[arg-type]


async def use_bound_async() -> None:
    await client.aget(1)  # type: ignore[arg-type]
    await fetch_async(1)  # type: ignore[arg-type]
    await fetch_async("x", 2)  # type: ignore[call-arg]


class Factory:
    @staticmethod
    @retry(max_attempts=2)
    def parse(text: str) -> int:
        return len(text)

    @classmethod
    @timed()
    def build(cls, size: int) -> list[Factory]:
        return [cls() for _ in range(size)]

    @staticmethod
    @validate_types()
    async def load(key: str) -> bytes:
        return key.encode()


assert_type(Factory.parse("x"), int)
assert_type(Factory().parse("x"), int)
assert_type(Factory.build(1), list[Factory])
Factory.parse(1)  # type: ignore[arg-type]
Factory.build("1")  # type: ignore[arg-type]


async def use_factory_load() -> None:
    assert_type(await Factory.load("k"), bytes)
    await Factory.load(1)  # type: ignore[arg-type]


def server_error(exc: Exception) -> bool:
    return getattr(exc, "status", 0) >= 500


@retry(exceptions=server_error, jitter="decorrelated", retry_after=lambda _e: None)
def call_api(path: str) -> dict[str, int]:
    return {path: 200}


assert_type(call_api("/"), dict[str, int])
retry(jitter=0.25)
retry(jitter="half")  # type: ignore[arg-type]

upload = retrying(max_attempts=3, delay=0.1, jitter=None, name="upload")
assert_type(upload, Retrying)
for attempt in upload:
    assert_type(attempt, Attempt)
    assert_type(attempt.number, int)
    with attempt:
        pass


async def use_async_retrying() -> None:
    async for attempt in retrying():
        with attempt:
            assert_type(attempt.number, int)


adapter = logging.LoggerAdapter(logging.getLogger("x"), {"k": "v"})
timed(logger=adapter)
measure_block("b", logger=adapter)
stats_p = TimingStats()
assert_type(stats_p.p99, float | None)
assert_type(stats_p.percentile(90), float | None)
