"""Redis backend benchmarks: hits against a bare redis-py GET and aiocache; two tiers vs memory.

Usage: python packages/pmp-cache/benchmarks/redis_bench.py [--quick] [--json OUT.json] [--url URL]

Without --url a redis-server is started on a free loopback port in a temp dir
(and stopped at the end). Every row measures our code and its baseline
interleaved, round after round, on the same server and connection settings, and
reports the median of the per-round ratios (ours / baseline: lower is better).
The cost of the bare measuring loop is measured in each round and subtracted.
``run.py`` runs these rows too (``redis_rows``) when redis-py and redis-server are there.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import redis.asyncio

from pmp_cache import async_cache, cache
from pmp_cache._redis import AsyncRedisCache, RedisCache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server on a free loopback port; raise RuntimeError if it cannot."""
    binary = shutil.which("redis-server")
    if binary is None:
        msg = "redis-server is not on PATH (apt-get install redis-server) and no --url given"
        raise RuntimeError(msg)
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
         "--save", "", "--appendonly", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                msg = "redis-server did not start"
                raise RuntimeError(msg) from None
            time.sleep(0.01)
    client.close()
    return process, f"redis://127.0.0.1:{port}/0"


def _noop() -> None:
    return None


def per_call(fn, number: int) -> float:
    """Seconds per call of ``fn``, less the cost of calling an empty function."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    spent = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(number):
        _noop()
    return max(spent - (time.perf_counter() - start), 1e-9) / number


async def _anoop() -> None:
    return None


def per_call_async(loop: asyncio.AbstractEventLoop, fn, number: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(number):
            await fn()
        spent = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(number):
            await _anoop()
        return max(spent - (time.perf_counter() - start), 1e-9) / number

    return loop.run_until_complete(run())


def compare(rounds: int, ours, baseline) -> tuple[float, float, float]:
    """Median ratio ours/baseline and the median seconds per call of each."""
    ratios, mine, theirs = [], [], []
    for _ in range(rounds):
        a, b = ours(), baseline()
        ratios.append(a / b)
        mine.append(a)
        theirs.append(b)
    return statistics.median(ratios), statistics.median(mine), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under ~20 s)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--url", help="use this server instead of starting one")
    options = parser.parse_args()
    rounds, net, mem = sizes(quick=options.quick)

    try:
        rows = redis_rows(rounds, net, mem, options.url)
    except RuntimeError as exc:
        sys.exit(str(exc))

    today = dt.datetime.now(tz=dt.timezone.utc).date()
    print(f"pmp-cache Redis backend, Python {platform.python_version()}, {today}")
    print(f"{'benchmark':58} {'ours':>9} {'baseline':>9} {'ratio':>7} {'target':>9}  met")
    for row in rows:
        print(
            f"{row['name']:58} {row['ours_us']:8.2f}u {row['baseline_us']:8.2f}u "
            f"{row['ratio']:6.2f}x {row['target']:>9}  {'yes' if row['met'] else 'NO'}"
        )
    if options.json:
        options.json.write_text(
            json.dumps(
                {
                    "package": "pmp-cache[redis]",
                    "python": platform.python_version(),
                    "date": today.isoformat(),
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )


def sizes(*, quick: bool) -> tuple[int, int, int]:
    """Rounds, calls per round that cross the network, calls per round served from memory."""
    return (5, 300, 20_000) if quick else (15, 1000, 100_000)


def redis_rows(rounds: int, net: int, mem: int, url: str | None = None) -> list[dict[str, object]]:
    """Every Redis row, on ``url`` or on a redis-server started (and stopped) here."""
    with tempfile.TemporaryDirectory() as directory:
        process = None
        if url is None:
            process, url = start_server(directory)
        try:
            return sync_rows(url, rounds, net, mem) + async_rows(url, rounds, net)
        finally:
            if process is not None:
                process.kill()
                process.wait()


def row(
    name: str, baseline: str, result: tuple[float, float, float], limit: float
) -> dict[str, object]:
    ratio, ours, theirs = result
    return {
        "name": name,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "target": f"<= {limit}x",
        "met": ratio <= limit,
        "ours_us": round(ours * 1e6, 3),
        "baseline_us": round(theirs * 1e6, 3),
        "ours_per_s": round(1 / ours),
    }


def sync_rows(url: str, rounds: int, net: int, mem: int) -> list[dict[str, object]]:
    bare = redis.Redis.from_url(url)
    ours = RedisCache(url, namespace="bench")
    two_tier = RedisCache(url, namespace="bench2", local_maxsize=1024, local_ttl=5)
    value = {"id": 1, "name": "Ada", "tags": ["a", "b"]}
    ours.set("hit", value)
    two_tier.set("hit", value)
    bare.set("raw", json.dumps(value))
    key_text = "bench:v1:hit"

    @cache(backend=ours, namespace="bench.remote")
    def remote(x: int) -> dict[str, object]:
        return {"x": x}

    @cache(backend=two_tier, namespace="bench.tiered")
    def tiered(x: int) -> dict[str, object]:
        return {"x": x}

    @cache(maxsize=1024)
    def in_memory(x: int) -> dict[str, object]:
        return {"x": x}

    @cache(maxsize=1024, ttl=5)
    def in_memory_ttl(x: int) -> dict[str, object]:
        return {"x": x}

    for f in (remote, tiered, in_memory, in_memory_ttl):
        f(1)
    out = [
        row(
            "RedisCache.get hit (JSON dict)",
            "redis-py GET of the same bytes",
            compare(
                rounds,
                lambda: per_call(lambda: ours.get("hit"), net),
                lambda: per_call(lambda: bare.get(key_text), net),
            ),
            1.3,
        ),
        row(
            "@cache(backend=RedisCache) hit",
            "redis-py GET of the same bytes",
            compare(
                rounds,
                lambda: per_call(lambda: remote(1), net),
                lambda: per_call(lambda: bare.get(key_text), net),
            ),
            1.3,
        ),
        row(
            "@cache(backend=RedisCache(local_maxsize=...)) hit",
            "@cache in-memory hit",
            compare(
                rounds,
                lambda: per_call(lambda: tiered(1), mem),
                lambda: per_call(lambda: in_memory(1), mem),
            ),
            1.5,
        ),
        row(
            "@cache(backend=RedisCache(local_maxsize=...)) hit",
            "@cache(ttl=...) in-memory hit",
            compare(
                rounds,
                lambda: per_call(lambda: tiered(1), mem),
                lambda: per_call(lambda: in_memory_ttl(1), mem),
            ),
            1.0,
        ),
        row(
            "RedisCache(local_maxsize=...).get hit",
            "RedisCache.get hit (network)",
            compare(
                rounds,
                lambda: per_call(lambda: two_tier.get("hit"), net),
                lambda: per_call(lambda: ours.get("hit"), net),
            ),
            0.1,
        ),
    ]
    ours.clear()
    two_tier.clear()
    ours.close()
    two_tier.close()
    bare.close()
    return out


def async_rows(url: str, rounds: int, net: int) -> list[dict[str, object]]:
    try:
        from aiocache import RedisCache as AioRedisCache
        from aiocache.serializers import JsonSerializer as AioJson
    except ImportError:  # aiocache (bench group) missing: only the redis.asyncio row
        AioRedisCache = None  # noqa: N806 - the class, or None without aiocache

    loop = asyncio.new_event_loop()
    port = int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    bare = redis.asyncio.Redis.from_url(url)
    ours = AsyncRedisCache(url, namespace="abench")
    aio = (
        None
        if AioRedisCache is None
        else AioRedisCache(serializer=AioJson(), endpoint="127.0.0.1", port=port, namespace="aio")
    )
    value = {"id": 1, "name": "Ada", "tags": ["a", "b"]}

    @async_cache(backend=ours, namespace="bench.aremote")
    async def remote(x: int) -> dict[str, object]:
        return {"x": x}

    async def setup() -> None:
        await ours.set("hit", value)
        await remote(1)
        if aio is not None:
            await aio.set("hit", value)

    loop.run_until_complete(setup())
    out = []
    if aio is not None:
        out.append(
            row(
                "AsyncRedisCache.get hit (JSON dict)",
                "aiocache RedisCache.get hit (JSON)",
                compare(
                    rounds,
                    lambda: per_call_async(loop, lambda: ours.get("hit"), net),
                    lambda: per_call_async(loop, lambda: aio.get("hit"), net),
                ),
                1.0,
            )
        )
    out += [
        row(
            "@async_cache(backend=AsyncRedisCache) hit",
            "redis.asyncio GET of the same bytes",
            compare(
                rounds,
                lambda: per_call_async(loop, lambda: remote(1), net),
                lambda: per_call_async(loop, lambda: bare.get("abench:v1:hit"), net),
            ),
            1.3,
        ),
        row(
            "AsyncRedisCache.get hit (JSON dict)",
            "redis.asyncio GET of the same bytes",
            compare(
                rounds,
                lambda: per_call_async(loop, lambda: ours.get("hit"), net),
                lambda: per_call_async(loop, lambda: bare.get("abench:v1:hit"), net),
            ),
            1.3,
        ),
    ]

    async def teardown() -> None:
        await ours.clear()
        await ours.aclose()
        await bare.aclose()
        if aio is not None:
            await aio.clear()
            await aio.close()

    loop.run_until_complete(teardown())
    loop.close()
    return out


if __name__ == "__main__":
    main()
