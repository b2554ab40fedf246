"""cache(backend=RedisCache(...)) against a real redis-server (the shared redis_server fixture)."""

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from typing import cast

import pytest
import pytest_asyncio

from pmp_cache import async_cache, cache
from pmp_cache._redis import AsyncRedisCache, CacheUnavailableError, RedisCache
from pmp_errors import ValidationError


def wait_until(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.fixture
def raw(redis_url):
    """A plain redis-py client to look at the server directly."""
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def shared(redis_url):
    """A fail-open RedisCache on the test server that retries at once after a failure."""
    backend = RedisCache(redis_url, namespace="dec", retry_interval=0)
    yield backend
    backend.close()


WORKER = textwrap.dedent(
    """
    import sys
    from pmp_cache import cache
    from pmp_cache._redis import RedisCache

    calls = []

    @cache(backend=RedisCache(sys.argv[1], namespace="dec"))
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    results = [square(x) for x in (2, 3, 4)]
    print(results, len(calls))
    """
)


def run_worker(url):
    command = [sys.executable, "-c", WORKER, url]
    done = subprocess.run(command, check=True, timeout=30, capture_output=True, text=True)  # noqa: S603 - our own code
    return done.stdout.strip()


def test_two_processes_share_a_decorated_functions_results(redis_url):
    """A second process finds the first one's results and computes nothing."""
    assert run_worker(redis_url) == "[4, 9, 16] 3"
    assert run_worker(redis_url) == "[4, 9, 16] 0"


def test_decorated_function_fails_open_and_resumes(shared, redis_server):
    """Server down: calls still return correct results, errors are counted; then caching resumes."""
    calls = []

    @cache(backend=shared, namespace="double")
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    assert [double(1), double(1)] == [2, 2]
    assert calls == [1]
    redis_server.stop()
    try:
        assert [double(1), double(2), double(2)] == [2, 4, 4]
        assert double.cache_stats()["errors"] > 0  # type: ignore[typeddict-item]
    finally:
        redis_server.start()
    calls.clear()
    assert [double(5), double(5)] == [10, 10]
    assert calls == [5]


def test_decorated_function_strict_mode_raises(redis_url, redis_server):
    """With strict=True a dead server makes the call raise CacheUnavailableError."""
    backend = RedisCache(redis_url, namespace="dec", strict=True)

    @cache(backend=backend, namespace="double")
    def double(x: int) -> int:
        return 2 * x

    assert double(1) == 2
    redis_server.stop()
    try:
        with pytest.raises(CacheUnavailableError):
            double(1)
    finally:
        redis_server.start()
        backend.close()
    assert double(1) == 2


def test_results_the_serializer_cannot_store_raise(shared):
    """A result JSON cannot keep raises ValidationError instead of being cached altered."""

    @cache(backend=shared, namespace="pair")
    def pair(x: int) -> tuple[int, int]:
        return (x, x)

    with pytest.raises(ValidationError, match="tuple"):
        pair(1)


def test_unhashable_and_unkeyable_arguments_name_the_argument(shared):
    """A list raises UnhashableArgumentError; an object without stable text names the key."""
    from pmp_cache import UnhashableArgumentError

    @cache(backend=shared, namespace="size")
    def size(x: object) -> int:
        return 1

    with pytest.raises(UnhashableArgumentError) as info:
        size([1])
    assert info.value.field == "x"
    with pytest.raises(ValidationError, match="shared cache key"):
        size(object())


# -- asyncio -----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def ashared(redis_url):
    """An AsyncRedisCache on the test server, closed after the test."""
    backend = AsyncRedisCache(redis_url, namespace="adec", retry_interval=0)
    yield backend
    await backend.aclose()


@pytest.mark.asyncio
async def test_async_cache_awaits_an_async_backend(ashared, raw):
    """async_cache(backend=AsyncRedisCache) stores in Redis and serves the next call from it."""
    calls = []

    @async_cache(backend=ashared, ttl=30, namespace="square")
    async def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [await square(3), await square(3), await square(x=3)] == [9, 9, 9]
    assert calls == [3]
    (name,) = raw.keys("adec:v1:*")
    assert raw.get(name) == b"9"
    assert 29_000 < raw.pttl(name) <= 30_000
    stats = square.cache_stats()
    assert (stats["hits"], stats["misses"]) == (2, 1)


@pytest.mark.asyncio
async def test_async_single_flight_over_an_async_backend(ashared):
    """Twenty tasks missing one key run the function once and share its result."""
    calls = []
    gate, started = asyncio.Event(), asyncio.Event()

    @async_cache(backend=ashared, namespace="load")
    async def load(x: int) -> dict[str, int]:
        calls.append(x)
        started.set()
        await gate.wait()
        return {"x": x}

    tasks = [asyncio.ensure_future(load(1)) for _ in range(20)]
    await started.wait()
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == [1]
    assert all(r is results[0] for r in results)


@pytest.mark.asyncio
async def test_async_failures_are_shared_and_not_cached(ashared, raw):
    """Waiters of a failing computation get its exception; nothing is stored; the next call runs."""
    calls = []

    @async_cache(backend=ashared, namespace="flaky")
    async def flaky(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.01)
        if len(calls) == 1:
            raise ValueError("first")
        return x

    results = await asyncio.gather(flaky(1), flaky(1), return_exceptions=True)
    assert [type(r) for r in results] == [ValueError, ValueError]
    assert raw.keys("adec:*") == []
    assert await flaky(1) == 1
    assert len(calls) == 2


@pytest.mark.asyncio
async def test_acache_clear_and_invalidate_on_an_async_backend(ashared, raw):
    """acache_clear/acache_invalidate reach Redis; the sync versions raise and change nothing."""
    from pmp_errors import ConfigurationError

    @async_cache(backend=ashared, namespace="ident")
    async def ident(x: int, y: int = 0) -> int:
        return x + y

    await ident(1)
    await ident(2)
    raw.set("unrelated", b"1")
    assert await ident.acache_invalidate(x=1, y=0) is True
    assert await ident.acache_invalidate(1) is False
    assert len(raw.keys("adec:*")) == 1
    with pytest.raises(ConfigurationError, match="acache_clear"):
        ident.cache_clear()
    with pytest.raises(ConfigurationError, match="acache_invalidate"):
        ident.cache_invalidate(2)
    assert len(raw.keys("adec:*")) == 1
    await ident.acache_clear()
    assert raw.keys() == [b"unrelated"]


@pytest.mark.asyncio
async def test_acache_clear_during_a_flight_wins(ashared, raw):
    """A result computed across acache_clear() goes to its callers but is not stored."""
    gate = asyncio.Event()
    started = asyncio.Event()

    @async_cache(backend=ashared, namespace="slow")
    async def slow(x: int) -> int:
        started.set()
        await gate.wait()
        return x

    pending = asyncio.ensure_future(slow(1))
    await started.wait()
    await slow.acache_clear()
    gate.set()
    assert await pending == 1
    assert raw.keys("adec:*") == []


def test_async_cache_refuses_a_sync_redis_backend(shared):
    """async_cache(backend=RedisCache) is refused, naming AsyncRedisCache (it would block)."""
    with pytest.raises(ValidationError, match="AsyncRedisCache") as info:

        @async_cache(backend=shared, namespace="triple")
        async def triple(*args: int) -> int:
            return 3 * sum(args)

    assert info.value.field == "backend"


@pytest.mark.asyncio
async def test_generic_async_wrapper_over_an_async_backend(ashared):
    """Functions taking *args use the generic wrapper, keyed and single-flighted the same way."""
    from pmp_cache import UnhashableArgumentError

    calls = []

    @async_cache(backend=ashared, namespace="total")
    async def total(*args: int) -> int:
        calls.append(args)
        return sum(args)

    # gather() is typed as returning a tuple but returns a list
    assert cast("list[int]", await asyncio.gather(total(1, 2), total(1, 2))) == [3, 3]
    assert await total(1, 2) == 3
    assert calls == [(1, 2)]
    with pytest.raises(UnhashableArgumentError):
        await total([1])  # type: ignore[arg-type]


def test_cache_refuses_an_async_backend(redis_url):
    """cache(backend=AsyncRedisCache(...)) raises ValidationError pointing to async_cache."""
    with pytest.raises(ValidationError, match="async_cache") as info:
        cache(backend=AsyncRedisCache(redis_url))  # type: ignore[call-overload]
    assert info.value.field == "backend"


# -- single flight across processes ------------------------------------------------------

LOCK_WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    import redis
    from pmp_cache import AsyncRedisCache, RedisCache, async_cache, cache

    url, mode, lock_wait, work = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    raw = redis.Redis.from_url(url)
    options = {"namespace": "lock", "lock": True, "lock_wait": lock_wait}

    @cache(backend=RedisCache(url, **options), namespace="square")
    def square(x: int) -> int:
        raw.incr("computations")
        time.sleep(work)
        return x * x

    @async_cache(backend=AsyncRedisCache(url, **options), namespace="asquare")
    async def asquare(x: int) -> int:
        raw.incr("computations")
        await asyncio.sleep(work)
        return x * x

    raw.incr("ready")
    while int(raw.get("ready")) < 2:  # both processes call at once
        time.sleep(0.001)
    print(square(7) if mode == "sync" else asyncio.run(asquare(7)))
    """
)


def run_pair(url, mode, lock_wait, work):
    command = [sys.executable, "-c", LOCK_WORKER, url, mode, str(lock_wait), str(work)]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our own code
        for _ in range(2)
    ]
    return [w.communicate(timeout=30)[0].strip() for w in workers]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_lock_makes_two_processes_compute_once(redis_url, raw, mode):
    """With lock=True, two processes missing one key at once run the function once in all."""
    assert run_pair(redis_url, mode, lock_wait=5, work=0.3) == ["49", "49"]
    assert raw.get("computations") == b"1"
    assert raw.keys("lock:v1|lock:*") == []


def test_lock_wait_is_bounded_across_processes(redis_url, raw):
    """A process that waits longer than lock_wait computes the value itself."""
    assert run_pair(redis_url, "sync", lock_wait=0.05, work=0.4) == ["49", "49"]
    assert raw.get("computations") == b"2"


def twin(backend, calls, gate):
    """A cached function whose twins (same name, other backends) act as other processes."""

    @cache(backend=backend, namespace="slow")
    def slow(x: int) -> int:
        calls.append(x)
        gate.wait(5)
        if x < 0:
            raise ValueError(x)
        return x * 10

    return slow


def test_lock_in_process_twins_compute_once_and_release_on_failure(redis_url, raw):
    """Two caches with lock=True (as two processes) compute once; a failure frees the lock."""
    calls: list[int] = []
    gate = threading.Event()
    backends = [RedisCache(redis_url, namespace="tw", lock=True) for _ in range(2)]
    first, second = (twin(b, calls, gate) for b in backends)
    results: list[int] = []
    owner = threading.Thread(target=lambda: results.append(first(1)))
    owner.start()
    while not calls:
        threading.Event().wait(0.001)
    waiter = threading.Thread(target=lambda: results.append(second(1)))
    waiter.start()
    threading.Event().wait(0.05)  # the waiter polls the lock meanwhile
    gate.set()
    owner.join(5)
    waiter.join(5)
    assert (results, calls) == ([10, 10], [1])
    with pytest.raises(ValueError, match="-1"):
        first(-1)
    assert raw.keys("tw:v1|lock:*") == []
    for backend in backends:
        backend.close()


def test_clear_during_a_locked_flight_releases_the_lock(redis_url, raw):
    """A result computed across cache_clear() is not stored and its lock is released."""
    backend = RedisCache(redis_url, namespace="tw", lock=True)
    started, gate = threading.Event(), threading.Event()

    @cache(backend=backend, namespace="slow")
    def slow(x: int) -> int:
        started.set()
        gate.wait(5)
        return x

    results: list[int] = []
    owner = threading.Thread(target=lambda: results.append(slow(1)))
    owner.start()
    started.wait(5)
    assert len(raw.keys("tw:v1|lock:*")) == 1
    slow.cache_clear()
    gate.set()
    owner.join(5)
    assert results == [1]
    assert raw.keys("tw:*") == []
    backend.close()


@pytest.mark.asyncio
async def test_async_lock_twins_compute_once_and_release_on_failure(redis_url, raw):
    """Async twins with lock=True compute once; a failure or a clear frees the lock."""
    calls: list[int] = []
    gate, called = asyncio.Event(), asyncio.Event()
    backends = [AsyncRedisCache(redis_url, namespace="atw", lock=True) for _ in range(2)]

    def make(backend):
        @async_cache(backend=backend, namespace="slow")
        async def slow(x: int) -> int:
            calls.append(x)
            called.set()
            await gate.wait()
            if x < 0:
                raise ValueError(x)
            return x * 10

        return slow

    first, second = (make(b) for b in backends)
    owner = asyncio.ensure_future(first(1))
    await called.wait()
    waiter = asyncio.ensure_future(second(1))
    await asyncio.sleep(0.05)
    gate.set()
    assert [await owner, await waiter] == [10, 10]
    assert calls == [1]
    with pytest.raises(ValueError, match="-1"):
        await first(-1)
    gate.clear()
    called.clear()
    pending = asyncio.ensure_future(first(2))
    await called.wait()
    await first.acache_clear()
    gate.set()
    assert await pending == 20
    assert raw.keys("atw:*") == []
    for backend in backends:
        await backend.aclose()


# -- the function's lock is not held during Redis I/O ------------------------------------


class SlowSetCache(RedisCache):
    """A real RedisCache whose writes of key 1 wait until released, like a stalled server."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered, self.resume = threading.Event(), threading.Event()

    def set(self, key, value, ttl=None):
        if key[1] == 1:
            self.entered.set()
            self.resume.wait(5)
        super().set(key, value, ttl)


def test_a_stalled_write_does_not_hold_up_other_keys(redis_url, raw):
    """While one key's SET stalls, other keys compute, hit and clear without waiting."""
    backend = SlowSetCache(redis_url, namespace="slow")

    @cache(backend=backend, namespace="ident")
    def ident(x: int) -> int:
        return x

    stalled = threading.Thread(target=ident, args=(1,))
    stalled.start()
    try:
        assert backend.entered.wait(5)
        start = time.monotonic()
        assert [ident(2), ident(2), ident(3)] == [2, 2, 3]
        ident.cache_invalidate(3)
        assert time.monotonic() - start < 1
        assert stalled.is_alive()
        ident.cache_clear()  # while the stalled write is still on its way
    finally:
        backend.resume.set()
        stalled.join(5)
    assert raw.keys("slow:*") == []  # clear won over the late write
    assert ident(2) == 2  # computed again: the clear removed it
    assert ident.cache_stats()["hits"] == 1
    backend.close()


class SlowAsyncSetCache(AsyncRedisCache):
    """A real AsyncRedisCache whose writes of key 1 wait until released."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered, self.resume = asyncio.Event(), asyncio.Event()

    async def set(self, key, value, ttl=None):
        if key[1] == 1:
            self.entered.set()
            await self.resume.wait()
        await super().set(key, value, ttl)


@pytest.mark.asyncio
async def test_acache_clear_wins_over_a_stalled_async_write(redis_url, raw):
    """A clear that lands while a result is being written removes it afterwards."""
    backend = SlowAsyncSetCache(redis_url, namespace="aslow")

    @async_cache(backend=backend, namespace="ident")
    async def ident(x: object) -> object:
        return x

    stalled = asyncio.ensure_future(ident(1))
    await backend.entered.wait()
    assert await ident(2) == 2
    await ident.acache_clear()
    backend.resume.set()
    assert await stalled == 1
    assert raw.keys("aslow:*") == []
    with pytest.raises(ValidationError, match="shared cache key"):
        await ident(object())
    await backend.aclose()


class GatedGetCache(RedisCache):
    """A real RedisCache that can pause one thread right after a GET came back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paused_thread = None
        self.missed, self.resume = threading.Event(), threading.Event()

    def get(self, key, default=None):
        value = super().get(key, default)
        if threading.get_ident() == self.paused_thread:
            self.paused_thread = None
            self.missed.set()
            self.resume.wait(5)
        return value


def test_a_miss_overtaken_by_a_finished_flight_reads_again(redis_url):
    """A caller whose GET missed just before another flight stored the value does not recompute."""
    backend = GatedGetCache(redis_url, namespace="gate")
    calls: list[int] = []

    @cache(backend=backend, namespace="ident")
    def ident(x: int) -> int:
        calls.append(x)
        return x

    results: list[int] = []

    def late() -> None:
        backend.paused_thread = threading.get_ident()
        results.append(ident(1))

    thread = threading.Thread(target=late)
    thread.start()
    assert backend.missed.wait(5)
    assert ident(1) == 1  # computed and stored while the other caller is paused
    backend.resume.set()
    thread.join(5)
    assert (results, calls) == ([1], [1])
    backend.close()


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt: not an Exception, so waiters do not receive it."""


def test_waiters_of_an_interrupted_owner_take_over(redis_url):
    """When the computing thread is interrupted, a waiter computes the value itself."""
    backend = RedisCache(redis_url, namespace="intr")
    calls: list[int] = []
    started, gate = threading.Event(), threading.Event()

    @cache(backend=backend, namespace="ident")
    def ident(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            started.set()
            gate.wait(5)
            raise Interrupt
        return x

    def owner() -> None:
        with pytest.raises(Interrupt):
            ident(1)

    first = threading.Thread(target=owner)
    first.start()
    assert started.wait(5)
    results: list[int] = []
    waiter = threading.Thread(target=lambda: results.append(ident(1)))
    waiter.start()
    threading.Event().wait(0.05)  # the waiter joins the running flight
    gate.set()
    first.join(5)
    waiter.join(5)
    assert (results, calls) == ([1], [1, 1])
    backend.close()


class GatedAsyncGetCache(AsyncRedisCache):
    """A real AsyncRedisCache that can pause one task right after a GET came back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pause_next = False
        self.missed, self.resume = asyncio.Event(), asyncio.Event()

    async def get(self, key, default=None):
        value = await super().get(key, default)
        if self.pause_next:
            self.pause_next = False
            self.missed.set()
            await self.resume.wait()
        return value


@pytest.mark.asyncio
async def test_an_async_miss_overtaken_by_a_finished_flight_reads_again(redis_url):
    """An async caller whose GET missed just before a flight stored the value does not recompute."""
    backend = GatedAsyncGetCache(redis_url, namespace="agate")
    calls: list[int] = []

    @async_cache(backend=backend, namespace="ident")
    async def ident(x: int) -> int:
        calls.append(x)
        return x

    backend.pause_next = True
    late = asyncio.ensure_future(ident(1))
    await backend.missed.wait()
    assert await ident(1) == 1
    backend.resume.set()
    assert await late == 1
    assert calls == [1]
    await backend.aclose()


# -- two tiers ---------------------------------------------------------------------------


def test_two_tiers_serve_repeated_hits_from_the_functions_own_tier(redis_url, raw):
    """Repeated hits come from the function's in-process tier until local_ttl passes."""
    from pmp_cache import UnhashableArgumentError

    backend = RedisCache(redis_url, namespace="tier", local_maxsize=8, local_ttl=0.05)
    calls: list[int] = []

    @cache(backend=backend, namespace="double")
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    namespace = double.cache_stats.__self__.namespace  # type: ignore[attr-defined]
    tier = backend.local_tier(namespace)
    assert tier is not None
    assert [double(1), double(1), double(x=1)] == [2, 2, 2]
    assert (calls, dict(tier.items())) == ([1], {1: 2})
    stats = backend.stats()
    assert (stats["hits"], stats["local_hits"], stats["misses"], stats["currsize"]) == (2, 2, 1, 1)
    assert backend.get((namespace, 1)) == 2  # the backend reads the same tier
    (name,) = raw.keys("tier:v1:*")
    raw.set(name, b"20")  # another process changes the shared value
    assert double(1) == 2  # still served by the tier
    wait_until(lambda: double(1) == 20)  # the tier entry expired: Redis is read again
    assert calls == [1]
    assert double.cache_invalidate(1) is True
    assert (len(tier), raw.keys("tier:v1:*")) == (0, [])
    double(2)
    double.cache_clear()
    assert len(tier) == 0
    with pytest.raises(UnhashableArgumentError):
        double([1])  # type: ignore[arg-type]
    backend.close()


@pytest.mark.asyncio
async def test_two_tiers_for_async_functions(redis_url, raw):
    """async_cache over AsyncRedisCache(local_maxsize=...) serves repeated hits from its tier."""
    backend = AsyncRedisCache(redis_url, namespace="atier", local_maxsize=8, local_ttl=60)
    calls: list[int] = []

    @async_cache(backend=backend, namespace="double")
    async def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    assert [await double(1), await double(1)] == [2, 2]
    raw.delete(*raw.keys("atier:*"))
    assert await double(1) == 2  # served by the tier, not Redis
    assert calls == [1]
    assert backend.stats()["local_hits"] == 2
    assert await double.acache_invalidate(1) is True
    assert await double(1) == 2
    assert calls == [1, 1]
    await backend.aclose()


def test_tiers_wait_for_their_first_use_and_are_dropped_with_their_function(redis_url):
    """A tier is made when a function is decorated and forgotten when it is collected."""
    import gc

    backend = RedisCache(redis_url, namespace="gc", local_maxsize=4)
    assert RedisCache(redis_url).local_tier("x") is None  # no tiers without local_maxsize

    def make():
        @cache(backend=backend, namespace="f")
        def f(x: int) -> int:
            return x

        f(1)
        return f.cache_stats.__self__.namespace  # type: ignore[attr-defined]

    namespace = make()
    gc.collect()
    assert namespace not in backend._shared.tiers
    assert backend.stats()["currsize"] == 0
    backend.close()
