"""The in-process store: GCRA state per key in a dict, one lock, idle keys swept away."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from pmp_errors import ValidationError
from pmp_ratelimit._gcra import Decision, Policy, State, admit, decide
from pmp_ratelimit._rate import is_count

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryStore"]

_FIRST_SWEEP = 1024


class MemoryStore:
    """Rate-limit state kept in this process: thread-safe, task-safe, bounded.

    Each decision takes one lock for a few dictionary operations and never awaits, so threads and
    asyncio tasks alike see every request counted exactly once. A key whose state has run back to
    "fresh" is idle and dropped by a sweep that runs when the table has doubled since the last one;
    when ``max_keys`` keys are all busy, the one closest to idle is dropped (it then starts
    fresh). ``clock`` returns integer nanoseconds (``time.monotonic_ns`` by default); tests
    inject their own.

    >>> from pmp_ratelimit import MemoryStore, RateLimiter
    >>> store = MemoryStore(max_keys=10_000)
    >>> limiter = RateLimiter("5/second", store=store)
    >>> limiter.try_acquire("alice").allowed
    True
    >>> len(store)
    1
    """

    def __init__(
        self, *, max_keys: int = 1_000_000, clock: Callable[[], int] = time.monotonic_ns
    ) -> None:
        if not is_count(max_keys):
            msg = f"max_keys must be a positive int, got {max_keys!r}"
            raise ValidationError(msg, field="max_keys", value=max_keys)
        if not callable(clock):
            msg = f"clock must be a callable returning nanoseconds, got {clock!r}"
            raise ValidationError(msg, field="clock", value=clock)
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._tables: dict[Policy, dict[str, State]] = {}
        self._size = 0
        self._next_sweep = min(_FIRST_SWEEP, max_keys)

    ticks_per_second = 1_000_000_000

    def __len__(self) -> int:
        """The number of keys with state kept (idle ones may not have been swept yet)."""
        return self._size

    def admit(self, policy: Policy, key: str, cost: int) -> Decision | None:
        """Count an allowed request and return None, or return the refusal (nothing counted)."""
        now = self.clock()
        with self._lock:
            table = self._tables.get(policy)
            state = table.get(key) if table is not None else None
            new = admit(policy, state, now, cost)
            if new is None:
                return decide(policy, state, now, cost)[1]
            if state is None:
                self._insert(policy, key, new, now)
            else:
                table[key] = new  # type: ignore[index] # state came from table
            return None

    def decide(self, policy: Policy, key: str, cost: int) -> Decision:
        """Decide one request, counting it when allowed."""
        now = self.clock()
        with self._lock:
            table = self._tables.get(policy)
            state = table.get(key) if table is not None else None
            kept, decision = decide(policy, state, now, cost)
            if decision.allowed:
                if state is None:
                    self._insert(policy, key, kept, now)
                else:
                    table[key] = kept  # type: ignore[index] # state came from table
            return decision

    def _insert(self, policy: Policy, key: str, state: State, now: int) -> None:
        if self._size >= self._next_sweep:
            self._sweep(now)
            if self._size >= self.max_keys:
                self._evict()
        table = self._tables.setdefault(policy, {})
        table[key] = state
        self._size += 1

    def _sweep(self, now: int) -> None:
        for policy, table in list(self._tables.items()):
            for key in [key for key, state in table.items() if policy.idle(state, now)]:
                del table[key]
            if not table:
                del self._tables[policy]
        self._size = sum(len(table) for table in self._tables.values())
        self._next_sweep = min(max(_FIRST_SWEEP, 2 * self._size), self.max_keys)

    def _evict(self) -> None:
        table, key = min(
            ((table, key) for table in self._tables.values() for key in table),
            key=lambda pair: max(pair[0][pair[1]]),
        )
        del table[key]
        self._size -= 1

    def clear(self) -> None:
        """Forget every key's state."""
        with self._lock:
            self._tables.clear()
            self._size = 0
            self._next_sweep = min(_FIRST_SWEEP, self.max_keys)
