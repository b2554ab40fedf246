"""Benchmark pmp-cache against functools, cachetools, async-lru, aiocache and cachebox.

Run in an environment with pmp-cache and its ``bench`` dependency group:

    python packages/pmp-cache/benchmarks/run.py [--quick] [--json OUT.json]

Every row times our code and its baseline interleaved in the same rounds; the
reported ratio is the median of the per-round ratios ``ours / baseline`` (below
1.0 means we are faster). The cost of the bare measuring loop is measured in each
round and subtracted, so ratios compare the operations themselves.

Then the hit ratios of the eviction policies (``hit_ratio.py``) are printed, and
those of the traces where frequency misleads (``recency.py``).

When redis-py and ``redis-server`` are available, the Redis rows of
``redis_bench.py`` run too, on a server started on a free loopback port (and
stopped at the end); otherwise they are skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import functools
import gc
import json
import platform
import shutil
import statistics
import threading
import time
import tracemalloc
from typing import TYPE_CHECKING, Any

from pmp_cache import LRUCache, async_cache, cache

if TYPE_CHECKING:
    from collections.abc import Callable

try:
    import cachetools
except ImportError:  # pragma: no cover - bench group not installed
    cachetools = None
try:
    from async_lru import alru_cache
except ImportError:  # pragma: no cover
    alru_cache = None
try:
    import cachebox
except ImportError:  # pragma: no cover - no wheel for this interpreter
    cachebox = None
try:
    from aiocache import cached as aiocache_cached
except ImportError:  # pragma: no cover
    aiocache_cached = None

perf = time.perf_counter
KEYS = list(range(100))  # hits: 100 keys cycling through a 128-entry cache


def identity(x: int) -> int:
    return x


# -- timing helpers -------------------------------------------------------------------


def time_calls(fn: Callable[[int], Any], reps: int) -> float:
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


# -- sync hit / miss ------------------------------------------------------------------


def warm(fn: Callable[[int], Any]) -> Callable[[int], Any]:
    for k in KEYS:
        fn(k)
    return fn


def instrumented_hooks() -> dict[str, Callable[[str, Any], None]]:
    """``on_event`` hooks of the ready instruments, each on its own registry or provider."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from prometheus_client import CollectorRegistry

    from pmp_cache.integrations.opentelemetry import OpenTelemetryInstrument
    from pmp_cache.integrations.prometheus import PrometheusInstrument

    otel = OpenTelemetryInstrument(
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()])
    )
    return {
        "pmp cache otel": otel.events("identity"),
        "pmp cache prometheus": PrometheusInstrument(registry=CollectorRegistry()).events(
            "identity"
        ),
    }


def sync_variants() -> dict[str, Callable[[int], Any]]:
    v: dict[str, Callable[[int], Any]] = {
        "pmp cache": warm(cache(maxsize=128)(identity)),
        "pmp cache ttl": warm(cache(maxsize=128, ttl=3600)(identity)),
        "pmp cache stale": warm(cache(maxsize=128, ttl=3600, stale=60)(identity)),
        "functools.lru_cache": warm(functools.lru_cache(maxsize=128)(identity)),
    }
    for name, hook in instrumented_hooks().items():
        v[name] = warm(cache(maxsize=128, on_event=hook)(identity))
    if cachetools is not None:
        v["cachetools TTLCache"] = warm(
            cachetools.cached(cachetools.TTLCache(maxsize=128, ttl=3600))(identity)
        )
        v["cachetools TTLCache+lock"] = warm(
            cachetools.cached(cachetools.TTLCache(maxsize=128, ttl=3600), lock=threading.Lock())(
                identity
            )
        )
        v["cachetools LRUCache"] = warm(
            cachetools.cached(cachetools.LRUCache(maxsize=128))(identity)
        )
    if cachebox is not None:
        v["cachebox LRUCache"] = warm(cachebox.cached(cachebox.LRUCache(128))(identity))
        v["cachebox TTLCache"] = warm(cachebox.cached(cachebox.TTLCache(128, 3600))(identity))
    return v


def miss_variants() -> dict[str, Callable[[int], Any]]:
    """Full 1000-entry caches fed fresh keys: every call is a miss plus an eviction."""
    v: dict[str, Callable[[int], Any]] = {
        "pmp cache ttl": cache(maxsize=1000, ttl=3600)(identity),
        "pmp cache": cache(maxsize=1000)(identity),
        "functools.lru_cache": functools.lru_cache(maxsize=1000)(identity),
    }
    if cachetools is not None:
        v["cachetools TTLCache"] = cachetools.cached(cachetools.TTLCache(maxsize=1000, ttl=3600))(
            identity
        )
    return v


def time_range_loop(n: int) -> float:
    """The bare loop of ``time_misses`` / ``time_insert``, subtracted like ``time_loop``."""
    base = 10**12
    t0 = perf()
    for _k in range(base, base + n):
        pass
    return perf() - t0


def time_misses(fn: Callable[[int], Any], start: list[int], n: int) -> float:
    base = start[0]
    start[0] += n
    t0 = perf()
    for k in range(base, base + n):
        fn(k)
    return perf() - t0


# -- mapping operations ---------------------------------------------------------------


def mapping_variants() -> dict[str, Any]:
    v: dict[str, Any] = {
        "pmp LRUCache": LRUCache(maxsize=128),
        "pmp LRUCache ttl": LRUCache(maxsize=128, ttl=3600),
    }
    if cachetools is not None:
        v["cachetools LRUCache"] = cachetools.LRUCache(maxsize=128)
        v["cachetools TTLCache"] = cachetools.TTLCache(maxsize=128, ttl=3600)
    if cachebox is not None:
        v["cachebox LRUCache"] = cachebox.LRUCache(128)
    for c in v.values():
        for k in KEYS:
            c[k] = k
    return v


def time_get(c: Any, reps: int) -> float:
    get = c.get
    keys = KEYS
    t0 = perf()
    for _ in range(reps):
        for k in keys:
            get(k)
    return perf() - t0


def time_insert(c: Any, start: list[int], n: int) -> float:
    base = start[0]
    start[0] += n
    t0 = perf()
    for k in range(base, base + n):
        c[k] = k
    return perf() - t0


# -- async ----------------------------------------------------------------------------


async def plain_coro(x: int) -> int:
    return x


def async_variants() -> dict[str, Callable[[int], Any]]:
    v: dict[str, Callable[[int], Any]] = {
        "pmp async_cache": async_cache(maxsize=128)(plain_coro),
        "undecorated await": plain_coro,
    }
    if alru_cache is not None:
        v["async_lru.alru_cache"] = alru_cache(maxsize=128)(plain_coro)
    if aiocache_cached is not None:
        v["aiocache cached"] = aiocache_cached()(plain_coro)
    return v


async def atime_calls(fn: Callable[[int], Any], reps: int) -> float:
    keys = KEYS
    t0 = perf()
    for _ in range(reps):
        for k in keys:
            await fn(k)
    return perf() - t0


# -- memory ---------------------------------------------------------------------------


def bytes_per_entry(
    make: Callable[[], Any], fill: Callable[[Any, list[int]], None], n: int
) -> float:
    """Bytes the cache itself takes per entry; the int keys/values exist beforehand."""
    keys = list(range(n))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    obj = make()
    fill(obj, keys)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del obj
    return (after - before) / n


def fill_mapping(c: Any, keys: list[int]) -> None:
    for i in keys:
        c[i] = i


def fill_calls(f: Any, keys: list[int]) -> None:
    for i in keys:
        f(i)


# -- main -----------------------------------------------------------------------------


def instrument_rows(times: dict[str, list[float]]) -> list[dict[str, Any]]:
    """A hit with an instrument's on_event hook, against the same hit without a hook."""
    return [
        row(
            f"@cache hit, on_event = {label} instrument",
            "@cache hit, no hook",
            median_ratio(times, name, "pmp cache"),
            "info",
        )
        for label, name in (
            ("OpenTelemetry SDK", "pmp cache otel"),
            ("Prometheus", "pmp cache prometheus"),
        )
    ]


def row(name: str, baseline: str, ratio: float, target: str) -> dict[str, Any]:
    """One result; ``target="info"`` marks a comparison the task sets no target for."""
    if target == "info":
        return {
            "name": name,
            "baseline": baseline,
            "ratio": round(ratio, 3),
            "target": "info",
            "met": True,
        }
    op, limit = target.split()
    bound = float(limit.rstrip("x").rstrip("B"))
    met = ratio <= bound if op == "<=" else ratio >= bound
    return {
        "name": name,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "target": target,
        "met": met,
    }


def redis_rows(*, quick: bool) -> list[dict[str, Any]]:
    """The rows of ``redis_bench.py``, or none (with a note) without redis-py or redis-server."""
    try:
        import redis  # noqa: F401 - only checking that redis-py is installed
    except ImportError:
        print("note: Redis rows skipped: redis-py is missing (pip install 'pmp-cache[redis]')")
        return []
    if shutil.which("redis-server") is None:
        print(
            "note: Redis rows skipped: redis-server is not on PATH (apt-get install redis-server)"
        )
        return []
    import redis_bench  # next to this script, so on sys.path when it runs

    rounds, net, mem = redis_bench.sizes(quick=quick)
    try:
        found: list[dict[str, Any]] = redis_bench.redis_rows(rounds, net, mem)
    except RuntimeError as exc:
        print(f"note: Redis rows skipped: {exc}")
        return []
    return found


def main() -> None:  # noqa: C901, PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about 15 s)")
    parser.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = parser.parse_args()
    rounds = 7 if args.quick else 25
    reps = 100 if args.quick else 200
    rows: list[dict[str, Any]] = []

    # Decorated hits.
    sv = sync_variants()
    times = interleaved(
        {name: functools.partial(time_calls, fn, reps) for name, fn in sv.items()},
        functools.partial(time_loop, reps),
        rounds,
    )
    rows.append(
        row(
            "@cache hit, no TTL",
            "functools.lru_cache",
            median_ratio(times, "pmp cache", "functools.lru_cache"),
            "<= 2.0x",
        )
    )
    rows += instrument_rows(times)
    rows.append(
        row(
            "@cache(ttl=, stale=) fresh hit",
            "@cache(ttl=) hit",
            median_ratio(times, "pmp cache stale", "pmp cache ttl"),
            "<= 1.05x",
        )
    )
    if cachetools is not None:
        rows.append(
            row(
                "@cache hit, TTL",
                "cachetools.cached(TTLCache)",
                median_ratio(times, "pmp cache ttl", "cachetools TTLCache"),
                "<= 0.5x",
            )
        )
        rows.append(
            row(
                "@cache hit, TTL",
                "cachetools.cached(TTLCache, lock=Lock())",
                median_ratio(times, "pmp cache ttl", "cachetools TTLCache+lock"),
                "<= 0.333x",
            )
        )
        rows.append(
            row(
                "@cache hit, no TTL",
                "cachetools.cached(LRUCache)",
                median_ratio(times, "pmp cache", "cachetools LRUCache"),
                "<= 1.0x",
            )
        )
    if cachebox is not None:
        rows.append(
            row(
                "@cache hit, no TTL",
                "cachebox.cached(LRUCache)",
                median_ratio(times, "pmp cache", "cachebox LRUCache"),
                "info",
            )
        )
        rows.append(
            row(
                "@cache hit, TTL",
                "cachebox.cached(TTLCache)",
                median_ratio(times, "pmp cache ttl", "cachebox TTLCache"),
                "info",
            )
        )

    # Decorated miss + evict on a full cache.
    mv = miss_variants()
    n_miss = 2000 if args.quick else 5000
    counters = {name: [10**9 * (i + 1)] for i, name in enumerate(mv)}
    for fn in mv.values():  # fill each cache with keys that will be evicted
        fill_calls(fn, list(range(1000)))
    times = interleaved(
        {
            name: functools.partial(time_misses, fn, counters[name], n_miss)
            for name, fn in mv.items()
        },
        functools.partial(time_range_loop, n_miss),
        rounds,
    )
    if cachetools is not None:
        rows.append(
            row(
                "@cache miss+evict, TTL",
                "cachetools.cached(TTLCache)",
                median_ratio(times, "pmp cache ttl", "cachetools TTLCache"),
                "<= 0.2x",
            )
        )
    rows.append(
        row(
            "@cache miss+evict, no TTL",
            "functools.lru_cache",
            median_ratio(times, "pmp cache", "functools.lru_cache"),
            "info",
        )
    )

    # Mapping get / insert.
    mp = mapping_variants()
    times = interleaved(
        {name: functools.partial(time_get, c, reps) for name, c in mp.items()},
        functools.partial(time_loop, reps),
        rounds,
    )
    if cachetools is not None:
        rows.append(
            row(
                "LRUCache.get hit",
                "cachetools.LRUCache.get",
                median_ratio(times, "pmp LRUCache", "cachetools LRUCache"),
                "<= 0.667x",
            )
        )
        rows.append(
            row(
                "LRUCache(ttl=).get hit",
                "cachetools.TTLCache.get",
                median_ratio(times, "pmp LRUCache ttl", "cachetools TTLCache"),
                "<= 0.25x",
            )
        )
    if cachebox is not None:
        rows.append(
            row(
                "LRUCache.get hit",
                "cachebox.LRUCache.get",
                median_ratio(times, "pmp LRUCache", "cachebox LRUCache"),
                "info",
            )
        )
    counters = {name: [10**9 * (i + 1)] for i, name in enumerate(mp)}
    times = interleaved(
        {name: functools.partial(time_insert, c, counters[name], n_miss) for name, c in mp.items()},
        functools.partial(time_range_loop, n_miss),
        rounds,
    )
    if cachetools is not None:
        rows.append(
            row(
                "LRUCache insert+evict",
                "cachetools.LRUCache",
                median_ratio(times, "pmp LRUCache", "cachetools LRUCache"),
                "<= 0.5x",
            )
        )

    # Async hits.
    av = async_variants()

    async def async_rounds() -> dict[str, list[float]]:
        for fn in av.values():
            for k in KEYS:
                await fn(k)
        areps = max(reps // 4, 10)
        out: dict[str, list[float]] = {name: [] for name in av}
        for _ in range(rounds):
            base = time_loop(areps)
            for name, fn in av.items():
                out[name].append(max(await atime_calls(fn, areps) - base, 1e-9))
        return out

    times = asyncio.run(async_rounds())
    if alru_cache is not None:
        rows.append(
            row(
                "@async_cache hit",
                "async_lru.alru_cache",
                median_ratio(times, "pmp async_cache", "async_lru.alru_cache"),
                "<= 0.286x",
            )
        )
    rows.append(
        row(
            "@async_cache hit",
            "undecorated await",
            median_ratio(times, "pmp async_cache", "undecorated await"),
            "<= 2.5x",
        )
    )
    if aiocache_cached is not None:
        rows.append(
            row(
                "@async_cache hit",
                "aiocache.cached (memory)",
                median_ratio(times, "pmp async_cache", "aiocache cached"),
                "info",
            )
        )

    # Memory per entry.
    n_mem = 100_000
    for label, make, fill, budget in (
        ("LRUCache, no TTL", lambda: LRUCache(maxsize=None), fill_mapping, 110),
        ("LRUCache, TTL", lambda: LRUCache(maxsize=None, ttl=3600), fill_mapping, 190),
        ("@cache, no TTL", lambda: cache(maxsize=None)(identity), fill_calls, 110),
        ("@cache, TTL", lambda: cache(maxsize=None, ttl=3600)(identity), fill_calls, 190),
    ):
        per = bytes_per_entry(make, fill, n_mem)
        r = row(f"memory per int->int entry: {label}", "bytes", per, f"<= {budget}B")
        r["bytes"] = round(per, 1)
        rows.append(r)
    bare = bytes_per_entry(collections.OrderedDict, fill_mapping, n_mem)
    ours = bytes_per_entry(lambda: LRUCache(maxsize=None), fill_mapping, n_mem)
    rows.append(
        row("memory per entry: LRUCache, no TTL", "bare OrderedDict", ours / bare, "<= 1.02x")
    )

    rows += redis_rows(quick=args.quick)

    python = platform.python_version()
    today = dt.datetime.now(tz=dt.timezone.utc).date().isoformat()
    print(f"pmp-cache benchmark, Python {python}, {today}, {rounds} rounds (median ratio)")
    print(f"{'row':50} {'baseline':42} {'ratio':>8} {'target':>10}  met")
    for r in rows:
        print(
            f"{r['name']:50} {r['baseline']:42} {r['ratio']:8.3f} {r['target']:>10}  "
            f"{'-' if r['target'] == 'info' else 'yes' if r['met'] else 'NO'}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:  # noqa: PTH123 - a plain script
            json.dump(
                {"package": "pmp-cache", "python": python, "date": today, "rows": rows},
                fh,
                indent=2,
            )

    # Hit ratios by eviction policy (its JSON is not a rows file: not charted).
    import hit_ratio  # next to this script, so on sys.path when it runs

    hit_ratio.run(
        quick=args.quick,
        json_path=None if not args.json else args.json.removesuffix(".json") + ".hit-ratio",
    )
    import recency  # next to this script too

    recency.main()


if __name__ == "__main__":
    main()
