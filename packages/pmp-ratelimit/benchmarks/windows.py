"""GCRA against the two sliding-window limiters: rolling-window accuracy, memory and speed.

    python packages/pmp-ratelimit/benchmarks/windows.py [--redis]

Reference models of a sliding log (every request's time kept, exact over any rolling window)
and a sliding-window counter (two fixed windows, the previous one weighted by how much of it
still overlaps) are driven by the same requests as pmp's GCRA limiter on a fake clock. Printed:
the most requests each allows in any rolling window of the rate's period (the limit is the
exact answer), the state kept per key, and the time of an allowed request in process. With
``--redis`` (redis-py and redis-server needed), the memory Redis reports for a key of each.
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from pmp_errors import RateLimitError
from pmp_ratelimit import MemoryStore, RateLimiter

NS = 1_000_000_000


class SlidingLog:
    """Allow when fewer than ``limit`` requests were allowed in the last ``per`` ns."""

    def __init__(self, limit: int, per: int, clock: Any) -> None:
        self.limit, self.per, self.clock = limit, per, clock
        self.logs: dict[str, deque[int]] = {}
        self.lock = threading.Lock()

    def acquire(self, key: str) -> bool:
        now = self.clock()
        with self.lock:
            log = self.logs.get(key)
            if log is None:
                log = self.logs[key] = deque()
            while log and log[0] <= now - self.per:
                log.popleft()
            if len(log) >= self.limit:
                return False
            log.append(now)
            return True


class SlidingCounter:
    """Counts of the current and previous fixed window; the previous one weighted by overlap."""

    def __init__(self, limit: int, per: int, clock: Any) -> None:
        self.limit, self.per, self.clock = limit, per, clock
        self.state: dict[str, tuple[int, int, int]] = {}  # window start, count, previous count

    def acquire(self, key: str) -> bool:
        now = self.clock()
        start = now - now % self.per
        begun, count, previous = self.state.get(key, (start, 0, 0))
        if begun != start:
            previous = count if begun == start - self.per else 0
            count, begun = 0, start
        weight = (self.per - (now - start)) / self.per
        if previous * weight + count + 1 > self.limit:
            return False
        self.state[key] = (begun, count + 1, previous)
        return True


def most_in_a_window(times: list[int], per: int) -> int:
    """The most of *times* (sorted) inside any half-open window of length *per*."""
    return max(bisect.bisect_left(times, t + per) - i for i, t in enumerate(times))


def patterns(limit: int, per: int) -> dict[str, list[int]]:
    """Request times (ns): a steady flood, bursts at window edges, a late burst then a flood."""
    interval = per // limit
    flood = list(range(0, 4 * per, interval // 4))
    edges = []
    for w in range(1, 5):
        edges += [w * per - 1] * (2 * limit) + [w * per] * (2 * limit)
    late = [per - 1] * (2 * limit) + list(range(per, 3 * per, interval // 4))
    return {
        "flood at 4x the rate": flood,
        "bursts at window edges": edges,
        "late burst, flood": late,
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def accuracy(limit: int, per_s: int) -> None:
    per = per_s * NS
    print(f"\nrate {limit}/{per_s}s: most allowed in any rolling {per_s} s window (exact: {limit})")
    for name, times in patterns(limit, per).items():
        row = []
        for kind in ("GCRA", f"GCRA at {(limit + 1) // 2}", "sliding log", "sliding counter"):
            clock = Clock()
            if kind.startswith("GCRA"):
                n = limit if kind == "GCRA" else (limit + 1) // 2
                limiter = RateLimiter(f"{n}/{per_s}s", store=MemoryStore(clock=clock))

                def allow(limiter: RateLimiter = limiter) -> bool:
                    try:
                        limiter.acquire("k")
                    except RateLimitError:
                        return False
                    return True
            else:
                model = (SlidingLog if kind == "sliding log" else SlidingCounter)(limit, per, clock)

                def allow(model: Any = model) -> bool:
                    return bool(model.acquire("k"))

            allowed = []
            for t in times:
                clock.now = t + per  # start past zero: no key is older than the clock
                if allow():
                    allowed.append(t)
            row.append(f"{kind} {most_in_a_window(allowed, per)}")
        print(f"  {name:22} " + ", ".join(row))


def deep_size(obj: object) -> int:
    if isinstance(obj, (tuple, deque, list)):
        return sys.getsizeof(obj) + sum(deep_size(x) for x in obj)
    return sys.getsizeof(obj)


def memory(limit: int) -> None:
    now = time.monotonic_ns()
    gcra = now + 123_456  # one arrival time per rate
    log = deque(now + i for i in range(limit))
    counter = (now - 5, limit // 2, limit // 2)
    print(
        f"\nstate per key at {limit} requests per period, in bytes (Python objects): "
        f"GCRA {deep_size(gcra)}, sliding log {deep_size(log)}, "
        f"sliding counter {deep_size(counter)}"
    )


def speed(rounds: int) -> None:
    keys = [f"user:{i}" for i in range(100)]
    huge = 10**9
    variants = {
        "GCRA (pmp RateLimiter.acquire)": RateLimiter(f"{huge}/1s").acquire,
        "sliding log (deque, lock)": SlidingLog(huge, NS, time.monotonic_ns).acquire,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            for _ in range(20):
                for key in keys:
                    fn(key)
            times[name].append(time.perf_counter() - t0)
    base = times["GCRA (pmp RateLimiter.acquire)"]
    print("\nan allowed request in process (median of interleaved rounds; sliding log / GCRA):")
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, base, strict=True))
        print(f"  {name:32} {statistics.median(t) / 2000 * 1e9:6.0f} ns  {ratio:.2f}x")


def redis_memory(limit: int) -> None:
    import redis

    from pmp_ratelimit import RedisStore

    sys.path.insert(0, str(Path(__file__).parent))
    from run import redis_server

    with redis_server() as url:
        client = redis.Redis.from_url(url)
        limiter = RateLimiter(f"{limit}/60s", store=RedisStore(client))
        limiter.acquire("k")
        gcra_key = next(iter(client.scan_iter()))
        now = int(time.time() * 1_000_000)
        client.zadd("log", {f"{now + i}": now + i for i in range(limit)})
        client.hset("counter", mapping={"start": now, "count": limit // 2, "previous": limit // 2})
        print(
            f"\nRedis MEMORY USAGE per key at {limit} requests per period: GCRA "
            f"{client.memory_usage(gcra_key)}, sliding log (sorted set) "
            f"{client.memory_usage('log')}, sliding counter (hash) {client.memory_usage('counter')}"
        )
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", action="store_true", help="also measure memory in Redis")
    parser.add_argument("--rounds", type=int, default=51)
    args = parser.parse_args()
    for limit, per_s in ((10, 1), (100, 60)):
        accuracy(limit, per_s)
    for limit in (100, 1000):
        memory(limit)
    speed(args.rounds)
    if args.redis:
        for limit in (100, 1000):
            redis_memory(limit)


if __name__ == "__main__":
    main()
