"""Eviction policies of the storage core: which entry a full store drops.

``"lru"`` drops the least recently used entry: the store's ``OrderedDict`` is
kept in recency order and needs nothing more. ``"s3fifo"`` is S3-FIFO (Yang et
al., SOSP 2023) with TinyLFU's admission (Einziger et al., 2017) in place of
its ghost queue: new entries wait in a small FIFO (a fiftieth of the cache);
when the cache is full, the small FIFO's oldest entry meets the main FIFO's
next victim, and the one seen more often lately stays (``Counts``, a
count-min sketch of the keys stored and of the turns they were read in; a tie
keeps the main FIFO's). The main FIFO gives an entry read since its last turn
another turn, and, as in the paper's 2-bit frequency, remembers up to 3 such
turns (``Credits``): an entry passed unread spends one and stays, until it has
none left. A one-pass scan thus leaves through the small FIFO (each of its keys
seen once), and a hit just marks the key read: a dict store, no reordering, no
count; the counting is done by the lock-held steps, once per turn a key was
read in.

The store's ``OrderedDict`` is the main FIFO (keys of the small one are
skipped in it); the small FIFO is another ``OrderedDict`` (O(1) removal at
either end: a plain dict's first key costs a scan past deleted slots): while
the store fills up, its oldest entries move on to the main FIFO unread. The
read marks are the keys of a dict (a store into it is cheaper than a call of
set.add). The counts and credits hold no key: 4-bit and 2-bit counters indexed
by the key's hash (10 and 4 bytes per entry), made once the store is a
quarter full, so a huge ``maxsize`` costs nothing up front. The store tells the
policy of entries removed by other means (``delete``, expiry, ``clear``); a
key's count outlives its entry. A reader that marks a key just as a writer
evicts or deletes it leaves a stale mark: after as many new keys as the store
held last time (and 16; not ``maxsize``, which may never be reached), the marks
are rebuilt from the resident keys' only (``compact``), which also gives the
dict back the memory of marks cleared since (a dict never shrinks on its own).
Marks stored by hits and removed as the main FIFO passes their keys churn the
dict, which then grows to 2 to 4 slots per live mark: once its table has grown,
the next admission rebuilds it (an eighth of that period after the last rebuild
at the earliest, so that a table just too small is not rebuilt over and over).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

from pmp_cache._steps import Steps
from pmp_errors import ValidationError

__all__ = ["POLICIES", "S3_STEPS", "UNMARKED", "Counts", "Credits", "S3Fifo", "check_policy"]

POLICIES = ("lru", "s3fifo")

_MIX = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: spreads strided hashes (Fibonacci hashing)
_MASK64 = (1 << 64) - 1
_MOST_TURNS = 3  # the most turns a key's credit holds (a 2-bit counter)


class _Unmarked(dict[Any, None]):
    """Read marks that keep nothing: those of a store with no policy (it evicts nothing).

    >>> marks = _Unmarked()
    >>> marks["key"] = None
    >>> len(marks)
    0
    """

    __slots__ = ()

    def __setitem__(self, key: Any, value: None) -> None:
        """Keep nothing: an unbounded store needs no marks."""


UNMARKED = _Unmarked()  # shared: it never holds anything


def check_policy(policy: object) -> str:
    """``policy`` if it names a known policy, else a ``ValidationError`` listing them."""
    if policy not in POLICIES:
        raise ValidationError(
            f"policy must be one of {', '.join(map(repr, POLICIES))}, got {policy!r}",
            field="policy",
            value=policy,
        )
    return str(policy)


_MIX2 = 0xC2B2AE3D27D4EB4F  # a second odd multiplier, for two more rows of Counts
_HALVE = bytes((b >> 1) & 0x77 for b in range(256))  # both 4-bit counters of a byte halved
_MOST_SEEN = 15  # a 4-bit counter's limit
_LEAST_WIDTH = 1024  # counters per row at least: a small cache still tells keys apart
_MOST_WIDTH = 1 << 24  # counters per row at most: a row is addressed by 24 bits of a hash


class Counts:
    """How often each key was seen lately: a count-min sketch of 4-bit counters.

    Holds no key: 4 rows of ``5 * size`` counters (at least 1,024, at most
    2**24), two to a byte, 10 bytes per entry of the cache (4 per entry in each
    row, as Caffeine's, scored 0.3 to 0.6 points lower on the Zipf traces of
    benchmarks/hit_ratio.py at 1,000 entries). A key's estimate is
    the least of its 4 counters (one per row, by its hash), never below its true
    count while no halving came in between, and at most 15; ``add`` raises only
    the counters at that least value (conservative update), so keys sharing
    counters inflate each other less. After every ``10 * size`` additions (no
    more than 2 a counter: a capped sketch would fill up) each counter is
    halved: the counts follow what is popular now.

    >>> seen = Counts(100)
    >>> [seen.add("a") for _ in range(3)]
    [1, 2, 3]
    >>> seen["a"], seen["b"]
    (3, 0)
    """

    __slots__ = ("added", "sample", "table", "width")

    def __init__(self, size: int) -> None:
        self.width = min(_MOST_WIDTH, max(_LEAST_WIDTH, 5 * size))
        self.table = bytearray(2 * self.width)  # 4 rows of ``width`` counters, 2 a byte
        # At most 2 additions a counter between halvings: a capped sketch must not fill up.
        self.sample = 10 * max(1, min(size, _MOST_WIDTH // 5))
        self.added = 0

    def _slots(self, key: object) -> tuple[int, int, int, int]:
        """The indexes of ``key``'s 4 counters, one in each row (24 bits of a hash each)."""
        x, w = hash(key), self.width
        h, g = (x * _MIX) & _MASK64, (x * _MIX2) & _MASK64
        return (
            ((h >> 40) * w) >> 24,
            w + ((((h >> 16) & 0xFFFFFF) * w) >> 24),
            2 * w + (((g >> 40) * w) >> 24),
            3 * w + ((((g >> 16) & 0xFFFFFF) * w) >> 24),
        )

    def __getitem__(self, key: object) -> int:
        """The estimate of how often ``key`` was added lately, 0 to 15."""
        t = self.table
        a, b, c, d = self._slots(key)
        return min(
            (t[a >> 1] >> ((a & 1) << 2)) & 15,
            (t[b >> 1] >> ((b & 1) << 2)) & 15,
            (t[c >> 1] >> ((c & 1) << 2)) & 15,
            (t[d >> 1] >> ((d & 1) << 2)) & 15,
        )

    def add(self, key: object) -> int:
        """Count one more sighting of ``key`` and return its estimate.

        Every ``sample`` additions, each counter is halved.
        """
        t = self.table
        a, b, c, d = self._slots(key)
        sa, sb, sc, sd = (a & 1) << 2, (b & 1) << 2, (c & 1) << 2, (d & 1) << 2
        a, b, c, d = a >> 1, b >> 1, c >> 1, d >> 1  # the bytes
        va, vb, vc, vd = (t[a] >> sa) & 15, (t[b] >> sb) & 15, (t[c] >> sc) & 15, (t[d] >> sd) & 15
        least = min(va, vb, vc, vd)
        if least < _MOST_SEEN:
            if va == least:
                t[a] += 1 << sa
            if vb == least:
                t[b] += 1 << sb
            if vc == least:
                t[c] += 1 << sc
            if vd == least:
                t[d] += 1 << sd
            least += 1
        self.added += 1
        if self.added >= self.sample:
            self.added = 0
            self.table = t.translate(_HALVE)
            least >>= 1
        return least

    def clear(self) -> None:
        """Forget every count."""
        self.table = bytearray(len(self.table))
        self.added = 0


class Credits:
    """Up to 3 further turns per key in the main FIFO: 2-bit counters indexed by its hash.

    Holds no key: ``16 * size`` counters (at least 4,096), four to a byte, 4
    bytes per entry of the cache: keys sharing a counter share their credit
    (with 8 counters per entry, that cost a 1,000-entry cache 0.4 to 0.8 points
    of hit ratio on the Zipf traces of benchmarks/hit_ratio.py).

    >>> turns = Credits(100)
    >>> turns.earn("a")
    >>> turns["a"], turns.spend("a"), turns.spend("a")
    (1, True, False)
    """

    __slots__ = ("size", "table")

    def __init__(self, size: int) -> None:
        self.size = max(4096, 16 * size)  # counters
        self.table = bytearray((self.size + 3) // 4)

    def _slot(self, key: object) -> tuple[int, int]:
        """The byte holding ``key``'s counter, and the counter's shift in it."""
        slot = (((hash(key) * _MIX) & _MASK64) * self.size) >> 64
        return slot >> 2, (slot & 3) << 1

    def earn(self, key: object) -> None:
        """Add one turn to ``key``'s credit, up to 3."""
        index, shift = self._slot(key)
        table = self.table
        byte = table[index]
        if (byte >> shift) & 3 != _MOST_TURNS:
            table[index] = byte + (1 << shift)

    def spend(self, key: object) -> bool:
        """Take one turn from ``key``'s credit: ``False`` if it had none."""
        index, shift = self._slot(key)
        table = self.table
        byte = table[index]
        if not (byte >> shift) & 3:
            return False
        table[index] = byte - (1 << shift)
        return True

    def __getitem__(self, key: object) -> int:
        """``key``'s credit, 0 to 3."""
        index, shift = self._slot(key)
        return (self.table[index] >> shift) & 3

    def discard(self, key: object) -> None:
        """Drop ``key``'s credit (and that of keys sharing its counter)."""
        index, shift = self._slot(key)
        self.table[index] &= ~(3 << shift) & 0xFF

    def clear(self) -> None:
        """Drop every credit."""
        self.table[:] = bytes(len(self.table))


class S3Fifo:
    """The S3-FIFO state of one store; every method runs with the store's lock held.

    Readers mark a key read without the lock: ``visited[key] = None`` (``S3FIFOCache.get``)
    or ``touch(key)`` (a bound ``dict.setdefault``, the decorators' hit).
    """

    __slots__ = (
        "admitted",
        "compact_every",
        "counts",
        "credits",
        "marks_bytes",
        "maxsize",
        "small",
        "small_size",
        "touch",
        "visited",
    )

    def __init__(self, maxsize: int) -> None:
        self.small: OrderedDict[Any, None] = OrderedDict()
        self.visited: dict[Any, None] = {}  # a set of keys; a dict for the cheaper hit
        self.small_size = max(1, maxsize // 50)
        self.admitted = 0  # keys admitted since the marks were last compacted
        self.compact_every = 16  # then as many as stored (and 16): not maxsize, which may be huge
        self.marks_bytes = sys.getsizeof(self.visited)  # the marks' table when last compacted
        self.maxsize = maxsize
        # Made once the store is a quarter full: a huge maxsize costs nothing before.
        self.counts: Counts | None = None
        self.credits: Credits | None = None
        self.touch = self.visited.setdefault

    def admit(self, data: dict[Any, Any], key: Any) -> None:
        """Place a key just stored as new (at the end of ``data``) in the small FIFO."""
        visited = self.visited
        visited.pop(key, None)
        admitted = self.admitted = self.admitted + 1
        if admitted >= self.compact_every or (
            not admitted & 31  # every 32 new keys, an eighth of the period on: has it grown?
            and 8 * admitted >= self.compact_every
            and sys.getsizeof(visited) > self.marks_bytes
        ):
            self.admitted = 0
            self.compact_every = len(data) + 16
            self.compact(data)
            self.marks_bytes = sys.getsizeof(visited)
        counts = self.counts
        if counts is None and 4 * len(data) >= self.maxsize:  # a quarter full: start counting
            counts = self._start()[0]
        if counts is not None:
            counts.add(key)
        small = self.small
        small[key] = None
        if len(small) > self.small_size:  # still filling up: the oldest moves on, as it is
            small.popitem(False)  # noqa: FBT003 - positional is faster

    def compact(self, data: dict[Any, Any]) -> None:
        """Keep the marks of resident keys only, in a table sized for them.

        A dict never shrinks: one that held a mark for most of the cache while it
        warmed up keeps that table (about 29 bytes per entry) when far fewer keys
        are marked later. Refilled in place, as readers hold ``touch``; a mark
        stored meanwhile may be lost (a second chance missed, nothing more).
        """
        visited = self.visited
        kept = {k: None for k in list(visited) if k in data}  # list(): atomic
        visited.clear()
        visited.update(kept)

    def victim(self, data: Any) -> tuple[Any, Any]:
        """Remove and return the ``(key, entry)`` to evict from the non-empty ``data``.

        The small FIFO's oldest entry and the main FIFO's next victim meet: the
        one seen more often lately (``counts``; a tie keeps the main FIFO's) stays.
        """
        small, visited, counts, turns = self.small, self.visited, self.counts, self.credits
        if counts is None or turns is None:  # pragma: no cover - made before the store is full
            counts, turns = self._start()
        while small and (len(small) >= self.small_size or len(small) >= len(data)):
            key = small.popitem(False)[0]  # noqa: FBT003 - positional is faster
            if visited.pop(key, _GONE) is None:  # read while new: seen once more
                counts.add(key)
            entry = data.pop(key, _GONE)
            if entry is _GONE:  # pragma: no cover - every removal forgets its key
                continue
            if len(data) <= len(small):  # no main FIFO to meet
                return key, entry
            rival, rival_entry = self._main_victim(data, counts, turns)
            if counts[key] > counts[rival]:  # on to the main FIFO, at its end
                data[key] = entry
                return rival, rival_entry
            data[rival] = rival_entry
            data.move_to_end(rival, last=False)  # back at the main FIFO's head
            return key, entry
        return self._main_victim(data, counts, turns)

    def _start(self) -> tuple[Counts, Credits]:
        """Make the counts and the credits, sized for the full store."""
        self.counts, self.credits = Counts(self.maxsize), Credits(self.maxsize)
        return self.counts, self.credits

    def _main_victim(self, data: Any, counts: Counts, turns: Credits) -> tuple[Any, Any]:
        """Remove and return the main FIFO's next entry with no turn left (``data`` has one).

        A scan takes each key's mark once, so it ends within 5 rounds; readers
        marking keys again as fast as it passes them could keep it going, lock
        held, for as long as they do: once it took as many marks as there are
        entries, it takes no more (those made since wait for the next eviction).
        """
        small, visited = self.small, self.visited
        marks_left = len(data)
        while True:
            key, entry = data.popitem(False)  # noqa: FBT003 - positional is faster
            if key in small:  # still new: the small FIFO decides
                data[key] = entry
            elif visited.pop(key, _GONE) is None:  # read since its last turn: another, one in store
                counts.add(key)
                turns.earn(key)
                data[key] = entry
                marks_left -= 1
                if not marks_left:  # readers mark keys as fast as they are passed
                    visited = {}
            elif turns.spend(key):  # unread, but read in earlier turns
                data[key] = entry
            else:
                return key, entry

    def forget(self, key: Any) -> None:
        """Drop what is known of ``key``, which left the store by other means.

        Its count stays: how often a key was asked for outlives its entry.
        """
        self.small.pop(key, None)
        self.visited.pop(key, None)
        if self.credits is not None:
            self.credits.discard(key)

    def clear(self) -> None:
        """Forget everything (the store was emptied)."""
        self.small.clear()
        self.visited.clear()
        if self.counts is not None:
            self.counts.clear()
        if self.credits is not None:
            self.credits.clear()


_GONE: Any = object()

# S3-FIFO's parts of the store's insert and evict steps (see _steps): a new key is
# admitted to its FIFO (an update keeps its place); the policy picks the victim.
# ``self._policy`` is None in an unbounded store, which never evicts.
S3_STEPS = Steps(
    new="""\
    policy = self._policy
    new = policy is not None and key not in data""",
    place="""\
    if new:
        policy.admit(data, key)""",
    victim="self._policy.victim(data)",
)
