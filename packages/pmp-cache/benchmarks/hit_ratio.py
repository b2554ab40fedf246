"""Hit ratios of pmp-cache's eviction policies against peers and Belady's optimum.

Run in an environment with pmp-cache and its ``bench`` dependency group:

    python packages/pmp-cache/benchmarks/hit_ratio.py [--quick] [--json OUT.json]

Every trace is generated from a fixed seed, so anyone gets the same requests:
Zipf-distributed keys (alpha 0.8, 1.0, 1.2) over 100,000 keys; the same with a
one-pass scan of 5,000 never-seen keys every 50,000 requests; and a loop over
keys slightly more numerous (110%) than the cache holds. Each runs at cache
sizes of 0.1%, 1% and 10% of the key space, a million requests (``--quick``: a
tenth). A miss stores the key. Belady's optimum evicts the entry used again
furthest in the future, known only offline: no online policy can beat it.
The static top-k oracle holds the cache size's worth of most requested keys of
the whole trace (perfect frequency knowledge, first requests miss): what a
policy ranking keys by frequency alone could reach.

Also printed: the cost of a hit under each pmp policy relative to LRU (the
decorated function and ``get``, interleaved rounds, median of ratios), and the
memory per entry of a full cache (tracemalloc, keys allocated beforehand,
the S3-FIFO ghost included).
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import heapq
import itertools
import json
import platform
import random
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pmp_cache import LRUCache, S3FIFOCache, cache

if TYPE_CHECKING:
    from collections.abc import Callable

try:
    import cachetools
except ImportError:  # pragma: no cover - bench group not installed
    cachetools = None
try:
    import cachebox
except ImportError:  # pragma: no cover - no wheel for this interpreter
    cachebox = None
try:
    import theine
except ImportError:  # pragma: no cover - no wheel for this interpreter
    theine = None

KEYS = 100_000
SEED = 20231023


def zipf_trace(alpha: float, n: int, seed: int) -> list[int]:
    """``n`` keys of ``range(KEYS)``, key ``i`` drawn with weight ``1 / (i + 1) ** alpha``."""
    rnd = random.Random(seed)
    weights = itertools.accumulate(1 / (i + 1) ** alpha for i in range(KEYS))
    ranks = rnd.choices(range(KEYS), cum_weights=list(weights), k=n)
    order = list(range(KEYS))
    rnd.shuffle(order)  # popular keys are not the small integers
    return [order[r] for r in ranks]


def with_scans(trace: list[int], every: int = 50_000, length: int = 5_000) -> list[int]:
    """``trace`` with a one-pass scan of ``length`` new keys every ``every`` requests."""
    out: list[int] = []
    fresh = itertools.count(KEYS)
    for start in range(0, len(trace), every):
        out.extend(trace[start : start + every - length])
        out.extend(itertools.islice(fresh, length))
    return out[: len(trace)]


def loop_trace(size: int, n: int) -> list[int]:
    span = size + max(1, size // 10)
    return [i % span for i in range(n)]


# -- the policies: each returns the number of hits over a trace ----------------------


def run_pmp(policy: str) -> Callable[[list[int], int], int]:
    def run(trace: list[int], size: int) -> int:
        @cache(maxsize=size, policy=policy)  # type: ignore[call-overload]
        def f(x: int) -> int:
            return x

        for k in trace:
            f(k)
        return int(f.cache_info().hits)

    return run


def run_functools(trace: list[int], size: int) -> int:
    f = functools.lru_cache(maxsize=size)(lambda x: x)
    for k in trace:
        f(k)
    return f.cache_info().hits


def run_mapping(make: Callable[[int], Any]) -> Callable[[list[int], int], int]:
    def run(trace: list[int], size: int) -> int:
        c = make(size)
        get = c.get
        hits = 0
        for k in trace:
            if get(k) is None:
                c[k] = k
            else:
                hits += 1
        return hits

    return run


def run_theine(trace: list[int], size: int) -> int:
    c = theine.Cache(size)
    get, put = c.get, c.set
    hits = 0
    for k in trace:
        if get(k)[1]:
            hits += 1
        else:
            put(k, k)
    return hits


def run_belady(trace: list[int], size: int) -> int:
    """Belady's MIN: on a miss in a full cache, evict the key next used furthest ahead."""
    never = len(trace)
    next_use = [never] * len(trace)
    seen: dict[int, int] = {}
    for i in range(len(trace) - 1, -1, -1):
        k = trace[i]
        next_use[i] = seen.get(k, never)
        seen[k] = i
    resident: dict[int, int] = {}  # key -> its next use
    heap: list[tuple[int, int]] = []  # (-next use, key), stale items skipped
    hits = 0
    for i, k in enumerate(trace):
        nxt = next_use[i]
        if k in resident:
            hits += 1
        elif len(resident) >= size:
            while True:
                far, victim = heapq.heappop(heap)
                if resident.get(victim) == -far:
                    del resident[victim]
                    break
        resident[k] = nxt
        heapq.heappush(heap, (-nxt, k))
    return hits


def run_top_k(trace: list[int], size: int) -> int:
    """The static oracle: holds the ``size`` keys most requested over the whole trace.

    With perfect knowledge of each key's frequency (and none of when it is
    requested), it misses only the first request of each of them and every
    request of the others: the ceiling of a policy that ranks keys by frequency.
    """
    counts = collections.Counter(trace)
    return sum(count - 1 for _, count in counts.most_common(size))


def policies() -> dict[str, Callable[[list[int], int], int]]:
    found: dict[str, Callable[[list[int], int], int]] = {
        "pmp s3fifo": run_pmp("s3fifo"),
        "pmp lru": run_pmp("lru"),
        "functools lru": run_functools,
    }
    if cachetools is not None:
        found["cachetools LRU"] = run_mapping(cachetools.LRUCache)
        found["cachetools LFU"] = run_mapping(cachetools.LFUCache)
    if cachebox is not None:
        for name in ("LRUCache", "LFUCache", "FIFOCache", "RRCache"):
            found[f"cachebox {name[:-5]}"] = run_mapping(getattr(cachebox, name))
    if theine is not None:
        found["theine (W-TinyLFU)"] = run_theine
    found["top-k (offline)"] = run_top_k
    found["Belady (offline)"] = run_belady
    return found


def hit_ratios(n: int) -> dict[str, dict[str, float]]:
    """``{trace name: {policy: hit ratio in percent}}``."""
    table: dict[str, dict[str, float]] = {}
    runs = policies()
    zipfs = {a: zipf_trace(a, n, SEED + int(a * 10)) for a in (0.8, 1.0, 1.2)}
    for fraction in (0.001, 0.01, 0.1):
        size = int(KEYS * fraction)
        traces = {f"zipf {a}": t for a, t in zipfs.items()}
        traces |= {f"zipf {a} + scans": with_scans(t) for a, t in zipfs.items()}
        traces["loop 110%"] = loop_trace(size, n)
        for name, trace in traces.items():
            row = f"{name} @ {fraction:.1%}"
            table[row] = {}
            for policy, run in runs.items():
                gc.collect()
                table[row][policy] = round(100 * run(trace, size) / len(trace), 2)
            print(row, json.dumps(table[row]), flush=True)
    return table


# -- the cost of a hit and of an entry -----------------------------------------------


def hit_cost(rounds: int) -> dict[str, float]:
    """Median over rounds of (s3fifo hit time / lru hit time): decorator and ``get``."""
    keys = list(range(100))

    def make_func(policy: str) -> Callable[[int], int]:
        @cache(maxsize=128, policy=policy)  # type: ignore[call-overload]
        def f(x: int) -> int:
            return x

        for k in keys:
            f(k)
        return f

    def timed(step: Callable[[int], object]) -> float:
        start = time.perf_counter()
        for _ in range(50):
            for k in keys:
                step(k)
        return time.perf_counter() - start

    lru_f, s3_f = make_func("lru"), make_func("s3fifo")
    lru_c: LRUCache[int, int] = LRUCache(128)
    s3_c: S3FIFOCache[int, int] = S3FIFOCache(128)
    for k in keys:
        lru_c[k] = s3_c[k] = k
    ratios: dict[str, list[float]] = {"decorated hit": [], "LRUCache.get hit": []}
    for _ in range(rounds):
        ratios["decorated hit"].append(timed(s3_f) / timed(lru_f))
        ratios["LRUCache.get hit"].append(timed(s3_c.get) / timed(lru_c.get))
    return {name: round(statistics.median(r), 3) for name, r in ratios.items()}


def entry_bytes(size: int) -> dict[str, float]:
    """Bytes per entry of a full cache of ``size``: after ``3 * size`` distinct inserts
    (no reads: everything waits in S3-FIFO's small FIFO, its worst case), and over
    ``30 * size`` Zipf 1.0 requests (a miss stores the key), sampled every ``size // 5``
    requests of the last two thirds: the median, lowest and highest (the read marks'
    dict grows and is rebuilt in steps, so one sample can land anywhere in that range).
    """
    distinct = list(range(10**6, 10**6 + 3 * size))
    zipf = zipf_trace(1.0, 30 * size, SEED)
    out: dict[str, float] = {}
    for trace_name, trace in (("inserts", distinct), ("zipf 1.0", zipf)):
        for name, make in (("lru", LRUCache), ("s3fifo", S3FIFOCache)):
            gc.collect()
            tracemalloc.start()
            c = make(size)
            samples = []
            for i, k in enumerate(trace):
                if c.get(k) is None:
                    c[k] = k
                if trace is zipf and i >= 10 * size and i % (size // 5) == 0:
                    samples.append(tracemalloc.get_traced_memory()[0] / size)
            samples.append(tracemalloc.get_traced_memory()[0] / size)
            tracemalloc.stop()
            out[f"{trace_name}: {name}"] = round(statistics.median(samples), 1)
            if trace is zipf:
                out[f"{trace_name}: {name} lowest"] = round(min(samples), 1)
                out[f"{trace_name}: {name} highest"] = round(max(samples), 1)
            del c
        out[f"{trace_name}: ratio"] = round(
            out[f"{trace_name}: s3fifo"] / out[f"{trace_name}: lru"], 3
        )
    out["zipf 1.0: highest ratio"] = round(
        out["zipf 1.0: s3fifo highest"] / out["zipf 1.0: lru lowest"], 3
    )
    return out


def markdown(table: dict[str, dict[str, float]]) -> str:
    """The hit ratios as a Markdown table (percent; S3-FIFO minus LRU in its own column)."""
    policies = list(next(iter(table.values())))
    lines = [
        "| trace @ cache size | " + " | ".join(policies) + " | S3-FIFO - LRU |",
        "|---|" + "---:|" * (len(policies) + 1),
    ]
    for row, ratios in table.items():
        gain = ratios["pmp s3fifo"] - ratios["pmp lru"]
        cells = " | ".join(f"{ratios[p]:.2f}" for p in policies)
        lines.append(f"| {row} | {cells} | {gain:+.2f} |")
    return "\n".join(lines)


def run(*, quick: bool, json_path: str | None) -> None:
    """Print (and with ``json_path``, write) the hit ratios and the hit and entry costs."""
    n = 100_000 if quick else 1_000_000
    print(f"Python {platform.python_version()}, {n:,} requests per trace, {KEYS:,} keys")
    results: dict[str, Any] = {
        "package": "pmp-cache",  # read by tools/bench_charts.py, which charts the hit ratios
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "python": platform.python_version(),
        "requests": n,
        "hit_cost": hit_cost(5 if quick else 21),
        "entry_bytes": entry_bytes(10_000),
    }
    print("hit cost, s3fifo / lru:", results["hit_cost"])
    print("bytes per entry:", results["entry_bytes"])
    results["hit_ratio"] = hit_ratios(n)
    print(markdown(results["hit_ratio"]))
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the requests")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    run(quick=args.quick, json_path=args.json)


if __name__ == "__main__":
    main()
