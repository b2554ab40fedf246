import contextlib
import copy
import pickle
import threading
import time

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pmp_cache import CacheBackend, LRUCache, S3FIFOCache
from pmp_errors import ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_seed_example_runs_as_written():
    """The seed's manual cache example works and reports a hit rate."""
    cache_store: LRUCache[str, int] = LRUCache(maxsize=128, ttl=3600)
    cache_store.set("user:123", 42)
    value = cache_store.get("user:123")
    stats = cache_store.stats()
    assert value == 42
    assert f"Hit rate: {stats['hit_rate']:.2%}" == "Hit rate: 100.00%"


def test_evicts_least_recently_used():
    """A full cache drops the entry read or written longest ago."""
    c: LRUCache[str, int] = LRUCache(maxsize=2)
    c["a"], c["b"] = 1, 2
    assert c["a"] == 1
    c["c"] = 3
    assert list(c) == ["a", "c"]
    assert c.stats()["evictions"] == 1


def test_mapping_protocol():
    """The cache behaves as a MutableMapping."""
    c: LRUCache[str, int] = LRUCache(maxsize=10)
    c.update({"a": 1, "b": 2}, c=3)
    assert len(c) == 3
    assert "a" in c
    assert "z" not in c
    assert c.pop("a") == 1
    assert c.pop("a", -1) == -1
    with pytest.raises(KeyError):
        c.pop("a")
    assert c.setdefault("b", 9) == 2
    assert c.setdefault("d", 4) == 4
    assert c.popitem() == ("b", 2)
    del c["c"]
    with pytest.raises(KeyError):
        del c["c"]
    assert dict(c.items()) == {"d": 4}
    assert list(c.values()) == [4]
    assert list(c.keys()) == ["d"]
    assert c == {"d": 4}
    assert c != {"d": 5}
    assert c.__eq__(42) is NotImplemented
    c.clear()
    assert len(c) == 0
    with pytest.raises(KeyError, match="empty"):
        c.popitem()
    assert repr(LRUCache(maxsize=3)) == "LRUCache({}, maxsize=3)"


def test_missing_key_raises_key_error():
    """A plain cache raises KeyError for a missing key and counts the miss."""
    c: LRUCache[str, int] = LRUCache()
    with pytest.raises(KeyError):
        c["nope"]
    assert c.stats()["misses"] == 1


def test_missing_hook_is_used_by_getitem_but_not_get():
    """A subclass's __missing__ fills in for [] while get() returns the default."""
    calls: list[int] = []

    class Squares(LRUCache[int, int]):
        def __missing__(self, key: int) -> int:
            calls.append(key)
            self[key] = key * key
            return key * key

    s = Squares(maxsize=4)
    assert s.get(3) is None
    assert s[3] == 9
    assert s[3] == 9
    assert calls == [3]


def test_peek_and_contains_do_not_touch_recency_or_stats():
    """Peek and `in` leave the order and the counters alone."""
    c: LRUCache[str, int] = LRUCache(maxsize=2)
    c["a"], c["b"] = 1, 2
    assert c.peek("a") == 1
    assert c.peek("zz", 0) == 0
    assert "a" in c
    c["c"] = 3
    assert "a" not in c
    assert c.stats()["hits"] == 0
    assert c.stats()["misses"] == 0


def test_equality_copy_and_pickle():
    """Copies and pickles keep entries, order and settings."""
    c: LRUCache[str, int] = LRUCache(maxsize=3)
    c.update(a=1, b=2)
    c.get("a")
    for other in (c.copy(), copy.copy(c), pickle.loads(pickle.dumps(c))):
        assert other == c
        assert list(other) == ["b", "a"]
        assert other.maxsize == 3
        assert other is not c
    d: LRUCache[str, int] = LRUCache(maxsize=3)
    d.update(a=1, b=2)
    assert d == c


def test_pickle_keeps_remaining_lifetimes():
    """A pickled TTL cache restores each entry's remaining lifetime from the new clock."""
    c: LRUCache[str, int] = LRUCache(ttl=10)
    c.set("short", 1, ttl=1)
    c.set("long", 2)
    c2: LRUCache[str, int] = LRUCache()
    c2["plain"] = 0
    c2.set("timed", 1, ttl=100)
    restored = pickle.loads(pickle.dumps(c))
    assert restored == {"short": 1, "long": 2}
    assert restored.ttl == 10
    assert pickle.loads(pickle.dumps(c2)) == {"plain": 0, "timed": 1}


def test_unbounded_cache_reports_no_maxsize():
    """maxsize=None never evicts and reports maxsize None."""
    c: LRUCache[int, int] = LRUCache(maxsize=None)
    c.update((i, i) for i in range(1000))
    assert len(c) == 1000
    assert c.maxsize is None
    assert c.stats()["maxsize"] is None


def test_zero_maxsize_stores_nothing():
    """maxsize=0 evicts every entry at once."""
    c: LRUCache[int, int] = LRUCache(maxsize=0)
    c[1] = 1
    assert len(c) == 0
    assert c.stats()["evictions"] == 1


def test_ttl_expires_at_the_deadline():
    """An entry is visible before its deadline and gone from the deadline on."""
    clock = Clock()
    c: LRUCache[str, int] = LRUCache(ttl=10, timer=clock)
    c["a"] = 1
    clock.now = 9.999
    assert c.get("a") == 1
    clock.now = 10.0
    assert c.get("a") is None
    assert "a" not in c
    assert c.stats()["expirations"] == 1
    assert c.ttl == 10.0


def test_expired_entries_are_invisible_and_counted_once():
    """Expired entries vanish from len, iteration, views and reads, counted once each."""
    clock = Clock()
    c: LRUCache[str, int] = LRUCache(ttl=5, timer=clock)
    c.update(a=1, b=2)
    c.set("c", 3, ttl=100)
    clock.now = 6
    assert list(c) == ["c"]
    assert dict(c.items()) == {"c": 3}
    assert c.peek("a") is None
    assert c.get("a") is None
    assert len(c) == 1
    assert c.currsize == 1
    assert c.get("b") is None
    assert c.expire() == 0
    assert c.stats()["expirations"] == 2
    with pytest.raises(KeyError):
        del c["a"]
    assert c.pop("b", None) is None


def test_expired_entries_are_skipped_by_pop_and_popitem():
    """Pop and popitem treat expired entries as absent and count them."""
    clock = Clock()
    c: LRUCache[str, int] = LRUCache(ttl=5, timer=clock)
    c["old"] = 1
    c.set("new", 2, ttl=50)
    clock.now = 10
    assert c.popitem() == ("new", 2)
    c.set("x", 1, ttl=1)
    clock.now = 20
    assert c.pop("x", "gone") == "gone"
    assert c.stats()["expirations"] == 2


def test_eviction_of_an_expired_entry_counts_as_expiration():
    """When the LRU entry pushed out had already expired it is an expiration."""
    clock = Clock()
    c: LRUCache[str, int] = LRUCache(maxsize=1, ttl=5, timer=clock)
    c["a"] = 1
    clock.now = 6
    c["b"] = 2
    c["c"] = 3
    stats = c.stats()
    assert (stats["expirations"], stats["evictions"]) == (1, 1)


def test_per_item_ttl_on_a_cache_without_default_ttl():
    """set(ttl=) works on a cache built without ttl; other entries stay forever."""
    clock = Clock()
    c: LRUCache[str, int] = LRUCache(timer=clock)
    c["forever"] = 1
    c.set("brief", 2, ttl=1)
    clock.now = 1000
    assert dict(c.items()) == {"forever": 1}
    assert c["forever"] == 1


def test_default_clock_is_looked_up_at_call_time(monkeypatch: pytest.MonkeyPatch):
    """Patching time.monotonic controls expiry of a cache made before the patch."""
    c: LRUCache[str, int] = LRUCache(ttl=60)
    now = time.monotonic()
    c["a"] = 1
    monkeypatch.setattr(time, "monotonic", lambda: now + 61)
    assert c.get("a") is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"maxsize": -1}, "maxsize"),
        ({"maxsize": 1.5}, "maxsize"),
        ({"maxsize": True}, "maxsize"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -3}, "ttl"),
        ({"ttl": float("nan")}, "ttl"),
        ({"ttl": "1"}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"timer": 5}, "timer"),
    ],
)
def test_bad_arguments_raise_validation_error(kwargs, field):
    """Invalid settings raise ValidationError naming the argument and value."""
    with pytest.raises(ValidationError) as info:
        LRUCache(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)


def test_bad_per_item_ttl_raises():
    """set(ttl=) with a bad value names the ttl argument."""
    with pytest.raises(ValidationError, match="ttl"):
        LRUCache[str, int]().set("a", 1, ttl=-1)


def test_is_a_cache_backend():
    """LRUCache satisfies the CacheBackend protocol."""
    assert isinstance(LRUCache(), CacheBackend)


def test_stats_fields_and_hit_rate():
    """stats() reports every field; hit_rate is 0.0 before any lookup."""
    c: LRUCache[str, int] = LRUCache(maxsize=5)
    assert c.stats() == {
        "hits": 0,
        "misses": 0,
        "hit_rate": 0.0,
        "evictions": 0,
        "expirations": 0,
        "currsize": 0,
        "maxsize": 5,
    }
    c["a"] = 1
    c.get("a")
    c.get("a")
    c.get("b")
    assert c.stats()["hit_rate"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("kind", [LRUCache, S3FIFOCache])
def test_threads_hammering_keep_size_and_stats_consistent(kind: type[LRUCache[int, int]]):
    """8 threads doing get/set/delete never raise or overfill; hits and misses never overcount.

    Hits and misses are counted without a lock (``+= 1`` is not atomic, with the
    GIL or without it), so concurrent readers may lose a few: what holds on every
    build is ``hits + misses <= lookups``. The size bound holds exactly.
    """
    c: LRUCache[int, int] = kind(maxsize=32, ttl=1000)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    lookups = [0] * 8
    sizes: list[int] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(3000):
                k = (i * 7 + n) % 64
                if i % 3 == 0:
                    c[k] = i
                elif i % 11 == 0:
                    c.delete(k)
                else:
                    c.get(k)
                    lookups[n] += 1
                if i % 97 == 0:
                    sizes.append(len(c._data))
                    list(c)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = c.stats()
    assert 0 < stats["hits"] + stats["misses"] <= sum(lookups)
    assert max(sizes) <= 32
    assert stats["currsize"] <= 32


@pytest.mark.parametrize("kind", [LRUCache, S3FIFOCache])
def test_threads_inserting_into_a_plain_cache_count_every_eviction(kind: type[LRUCache[int, int]]):
    """Concurrent inserts of new keys never overfill a cache without TTL and lose no eviction."""
    c: LRUCache[int, int] = kind(maxsize=32)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    sizes: list[int] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(2000):
                c[n * 10_000 + i] = i
                if i % 50 == 0:
                    sizes.append(len(c._data))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert max(sizes) <= 32
    assert c.stats()["evictions"] == 8 * 2000 - 32
    assert len(c) == 32


def test_subclass_setitem_may_call_set():
    """A subclass's __setitem__ that delegates to set() stores once, without recursing."""
    seen: list[str] = []

    class Logged(LRUCache[str, int]):
        def __setitem__(self, key: str, value: int) -> None:
            seen.append(key)
            self.set(key, value)

    c = Logged(maxsize=1)
    c["a"] = 1
    c["b"] = 2
    c.update(c=3)
    assert (seen, list(c.items())) == (["a", "b", "c"], [("c", 3)])
    assert c.stats()["evictions"] == 2


@pytest.mark.parametrize("kind", [LRUCache, S3FIFOCache])
def test_iterating_while_other_threads_read_and_write(kind: type[LRUCache[int, int]]):
    """Iteration over a snapshot never fails with 'mutated during iteration'."""
    c: LRUCache[int, int] = kind(maxsize=100)
    c.update((i, i) for i in range(100))
    stop = threading.Event()
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def reader() -> None:
        barrier.wait()
        while not stop.is_set():
            for i in range(100):
                c.get(i)
                c[i + 100 * (i % 2)] = i

    def iterate() -> None:
        barrier.wait()
        try:
            for _ in range(300):
                for key in c:
                    c.get(key)
                list(c.items())
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    threads = [threading.Thread(target=reader), threading.Thread(target=iterate)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    assert errors == []


class CacheModel(RuleBasedStateMachine):
    """LRUCache against a list-based model with an injected clock.

    The model holds what the cache stores, expired entries included, and the
    exact counters; between steps the cache is only read through ``items()``
    and ``stats()``, which neither drop expired entries nor touch recency.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.cache: LRUCache[int, int] = LRUCache(maxsize=4, ttl=10, timer=self.clock)
        self.model: list[tuple[int, int, float]] = []  # (key, value, deadline), LRU first
        self.hits = self.misses = self.evictions = self.expirations = 0

    def _live(self) -> list[tuple[int, int, float]]:
        return [e for e in self.model if e[2] > self.clock.now]

    def _find(self, key: int) -> tuple[int, int, float] | None:
        return next((e for e in self.model if e[0] == key), None)

    @rule(key=st.integers(0, 6), value=st.integers(), ttl=st.sampled_from([None, 1.0, 25.0]))
    def set(self, key, value, ttl):
        self.cache.set(key, value, ttl=ttl)
        entry = self._find(key)
        if entry is not None:  # overwritten in place, expired or not: nothing is counted
            self.model.remove(entry)
        elif len(self.model) >= 4:  # full: expired entries leave first, then the LRU one
            expired = [e for e in self.model if e[2] <= self.clock.now]
            self.expirations += len(expired)
            self.model = [e for e in self.model if e[2] > self.clock.now]
            if len(self.model) >= 4:
                self.model.pop(0)
                self.evictions += 1
        self.model.append((key, value, self.clock.now + (10 if ttl is None else ttl)))

    @rule(key=st.integers(0, 6))
    def get(self, key):
        entry = self._find(key)
        got = self.cache.get(key, -1)
        if entry is not None and entry[2] > self.clock.now:
            assert got == entry[1]
            self.model.remove(entry)
            self.model.append(entry)
            self.hits += 1
        else:
            assert got == -1
            self.misses += 1
            if entry is not None:
                self.model.remove(entry)
                self.expirations += 1

    @rule(key=st.integers(0, 6))
    def delete(self, key):
        entry = self._find(key)
        live = entry is not None and entry[2] > self.clock.now
        assert self.cache.delete(key) is live
        if entry is not None:
            self.model.remove(entry)
            self.expirations += not live

    @rule(seconds=st.floats(0, 12))
    def tick(self, seconds):
        self.clock.now += seconds

    @precondition(lambda self: bool(self._live()))
    @rule()
    def popitem(self):
        live = self._live()
        assert self.cache.popitem() == live[0][:2]
        while self.model[0] is not live[0]:
            self.model.pop(0)
            self.expirations += 1
        self.model.pop(0)

    @invariant()
    def same_contents_and_counters(self):
        live = self._live()
        assert list(self.cache.items()) == [e[:2] for e in live]
        stats = self.cache.stats()
        assert (stats["hits"], stats["misses"]) == (self.hits, self.misses)
        assert (stats["evictions"], stats["expirations"]) == (self.evictions, self.expirations)
        assert stats["currsize"] == len(live)


CacheModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_cache_matches_model = CacheModel.TestCase


def test_expire_on_a_cache_without_deadlines_drops_nothing():
    """expire() on a cache without TTL returns 0."""
    c: LRUCache[str, int] = LRUCache()
    c["a"] = 1
    assert c.expire() == 0
    assert c.peek("a") == 1


def test_a_full_cache_drops_expired_entries_before_evicting_a_live_one():
    """Inserting into a full TTL cache drops expired entries first, counted as expirations."""
    clock = Clock()
    c: LRUCache[str, int] = LRUCache(maxsize=3, ttl=10, timer=clock)
    c.set("a", 1)
    c.set("b", 2, ttl=1)
    c.set("c", 3)
    clock.now = 5.0  # "b" expired; "a" is the least recently used and still live
    c["d"] = 4
    assert c.peek("a") == 1
    assert c.stats()["evictions"] == 0
    assert c.stats()["expirations"] == 1
    assert sorted(c) == ["a", "c", "d"]


@pytest.mark.parametrize("kind", ["lru", "cache", "async_cache"])
def test_a_full_store_drops_an_expired_entry_that_was_used_recently(kind: str):
    """With one TTL, an entry touched after a younger one expires first and leaves first."""
    import asyncio

    from pmp_cache import async_cache, cache

    clock = Clock()
    calls: list[str] = []
    if kind == "lru":
        c: LRUCache[str, str] = LRUCache(maxsize=2, ttl=10, timer=clock)

        def call(k: str) -> str:
            value = c.get(k)
            if value is None:
                calls.append(k)
                c[k] = value = k
            return value

        stats = c.stats
    elif kind == "cache":

        @cache(maxsize=2, ttl=10, timer=clock)
        def f(k: str) -> str:
            calls.append(k)
            return k

        call, stats = f, f.cache_stats
    else:

        @async_cache(maxsize=2, ttl=10, timer=clock)
        async def g(k: str) -> str:
            calls.append(k)
            return k

        def call(k: str) -> str:
            return asyncio.run(g(k))

        stats = g.cache_stats
    call("a")
    clock.now = 5.0
    call("b")
    clock.now = 6.0
    call("a")  # "a" becomes the most recently used; it expires at 10, "b" at 15
    clock.now = 11.0
    call("c")  # full: "a" has expired and leaves; "b" stays
    call("b")
    assert calls == ["a", "b", "c"]
    assert (stats()["evictions"], stats()["expirations"]) == (0, 1)


def test_setdefault_without_a_default_stores_none():
    """setdefault(key) stores and returns None, as the MutableMapping contract allows."""
    c: LRUCache[str, int | None] = LRUCache()
    assert c.setdefault("a") is None
    assert "a" in c
    assert c.setdefault("a", 1) is None


class _MeetingKey:
    """A key whose hashing waits (briefly) for a second thread to hash it too."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2)

    def __hash__(self) -> int:
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait(0.5)
        return 1

    def __eq__(self, other: object) -> bool:
        return self is other


@pytest.mark.parametrize("ttl", [None, 60])
def test_racing_setdefault_calls_all_see_the_one_value_stored(ttl: float | None):
    """Two threads calling setdefault with different defaults both get the one stored value."""
    c: LRUCache[_MeetingKey, int] = LRUCache(ttl=ttl)
    key = _MeetingKey()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda v=v: results.append(c.setdefault(key, v))) for v in (1, 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    assert results[0] == results[1] == c[key]
