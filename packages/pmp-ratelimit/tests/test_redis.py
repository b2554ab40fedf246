"""RedisStore and AsyncRedisStore against a real redis-server (tools/testsupport)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmp_errors import ConfigurationError, RateLimitError, ValidationError
from pmp_ratelimit import AsyncRateLimiter, AsyncRedisStore, Rate, RateLimiter, RedisStore
from pmp_ratelimit._gcra import Policy, decide
from pmp_ratelimit._script import ScriptProtocol, script_for


@pytest.fixture
def raw(redis_url):
    """A plain redis-py client on the test server."""
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_without_redis_py_the_store_names_the_extra(monkeypatch):
    """Making a Redis store without redis-py raises ConfigurationError naming the extra."""
    monkeypatch.setitem(sys.modules, "redis", None)
    for kind in (RedisStore, AsyncRedisStore):
        with pytest.raises(ConfigurationError, match=r"pmp-ratelimit\[redis\]"):
            kind("redis://127.0.0.1:1/0")


rates = st.lists(
    st.builds(Rate, st.integers(1, 5), st.sampled_from([0.001, 0.01, 0.1])), min_size=1, max_size=3
)
steps = st.lists(st.tuples(st.integers(0, 40_000), st.integers(1, 3)), min_size=1, max_size=25)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rates=rates, steps=steps)
def test_the_lua_script_decides_as_the_python_core(raw, rates, steps):
    """Given the same times, the script's decisions equal ``_gcra.decide``'s, field by field."""
    policy = Policy(tuple(rates), RedisStore.ticks_per_second)
    protocol = ScriptProtocol("prop:", "open")
    raw.delete("prop:k")
    state = None
    now = 1_700_000_000_000_000
    for gap, wanted in steps:
        now += gap
        cost = min(wanted, *policy.limits)
        kept, expected = decide(policy, state, now, cost)
        reply = raw.eval(script_for(policy)[0], 1, "prop:k", *protocol.args(cost, now))
        assert protocol.decision(policy, reply) == expected
        if expected.allowed:
            state = kept
            stored = " ".join(str(tat) for tat in kept).encode()
            assert raw.get("prop:k") in (stored, None)  # None: expired (real time) already
            raw.set("prop:k", stored)  # time here is virtual: keep the key while the test runs


def test_the_common_call_is_answered_with_a_bare_1_and_stores_the_same(raw):
    """Without ARGV an allowed request gets 1 (a refusal all its numbers) and the full state."""
    policy = Policy((Rate(5, per=1), Rate(100, per=60)), RedisStore.ticks_per_second)
    lua = script_for(policy)[0]
    assert raw.eval(lua, 1, "short:k") == 1
    assert raw.eval(lua, 1, "full:k", b"1").startswith(b"1 4 0 ")
    short, full = raw.get("short:k").split(), raw.get("full:k").split()
    assert int(short[1]) - int(short[0]) == int(full[1]) - int(full[0]) == 400_000
    assert 590 < raw.pttl("short:k") <= 601  # the slower rate's arrival time: idle again then
    for _ in range(4):
        assert raw.eval(lua, 1, "short:k") == 1
    assert raw.eval(lua, 1, "short:k").startswith(b"0 0 ")


def test_sync_store_limits_and_reloads_the_script(redis_url, raw):
    """The sync store decides on the server, and runs again after the script cache is flushed."""
    store = RedisStore(redis_url, prefix="t:")
    limiter = RateLimiter("2/minute", store=store)
    limiter.acquire("alice")
    raw.script_flush()
    assert limiter.try_acquire("alice").remaining == 0
    with pytest.raises(RateLimitError) as info:
        limiter.acquire("alice")
    assert 29 < (info.value.retry_after or 0) <= 30
    assert info.value.limit == 2
    assert 59_000 < raw.pttl("t:2/60s:alice") <= 60_001  # expires when idle again, not sooner
    assert store.errors == 0
    assert store.prefix == "t:"
    assert store.on_outage == "open"
    store.close()


@pytest.mark.asyncio
async def test_async_store_limits_and_reloads_the_script(redis_url, raw):
    """The async store decides the same, on a redis.asyncio client."""
    store = AsyncRedisStore(redis_url)
    limiter = AsyncRateLimiter("2/minute", store=store)
    await limiter.acquire("alice")
    raw.script_flush()
    assert (await limiter.try_acquire("alice")).remaining == 0
    with pytest.raises(RateLimitError):
        await limiter.acquire("alice")
    await store.aclose()


HAMMER = textwrap.dedent(
    """
    import sys
    from pmp_errors import RateLimitError
    from pmp_ratelimit import RateLimiter, RedisStore
    limiter = RateLimiter("100/day", store=RedisStore(sys.argv[1], prefix="hammer:"))
    allowed = 0
    for _ in range(60):
        try:
            limiter.acquire("shared")
        except RateLimitError:
            pass
        else:
            allowed += 1
    print(allowed)
    """
)


def test_four_processes_on_one_key_allow_exactly_the_limit_in_total(redis_url):
    """4 processes hammering one key get exactly ``limit`` through between them."""
    procs = [
        subprocess.Popen(  # noqa: S603 - our own code
            [sys.executable, "-c", HAMMER, redis_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    counts = [int(proc.communicate(timeout=60)[0]) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert sum(counts) == 100


def test_outage_fails_open_then_recovers(redis_server, redis_url, caplog):
    """Server killed: requests pass and errors are counted; restarted: Redis decides again."""
    store = RedisStore(redis_url, on_outage="open")
    limiter = RateLimiter("1/minute", store=store)
    limiter.acquire("k")
    redis_server.stop()
    try:
        limiter.acquire("k")
        limiter.acquire("k")
        assert store.errors == 2
        assert limiter.try_acquire("k").allowed
    finally:
        redis_server.start()
    assert "unreachable" in caplog.text
    assert "answers again" not in caplog.text
    limiter.acquire("k")  # the restarted server has no state and no script
    assert "answers again" in caplog.text  # said by the first answer, a bare 1
    with pytest.raises(RateLimitError):
        limiter.acquire("k")
    assert store.errors == 3
    store.close()


def test_outage_fails_closed_then_recovers(redis_server, redis_url):
    """With on_outage='closed' requests are refused during the outage, then decided again."""
    store = RedisStore(redis_url, on_outage="closed")
    limiter = RateLimiter("10/second", "100/minute", store=store)
    redis_server.stop()
    try:
        with pytest.raises(RateLimitError) as info:
            limiter.acquire("k")
        assert info.value.retry_after == 0.6
        assert not limiter.try_acquire("k").allowed
        assert store.errors == 2
    finally:
        redis_server.start()
    limiter.acquire("k")
    store.close()


@pytest.mark.asyncio
async def test_async_outage_follows_the_policy_and_recovers(redis_server, redis_url):
    """The async store follows the outage policy and recovers the same way."""
    store = AsyncRedisStore(redis_url, on_outage="closed")
    limiter = AsyncRateLimiter("5/second", store=store)
    await limiter.acquire("k")
    redis_server.stop()
    try:
        assert not (await limiter.try_acquire("k")).allowed
        assert store.errors == 1
    finally:
        redis_server.start()
    assert (await limiter.try_acquire("k")).allowed
    await store.aclose()


@pytest.mark.asyncio
async def test_a_full_connection_pool_is_no_outage_and_never_fails_open(redis_url):
    """More tasks than the client's pool has connections: none passes the limit by failing open."""
    import redis.asyncio
    from redis.exceptions import MaxConnectionsError

    client = redis.asyncio.Redis.from_url(redis_url, max_connections=2)
    store = AsyncRedisStore(client, on_outage="open")
    limiter = AsyncRateLimiter("3/hour", store=store)
    calls = [limiter.acquire("k") for _ in range(40)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(r is None for r in results) <= 3
    assert all(r is None or isinstance(r, (RateLimitError, MaxConnectionsError)) for r in results)
    assert any(isinstance(r, MaxConnectionsError) for r in results)
    assert store.errors == 0
    await client.aclose()


def test_a_full_sync_connection_pool_is_no_outage(redis_url):
    """The sync store lets redis-py's MaxConnectionsError through instead of failing open."""
    import redis
    from redis.exceptions import MaxConnectionsError

    client = redis.Redis.from_url(redis_url, max_connections=1)
    store = RedisStore(client, on_outage="open")
    limiter = RateLimiter("3/hour", store=store)
    held = client.connection_pool.get_connection()  # the pool's only connection, taken
    try:
        with pytest.raises(MaxConnectionsError):
            limiter.acquire("k")
    finally:
        client.connection_pool.release(held)
    assert store.errors == 0
    limiter.acquire("k")
    client.close()


@pytest.mark.asyncio
async def test_a_blocking_pool_out_of_connections_is_no_outage(redis_url):
    """A BlockingConnectionPool's timeout (a plain ConnectionError) reaches the caller too."""
    import redis
    import redis.asyncio
    from redis.exceptions import ConnectionError as RedisConnectionError

    pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=0.01)
    client = redis.Redis(connection_pool=pool)
    store = RedisStore(client, on_outage="open")
    limiter = RateLimiter("3/hour", store=store)
    held = pool.get_connection()  # the pool's only connection, taken
    try:
        with pytest.raises(RedisConnectionError, match="No connection available"):
            limiter.acquire("k")
    finally:
        pool.release(held)
    apool = redis.asyncio.BlockingConnectionPool.from_url(
        redis_url, max_connections=1, timeout=0.01
    )
    aclient = redis.asyncio.Redis(connection_pool=apool)
    astore = AsyncRedisStore(aclient, on_outage="open")
    alimiter = AsyncRateLimiter("3/hour", store=astore)
    aheld = await apool.get_connection()
    try:
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await alimiter.acquire("k")
    finally:
        await apool.release(aheld)
    assert store.errors == astore.errors == 0
    assert limiter.try_acquire("k").remaining == 2  # nothing counted while the pool was out
    await aclient.aclose()
    await apool.disconnect()  # a pool given to a client is not closed with it
    client.close()
    pool.disconnect()


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"prefix": 5}, "prefix"), ({"on_outage": "maybe"}, "on_outage")]
)
def test_bad_store_settings_are_refused(redis_url, kwargs, field):
    """A non-string prefix or an unknown outage policy is refused."""
    with pytest.raises(ValidationError) as info:
        RedisStore(redis_url, **kwargs)
    assert info.value.context["field"] == field


@pytest.mark.asyncio
async def test_a_client_of_the_wrong_kind_or_a_bad_url_is_refused_when_the_store_is_made(redis_url):
    """An asyncio client in RedisStore, a blocking one in AsyncRedisStore, or no client at all."""
    import redis
    import redis.asyncio

    sync_client, async_client = (
        redis.Redis.from_url(redis_url),
        redis.asyncio.Redis.from_url(redis_url),
    )
    cases = [
        (RedisStore, async_client, "use AsyncRedisStore"),
        (AsyncRedisStore, sync_client, "use RedisStore"),
        (RedisStore, 5, "a redis-py client"),
        (AsyncRedisStore, None, "a redis-py client"),
        (RedisStore, "localhost:6379", "cannot use the URL 'localhost:6379'"),
    ]
    for kind, client, message in cases:
        with pytest.raises(ConfigurationError, match=message) as info:
            kind(client)
        assert info.value.config_key == "client"
    await async_client.aclose()
    sync_client.close()


def test_rates_finer_than_a_microsecond_are_refused_in_redis(redis_url):
    """Redis works in microseconds: a rate finer than that is refused with a clear error."""
    with pytest.raises(ValidationError, match="finer than this clock resolves"):
        RateLimiter(Rate(10, per=1e-6), store=RedisStore(redis_url))


def test_periods_too_long_for_exact_arithmetic_in_redis_are_refused(redis_url):
    """Lua counts in doubles: a window past 2**52 microseconds would round, so it is refused."""
    RateLimiter(Rate(1, per=100 * 365 * 86400), store=RedisStore(redis_url))  # a century is fine
    with pytest.raises(ValidationError, match="too long for Redis"):
        RateLimiter(Rate(1, per=1e10), store=RedisStore(redis_url))


def test_a_client_decoding_responses_works_too(redis_url):
    """A client made with decode_responses=True (replies as str) decides the same."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    limiter = RateLimiter("1/minute", store=RedisStore(client, prefix="decoded:"))
    limiter.acquire("k")
    with pytest.raises(RateLimitError) as info:
        limiter.acquire("k")
    assert info.value.limit == 1
    assert not limiter.try_acquire("k").allowed
    client.close()


def test_a_limiter_refuses_a_store_of_the_other_kind(redis_url):
    """A RateLimiter over an async store, or an AsyncRateLimiter over a blocking one, is refused."""
    with pytest.raises(ConfigurationError, match="use AsyncRateLimiter"):
        RateLimiter("1/minute", store=AsyncRedisStore(redis_url))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="AsyncRedisStore for RedisStore"):
        AsyncRateLimiter("1/minute", store=RedisStore(redis_url))  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_cancelled_acquires_leave_the_connection_usable(redis_url):
    """Acquires cancelled at any point leave later decisions correct."""
    import asyncio

    store = AsyncRedisStore(redis_url, prefix="cancel:")
    limiter = AsyncRateLimiter("1000/hour", store=store)
    for i in range(60):
        task = asyncio.ensure_future(limiter.acquire("k"))
        for _ in range(i % 5):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    first = await limiter.try_acquire("k")
    second = await limiter.try_acquire("k")
    assert first.allowed
    assert second.remaining == first.remaining - 1
    assert (await limiter.try_acquire("other")).remaining == 999
    await store.aclose()


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_server_killed_and_restarted_mid_run(redis_server, redis_url, policy):
    """Hammered while the server dies and restarts: the policy holds, then Redis decides again."""
    import threading
    import time

    store = RedisStore(redis_url, prefix=f"midrun-{policy}:", on_outage=policy)
    limiter = RateLimiter("5/second", store=store)
    phase = ["up"]
    seen: list[tuple[str, bool]] = []
    stop = threading.Event()

    def hammer() -> None:
        deadline = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < deadline:
            current = phase[0]
            allowed = limiter.try_acquire("k").allowed
            if phase[0] == current:  # a request that ran across a change of phase tells nothing
                seen.append((current, allowed))
            time.sleep(0.002)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(0.2)
        phase[0] = "stopping"
        redis_server.stop()
        phase[0] = "down"
        time.sleep(0.2)
        phase[0] = "starting"
    finally:
        redis_server.start()
    phase[0] = "back"
    time.sleep(0.4)
    stop.set()
    thread.join()
    store.close()

    def outcomes(name: str) -> set[bool]:
        return {allowed for current, allowed in seen if current == name}

    assert outcomes("up") == {True, False}  # Redis refuses over 5/second
    assert outcomes("down") == {policy == "open"}
    assert outcomes("back") == {True, False}  # and decides again after the restart
    assert store.errors >= sum(1 for current, _ in seen if current == "down")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "value", ["hash", "hello", "-5", "1.5e20", "12 34", "", "99999999999999999999999"]
)
async def test_a_key_holding_what_the_limiter_did_not_write_is_a_clear_error(redis_url, raw, value):
    """A hash, text or a number not written by the limiter is reported, never counted over."""
    key = "foreign:5/1s:k"
    if value == "hash":
        raw.hset(key, "field", "1")
    else:
        raw.set(key, value)
    store, astore = (
        RedisStore(redis_url, prefix="foreign:"),
        AsyncRedisStore(redis_url, prefix="foreign:"),
    )
    for attempt in (
        lambda: RateLimiter("5/second", store=store).acquire("k"),
        lambda: RateLimiter("5/second", store=store).try_acquire("k"),
    ):
        with pytest.raises(ConfigurationError, match=f"Redis key '{key}' holds a value") as info:
            attempt()
        assert info.value.config_key == "prefix"
    with pytest.raises(ConfigurationError, match=f"Redis key '{key}' holds a value"):
        await AsyncRateLimiter("5/second", store=astore).acquire("k")
    assert raw.type(key) == (b"hash" if value == "hash" else b"string")
    assert value == "hash" or raw.get(key) == value.encode()  # left as it was
    raw.delete(key)
    await astore.aclose()
    store.close()


@pytest.mark.asyncio
async def test_keys_that_are_not_utf8_text_are_limited_in_redis_as_in_process(redis_url):
    """A str key with lone surrogates (say from surrogateescape) is limited, not a crash."""
    store, astore = RedisStore(redis_url, prefix="sur:"), AsyncRedisStore(redis_url, prefix="sur:")
    limiter = RateLimiter("1/minute", store=store)
    alimiter = AsyncRateLimiter("1/minute", store=astore)
    limiter.acquire("caf\udce9")
    with pytest.raises(RateLimitError):
        await alimiter.acquire("caf\udce9")
    assert (await alimiter.try_acquire("caf\udce8")).allowed
    assert not limiter.try_acquire("caf\udce8").allowed
    assert limiter.try_acquire("café").allowed  # text keys are as before
    await astore.aclose()
    store.close()


@pytest.mark.asyncio
async def test_a_cost_of_an_int_subclass_counts_its_value_in_redis(redis_url):
    """A cost from an int-valued enum (whose str() is its name) takes its value, not 1."""
    from enum import Enum

    class Cost(int, Enum):
        HEAVY = 3

    store = RedisStore(redis_url, prefix="cost:")
    astore = AsyncRedisStore(redis_url, prefix="cost:")
    limiter = RateLimiter("10/minute", store=store)
    alimiter = AsyncRateLimiter("10/minute", store=astore)
    limiter.acquire("sync", Cost.HEAVY)
    assert limiter.try_acquire("sync", Cost.HEAVY).remaining == 4
    await alimiter.acquire("async", Cost.HEAVY)
    assert (await alimiter.try_acquire("async", Cost.HEAVY)).remaining == 4
    await astore.aclose()
    store.close()
