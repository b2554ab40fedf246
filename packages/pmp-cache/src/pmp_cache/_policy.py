"""Eviction policies of the storage core: which entry a full store drops.

``"lru"`` drops the least recently used entry: the store's ``OrderedDict`` is
kept in recency order and needs nothing more. ``"s3fifo"`` is S3-FIFO (Yang et
al., SOSP 2023): new entries wait in a small FIFO (a tenth of the cache); one
that was read while there moves on to the main FIFO, one that was not leaves
and is remembered in a ghost FIFO of hashes, so that it goes straight to the
main FIFO if it comes back soon. The main FIFO gives a read entry a second
chance (CLOCK). A one-pass scan thus passes through the small FIFO only, and a
hit just marks the key read: a set insertion, no reordering.

The store's ``OrderedDict`` is the main FIFO (keys of the small one are
skipped in it); the small FIFO is another ``OrderedDict`` (O(1) removal at
either end: a plain dict's first key costs a scan past deleted slots) and the
read marks a set. The ghost is two generations of hashes (a set filled until
it holds half the ghost's size, then retired in one step), so it remembers the
last half to all of ``ghost_size`` keys evicted, at a set's cost per key and
without keeping evicted keys alive. The store tells the policy of entries removed by other
means (``delete``, expiry, ``clear``). A reader that marks a key just as a
writer evicts it leaves a stale mark: the marks are pruned to the resident
keys when they outgrow the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pmp_errors import ValidationError

__all__ = ["POLICIES", "S3Fifo", "check_policy"]

POLICIES = ("lru", "s3fifo")


def check_policy(policy: object) -> str:
    """``policy`` if it names a known policy, else a ``ValidationError`` listing them."""
    if policy not in POLICIES:
        raise ValidationError(
            f"policy must be one of {', '.join(map(repr, POLICIES))}, got {policy!r}",
            field="policy",
            value=policy,
        )
    return str(policy)


class S3Fifo:
    """The S3-FIFO state of one store; every method runs with the store's lock held.

    ``touch`` (a bound ``set.add``) is the only step readers call without the lock.
    """

    __slots__ = ("ghost", "ghost_size", "old_ghost", "small", "small_size", "touch", "visited")

    def __init__(self, maxsize: int) -> None:
        self.small: OrderedDict[Any, None] = OrderedDict()
        self.visited: set[Any] = set()
        self.ghost: set[int] = set()  # the newer generation
        self.old_ghost: set[int] = set()
        self.small_size = max(1, maxsize // 10)
        self.ghost_size = max(2, maxsize - self.small_size)
        self.touch = self.visited.add

    def admit(self, data: dict[Any, Any], key: Any) -> None:
        """Place a key just stored as new (at the end of ``data``) in its FIFO."""
        visited = self.visited
        visited.discard(key)
        if len(visited) > 2 * len(data) + 16:  # stale marks: keep the resident ones
            visited.intersection_update(data)
        hashed = hash(key)
        if hashed in self.ghost or hashed in self.old_ghost:
            self.ghost.discard(hashed)
            self.old_ghost.discard(hashed)
        else:
            self.small[key] = None

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
                ghost = self.ghost
                ghost.add(hash(key))
                if 2 * len(ghost) >= self.ghost_size:
                    self.old_ghost = ghost
                    self.ghost = set()
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
        self.old_ghost.clear()


_GONE: Any = object()
