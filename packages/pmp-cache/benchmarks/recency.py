"""Hit ratios where frequency misleads: recency-heavy requests and a popular set that moves.

Run in an environment with pmp-cache and its ``bench`` dependency group:

    python packages/pmp-cache/benchmarks/recency.py

Two traces, generated from fixed seeds, on a cache of 1,000 entries:

- recency: each request is a new key with probability ``p_new``, else a re-read
  of a recent key, ``int(expovariate(1 / (mean * cache size)))`` keys back; 40
  cache sizes of requests; the hit ratio of each of the last three windows of 4
  cache sizes is printed.
- shift: Zipf 0.9 over 10 cache sizes of keys for 60 cache sizes of requests,
  then the same over new keys; the hit ratio of each window of 5 cache sizes
  from the tenth on (the shift is at the twelfth) is printed.

LRU (``LRUCache``), S3-FIFO (``S3FIFOCache``) and, when installed, theine.
"""

from __future__ import annotations

import random
from typing import Any

from pmp_cache import LRUCache, S3FIFOCache

try:
    import theine
except ImportError:  # pragma: no cover - no wheel for this interpreter
    theine = None

SIZE = 1000


class _Theine:
    """theine's cache behind the two calls the runs below make."""

    def __init__(self, size: int) -> None:
        self.cache = theine.Cache(size)

    def get(self, key: int) -> Any:
        value, found = self.cache.get(key)
        return value if found else None

    def __setitem__(self, key: int, value: int) -> None:
        self.cache.set(key, value)


def windows(make: Any, trace: list[int], window: int) -> list[float]:
    """Hit ratio of each ``window`` requests of ``trace`` (a miss stores the key)."""
    c = make(SIZE)
    hits, out = 0, []
    for i, key in enumerate(trace, 1):
        if c.get(key) is None:
            c[key] = 1
        else:
            hits += 1
        if i % window == 0:
            out.append(round(hits / window, 3))
            hits = 0
    return out


def recency(p_new: float, mean: float) -> list[int]:
    rnd = random.Random(2)
    trace, fresh = [], 0
    for _ in range(40 * SIZE):
        if rnd.random() < p_new:
            trace.append(fresh)
            fresh += 1
        else:
            trace.append(max(0, fresh - 1 - int(rnd.expovariate(1 / (SIZE * mean)))))
    return trace


def shift() -> list[int]:
    rnd = random.Random(1)
    weights = [1 / (i + 1) ** 0.9 for i in range(10 * SIZE)]
    before = rnd.choices(range(10 * SIZE), weights, k=60 * SIZE)
    after = [10**9 + k for k in rnd.choices(range(10 * SIZE), weights, k=60 * SIZE)]
    return before + after


def main() -> None:
    kinds: dict[str, Any] = {"LRU": LRUCache, "S3-FIFO": S3FIFOCache}
    if theine is not None:
        kinds["theine"] = _Theine
    for p_new, mean in ((0.3, 0.25), (0.1, 0.5), (0.5, 0.1), (0.3, 1.0)):
        trace = recency(p_new, mean)
        for name, make in kinds.items():
            last = windows(make, trace, 4 * SIZE)[-3:]
            print(f"recency p_new={p_new} mean={mean}: {name} {last}")
    trace = shift()
    for name, make in kinds.items():
        print(f"shift: {name} {windows(make, trace, 5 * SIZE)[10:20]}")


if __name__ == "__main__":
    main()
