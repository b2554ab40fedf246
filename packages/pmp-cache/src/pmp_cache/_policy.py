"""Eviction policies of the storage core: which entry a full store drops.

``"lru"`` drops the least recently used entry: the store's ``OrderedDict`` is
kept in recency order and needs nothing more. ``"s3fifo"`` is S3-FIFO (Yang et
al., SOSP 2023): new entries wait in a small FIFO (a fiftieth of the cache); one
that was read while there moves on to the main FIFO, one that was not leaves
and is remembered in a ghost of hashes, so that it goes straight to the main
FIFO if it comes back soon. The main FIFO gives an entry read since its last
turn another turn, and, as in the paper's 2-bit frequency, remembers up to 3
such turns (``Credits``): an entry passed unread spends one and stays, until it
has none left. A one-pass scan thus passes through the small FIFO only, and a
hit just marks the key read: a dict store, no reordering; the count is carried
by the eviction scan, which adds one for each turn the key was read in.

The store's ``OrderedDict`` is the main FIFO (keys of the small one are
skipped in it); the small FIFO is another ``OrderedDict`` (O(1) removal at
either end: a plain dict's first key costs a scan past deleted slots) of at
most a fiftieth of the cache (on the traces of benchmarks/hit_ratio.py, with
a ghost of 0.6 times the main FIFO, it scored higher than a twentieth with one
of half on every one): while the store fills up, its
oldest entries move on to the main FIFO unread. The read marks are the keys of a
dict (a store into it is cheaper than a call of set.add). The
ghost (``Ghost``) keeps no key and no object per key: two generations of
one-byte fingerprints in buckets, a few bytes per key remembered. The credits
are 2-bit counters indexed by the key's hash, 8 to 16 per entry of the cache
(2 to 4 bytes per entry), at least 1 KiB; keys that share one share their credit (a few extra turns
for an unread entry, nothing more). The store
tells the policy of entries removed by other means (``delete``, expiry,
``clear``). A reader that marks a key just as a writer evicts it leaves a
stale mark: after every cache's worth of new keys, the marks are rebuilt from
the resident keys' only (``compact``), which also gives the dict back the
memory of marks cleared since (a dict never shrinks on its own).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pmp_cache._steps import Steps
from pmp_errors import ValidationError

__all__ = ["POLICIES", "S3_STEPS", "UNMARKED", "Credits", "Ghost", "S3Fifo", "check_policy"]

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


_GROWN = 1 << 16  # keys a generation takes at first: a larger ghost grows to its size


class Ghost:
    """The last ``size`` to ``2 * size`` keys added, as one-byte fingerprints of their hashes.

    Keeps no key and no object per key: each generation is a ``bytearray`` of
    buckets of 4 one-byte fingerprints, 4 slots per key it holds; the newer one
    takes ``size`` keys, then the older one is dropped. A key is found while
    remembered (unless its bucket overflowed, which drops one of four there),
    and ``discard`` forgets it; a key never added is found about once in 128
    lookups. A ghost of more than 65,536 keys starts with generations of that
    many, and when one is full starts afresh with generations four times larger
    (forgetting its keys, a few times at most), until they take ``size``: a huge
    ``maxsize`` costs memory only as keys are evicted.
    """

    __slots__ = ("added", "bits", "capacity", "new", "old", "size")

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._allot(min(self.size, _GROWN))

    def _allot(self, capacity: int) -> None:
        """Start afresh with generations taking ``capacity`` keys each."""
        self.capacity = capacity
        self.bits = max(4, (4 * capacity - 1).bit_length())  # log2 of a generation's slots
        self.new = bytearray(1 << self.bits)
        self.old = bytearray(len(self.new))
        self.added = 0

    def _slot(self, key: object) -> tuple[int, int]:
        """``(first slot of the key's bucket, fingerprint in 1..255)``."""
        mixed = (hash(key) * _MIX) & _MASK64
        return (mixed >> (64 - self.bits)) & ~3, (mixed >> 24) % 255 + 1

    def add(self, key: object) -> None:
        """Remember ``key``; past ``capacity`` keys, start a new generation."""
        bucket, print_ = self._slot(key)
        new = self.new
        if new.find(print_, bucket, bucket + 4) >= 0:
            return
        if self.added >= self.capacity:
            if self.capacity < self.size:  # still growing: larger generations, from scratch
                self._allot(min(self.size, 4 * self.capacity))
                bucket = self._slot(key)[0]
            else:
                self.old, self.new = new, self.old
                self.new[:] = bytes(len(new))
                self.added = 0
            new = self.new
        free = new.find(0, bucket, bucket + 4)
        new[bucket + (print_ & 3) if free < 0 else free] = print_
        self.added += 1

    def __contains__(self, key: object) -> bool:
        bucket, print_ = self._slot(key)
        end = bucket + 4
        return self.new.find(print_, bucket, end) >= 0 or self.old.find(print_, bucket, end) >= 0

    def discard(self, key: object) -> None:
        """Forget ``key`` (and, rarely, a key with the same bucket and fingerprint)."""
        bucket, print_ = self._slot(key)
        for table in (self.new, self.old):
            found = table.find(print_, bucket, bucket + 4)
            if found >= 0:
                table[found] = 0

    def clear(self) -> None:
        """Forget every key (a grown ghost starts small again)."""
        self._allot(min(self.size, _GROWN))


class Credits:
    """Up to 3 further turns per key in the main FIFO: 2-bit counters indexed by its hash.

    Holds no key: ``8 * size`` counters (rounded up to a power of two), four to
    a byte, and at least 4096 (1 KiB): keys sharing a counter share their credit,
    which cost a 100-entry cache up to 0.6 points of hit ratio with 8 per entry.
    """

    __slots__ = ("shift", "table")

    def __init__(self, size: int) -> None:
        bits = max(12, (8 * size - 1).bit_length())  # log2 of the number of counters
        self.shift = 64 - bits
        self.table = bytearray(1 << (bits - 2))

    def earn(self, key: object) -> None:
        """Add one turn to ``key``'s credit, up to 3."""
        slot = ((hash(key) * _MIX) & _MASK64) >> self.shift
        table, index, shift = self.table, slot >> 2, (slot & 3) << 1
        byte = table[index]
        if (byte >> shift) & 3 != _MOST_TURNS:
            table[index] = byte + (1 << shift)

    def spend(self, key: object) -> bool:
        """Take one turn from ``key``'s credit: ``False`` if it had none."""
        slot = ((hash(key) * _MIX) & _MASK64) >> self.shift
        table, index, shift = self.table, slot >> 2, (slot & 3) << 1
        byte = table[index]
        if not (byte >> shift) & 3:
            return False
        table[index] = byte - (1 << shift)
        return True

    def __getitem__(self, key: object) -> int:
        """``key``'s credit, 0 to 3."""
        slot = ((hash(key) * _MIX) & _MASK64) >> self.shift
        return (self.table[slot >> 2] >> ((slot & 3) << 1)) & 3

    def discard(self, key: object) -> None:
        """Drop ``key``'s credit (and that of keys sharing its counter)."""
        slot = ((hash(key) * _MIX) & _MASK64) >> self.shift
        self.table[slot >> 2] &= ~(3 << ((slot & 3) << 1)) & 0xFF

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
        "credits",
        "ghost",
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
        self.compact_every = maxsize + 16
        # The last 0.6 to 1.2 times as many keys as the main FIFO holds.
        self.ghost = Ghost(max(1, (maxsize - self.small_size) * 3 // 5))
        self.credits: Credits | None = None  # made at the first eviction, for the full store
        self.touch = self.visited.setdefault

    def admit(self, data: dict[Any, Any], key: Any) -> None:
        """Place a key just stored as new (at the end of ``data``) in its FIFO."""
        self.visited.pop(key, None)
        self.admitted += 1
        if self.admitted >= self.compact_every:
            self.admitted = 0
            self.compact(data)
        ghost = self.ghost
        if key in ghost:  # evicted unread lately: straight to the main FIFO
            ghost.discard(key)
            return
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
        """Remove and return the ``(key, entry)`` to evict from the non-empty ``data``."""
        small, visited, turns = self.small, self.visited, self.credits
        if turns is None:  # a huge maxsize costs nothing until the store is that full
            turns = self.credits = Credits(len(data))
        while True:
            if small and (len(small) >= self.small_size or len(small) >= len(data)):
                key = small.popitem(False)[0]  # noqa: FBT003 - positional is faster
                entry = data.get(key, _GONE)
                if entry is _GONE:  # pragma: no cover - every removal forgets its key
                    continue
                if key in visited:  # read while new: on to the main FIFO
                    visited.pop(key, None)
                    data.move_to_end(key)
                    continue
                del data[key]
                self.ghost.add(key)
                return key, entry
            key, entry = data.popitem(False)  # noqa: FBT003 - positional is faster
            if key in small:  # still new: the small FIFO decides
                data[key] = entry
            elif key in visited:  # read since its last turn: another turn, and one more in store
                visited.pop(key, None)
                turns.earn(key)
                data[key] = entry
            elif turns.spend(key):  # unread, but read in earlier turns
                data[key] = entry
            else:
                return key, entry

    def forget(self, key: Any) -> None:
        """Drop what is known of ``key``, which left the store by other means."""
        self.small.pop(key, None)
        self.visited.pop(key, None)
        if self.credits is not None:
            self.credits.discard(key)

    def clear(self) -> None:
        """Forget everything (the store was emptied)."""
        self.small.clear()
        self.visited.clear()
        self.ghost.clear()
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
