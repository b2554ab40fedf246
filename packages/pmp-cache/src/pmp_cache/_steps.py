"""The lock-held steps of the storage core that store and evict, one template for every policy.

``Store`` (LRU) and ``S3FIFOCache`` each compile their ``_insert`` and
``_make_room`` from ``_STEPS`` with their policy's parts (``Steps``), so that
LRU's run no policy check and no policy's logic is written twice.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LRU_STEPS", "Steps", "make_steps"]

INF = float("inf")

# The lock-held steps that store and evict, generated per policy from one template so
# that LRU's run no policy check: ``place`` puts a key just stored (``new``: it was not
# there before) in the policy's order, ``victim`` removes and returns the entry to evict.
_STEPS = """
def _insert(self, key, value, ttl):
    data = self._data
    maxsize = self._maxsize
    timed = type(data) is TimedDict
    now = 0.0
    if timed:
        timer = self._timer
        now = _time.monotonic() if timer is None else timer()
    if len(data) >= maxsize and key not in data:
        if not maxsize:  # nothing fits: the new entry is evicted at once
            self._counts.evictions += 1
            if self._hook is not None:
                self._hook("eviction", key)
            return
        self._make_room(now)
{new}
    if timed:
        if ttl is None:
            ttl = self._ttl
        deadline = INF if ttl is None else now + ttl
        self._counts.next_expiry = min(self._counts.next_expiry, deadline)
        data[key] = (value, deadline)
    else:
        data[key] = value
{place}

def _make_room(self, now):
    data = self._data
    timed = type(data) is TimedDict
    if timed and now >= self._counts.next_expiry:
        self._sweep(now)
    while len(data) >= self._maxsize:
        key, entry = {victim}
        kind = "expiration" if timed and entry[1] <= now else "eviction"
        if kind == "eviction":
            self._counts.evictions += 1
        else:
            self._counts.expirations += 1
        if self._hook is not None:
            self._hook(kind, key)
"""


class Steps(NamedTuple):
    """A policy's parts of ``_STEPS`` (statements indented by 4)."""

    new: str  # before storing: whatever ``place`` needs to know (e.g. ``new``)
    place: str  # after storing ``key``
    victim: str  # an expression: the ``(key, entry)`` removed to free a slot


# LRU: the key stored becomes the most recently used; the least recently used leaves.
LRU_STEPS = Steps(
    new="",
    place="    data.move_to_end(key)",
    victim="od_popitem(data, False)",
)


def make_steps(
    owner: str, steps: Steps, timed: type[Any]
) -> tuple[Callable[..., None], Callable[..., None]]:
    """``owner._insert`` and ``owner._make_room`` from ``_STEPS`` with the policy's parts.

    ``timed`` is the store's ``TimedDict``: entries are ``(value, deadline)`` in it.
    """
    namespace: dict[str, Any] = {}
    names = {"TimedDict": timed, "INF": INF, "_time": time, "od_popitem": OrderedDict.popitem}
    source = _STEPS.format(new=steps.new, place=steps.place, victim=steps.victim)
    exec(compile(source, f"<{owner} steps>", "exec"), names, namespace)  # noqa: S102 - a fixed template
    insert, make_room = namespace["_insert"], namespace["_make_room"]
    insert.__qualname__, make_room.__qualname__ = f"{owner}._insert", f"{owner}._make_room"
    insert.__doc__ = """Store an entry, evicting first so the size never exceeds ``maxsize``.

    The caller holds the lock. ``ttl=None`` means the cache's default. An
    evicted entry that had already expired counts as an expiration.
    """
    make_room.__doc__ = """Free a slot in a full cache: expired entries first, else the victim.

    The caller holds the lock. ``now`` is only read for a cache with deadlines.
    """
    return insert, make_room
