"""The in-process store: GCRA state per key in a dict, one lock, idle keys dropped as it goes."""

from __future__ import annotations

import time
from collections import deque
from queue import SimpleQueue
from typing import TYPE_CHECKING

from pmp_errors import ValidationError
from pmp_ratelimit._fastpath import compile_admit
from pmp_ratelimit._gcra import Decision, Policy, State, decide
from pmp_ratelimit._rate import is_count

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryStore"]

Packed = State | int
Table = tuple[Policy, dict[str, Packed], deque[str]]  # rates, states, the hand's queue
_HAND = 2  # kept keys looked at for each new key: idle ones are dropped
_WINDOW = 16  # at max_keys: kept keys looked at to free a slot for a new one
_TRUSTED_CLOCKS = (time.monotonic_ns, time.perf_counter_ns, time.time_ns)  # ints, always


def _checked(clock: Callable[[], int]) -> Callable[[], int]:
    """*clock*, with every reading checked: a state is never computed from anything but an int.

    The standard library's nanosecond clocks are used as they are (they return ints only).
    """
    if clock in _TRUSTED_CLOCKS:
        return clock

    def read() -> int:
        now: object = clock()  # whatever it returns
        if type(now) is int:
            return now
        if isinstance(now, int) and not isinstance(now, bool):
            return int(now)
        msg = (
            f"the store's clock returned {now!r}, not integer nanoseconds; it must always "
            "return an int, as time.monotonic_ns does"
        )
        raise ValidationError(msg, field="clock", value=now)

    return read


class MemoryStore:
    """Rate-limit state kept in this process: thread-safe, task-safe, bounded.

    Each decision takes one lock for a few dictionary operations and never awaits, so threads and
    asyncio tasks alike see every request counted exactly once. A key whose state has run back to
    "fresh" is idle: each new key moves a hand over the two keys kept longest since the hand last
    passed them, dropping the idle ones, so idle keys go at the pace new ones come. At
    ``max_keys``, a new key frees a slot among the next 16 keys under the hand: an idle one, else
    the one closest to idle (which then starts fresh). No insert looks at more keys than that,
    so a full table never pauses the store. Limiters with the same rates on one store share their
    counts per key, as they do in Redis. ``clock`` returns integer nanoseconds
    (``time.monotonic_ns`` by default); tests inject their own.

    >>> from pmp_ratelimit import MemoryStore, RateLimiter
    >>> store = MemoryStore(max_keys=10_000)
    >>> limiter = RateLimiter("5/second", store=store)
    >>> limiter.try_acquire("alice").allowed
    True
    >>> len(store)
    1
    """

    ticks_per_second = 1_000_000_000

    def __init__(
        self, *, max_keys: int = 1_000_000, clock: Callable[[], int] = time.monotonic_ns
    ) -> None:
        if not is_count(max_keys):
            msg = f"max_keys must be a positive int, got {max_keys!r}"
            raise ValidationError(msg, field="max_keys", value=max_keys)
        checked: object = clock  # whatever the caller passed, whatever it returns
        sample: object = clock() if callable(checked) else None
        if not isinstance(sample, int) or isinstance(sample, bool):
            msg = (
                "clock must be a callable returning integer nanoseconds such as "
                f"time.monotonic_ns, got {clock!r} (which returned {sample!r})"
            )
            raise ValidationError(msg, field="clock", value=clock)
        self.max_keys = max_keys
        self.clock = clock
        self._now = _checked(clock)
        # a SimpleQueue holding one token while free: get() takes it, put(None) gives it back;
        # uncontended, the pair is cheaper than Lock.acquire()/release() on CPython
        self._lock: SimpleQueue[None] = SimpleQueue()
        self._lock.put(None)
        # one table per set of rates (their signature), as Redis keys are: limiters with the
        # same rates on this store share their counts, however many of them are made
        # each table's keys also wait in its queue, in the order the hand passes them
        self._tables: dict[str, Table] = {}
        self._size = 0

    def __len__(self) -> int:
        """The number of keys with state kept (idle ones may not have been dropped yet)."""
        return self._size

    def bind(
        self, policy: Policy
    ) -> tuple[Callable[[str, int], Decision | None], Callable[[str, int], Decision]]:
        """The two calls a limiter with *policy* makes: ``admit`` and ``decide`` (key, cost).

        ``admit`` counts an allowed request and returns None, or returns the refusal; ``decide``
        always returns the ``Decision``. Both count only allowed requests.
        """
        entry = self._table(policy)
        table = entry[1]
        lock = self._lock

        def decide_at(key: str, cost: int, now: int) -> Decision:
            lock.get()
            try:
                packed = table.get(key)
                kept, decision = decide(policy, policy.unpack(packed), now, cost)
                if decision.allowed:
                    if packed is None:
                        self._insert(entry, key, policy.pack(kept), now)
                    else:
                        table[key] = policy.pack(kept)
                return decision
            finally:
                lock.put(None)

        def slow(key: str, cost: int, now: int) -> Decision | None:
            decision = decide_at(key, cost, now)
            return None if decision.allowed else decision

        def decide_now(key: str, cost: int) -> Decision:
            return decide_at(key, cost, self._now())

        admit = compile_admit(
            policy.intervals,
            policy.windows,
            clock=self._now,
            lock=lock,
            table=table,
            fallback=slow,
        )
        return admit, decide_now

    def fast_acquire(self, policy: Policy, acquire: Callable[..., None]) -> Callable[..., None]:
        """*acquire* with the common call (a str key, cost 1, no wait, allowed) inlined.

        Calls that the inlined path does not settle (a new key, a refusal, other arguments) go
        to *acquire* itself.
        """
        return compile_admit(
            policy.intervals,
            policy.windows,
            clock=self._now,
            lock=self._lock,
            table=self._table(policy)[1],
            fallback=acquire,
            acquire=True,
        )

    def _table(self, policy: Policy) -> Table:
        """The table of *policy*'s rates, made under the lock so that no hand sees it change."""
        self._lock.get()
        try:
            return self._tables.setdefault(policy.signature, (policy, {}, deque()))
        finally:
            self._lock.put(None)

    def _insert(self, entry: Table, key: str, state: Packed, now: int) -> None:
        """Keep a new key's state; the hand passes over a few kept keys first (lock held)."""
        self._size -= _pass(entry, now, _HAND)
        if self._size >= self.max_keys:
            self._free_a_slot(now)
        entry[1][key] = state
        entry[2].append(key)
        self._size += 1

    def _free_a_slot(self, now: int) -> None:
        """Drop a key of the largest table: the idle ones passed, else the closest to idle."""
        largest = max(self._tables.values(), key=lambda entry: len(entry[1]))
        self._size -= _pass(largest, now, _WINDOW, make_room=True)

    def clear(self) -> None:
        """Forget every key's state."""
        self._lock.get()
        try:
            for _, table, order in self._tables.values():
                table.clear()
                order.clear()
            self._size = 0
        finally:
            self._lock.put(None)


def _pass(entry: Table, now: int, n: int, *, make_room: bool = False) -> int:
    """Move the hand over the next *n* keys of a table: drop the idle, requeue the rest.

    With *make_room*, one key is dropped at least: when none is idle, the closest to idle (the
    one whose state runs back to fresh first). Returns how many keys were dropped.
    """
    policy, table, order = entry
    kept: list[str] = []
    closest, soonest = "", 0
    dropped = 0
    for _ in range(min(n, len(order))):
        key = order.popleft()
        last = policy.latest(table[key])
        if last <= now:
            del table[key]
            dropped += 1
        else:
            if not kept or last < soonest:
                closest, soonest = key, last
            kept.append(key)
    if make_room and not dropped and kept:
        del table[closest]
        kept.remove(closest)
        dropped = 1
    order.extend(kept)
    return dropped
