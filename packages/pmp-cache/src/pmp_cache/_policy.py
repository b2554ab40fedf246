"""Eviction policies of the storage core: which entry a full store drops.

``"lru"`` drops the least recently used entry: the store's ``OrderedDict`` is
kept in recency order and needs nothing more. ``"s3fifo"`` is S3-FIFO (Yang et
al., SOSP 2023): new entries wait in a small FIFO (a tenth of the cache); one
that was read while there moves on to the main FIFO, one that was not leaves
and is remembered in a ghost of hashes, so that it goes straight to the main
FIFO if it comes back soon. The main FIFO gives a read entry a second chance
(CLOCK). A one-pass scan thus passes through the small FIFO only, and a hit
just marks the key read: a set insertion, no reordering.

The store's ``OrderedDict`` is the main FIFO (keys of the small one are
skipped in it); the small FIFO is another ``OrderedDict`` (O(1) removal at
either end: a plain dict's first key costs a scan past deleted slots) of at
most a tenth of the cache: while the store fills up, its oldest entries move on
to the main FIFO unread. The read marks are a set. The ghost (``Ghost``) keeps
no key and no object per key: two generations of a Bloom filter, a few bytes
per key remembered. The store tells the policy of entries removed by other
means (``delete``, expiry, ``clear``). A reader that marks a key just as a
writer evicts it leaves a stale mark: the marks are pruned to the resident
keys when they outgrow the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pmp_errors import ValidationError

__all__ = ["POLICIES", "Ghost", "S3Fifo", "check_policy"]

POLICIES = ("lru", "s3fifo")

_MIX = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: spreads strided hashes (Fibonacci hashing)
_MASK64 = (1 << 64) - 1


def check_policy(policy: object) -> str:
    """``policy`` if it names a known policy, else a ``ValidationError`` listing them."""
    if policy not in POLICIES:
        raise ValidationError(
            f"policy must be one of {', '.join(map(repr, POLICIES))}, got {policy!r}",
            field="policy",
            value=policy,
        )
    return str(policy)


class Ghost:
    """The hashes of the last ``size`` to ``2 * size`` keys added, without keeping any.

    Each generation is a Bloom filter (two bits per key, 16 bits per key it
    holds, so about 1.4% false positives); the newer one takes ``size`` keys,
    then the older one is dropped. A key is never reported missing while
    remembered; one never added is reported present about once in 35 lookups
    at worst.
    """

    __slots__ = ("added", "bits", "new", "old", "size")

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.bits = max(6, (16 * self.size - 1).bit_length())  # log2 of a filter's bits
        self.new = bytearray(1 << (self.bits - 3))
        self.old = bytearray(len(self.new))
        self.added = 0

    def _bits_of(self, key: Any) -> tuple[int, int]:
        mixed = (hash(key) * _MIX) & _MASK64
        bits = self.bits
        return mixed >> (64 - bits), (mixed >> (64 - 2 * bits)) & ((1 << bits) - 1)

    def add(self, key: Any) -> None:
        """Remember ``key``; past ``size`` keys, start a new generation."""
        if self.added >= self.size:
            self.old, self.new = self.new, self.old
            self.new[:] = bytes(len(self.new))
            self.added = 0
        new = self.new
        for bit in self._bits_of(key):
            new[bit >> 3] |= 1 << (bit & 7)
        self.added += 1

    def __contains__(self, key: object) -> bool:
        first, second = self._bits_of(key)
        i, j, a, b = first >> 3, second >> 3, 1 << (first & 7), 1 << (second & 7)
        new, old = self.new, self.old
        return bool((new[i] & a and new[j] & b) or (old[i] & a and old[j] & b))

    def clear(self) -> None:
        """Forget every key."""
        self.new[:] = self.old[:] = bytes(len(self.new))
        self.added = 0


class S3Fifo:
    """The S3-FIFO state of one store; every method runs with the store's lock held.

    ``touch`` (a bound ``set.add``) is the only step readers call without the lock.
    """

    __slots__ = ("ghost", "small", "small_size", "touch", "visited")

    def __init__(self, maxsize: int) -> None:
        self.small: OrderedDict[Any, None] = OrderedDict()
        self.visited: set[Any] = set()
        self.small_size = max(1, maxsize // 10)
        self.ghost = Ghost(max(1, maxsize - self.small_size))  # as many as the main FIFO
        self.touch = self.visited.add

    def admit(self, data: dict[Any, Any], key: Any) -> None:
        """Place a key just stored as new (at the end of ``data``) in its FIFO."""
        visited = self.visited
        visited.discard(key)
        if len(visited) > 2 * len(data) + 16:  # stale marks: keep the resident ones
            visited.intersection_update(data)
        if key in self.ghost:  # evicted unread lately: straight to the main FIFO
            return
        small = self.small
        small[key] = None
        if len(small) > self.small_size:  # still filling up: the oldest moves on, as it is
            small.popitem(False)  # noqa: FBT003 - positional is faster

    def victim(self, data: Any) -> tuple[Any, Any]:
        """Remove and return the ``(key, entry)`` to evict from the non-empty ``data``."""
        small, visited = self.small, self.visited
        while True:
            if small and (len(small) >= self.small_size or len(small) >= len(data)):
                key = small.popitem(False)[0]  # noqa: FBT003 - positional is faster
                entry = data.get(key, _GONE)
                if entry is _GONE:  # pragma: no cover - every removal forgets its key
                    continue
                if key in visited:  # read while new: on to the main FIFO
                    visited.discard(key)
                    data.move_to_end(key)
                    continue
                del data[key]
                self.ghost.add(key)
                return key, entry
            key, entry = data.popitem(False)  # noqa: FBT003 - positional is faster
            if key in small:  # still new: the small FIFO decides
                data[key] = entry
            elif key in visited:  # read since its last turn: a second chance
                visited.discard(key)
                data[key] = entry
            else:
                return key, entry

    def forget(self, key: Any) -> None:
        """Drop what is known of ``key``, which left the store by other means."""
        self.small.pop(key, None)
        self.visited.discard(key)

    def clear(self) -> None:
        """Forget everything (the store was emptied)."""
        self.small.clear()
        self.visited.clear()
        self.ghost.clear()


_GONE: Any = object()
