"""RedisCache and AsyncRedisCache against a real redis-server (the shared redis_server fixture)."""

import asyncio
import logging
import pickle
import subprocess
import sys
import threading
import time

import pytest

from pmp_cache._redis import AsyncRedisCache, CacheUnavailableError, RedisCache
from pmp_cache._serializers import PickleSerializer
from pmp_errors import ConfigurationError, ValidationError

SECRET = b"k" * 32


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

    def build(**kwargs):
        kwargs.setdefault("namespace", "t")
        cache = RedisCache(redis_url, **kwargs)
        made.append(cache)
        return cache

    yield build
    for cache in made:
        cache.close()


def wait_until(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


# -- without redis-py --------------------------------------------------------------------


def test_without_redis_py_the_backend_names_the_extra(monkeypatch):
    """Making a Redis cache without redis-py raises ConfigurationError naming the extra."""
    monkeypatch.setitem(sys.modules, "redis", None)
    for kind in (RedisCache, AsyncRedisCache):
        with pytest.raises(ConfigurationError, match=r"pmp-cache\[redis\]") as info:
            kind("redis://127.0.0.1:1/0")
        assert info.value.config_key == "pmp-cache[redis]"


def test_importing_the_package_does_not_import_redis():
    """``import pmp_cache`` (Redis backend included) leaves redis-py unimported."""
    code = "import sys, pmp_cache, pmp_cache._redis; assert 'redis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own interpreter and code


# -- basics ------------------------------------------------------------------------------


def test_get_set_delete_round_trip(make, raw):
    """Values set are read back as JSON stored under the namespaced key; delete removes them."""
    cache = make(namespace="app", version=3)
    assert cache.get("user:1") is None
    cache.set("user:1", {"name": "Ada", "langs": ["py"]})
    assert cache.get("user:1") == {"name": "Ada", "langs": ["py"]}
    assert raw.get("app:v3:user:1") == b'{"name":"Ada","langs":["py"]}'
    assert cache.delete("user:1") is True
    assert cache.delete("user:1") is False
    assert cache.get("user:1", "gone") == "gone"
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["errors"]) == (1, 2, 0)
    assert stats["hit_rate"] == pytest.approx(1 / 3)
    assert (stats["currsize"], stats["maxsize"]) == (0, None)


def test_ttl_is_redis_expiry(make, raw):
    """TTLs (default and per call) are set on the server and the key expires there."""
    cache = make(ttl=60)
    cache.set("long", 1)
    cache.set("short", 2, ttl=0.05)
    assert 59_000 < raw.pttl("t:v1:long") <= 60_000
    assert 0 < raw.pttl("t:v1:short") <= 50
    wait_until(lambda: raw.exists("t:v1:short") == 0)
    assert cache.get("short") is None
    assert cache.get("long") == 1
    cache.set("forever", 3, ttl=None)
    no_default = make(namespace="n")
    no_default.set("k", 1)
    assert raw.pttl("n:v1:k") == -1


def test_values_json_cannot_keep_raise_at_set_time(make, raw):
    """A value the serializer cannot encode raises ValidationError and stores nothing."""
    cache = make()
    with pytest.raises(ValidationError, match="tuple"):
        cache.set("k", (1, 2))
    assert raw.exists("t:v1:k") == 0


def test_namespaces_and_versions_isolate(make, raw):
    """Two namespaces (or versions) on one server never see each other's entries."""
    a, b, a2 = make(namespace="a"), make(namespace="b"), make(namespace="a", version=2)
    a.set("k", "from a")
    b.set("k", "from b")
    assert (a.get("k"), b.get("k"), a2.get("k")) == ("from a", "from b", None)


def test_clear_removes_only_its_own_keys(make, raw):
    """clear() SCANs its namespace and version in batches; other keys survive (no FLUSHDB)."""
    mine, other, newer = (
        make(namespace="mine"),
        make(namespace="other"),
        make(namespace="mine", version=2),
    )
    with raw.pipeline(transaction=False) as pipe:
        for i in range(1234):
            pipe.set(f"mine:v1:{i}", b"1")
        pipe.execute()
    other.set("k", 1)
    newer.set("k", 2)
    raw.set("unrelated", b"x")
    mine.clear()
    assert list(raw.scan_iter(match="mine:v1:*")) == []
    assert sorted(raw.keys()) == [b"mine:v2:k", b"other:v1:k", b"unrelated"]


def test_non_str_keys_have_stable_texts(make, raw):
    """Tuple and number keys are stored under canonical texts; 1 and 1.0 share one."""
    cache = make()
    cache.set(("user", 1), [1])
    cache.set(2.0, "two")
    assert raw.get('t:v1:~("user",1)') == b"[1]"
    assert cache.get(2) == "two"


# -- two processes -----------------------------------------------------------------------

CHILD = """
import sys
from pmp_cache._redis import RedisCache
cache = RedisCache(sys.argv[1], namespace="shared")
assert cache.get("from-parent") == {"n": 1}, cache.get("from-parent")
cache.set("from-child", [2, 3], ttl=30)
cache.close()
"""


def test_two_processes_share_one_cache(make, redis_url):
    """A value set in one process is read in another, and the other way round."""
    cache = make(namespace="shared")
    cache.set("from-parent", {"n": 1})
    command = [sys.executable, "-c", CHILD, redis_url]
    subprocess.run(command, check=True, timeout=30)  # noqa: S603 - our own interpreter and code
    assert cache.get("from-child") == [2, 3]


# -- payload safety ----------------------------------------------------------------------


class Exploit:
    ran = 0

    def __reduce__(self):
        return (Exploit.run, ())

    @staticmethod
    def run():
        Exploit.ran += 1
        return "pwned"


@pytest.mark.parametrize("serializer", [None, PickleSerializer(secret=SECRET)])
def test_planted_pickle_is_never_unpickled(make, raw, serializer, caplog):
    """A raw pickle planted under a cache key is a rejected miss and never unpickled."""
    cache = make(serializer=serializer)
    raw.set("t:v1:k", pickle.dumps(Exploit()))
    with caplog.at_level(logging.WARNING, logger="pmp_cache.redis"):
        assert cache.get("k", "miss") == "miss"
    assert Exploit.ran == 0
    assert cache.stats()["rejected"] == 1
    assert cache.stats()["misses"] == 1
    assert "rejected the payload stored under 't:v1:k'" in caplog.text


def test_tampered_signed_payload_is_a_miss(make, raw):
    """A signed payload altered on the server is a miss; an intact one round-trips."""
    cache = make(serializer=PickleSerializer(secret=SECRET))
    cache.set("k", (1, {2}))
    assert cache.get("k") == (1, {2})
    data = bytearray(raw.get("t:v1:k"))
    data[-2] ^= 0xFF
    raw.set("t:v1:k", bytes(data))
    assert cache.get("k") is None
    assert cache.stats()["rejected"] == 1


def test_another_secret_cannot_read_or_write(make):
    """Caches with different secrets reject each other's payloads."""
    ours = make(serializer=PickleSerializer(secret=SECRET))
    theirs = make(serializer=PickleSerializer(secret=b"z" * 32))
    theirs.set("k", Exploit())
    assert ours.get("k") is None
    assert Exploit.ran == 0


# -- failures ----------------------------------------------------------------------------


def test_fail_open_when_the_server_dies_and_resumes_after_restart(make, redis_server, caplog):
    """Server killed: reads miss, writes are skipped, counted and logged; then caching resumes."""
    cache = make(retry_interval=0)
    cache.set("k", 1)
    redis_server.stop()
    with caplog.at_level(logging.INFO, logger="pmp_cache.redis"):
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", 2)
        assert cache.delete("k") is False
        cache.clear()
        assert cache.stats()["errors"] == 4
        redis_server.start()
        cache.set("k", 3)
        assert cache.get("k") == 3
    assert "serving without the shared cache" in caplog.text
    assert "caching resumed" in caplog.text
    assert cache.stats()["errors"] == 4


def test_retry_interval_rests_before_trying_again(make, redis_server):
    """After a failure, Redis is not tried for retry_interval seconds (counted as errors)."""
    cache = make(retry_interval=0.2)
    redis_server.stop()
    assert cache.get("k") is None
    redis_server.start()
    assert cache.get("k") is None  # still resting: not tried
    cache.set("k", 1)  # skipped too
    assert cache.stats()["errors"] == 3
    time.sleep(0.21)
    cache.set("k", 1)
    assert cache.get("k") == 1


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("GET", lambda c: c.get("k")),
        ("SET", lambda c: c.set("k", 1)),
        ("DEL", lambda c: c.delete("k")),
        ("SCAN", lambda c: c.clear()),
    ],
)
def test_strict_mode_raises_when_the_server_is_down(make, redis_server, operation, call):
    """strict=True raises CacheUnavailableError (also a ConnectionError) naming the command."""
    cache = make(strict=True)
    redis_server.stop()
    try:
        with pytest.raises(ConnectionError) as info:
            call(cache)
        assert isinstance(info.value, CacheUnavailableError)
        assert info.value.context["operation"] == operation
        assert cache.stats()["errors"] == 1
    finally:
        redis_server.start()
    call(cache)


# -- local tier --------------------------------------------------------------------------


def test_local_tier_serves_repeated_hits_in_process(make, raw):
    """With local_maxsize, repeated hits come from memory; its TTL bounds staleness."""
    cache = make(local_maxsize=10, local_ttl=0.05)
    other = make()
    other.set("k", "v1")
    assert cache.get("k") == "v1"
    other.set("k", "v2")
    assert cache.get("k") == "v1"  # served locally
    stats = cache.stats()
    assert (stats["hits"], stats["local_hits"], stats["currsize"], stats["maxsize"]) == (
        2,
        1,
        1,
        10,
    )
    wait_until(lambda: cache.get("k") == "v2")
    assert cache.delete("k") is True
    assert cache.get("k") is None


def test_local_tier_never_outlives_the_redis_ttl(make):
    """A set with a TTL shorter than local_ttl expires locally with it."""
    cache = make(local_maxsize=10, local_ttl=60)
    cache.set("k", 1, ttl=0.03)
    cache.set("j", 1, ttl=120)
    time.sleep(0.04)
    assert cache.get("k") is None
    assert cache.stats()["local_hits"] == 0
    assert cache.get("j") == 1
    cache.clear()
    assert cache.stats()["currsize"] == 0


# -- cross-process lock ------------------------------------------------------------------


def test_lock_makes_one_claimer_compute_and_the_others_read(make, raw):
    """The first claim takes the lock; a second waits and returns the value the first set."""
    first, second = make(lock=True), make(lock=True)
    assert first.claim("k", "compute") == "compute"
    assert raw.exists("t:v1|lock:k") == 1
    got = []
    waiter = threading.Thread(target=lambda: got.append(second.claim("k", "compute")))
    waiter.start()
    time.sleep(0.05)
    assert got == []
    first.set("k", 42)
    waiter.join(5)
    assert got == [42]
    assert raw.exists("t:v1|lock:k") == 0


def test_lock_wait_is_bounded_and_release_frees_it(make, raw):
    """A waiter gives up after lock_wait; release() lets the next claimer take the lock."""
    first, second = make(lock=True), make(lock=True, lock_wait=0.05)
    assert first.claim("k") is None
    start = time.monotonic()
    assert second.claim("k", "compute") == "compute"
    assert 0.05 <= time.monotonic() - start < 1
    first.release("k")
    first.release("k")  # not held any more: nothing to do
    assert raw.exists("t:v1|lock:k") == 0
    assert second.claim("k", "compute") == "compute"
    assert raw.exists("t:v1|lock:k") == 1


def test_claim_reads_a_value_stored_meanwhile(make):
    """A claim for a key that was stored since the miss returns the value, holding no lock."""
    cache = make(lock=True)
    cache.set("k", 7)
    assert cache.claim("k") == 7
    assert make(lock=False).claim("k", "off") == "off"


def test_lock_expires_with_its_owner(make, raw):
    """A lock whose owner died expires after lock_ttl, so the work is not blocked forever."""
    dead, alive = make(lock=True, lock_ttl=0.3), make(lock=True, lock_wait=2)
    owner = threading.Thread(target=dead.claim, args=("k",))  # ends without set or release
    owner.start()
    owner.join()
    assert 0 < raw.pttl("t:v1|lock:k") <= 300
    assert alive.claim("k", "compute") == "compute"


def test_claim_fails_open_when_the_server_is_down(make, redis_server):
    """With the server down, claim and release report errors and let the caller compute."""
    cache = make(lock=True, retry_interval=0)
    assert cache.claim("k") is None
    redis_server.stop()
    try:
        cache.release("k")
        assert cache.claim("k", "compute") == "compute"
        assert cache.stats()["errors"] == 2
    finally:
        redis_server.start()


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": None}, "url"),
        ({"url": "http://x"}, "url"),
        ({"url": "redis://x", "client": object()}, "url"),
        ({"namespace": "a:b"}, "namespace"),
        ({"namespace": ""}, "namespace"),
        ({"version": -1}, "version"),
        ({"version": "v*"}, "version"),
        ({"ttl": 0}, "ttl"),
        ({"serializer": "json"}, "serializer"),
        ({"strict": 1}, "strict"),
        ({"lock": "yes"}, "lock"),
        ({"timeout": 0}, "timeout"),
        ({"retry_interval": -1}, "retry_interval"),
        ({"local_maxsize": -1}, "maxsize"),
        ({"local_maxsize": 5, "local_ttl": 0}, "local_ttl"),
        ({"lock_ttl": True}, "lock_ttl"),
        ({"lock_wait": -0.5}, "lock_wait"),
    ],
)
@pytest.mark.parametrize("kind", [RedisCache, AsyncRedisCache])
def test_bad_arguments_raise_naming_them(kind, kwargs, field):
    """Every bad argument raises ValidationError naming it."""
    pytest.importorskip("redis")
    kwargs = {"url": "redis://127.0.0.1:1/0", **kwargs}
    with pytest.raises(ValidationError) as info:
        kind(**kwargs)
    assert info.value.field == field


def test_a_client_that_decodes_responses_is_refused(redis_url):
    """A redis-py client made with decode_responses=True raises ConfigurationError."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ConfigurationError, match="decode_responses=False"):
        RedisCache(client=client)
    client.close()


def test_an_existing_client_is_used_and_left_open(raw):
    """A given client is used as is; close() leaves it to its owner."""
    cache = RedisCache(client=raw, namespace="given", version="2024.1")
    cache.set("k", 1)
    cache.close()
    assert raw.get("given:v2024.1:k") == b"1"
    assert cache.client is raw
    assert cache.namespace == "given"
    assert cache.local is None
    assert repr(cache) == (
        "RedisCache('<client>', namespace='given', version='2024.1', "
        "serializer=JsonSerializer(), strict=False)"
    )


# -- asyncio -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_round_trip_ttl_clear_and_stats(redis_url, raw):
    """AsyncRedisCache gets, sets with TTL, deletes and clears like RedisCache."""
    cache = AsyncRedisCache(redis_url, namespace="as", ttl=30, local_maxsize=4)
    try:
        assert await cache.get("k") is None
        await cache.set("k", {"a": [1]})
        assert 29_000 < raw.pttl("as:v1:k") <= 30_000
        assert await cache.get("k") == {"a": [1]}
        raw.delete("as:v1:k")
        assert await cache.get("k") == {"a": [1]}  # local tier
        assert cache.local is not None
        cache.local.clear()
        assert await cache.get("k") is None
        await cache.set("k", 1)
        assert await cache.delete("k") is True
        assert await cache.delete("k") is False
        with raw.pipeline(transaction=False) as pipe:
            for i in range(600):
                pipe.set(f"as:v1:{i}", b"1")
            pipe.execute()
        raw.set("keep", b"1")
        await cache.clear()
        assert raw.keys() == [b"keep"]
        stats = cache.stats()
        assert (stats["hits"], stats["local_hits"], stats["misses"]) == (2, 2, 2)
        assert cache.namespace == "as"
        assert repr(cache).startswith("AsyncRedisCache('redis://")
    finally:
        await cache.aclose()
        await cache.aclose()  # nothing left for this loop


def test_async_cache_works_across_event_loops(redis_url):
    """One AsyncRedisCache made from a URL serves several asyncio.run() loops."""
    cache = AsyncRedisCache(redis_url, namespace="loops")

    async def put(value):
        await cache.set("k", value)
        result = await cache.get("k")
        await cache.aclose()
        return result

    assert asyncio.run(put(1)) == 1
    assert asyncio.run(put(2)) == 2


@pytest.mark.asyncio
async def test_async_rejects_planted_pickle_and_tampering(raw):
    """Async reads reject planted and tampered payloads without unpickling them."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(
        f"redis://127.0.0.1:{raw.connection_pool.connection_kwargs['port']}/0"
    )
    cache = AsyncRedisCache(
        client=client, namespace="t", serializer=PickleSerializer(secret=SECRET)
    )
    try:
        raw.set("t:v1:k", pickle.dumps(Exploit()))
        assert await cache.get("k", "miss") == "miss"
        assert Exploit.ran == 0
        assert cache.stats()["rejected"] == 1
        await cache.aclose()  # a given client is left to its owner
        await cache.set("k", "ok")
        assert await cache.get("k") == "ok"
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_async_fail_open_strict_and_resume(redis_url, redis_server):
    """Async: a dead server means counted misses (or CacheUnavailableError when strict)."""
    lenient = AsyncRedisCache(redis_url, namespace="t", retry_interval=0)
    strict = AsyncRedisCache(redis_url, namespace="t", strict=True)
    await lenient.set("k", 1)
    await strict.get("k")
    redis_server.stop()
    try:
        assert await lenient.get("k", "fallback") == "fallback"
        await lenient.set("k", 2)
        assert await lenient.delete("k") is False
        await lenient.clear()
        assert lenient.stats()["errors"] == 4
        with pytest.raises(CacheUnavailableError):
            await strict.get("k")
    finally:
        redis_server.start()
    await lenient.set("k", 3)
    assert await lenient.get("k") == 3
    await lenient.aclose()
    await strict.aclose()


@pytest.mark.asyncio
async def test_async_lock_claim_wait_and_release(redis_url, raw):
    """Async claims: one takes the lock, another waits for its value; release frees it."""
    first = AsyncRedisCache(redis_url, namespace="t", lock=True)
    second = AsyncRedisCache(redis_url, namespace="t", lock=True, lock_wait=2)
    try:
        assert await first.claim("k", "compute") == "compute"
        waiter = asyncio.ensure_future(second.claim("k", "compute"))
        await asyncio.sleep(0.03)
        assert not waiter.done()
        await first.set("k", 5)
        assert await waiter == 5
        assert raw.exists("t:v1|lock:k") == 0
        assert await first.claim("j") is None
        impatient = AsyncRedisCache(redis_url, namespace="t", lock=True, lock_wait=0.02)
        assert await impatient.claim("j", "compute") == "compute"
        await first.release("j")
        await first.release("j")
        assert raw.exists("t:v1|lock:j") == 0
        raw.set("t:v1:m", b"1")
        assert await first.claim("m") == 1
        unlocked = AsyncRedisCache(redis_url, namespace="t")
        assert await unlocked.claim("m", "off") == "off"
        await unlocked.aclose()
        await impatient.aclose()
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.asyncio
async def test_async_claim_fails_open(redis_url, redis_server):
    """Async claim and release with the server down let the caller compute."""
    cache = AsyncRedisCache(redis_url, namespace="t", lock=True, retry_interval=0)
    assert await cache.claim("k") is None
    redis_server.stop()
    try:
        await cache.release("k")
        assert await cache.claim("k", "compute") == "compute"
        assert cache.stats()["errors"] == 2
    finally:
        redis_server.start()
        await cache.aclose()
