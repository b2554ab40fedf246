"""S3FIFOCache and policy="s3fifo": the policy against a model, and everything else as under LRU."""

import asyncio
import collections
import copy
import itertools
import pickle
import random
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pmp_cache import LRUCache, S3FIFOCache, async_cache, cache
from pmp_cache._policy import Counts, Credits, S3Fifo
from pmp_errors import ConfigurationError, ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


MAXSIZE = 5  # a small FIFO of 1 entry; counting starts with the second key


class S3FifoModel(RuleBasedStateMachine):
    """S3FIFOCache against S3-FIFO written with lists, with deadlines and an injected clock.

    The model holds what is stored (expired entries included), the store's order
    (the main FIFO, in which keys of the small FIFO are skipped), the small FIFO,
    the read marks, the counts and the credits (the policy's, checked on their own
    below) and the exact counters.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.cache: S3FIFOCache[int, int] = S3FIFOCache(maxsize=MAXSIZE, ttl=10, timer=self.clock)
        self.stored: dict[int, tuple[int, float]] = {}
        self.order: list[int] = []
        self.small: list[int] = []
        self.read: set[int] = set()
        self.counts: Counts | None = None  # made once a quarter full
        self.credits: Credits | None = None
        self.hits = self.misses = self.evictions = self.expirations = 0

    def _remove(self, key: int) -> None:
        del self.stored[key]
        self.order.remove(key)
        if key in self.small:
            self.small.remove(key)
        self.read.discard(key)
        if self.credits is not None:
            self.credits.discard(key)

    def _evict(self) -> None:
        assert self.counts is not None
        if self.small:  # its oldest meets the main FIFO's victim: the one seen more stays
            key = self.small.pop(0)
            if key in self.read:  # read while new: seen once more
                self.read.discard(key)
                self.counts.add(key)
            self.order.remove(key)
            if len(self.order) <= len(self.small):  # no main FIFO to meet
                del self.stored[key]
            else:
                rival = self._main_victim()
                if self.counts[key] > self.counts[rival]:
                    self.order.append(key)
                    key = rival
                else:
                    self.order.insert(0, rival)
                del self.stored[key]
        else:
            del self.stored[self._main_victim()]
        self.evictions += 1

    def _main_victim(self) -> int:
        assert self.counts is not None
        assert self.credits is not None
        while True:
            key = self.order.pop(0)
            if key in self.small:  # still new: the small FIFO decides
                self.order.append(key)
            elif key in self.read:  # another turn, and one more in store (up to 3)
                self.read.discard(key)
                self.counts.add(key)
                self.credits.earn(key)
                self.order.append(key)
            elif self.credits.spend(key):  # unread, but read in earlier turns
                self.order.append(key)
            else:
                return key

    @rule(key=st.integers(0, 9), value=st.integers(), ttl=st.sampled_from([None, 1.0, 25.0]))
    def set(self, key, value, ttl):
        self.cache.set(key, value, ttl=ttl)
        deadline = self.clock.now + (10 if ttl is None else ttl)
        if key in self.stored:  # overwritten in place: its place in the FIFOs is kept
            self.stored[key] = (value, deadline)
            return
        if len(self.stored) >= MAXSIZE:  # full: expired entries leave first
            for k, (_, d) in list(self.stored.items()):
                if d <= self.clock.now:
                    self._remove(k)
                    self.expirations += 1
            if len(self.stored) >= MAXSIZE:
                self._evict()
        self.stored[key] = (value, deadline)
        self.order.append(key)
        self.read.discard(key)
        if self.counts is None and 4 * len(self.stored) >= MAXSIZE:
            self.counts, self.credits = Counts(MAXSIZE), Credits(MAXSIZE)
        if self.counts is not None:
            self.counts.add(key)
        self.small.append(key)
        if len(self.small) > 1:  # still filling up: the oldest moves on as it is
            self.small.pop(0)

    @rule(key=st.integers(0, 9))
    def get(self, key):
        got = self.cache.get(key, -1)
        entry = self.stored.get(key)
        if entry is not None and entry[1] > self.clock.now:
            assert got == entry[0]
            self.read.add(key)
            self.hits += 1
        else:
            assert got == -1
            self.misses += 1
            if entry is not None:
                self._remove(key)
                self.expirations += 1

    @rule(key=st.integers(0, 9))
    def delete(self, key):
        entry = self.stored.get(key)
        live = entry is not None and entry[1] > self.clock.now
        assert self.cache.delete(key) is live
        if entry is not None:
            self._remove(key)
            self.expirations += not live

    @rule(seconds=st.floats(0, 12))
    def tick(self, seconds):
        self.clock.now += seconds

    @invariant()
    def same_contents_and_counters(self):
        live = {k: v for k, (v, d) in self.stored.items() if d > self.clock.now}
        assert dict(self.cache.items()) == live
        assert len(self.cache._data) == len(self.stored) <= MAXSIZE
        stats = self.cache.stats()
        assert (stats["hits"], stats["misses"]) == (self.hits, self.misses)
        assert (stats["evictions"], stats["expirations"]) == (self.evictions, self.expirations)
        assert stats["currsize"] == len(live)


S3FifoModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_s3fifo_matches_model = S3FifoModel.TestCase


def test_a_scan_does_not_flush_entries_in_use():
    """Keys read once survive a one-pass scan of 10x the cache; under LRU none does."""
    for kind, survivors in ((S3FIFOCache, 10), (LRUCache, 0)):
        c: LRUCache[int, int] = kind(maxsize=100)
        for k in range(10):
            c[k] = k
            c.get(k)
        for k in range(1000, 2000):
            c[k] = k
        assert sum(k in c for k in range(10)) == survivors, kind


def test_a_key_seen_more_often_than_the_main_fifos_victim_takes_its_place():
    """The small FIFO's oldest entry stays only if seen more often lately than the main's victim."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=100)  # a small FIFO of 2 entries
    c.update((k, k) for k in range(100))  # 0 to 97 move on to the main FIFO; 0 to 23 uncounted
    c[100] = 100  # full: 98 (seen once), oldest of the small FIFO, beats the main's 0 (never)
    assert (98 in c, 0 in c) == (True, False)
    for k in range(101, 124):  # 99 to 121, seen once, take the places of 1 to 23
        c[k] = k
    assert not any(k in c for k in range(24))
    c[124] = 124  # 122 and the main FIFO's 24, seen once each: a tie keeps 24
    assert (122 in c, 24 in c) == (False, True)
    c[122] = 122  # seen twice now
    c[125] = 125  # 123 against 24: a tie again
    c[126] = 126  # 122 (twice) against 24 (once): 122 takes its place
    assert (122 in c, 123 in c, 24 in c) == (True, False, False)
    for k in range(1000, 1250):  # a scan of keys seen once: none beats the main FIFO's
        c[k] = k
    assert sum(k in c for k in range(25, 98)) == 73  # the scan passed through the small FIFO
    assert 122 in c


def test_counting_starts_once_a_quarter_full() -> None:
    """Counts and credits are made when a quarter of maxsize is stored, sized for the full cache."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=100)
    policy = c._policy
    assert policy is not None
    c.update((k, k) for k in range(24))
    assert (policy.counts, policy.credits) == (None, None)
    c[24] = 24  # the 25th key: counted from here on
    assert policy.counts is not None
    assert policy.credits is not None
    assert (policy.counts[24], policy.counts[23]) == (1, 0)
    assert len(policy.counts.table) == 2 * 1024  # 4 rows of at least 1,024 counters


def test_read_marks_left_by_racing_readers_are_pruned():
    """Marks of keys that left meanwhile never make the policy's state outgrow the cache."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=10)
    policy = c._policy
    assert policy is not None
    for k in range(1000):
        policy.touch(-k - 1)  # what a reader does for a key a writer evicts at once
        c[k] = k
    assert len(policy.visited) <= 2 * 10 + 16
    assert len(policy.small) <= 10
    assert policy.counts is not None
    assert len(policy.counts.table) == 2 * 1024  # fixed: the counts hold no key


@pytest.mark.parametrize("maxsize", [10**12, 2**64])
def test_read_marks_left_by_racing_readers_are_pruned_in_a_huge_cache(maxsize: int) -> None:
    """Marks of removed keys are pruned as often as the store's worth of keys is added."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=maxsize)
    policy = c._policy
    assert policy is not None
    c.update((k, k) for k in range(-10, 0))
    for k in range(1000):
        c[k] = k
        del c[k]
        policy.touch(k)  # what a reader that found the key marks as a writer deletes it
    assert len(policy.visited) <= 2 * 10 + 16


def test_read_marks_give_back_their_memory_once_cleared():
    """A dict never shrinks: marks cleared by eviction must not keep the warm-up's table."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=1000)
    c.update((k, k) for k in range(1000))
    for k in range(1000):
        c.get(k)  # every key marked read
    policy = c._policy
    assert policy is not None
    full = sys.getsizeof(policy.visited)
    for k in range(1000, 3000):  # unread new keys: the marks are cleared as keys are passed
        c[k] = k
    assert len(policy.visited) < 100
    assert sys.getsizeof(policy.visited) < full // 4


def test_read_marks_table_is_rebuilt_soon_after_it_grows():
    """A grown table of read marks is rebuilt at the next admission, not a cache's worth later.

    Marks stored by hits and removed by the main FIFO's passes churn the dict, which then
    grows to 2 to 4 slots per live mark (an eighth of a cache's worth of new keys at least
    passes between rebuilds).
    """
    rnd = random.Random(5)  # noqa: S311 - a reproducible trace
    weights = [1 / (i + 1) for i in range(20_000)]
    trace = rnd.choices(range(20_000), weights, k=60_000)
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=2000)
    policy = c._policy
    assert policy is not None
    bloated = samples = 0
    for i, k in enumerate(trace):
        if c.get(k) is None:
            c[k] = k
        if i >= 20_000 and i % 100 == 0:
            samples += 1
            fresh = dict.fromkeys(list(policy.visited))
            bloated += sys.getsizeof(policy.visited) > 1.5 * sys.getsizeof(fresh)
    assert bloated < samples // 5, bloated  # without the rebuild on growth: 164 of 400


def test_keys_deleted_or_expired_leave_the_policys_state():
    """Deleting, popping or sweeping out a key drops its place in the small FIFO and its mark."""
    clock = Clock()
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=100, ttl=5, timer=clock)
    policy = c._policy
    assert policy is not None
    c.update((k, k) for k in range(10))  # the small FIFO (2 entries) holds 8 and 9
    for k in range(10):
        c.get(k)
    assert (set(policy.small), set(policy.visited)) == ({8, 9}, set(range(10)))
    del c[9]
    assert c.pop(8) == 8
    assert (set(policy.small), set(policy.visited)) == (set(), set(range(8)))
    c.update({20: 20, 21: 21})
    c.get(20)
    clock.now = 10
    assert c.expire() == 10
    assert (set(policy.small), set(policy.visited)) == (set(), set())


def test_copy_pickle_and_clear_keep_the_policy():
    c: S3FIFOCache[str, int] = S3FIFOCache(maxsize=3, ttl=60)
    c.update(a=1, b=2)
    for other in (c.copy(), copy.copy(c), pickle.loads(pickle.dumps(c))):
        assert type(other) is S3FIFOCache
        assert other == c
        assert other.POLICY == "s3fifo"
        other.update(c=3, d=4, e=5)
        assert len(other) == 3
    c.clear()
    assert len(c) == 0
    assert c._policy is not None
    assert (c._policy.small, c._policy.visited) == ({}, {})


def test_popitem_and_unbounded_and_zero_sizes():
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=None)
    c.update((k, k) for k in range(50))
    assert c.maxsize is None
    assert len(c) == 50
    assert c._policy is None  # it never evicts: no bookkeeping
    bounded: S3FIFOCache[int, int] = S3FIFOCache(maxsize=100)
    bounded.update((k, k) for k in range(50))
    key, value = bounded.popitem()
    assert key == value
    assert key not in bounded
    assert bounded._policy is not None
    assert key not in bounded._policy.small
    zero: S3FIFOCache[int, int] = S3FIFOCache(maxsize=0)
    zero[1] = 1
    assert (len(zero), zero.stats()["evictions"]) == (0, 1)


def test_eviction_and_expiration_events_under_s3fifo():
    events: list[tuple[str, object]] = []
    clock = Clock()

    @cache(
        maxsize=2,
        ttl=5,
        timer=clock,
        policy="s3fifo",
        on_event=lambda k, key: events.append((k, key)),
    )
    def f(x: int) -> int:
        return x

    f(1)
    f(1)
    f(2)
    f(3)  # full: 2 (unread, in the small FIFO) leaves
    clock.now = 6
    f(4)  # everything expired: swept first
    kinds = [k for k, _ in events]
    assert kinds == ["miss", "hit", "miss", "miss", "eviction", "miss", "expiration", "expiration"]
    assert ("eviction", 1) not in events
    assert f.cache_stats()["evictions"] == 1


def test_stale_serves_under_s3fifo():
    clock = Clock()
    calls: list[int] = []

    @cache(maxsize=4, ttl=1, stale=10, timer=clock, policy="s3fifo")
    def f(x: int) -> int:
        calls.append(x)
        return len(calls)

    assert f(1) == 1
    clock.now = 2
    assert f(1) in (1, 2)  # served stale while one refresher recomputes
    f.cache_clear()
    assert f(1) >= 2


@pytest.mark.parametrize("ttl", [None, 60])
def test_threads_hammering_a_cached_function_under_s3fifo(ttl):
    """8 threads over 64 keys in a 16-entry cache: right values, size bound, no error."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    @cache(maxsize=16, ttl=ttl, policy="s3fifo")
    def f(x: int) -> int:
        return x * 2

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(3000):
                k = (i * 7 + n) % 64 if i % 2 else n % 4
                assert f(k) == 2 * k
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert f.cache_info().currsize <= 16


@pytest.mark.asyncio
async def test_tasks_hammering_an_async_cached_function_under_s3fifo():
    @async_cache(maxsize=16, policy="s3fifo")
    async def f(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    async def work(n: int) -> None:
        for i in range(300):
            k = (i * 7 + n) % 64 if i % 2 else n % 4
            assert await f(k) == 2 * k

    await asyncio.gather(*(work(n) for n in range(16)))
    info = f.cache_info()
    assert info.currsize <= 16
    assert info.hits > 0


@pytest.mark.parametrize("policy", ["LRU", "fifo", None, 1])
def test_an_unknown_policy_is_named_in_the_error(policy):
    with pytest.raises(ValidationError, match="policy must be one of 'lru', 's3fifo'"):
        cache(policy=policy)


def test_a_policy_with_a_backend_is_refused():
    with pytest.raises(ConfigurationError, match="drop backend= or policy="):
        cache(backend=LRUCache(), policy="s3fifo")
    cache(backend=LRUCache(), policy="lru")  # the default is fine with any backend


def test_the_main_fifo_gives_a_read_entry_a_second_chance():
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=10)  # a small FIFO of 1 entry
    c.update((k, k) for k in range(10))  # as it fills, 0 to 8 move on to the main FIFO
    c.get(0)
    c.get(1)
    c[10] = 10  # full: 9, unread in the small FIFO, leaves
    assert 9 not in c
    c.get(10)
    c[11] = 11  # 10 was read: on to the main FIFO, where 0 and 1 were read: 2 leaves
    assert (0 in c, 1 in c, 2 in c, 10 in c) == (True, True, False, True)


def test_the_main_fifo_keeps_an_entry_read_in_several_turns_for_as_many_unread():
    """Each turn an entry was read in buys it one unread turn more, up to 3."""
    policy = S3Fifo(10)
    counts, turns = policy._start()
    data = collections.OrderedDict.fromkeys([0, 1, "f0"])  # the main FIFO, oldest first
    fillers = (f"f{n}" for n in itertools.count(1))
    victims = []
    for reads in ([0, 1], [0], [0], [0], *[[]] * 9):
        for key in reads:
            policy.touch(key)
        victims.append(policy._main_victim(data, counts, turns)[0])
        data[next(fillers)] = None  # a new entry joins the main FIFO
    # 1, read in one turn, leaves on its first unread pass; 0, read in 4 turns (3 kept),
    # spends one on each of 3 unread passes and leaves on the 4th.
    assert victims == ["f0", "f1", 1, *(f"f{n}" for n in range(2, 11)), 0]


class _MarkedAgainAtOnce(dict[object, None]):
    """Read marks that readers set again, for every stored key, each time the scan takes one."""

    def __init__(self, data: collections.OrderedDict[Any, Any]) -> None:
        super().__init__(dict.fromkeys(data))
        self.data = data
        self.taken = 0

    def pop(self, key: object, default: object = None) -> object:  # type: ignore[override]
        self.taken += 1
        assert self.taken < 10_000, "the main FIFO's scan goes round and round"
        found = super().pop(key, default)
        self.update(dict.fromkeys(self.data))
        return found


def test_the_main_fifos_scan_ends_while_readers_mark_every_key():
    """Readers marking each key again as fast as the scan passes it cannot keep it going."""
    policy = S3Fifo(10)
    counts, turns = policy._start()
    data = collections.OrderedDict.fromkeys(range(10))  # the store, oldest first
    policy.small[0] = None  # 0 is new: skipped by the main FIFO's scan
    policy.visited = marks = _MarkedAgainAtOnce(data)
    key, _ = policy._main_victim(data, counts, turns)
    assert key not in data
    assert key != 0
    assert len(data) == 9
    assert marks.taken <= 10 + 1


def test_credits_count_turns_up_to_three_per_key():
    """``earn`` adds a turn up to 3, ``spend`` takes one until none is left; 4 bytes per entry."""
    turns = Credits(1000)
    assert len(turns.table) == 4000  # 16,000 2-bit counters
    assert len(Credits(10).table) == 1024  # at least 4096: small caches share few
    turns.earn("a")
    assert (turns["a"], turns["b"]) == (1, 0)
    for _ in range(5):
        turns.earn("a")
    assert turns["a"] == 3
    assert [turns.spend("a") for _ in range(4)] == [True, True, True, False]
    assert turns["a"] == 0
    turns.earn("a")
    turns.earn("b")
    turns.discard("a")
    assert (turns["a"], turns["b"]) == (0, 1)
    turns.clear()
    assert not any(turns.table)


@settings(max_examples=50, deadline=None)
@given(keys=st.lists(st.one_of(st.integers(), st.text(max_size=5)), unique=True, max_size=200))
def test_credits_of_other_keys_only_ever_add_turns(keys):
    """A key's credit is at least its own (keys sharing a counter share it), at most 3."""
    counters = Credits(100)
    own = {key: i % 4 for i, key in enumerate(keys)}
    for key, earned in own.items():
        for _ in range(earned):
            counters.earn(key)
    assert all(earned <= counters[key] <= 3 for key, earned in own.items())
    spent = sum(counters.spend(key) for key in keys for _ in range(3))
    assert spent <= sum(own.values())
    assert not any(counters.table)


@settings(max_examples=50, deadline=None)
@given(
    size=st.integers(1, 3000),
    counts=st.dictionaries(
        st.one_of(st.integers(), st.text(max_size=5)), st.integers(1, 20), max_size=300
    ),
)
def test_counts_never_fall_below_a_keys_own_and_stop_at_15(size, counts):
    """A key's estimate is at least its own count (up to 15), whatever the other keys add."""
    seen = Counts(size)
    keys = [key for key, n in counts.items() for _ in range(n)]
    keys = keys[: seen.sample - 1]  # no halving in between
    for key in keys:
        seen.add(key)
    own = collections.Counter(keys)
    assert all(min(15, n) <= seen[key] <= 15 for key, n in own.items())
    seen.clear()
    assert not any(seen.table)
    assert all(seen[key] == 0 for key in own)


def test_counts_are_halved_every_ten_cache_sizes_of_additions() -> None:
    seen = Counts(100)
    assert (seen.width, seen.sample) == (1024, 1000)
    for _ in range(12):
        seen.add("hot")
    for _ in range(1000 - 12 - 1):
        seen.add("other")
    assert (seen["hot"], seen["other"]) == (12, 15)
    seen.add("last")  # the 1,000th addition: every counter halved
    assert (seen["hot"], seen["other"], seen["last"]) == (6, 7, 0)
    assert seen.added == 0


def test_counts_of_a_cache_larger_than_the_sketch_do_not_saturate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the width cap, the counts are halved as often as for the widest sketch.

    Halved every ``10 * size`` additions, a sketch capped at fewer counters than
    5 per entry filled up: every key, even one never added, was estimated 15, so
    a new entry always tied with the main FIFO's victim and was never admitted.
    Scaled down here (a cap of 1,024 counters a row for a 10,000-entry cache,
    the ratio of a cache of about 100,000,000 entries to the real cap).
    """
    monkeypatch.setattr("pmp_cache._policy._MOST_WIDTH", 1024)
    seen = Counts(10_000)
    assert seen.width == 1024
    for key in range(99_999):  # under 10 * 10,000 additions
        seen.add(key)
    fresh = [seen[("never added", n)] for n in range(200)]
    assert sum(estimate == 15 for estimate in fresh) < 20, fresh  # without the fix: all 200


def test_counts_of_strided_keys_seldom_collide() -> None:
    """Keys never added are estimated 0 nearly always, even among strided int keys."""
    seen = Counts(10_000)  # 40,000 counters a row
    for key in range(0, 2_000_000, 100):  # 20,000 strided keys, each added once
        seen.add(key)
    assert all(seen[key] >= 1 for key in range(0, 2_000_000, 100))
    false = sum(seen[key] > 0 for key in range(1, 1_000_000, 100))  # 10,000 never added
    assert false < 100  # under 1%


def test_each_policy_hit_runs_its_own_step_only():
    """LRU's hit moves the entry and checks no policy; S3-FIFO's only marks the key read."""
    assert "od_move_to_end" in LRUCache.get.__code__.co_names
    assert not {"_touch", "_policy"} & set(LRUCache.get.__code__.co_names)
    assert "od_move_to_end" not in S3FIFOCache.get.__code__.co_names
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=10)
    c.update((k, k) for k in range(5))
    before = list(c)
    assert (c[0], c.get(1), c.get(9, -1)) == (0, 1, -1)
    assert list(c) == before  # no reordering
    assert c._policy is not None
    assert c._policy.visited == dict.fromkeys([0, 1])
    assert (c.stats()["hits"], c.stats()["misses"]) == (2, 1)


def test_unbounded_s3fifo_removes_expires_and_clears_without_a_policy() -> None:
    """An unbounded S3FIFOCache keeps no policy state; removals and expiry still work."""
    now = [0.0]
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=None, ttl=10, timer=lambda: now[0])
    c.update((k, k) for k in range(5))
    assert c._policy is None
    assert c.pop(0) == 0
    with pytest.raises(KeyError):
        c[0]
    now[0] = 10.0
    assert c.expire() == 4
    c[1] = 1
    c.clear()
    assert len(c) == 0


@pytest.mark.parametrize("ttl", [None, 10])
def test_an_unbounded_s3fifo_cache_serves_hits(ttl: float | None) -> None:
    """An S3FIFOCache without maxsize finds stored keys with get and [], as an LRUCache does."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=None, ttl=ttl)
    c[1] = 1
    assert c.get(1) == c[1] == 1
    assert c.stats()["hits"] == 2
    assert not c._marks  # nothing kept for a policy it does not have


@pytest.mark.parametrize("maxsize", [10**12, 2**64])
def test_a_huge_s3fifo_cache_takes_memory_only_as_it_is_used(maxsize: int) -> None:
    """A maxsize beyond memory (an "unbounded" bound) builds, stores and serves like a small one."""
    c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=maxsize)
    c.update((k, k) for k in range(100))
    assert c.get(1) == c[1] == 1
    assert len(c) == 100
    assert c._policy is not None
    assert c._policy.counts is None  # made once a quarter full
