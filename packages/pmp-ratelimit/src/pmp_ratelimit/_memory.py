"""The in-process store: GCRA state per key in a dict, one lock, idle keys swept."""

from __future__ import annotations

import time
from queue import SimpleQueue
from typing import TYPE_CHECKING

from pmp_errors import ValidationError
from pmp_ratelimit._fastpath import compile_admit
from pmp_ratelimit._gcra import Decision, Policy, State, decide
from pmp_ratelimit._rate import is_count

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryStore"]

_FIRST_SWEEP = 1024
Packed = State | int


class MemoryStore:
    """Rate-limit state kept in this process: thread-safe, task-safe, bounded.

    Each decision takes one lock for a few dictionary operations and never awaits, so threads and
    asyncio tasks alike see every request counted exactly once. A key whose state has run back to
    "fresh" is idle and dropped by a sweep that runs when the table has doubled since the last one;
    when ``max_keys`` keys are all busy, the eighth closest to idle is dropped (those keys then
    start fresh). Limiters with the same rates on one store share their counts per key, as they
    do in Redis. ``clock`` returns integer nanoseconds (``time.monotonic_ns`` by default); tests
    inject their own.

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
        # a SimpleQueue holding one token while free: get() takes it, put(None) gives it back;
        # uncontended, the pair is cheaper than Lock.acquire()/release() on CPython
        self._lock: SimpleQueue[None] = SimpleQueue()
        self._lock.put(None)
        # one table per set of rates (their signature), as Redis keys are: limiters with the
        # same rates on this store share their counts, however many of them are made
        self._tables: dict[str, tuple[Policy, dict[str, Packed]]] = {}
        self._size = 0
        self._next_sweep = min(_FIRST_SWEEP, max_keys)

    def __len__(self) -> int:
        """The number of keys with state kept (idle ones may not have been swept yet)."""
        return self._size

    def bind(
        self, policy: Policy
    ) -> tuple[Callable[[str, int], Decision | None], Callable[[str, int], Decision]]:
        """The two calls a limiter with *policy* makes: ``admit`` and ``decide`` (key, cost).

        ``admit`` counts an allowed request and returns None, or returns the refusal; ``decide``
        always returns the ``Decision``. Both count only allowed requests.
        """
        table = self._table(policy)
        lock = self._lock

        def decide_at(key: str, cost: int, now: int) -> Decision:
            lock.get()
            try:
                packed = table.get(key)
                kept, decision = decide(policy, policy.unpack(packed), now, cost)
                if decision.allowed:
                    if packed is None:
                        self._insert(table, key, policy.pack(kept), now)
                    else:
                        table[key] = policy.pack(kept)
                return decision
            finally:
                lock.put(None)

        def slow(key: str, cost: int, now: int) -> Decision | None:
            decision = decide_at(key, cost, now)
            return None if decision.allowed else decision

        def decide_now(key: str, cost: int) -> Decision:
            return decide_at(key, cost, self.clock())

        admit = compile_admit(
            policy.intervals,
            policy.windows,
            clock=self.clock,
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
            clock=self.clock,
            lock=self._lock,
            table=self._table(policy),
            fallback=acquire,
            acquire=True,
        )

    def _table(self, policy: Policy) -> dict[str, Packed]:
        """The table of *policy*'s rates, made under the lock so that no sweep sees it change."""
        self._lock.get()
        try:
            return self._tables.setdefault(policy.signature, (policy, {}))[1]
        finally:
            self._lock.put(None)

    def _insert(self, table: dict[str, Packed], key: str, state: Packed, now: int) -> None:
        if self._size >= self._next_sweep:
            self._sweep(now)
            if self._size >= self.max_keys:
                self._evict()
        table[key] = state
        self._size += 1

    def _sweep(self, now: int) -> None:
        for policy, table in self._tables.values():
            for key in [key for key, state in table.items() if policy.idle(state, now)]:
                del table[key]
        self._size = sum(len(table) for _, table in self._tables.values())
        self._next_sweep = min(max(_FIRST_SWEEP, 2 * self._size), self.max_keys)

    def _evict(self) -> None:
        """Drop the eighth of the keys closest to idle (at least one): they start fresh again.

        Dropping a batch keeps inserts at capacity cheap: the next sweep waits for the table to
        fill up again instead of running on every insert.
        """
        found = [(policy.latest(state), table, key)
                 for policy, table in self._tables.values()
                 for key, state in table.items()]  # fmt: skip
        found.sort(key=lambda item: item[0])
        for _, table, key in found[: max(1, len(found) // 8)]:
            del table[key]
        self._size = len(found) - max(1, len(found) // 8)
        self._next_sweep = self.max_keys

    def clear(self) -> None:
        """Forget every key's state."""
        self._lock.get()
        try:
            for _, table in self._tables.values():
                table.clear()
            self._size = 0
            self._next_sweep = min(_FIRST_SWEEP, self.max_keys)
        finally:
            self._lock.put(None)
