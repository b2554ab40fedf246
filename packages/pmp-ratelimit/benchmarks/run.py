"""Benchmark pmp-ratelimit against limits, pyrate-limiter, a bare dict and a bare redis-py EVALSHA.

Run in an environment with pmp-ratelimit[redis] and its ``bench`` dependency group:

    python packages/pmp-ratelimit/benchmarks/run.py [--quick] [--json OUT.json]

Every row times our code and its baseline interleaved in the same rounds; the reported ratio is
the median of the per-round ratios ``ours / baseline`` (below 1.0 means we are faster). The cost
of the bare measuring loop is measured in each round and subtracted, so ratios compare the
operations themselves. Every request is an allowed ``acquire`` on one of 100 keys (the limit is
far above what the run can reach). The Redis rows start ``redis-server`` on a free loopback port
and stop it at the end; without redis-py or the binary they are skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING, Any

from pmp_ratelimit import AsyncRateLimiter, AsyncRedisStore, Rate, RateLimiter, RedisStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

try:
    import limits
    import limits.aio.storage
    import limits.aio.strategies
    import limits.storage
    import limits.strategies
except ImportError:  # pragma: no cover - bench group not installed
    limits = None
try:
    import pyrate_limiter
except ImportError:  # pragma: no cover
    pyrate_limiter = None

perf = time.perf_counter
KEYS = [f"user:{i}" for i in range(100)]
HUGE = 10**9  # requests per second: never reached, so every acquire is allowed
HUGE_REDIS = 10**6  # Redis counts in microseconds: one request per microsecond at most


def time_calls(fn: Callable[[str], Any], reps: int) -> float:
    keys = KEYS
    t0 = perf()
    for _ in range(reps):
        for k in keys:
            fn(k)
    return perf() - t0


def time_loop(reps: int) -> float:
    keys = KEYS
    t0 = perf()
    for _ in range(reps):
        for _k in keys:
            pass
    return perf() - t0


def interleaved(
    variants: dict[str, Callable[[], float]], overhead: Callable[[], float], rounds: int
) -> dict[str, list[float]]:
    """Time every variant once per round, in turn; subtract the loop overhead."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        base = overhead()
        for name, run in variants.items():
            times[name].append(max(run() - base, 1e-9))
    return times


def median_ratio(times: dict[str, list[float]], ours: str, peer: str) -> float:
    return statistics.median(a / b for a, b in zip(times[ours], times[peer], strict=True))


def row(name: str, baseline: str, ratio: float, target: str) -> dict[str, Any]:
    """One result: ``target`` is like ``"<= 0.333x"``; ``"info"`` sets no target."""
    met = True
    if target != "info":
        op, limit = target.split()
        bound = float(limit.rstrip("x"))
        met = ratio <= bound if op == "<=" else ratio >= bound
    return {
        "name": name,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "target": target,
        "met": met,
    }


# -- in process -----------------------------------------------------------------------


def bare_dict() -> Callable[[str], Any]:
    """The floor: look a key up in a dict and store an updated number."""
    table: dict[str, int] = {}
    get = table.get

    def hit(key: str) -> None:
        table[key] = get(key, 0) + 1

    return hit


def memory_variants() -> dict[str, Callable[[str], Any]]:
    v: dict[str, Callable[[str], Any]] = {
        "pmp RateLimiter.acquire": RateLimiter(Rate(HUGE, per=1)).acquire,
        "bare dict get+set": bare_dict(),
    }
    if limits is not None:
        storage = limits.storage.MemoryStorage()
        item = limits.parse(f"{HUGE}/second")
        for name, kind in (
            ("limits FixedWindow", limits.strategies.FixedWindowRateLimiter),
            ("limits MovingWindow", limits.strategies.MovingWindowRateLimiter),
            ("limits SlidingWindowCounter", limits.strategies.SlidingWindowCounterRateLimiter),
        ):
            strategy = kind(storage)
            v[name] = lambda key, hit=strategy.hit: hit(item, key)
    if pyrate_limiter is not None:
        rates = [pyrate_limiter.Rate(HUGE, pyrate_limiter.Duration.SECOND)]
        gcra = pyrate_limiter.Limiter(
            pyrate_limiter.StateBucket(rates, pyrate_limiter.GCRA()), buffer_ms=0
        )
        v["pyrate-limiter GCRA"] = lambda key, t=gcra.try_acquire: t(key, blocking=False)
        log = pyrate_limiter.Limiter(pyrate_limiter.InMemoryBucket(rates))
        v["pyrate-limiter InMemoryBucket"] = lambda key, t=log.try_acquire: t(key, blocking=False)
    return v


def memory_rows(rounds: int, reps: int) -> list[dict[str, Any]]:
    variants = memory_variants()
    for fn in variants.values():  # warm up, and check that every one allows
        for key in KEYS:
            assert fn(key) is not False
    times = interleaved(
        {name: (lambda fn=fn: time_calls(fn, reps)) for name, fn in variants.items()},
        lambda: time_loop(reps),
        rounds,
    )
    ours = "pmp RateLimiter.acquire"
    rows = [row(ours, "bare dict get+set", median_ratio(times, ours, "bare dict get+set"), "<= 3x")]
    rows += [
        row(ours, peer, median_ratio(times, ours, peer), "<= 0.333x")
        for peer in variants
        if peer not in {ours, "bare dict get+set"}
    ]
    per_call = statistics.median(times[ours]) / (reps * len(KEYS)) * 1e9
    print(f"note: pmp RateLimiter.acquire in process: {per_call:.0f} ns per call")
    return rows


# -- Redis ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; yields its URL."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if time.monotonic() > deadline:
                    msg = "redis-server did not start"
                    raise RuntimeError(msg)
                time.sleep(0.01)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.kill()
            proc.wait()


def redis_rows(rounds: int, reps: int) -> list[dict[str, Any]]:
    try:
        import redis
        import redis.asyncio
    except ImportError:
        print("note: Redis rows skipped: redis-py is missing (pip install 'pmp-ratelimit[redis]')")
        return []
    if shutil.which("redis-server") is None:
        print("note: Redis rows skipped: redis-server is not on PATH")
        return []
    with redis_server() as url:
        client = redis.Redis.from_url(url)
        trivial = client.script_load("return 1")
        variants: dict[str, Callable[[str], Any]] = {
            "pmp RateLimiter.acquire, RedisStore": RateLimiter(
                Rate(HUGE_REDIS, per=1), store=RedisStore(client)
            ).acquire,
            "bare redis-py EVALSHA 'return 1'": lambda key: client.evalsha(trivial, 1, key),
        }
        if limits is not None:
            item = limits.parse(f"{HUGE_REDIS}/second")
            for name, kind in (
                ("limits FixedWindow, RedisStorage", limits.strategies.FixedWindowRateLimiter),
                ("limits MovingWindow, RedisStorage", limits.strategies.MovingWindowRateLimiter),
            ):
                storage = limits.storage.RedisStorage(url, key_prefix=name.split(",")[0])
                strategy = kind(storage)
                variants[name] = lambda key, hit=strategy.hit: hit(item, key)
        for fn in variants.values():
            for key in KEYS:
                fn(key)
        times = interleaved(
            {name: (lambda fn=fn: time_calls(fn, reps)) for name, fn in variants.items()},
            lambda: time_loop(reps),
            rounds,
        )
        ours = "pmp RateLimiter.acquire, RedisStore"
        rows = [
            row(
                ours,
                "bare redis-py EVALSHA 'return 1'",
                median_ratio(times, ours, "bare redis-py EVALSHA 'return 1'"),
                "<= 1.2x",
            )
        ]
        rows += [
            row(ours, peer, median_ratio(times, ours, peer), "<= 1x")
            for peer in variants
            if peer.startswith("limits")
        ]
        rows += async_redis_rows(url, rounds, reps)
        client.close()
    return rows


def async_redis_rows(url: str, rounds: int, reps: int) -> list[dict[str, Any]]:
    """The async store against a bare redis.asyncio EVALSHA (no target: for information)."""
    import redis.asyncio

    async def run() -> list[dict[str, Any]]:
        client = redis.asyncio.Redis.from_url(url)
        trivial = await client.script_load("return 1")
        acquire = AsyncRateLimiter(Rate(HUGE_REDIS, per=1), store=AsyncRedisStore(client)).acquire

        async def ours() -> float:
            t0 = perf()
            for _ in range(reps):
                for k in KEYS:
                    await acquire(k)
            return perf() - t0

        async def bare() -> float:
            t0 = perf()
            for _ in range(reps):
                for k in KEYS:
                    await client.evalsha(trivial, 1, k)
            return perf() - t0

        await ours()
        ratios = []
        for _ in range(rounds):
            ratios.append(await ours() / await bare())
        await client.aclose()
        return [
            row(
                "pmp AsyncRateLimiter.acquire, AsyncRedisStore",
                "bare redis.asyncio EVALSHA 'return 1'",
                statistics.median(ratios),
                "info",
            )
        ]

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = parser.parse_args()
    rounds = 7 if args.quick else 21
    rows = memory_rows(rounds, 20 if args.quick else 50)
    rows += redis_rows(rounds, 2 if args.quick else 5)

    python = platform.python_version()
    today = dt.datetime.now(tz=dt.timezone.utc).date().isoformat()
    print(f"pmp-ratelimit benchmark, Python {python}, {today}, {rounds} rounds (median ratio)")
    print(f"{'row':46} {'baseline':40} {'ratio':>8} {'target':>10}  met")
    for r in rows:
        print(
            f"{r['name']:46} {r['baseline']:40} {r['ratio']:8.3f} {r['target']:>10}  "
            f"{'-' if r['target'] == 'info' else 'yes' if r['met'] else 'NO'}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:  # noqa: PTH123 - a plain script
            json.dump(
                {"package": "pmp-ratelimit", "python": python, "date": today, "rows": rows},
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
