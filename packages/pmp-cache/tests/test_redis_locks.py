"""The Redis lock where many processes share one server: expiry, owners, faults, cancellation.

Faults are real: a loopback TCP proxy between the cache and redis-server holds
replies back (the command has run on the server, its reply has not arrived) or
cuts the connections, as a network or a restart does.
"""

import asyncio
import contextlib
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pmp_cache._redis import AsyncRedisCache, RedisCache
from pmp_errors import ConfigurationError

LOCK = "t:v1|lock:k"


@pytest.fixture
def raw(redis_url):
    """A plain redis-py client to look at the server directly."""
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make(redis_url):
    """Build RedisCaches on the test server and close them afterwards."""
    made = []

    def build(url=redis_url, **kwargs):
        kwargs.setdefault("namespace", "t")
        kwargs.setdefault("lock", True)
        cache = RedisCache(url, **kwargs)
        made.append(cache)
        return cache

    yield build
    for cache in made:
        cache.close()


class Proxy:
    """A loopback TCP proxy to redis-server whose replies can be held back and cut."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.replies = threading.Event()
        self.replies.set()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                client.close()
                continue
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.replies), daemon=True
            ).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, gate: threading.Event | None) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if gate is not None:
                    gate.wait()
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def hold(self) -> None:
        """From now on, replies wait (the commands still reach the server and run)."""
        self.replies.clear()

    def cut(self) -> None:
        """Drop every open connection (its held replies are lost); new ones work."""
        sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.replies.set()

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def proxy(redis_server):
    proxy = Proxy(redis_server.port)
    yield proxy
    proxy.close()


def wait_until(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


async def await_until(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


# -- lock expiry while computing ------------------------------------------------------


def test_a_held_lock_is_renewed_while_its_owner_computes(make, raw):
    """A computation longer than lock_ttl keeps its lock: nobody else computes meanwhile."""
    owner, other = make(lock_ttl=0.2), make(lock_wait=0.05)
    assert owner.claim("k", "compute") == "compute"
    time.sleep(0.7)  # more than three lock_ttl
    assert raw.exists(LOCK) == 1
    assert other.claim("k", "compute") == "compute"  # waited, did not take the lock
    token = raw.get(LOCK)
    owner.set("k", 1)
    assert raw.exists(LOCK) == 0, token


@pytest.mark.asyncio
async def test_an_async_held_lock_is_renewed_while_its_task_computes(redis_url, raw):
    """The async lock is renewed by the task's loop while the claiming task runs."""
    owner = AsyncRedisCache(redis_url, namespace="t", lock=True, lock_ttl=0.2)
    try:
        assert await owner.claim("k", "compute") == "compute"
        await asyncio.sleep(0.7)
        assert raw.exists(LOCK) == 1
        await owner.set("k", 1)
        assert raw.exists(LOCK) == 0
    finally:
        await owner.aclose()


def test_the_lock_of_a_thread_that_ended_is_released(make, raw):
    """A thread that claimed and ended without set or release does not hold the lock on."""
    cache = make(lock_ttl=1.5)
    worker = threading.Thread(target=cache.claim, args=("k",))
    worker.start()
    worker.join()
    assert raw.exists(LOCK) == 1
    wait_until(lambda: raw.exists(LOCK) == 0, timeout=1.4)  # released, not expired


DEAD_OWNER = """
import os, sys
from pmp_cache._redis import RedisCache
RedisCache(sys.argv[1], namespace="t", lock=True, lock_ttl=0.2).claim("k")
os._exit(0)
"""


def test_the_lock_of_a_process_that_died_expires(make, raw, redis_url):
    """A process that died holding the lock stops renewing it: it expires after lock_ttl."""
    subprocess.run([sys.executable, "-c", DEAD_OWNER, redis_url], check=True, timeout=30)  # noqa: S603 - our own interpreter and code
    assert 0 < raw.pttl(LOCK) <= 200
    assert make(lock_wait=2).claim("k", "compute") == "compute"
    assert raw.exists(LOCK) == 1


# -- whose lock is released -------------------------------------------------------------


def test_a_thread_never_releases_the_lock_another_thread_holds(make, raw):
    """Thread A lost its lock (expired); B took it; A's set must leave B's lock in place."""
    cache = make()
    a, b = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    try:
        assert a.submit(cache.claim, "k", "compute").result() == "compute"
        raw.delete(LOCK)  # A's lock expired (a pause longer than lock_ttl)
        assert b.submit(cache.claim, "k", "compute").result() == "compute"
        b_token = raw.get(LOCK)
        a.submit(cache.set, "k", 1).result()
        assert raw.get(LOCK) == b_token
        b.submit(cache.release, "k").result()
        assert raw.exists(LOCK) == 0
    finally:
        a.shutdown()
        b.shutdown()


def test_release_by_a_thread_that_holds_nothing_is_a_no_op(make, raw):
    """release() from a thread that did not claim the key leaves the claimer's lock."""
    cache = make()
    with ThreadPoolExecutor(1) as other:
        other.submit(lambda: None).result()  # started before the claim: not work it started
        assert cache.claim("k", "compute") == "compute"
        other.submit(cache.release, "k").result()
    assert raw.exists(LOCK) == 1
    cache.release("k")
    assert raw.exists(LOCK) == 0


# -- payloads from another version or secret ---------------------------------------------


def test_a_rejected_payload_keeps_the_lock_for_the_recompute(make, raw):
    """A stored payload this cache rejects is recomputed under the lock, then replaced."""
    cache = make()
    raw.set("t:v1:k", b"\x80 written by another version")
    assert cache.claim("k", "compute") == "compute"
    assert raw.exists(LOCK) == 1
    assert cache.stats()["rejected"] == 1
    cache.set("k", 2)
    assert raw.exists(LOCK) == 0
    assert cache.get("k") == 2


# -- faults mid-call ---------------------------------------------------------------------


def test_an_acquire_retried_after_a_lost_reply_keeps_the_lock(make, raw, proxy):
    """The connection drops after SET NX ran: the retried acquire is ours, not a wait."""
    cache = make(url=proxy.url, lock_wait=2)
    assert cache.get("warm") is None
    proxy.hold()
    with ThreadPoolExecutor(1) as owner:
        claimed = owner.submit(cache.claim, "k", "compute")
        wait_until(lambda: raw.exists(LOCK) == 1)
        proxy.cut()  # the reply is lost; redis-py reconnects and retries once
        start = time.monotonic()
        assert claimed.result(timeout=5) == "compute"
        assert time.monotonic() - start < 1  # did not wait (lock_wait) for its own lock
        owner.submit(cache.set, "k", 1).result()
    assert raw.exists(LOCK) == 0


def test_a_server_restart_mid_call_fails_open_and_the_lock_works_after(make, raw, redis_server):
    """The server dies with a lock held: the set is skipped; after the restart, locks work."""
    cache, other = make(retry_interval=0), make(retry_interval=0)
    assert cache.claim("k", "compute") == "compute"
    redis_server.stop()
    try:
        cache.set("k", 1)  # counted, skipped
        assert cache.stats()["errors"] == 1
    finally:
        redis_server.start()
    assert other.claim("k", "compute") == "compute"
    assert raw.exists(LOCK) == 1
    other.set("k", 2)
    assert raw.exists(LOCK) == 0
    assert cache.get("k") == 2


@pytest.mark.asyncio
async def test_cancelling_a_claim_after_its_set_nx_ran_releases_the_lock(raw, proxy):
    """A claim cancelled while its SET NX reply is on the way leaves no lock behind."""
    cache = AsyncRedisCache(proxy.url, namespace="t", lock=True)
    try:
        assert await cache.get("warm") is None
        proxy.hold()
        claim = asyncio.ensure_future(cache.claim("k", "compute"))
        await await_until(lambda: raw.exists(LOCK) == 1)
        claim.cancel()
        with pytest.raises(asyncio.CancelledError):
            await claim
        proxy.cut()
        await await_until(lambda: raw.exists(LOCK) == 0)
    finally:
        await cache.aclose()


@pytest.mark.asyncio
async def test_cancelling_the_owner_between_claim_and_set_releases_the_lock(redis_url, raw):
    """The decorators' owner task cancelled while computing: release in finally still frees it."""
    cache = AsyncRedisCache(redis_url, namespace="t", lock=True)
    started = asyncio.Event()

    async def owner() -> None:
        assert await cache.claim("k", "compute") == "compute"
        try:
            started.set()
            await asyncio.sleep(10)
        finally:
            await cache.release("k")

    try:
        task = asyncio.ensure_future(owner())
        await started.wait()
        assert raw.exists(LOCK) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert raw.exists(LOCK) == 0
    finally:
        await cache.aclose()


# -- never block an event loop -----------------------------------------------------------


@pytest.mark.asyncio
async def test_the_sync_lock_refuses_to_wait_inside_an_event_loop(make):
    """RedisCache(lock=True).claim in a running loop raises, naming AsyncRedisCache."""
    holder, cache = make(), make(lock_wait=0.2)
    with ThreadPoolExecutor(1) as other:
        assert other.submit(holder.claim, "k", "compute").result() == "compute"
    start = time.monotonic()
    with pytest.raises(ConfigurationError, match="AsyncRedisCache") as info:
        cache.claim("k", "compute")
    assert time.monotonic() - start < 0.1
    assert info.value.config_key == "lock"
    assert make(lock=False).claim("k", "off") == "off"  # no lock: nothing to wait for


def test_a_forgotten_claim_stops_being_renewed(make, raw):
    """A claim never ended by set or release is renewed for ten lock_ttl at most."""
    cache = make(lock_ttl=0.1)
    assert cache.claim("k", "compute") == "compute"  # this thread lives on
    time.sleep(0.3)
    assert raw.exists(LOCK) == 1  # renewed past its ttl
    wait_until(lambda: raw.exists(LOCK) == 0, timeout=4)


# -- counting failures -------------------------------------------------------------------


def test_on_error_reports_failed_and_skipped_commands(make, redis_server):
    """on_error(operation, exc) sees each failure, and each command skipped while resting."""
    seen = []
    cache = make(lock=False, retry_interval=60, on_error=lambda op, exc: seen.append((op, exc)))
    cache.set("k", 1)
    assert seen == []
    redis_server.stop()
    try:
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", 2)
        assert cache.delete("k") is False
    finally:
        redis_server.start()
    assert [op for op, _ in seen] == ["GET", "SET", "DEL"]
    import redis

    assert isinstance(seen[0][1], redis.ConnectionError)
    assert seen[1][1] is None
    assert seen[2][1] is None
    assert cache.stats()["errors"] == 3


@pytest.mark.asyncio
async def test_async_on_error_reports_failures(redis_url, redis_server):
    """The async cache reports through the same hook."""
    seen = []
    cache = AsyncRedisCache(
        redis_url, namespace="t", retry_interval=0, on_error=lambda op, _exc: seen.append(op)
    )
    redis_server.stop()
    try:
        assert await cache.get("k") is None
        await cache.clear()
    finally:
        redis_server.start()
        await cache.aclose()
    assert seen == ["GET", "SCAN"]


@pytest.mark.parametrize("kind", [RedisCache, AsyncRedisCache])
def test_on_error_must_be_callable(kind):
    """A non-callable on_error raises ValidationError naming it."""
    from pmp_errors import ValidationError

    pytest.importorskip("redis")
    with pytest.raises(ValidationError) as info:
        kind("redis://127.0.0.1:1/0", on_error="log")
    assert info.value.field == "on_error"


def test_a_failing_on_error_hook_never_breaks_fail_open(make, redis_server, caplog):
    """A hook that raises is logged; the call still fails open."""

    def hook(operation, exc):
        raise RuntimeError("metrics backend down")

    cache = make(lock=False, retry_interval=0, on_error=hook)
    redis_server.stop()
    try:
        with caplog.at_level(logging.ERROR, logger="pmp_cache.redis"):
            assert cache.get("k", "fallback") == "fallback"
    finally:
        redis_server.start()
    assert "the on_error hook of a Redis cache failed" in caplog.text
    assert cache.stats()["errors"] == 1


def test_a_claim_left_in_a_finished_event_loop_is_released(redis_url, raw):
    """A task that claimed and ended in a loop now closed: the next loop's renewal frees it."""
    cache = AsyncRedisCache(redis_url, namespace="t", lock=True, lock_ttl=1.5)

    async def forget() -> None:
        assert await cache.claim("k") is None
        await cache.aclose()

    async def later() -> None:
        assert await cache.claim("other") is None  # starts this loop's renewal
        await await_until(lambda: raw.exists(LOCK) == 0, timeout=1.3)  # released, not expired
        await cache.release("other")
        await cache.aclose()

    asyncio.run(forget())
    assert raw.exists(LOCK) == 1
    asyncio.run(later())


def test_an_interrupted_sync_claim_releases_its_lock(make, raw, proxy):
    """Ctrl-C while the SET NX reply is on the way: the lock taken is released at once."""
    cache = make(url=proxy.url)
    assert cache.get("warm") is None
    proxy.hold()

    def interrupt(signum, frame):
        proxy.replies.set()  # replies flow again, for the release
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            cache.claim("k")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert raw.exists(LOCK) == 0
    assert cache.claim("k", "compute") == "compute"
    cache.set("k", 1)
    assert (raw.exists(LOCK), cache.get("k")) == (0, 1)


@pytest.mark.asyncio
@pytest.mark.parametrize("operation", ["set", "release"])
async def test_cancelling_the_call_that_ends_a_claim_leaves_no_lock(raw, proxy, operation):
    """A set or release cancelled with its reply on the way: the lock is gone all the same."""
    cache = AsyncRedisCache(proxy.url, namespace="t", lock=True)
    try:
        assert await cache.claim("k", "compute") == "compute"
        proxy.hold()
        call = cache.set("k", 1) if operation == "set" else cache.release("k")
        ending = asyncio.ensure_future(call)
        await asyncio.sleep(0.05)
        ending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ending
        proxy.cut()
        await await_until(lambda: raw.exists(LOCK) == 0)
        assert await cache.claim("k", "compute") in ("compute", 1)
        await cache.release("k")
        assert raw.exists(LOCK) == 0
    finally:
        await cache.aclose()


@pytest.mark.asyncio
async def test_a_task_started_by_the_claimer_ends_its_claim(redis_url, raw):
    """A set or release run in a child task (gather, wait_for) ends the parent's claim."""
    cache = AsyncRedisCache(redis_url, namespace="t", lock=True)
    try:
        assert await cache.claim("k", "compute") == "compute"
        await asyncio.gather(cache.set("k", 1))
        assert raw.exists(LOCK) == 0
        assert await cache.claim("j", "compute") == "compute"
        await asyncio.wait_for(asyncio.ensure_future(cache.release("j")), 5)
        assert raw.exists("t:v1|lock:j") == 0
    finally:
        await cache.aclose()


@pytest.mark.asyncio
async def test_sibling_tasks_of_a_claimer_do_not_share_its_locks(redis_url, raw):
    """Two tasks started by a task that claimed something are two owners, not one."""
    cache = AsyncRedisCache(redis_url, namespace="t", lock=True, lock_wait=0.05)
    try:
        assert await cache.claim("parent", "compute") == "compute"

        async def first() -> None:
            assert await cache.claim("k", "compute") == "compute"

        async def second() -> str:
            value = await cache.claim("k", "compute")
            await cache.release("k")  # holds nothing: must not free first's lock
            return value

        await asyncio.ensure_future(first())
        token = raw.get(LOCK)
        assert await asyncio.ensure_future(second()) == "compute"  # waited, then gave up
        assert raw.get(LOCK) == token
        await cache.release("parent")
    finally:
        await cache.aclose()


def test_a_renewal_that_raises_never_ends_the_renewals(redis_url, raw):
    """An unexpected error in one renewal (a client closed under it) is logged, not fatal."""
    import redis

    class Closing(redis.Redis):
        broken = False

        def pipeline(self, *args, **kwargs):
            if self.broken:
                raise ValueError("I/O operation on closed file.")
            return super().pipeline(*args, **kwargs)

    client = Closing.from_url(redis_url)
    assert isinstance(client, Closing)
    cache = RedisCache(client=client, namespace="t", lock=True, lock_ttl=0.9)
    try:
        assert cache.claim("k", "compute") == "compute"
        client.broken = True
        time.sleep(0.4)  # the renewal at 0.3 s raises
        client.broken = False
        time.sleep(0.8)  # past the first lock_ttl: renewed at 0.6 s and 0.9 s
        assert raw.exists(LOCK) == 1
        cache.set("k", 1)
        assert raw.exists(LOCK) == 0
    finally:
        client.close()


@pytest.mark.parametrize("local_maxsize", [0, 4])
def test_a_bad_key_gets_the_same_clear_error_with_or_without_local_tiers(make, local_maxsize):
    """An unhashable key is refused with ValidationError naming the problem, tiers or not."""
    from pmp_errors import ValidationError

    cache = make(local_maxsize=local_maxsize)
    for call in (lambda: cache.get([1]), lambda: cache.delete({}), lambda: cache.set([1], 1)):
        with pytest.raises(ValidationError, match="shared cache key"):
            call()


@pytest.mark.asyncio
async def test_a_burst_of_async_calls_waits_for_connections_instead_of_failing(redis_url):
    """More concurrent calls than pooled connections queue for one; none fails open."""
    cache = AsyncRedisCache(redis_url, namespace="t")
    try:
        await cache.set("k", 1)
        assert await asyncio.gather(*(cache.get("k") for _ in range(300))) == [1] * 300
        assert cache.stats()["errors"] == 0
        calls = [asyncio.ensure_future(cache.get("k")) for _ in range(300)]
        await asyncio.sleep(0)
        for call in calls[::2]:  # cancelled while queued or in flight: no slot is lost
            call.cancel()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(r == 1 or isinstance(r, asyncio.CancelledError) for r in results)
        assert await asyncio.gather(*(cache.get("k") for _ in range(300))) == [1] * 300
        assert cache.stats()["errors"] == 0
    finally:
        await cache.aclose()
