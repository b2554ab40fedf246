"""Redis backend benchmarks: hits against a bare redis-py GET and aiocache; two tiers vs memory.

Usage: python packages/pmp-cache/benchmarks/redis_bench.py [--quick] [--json OUT.json] [--url URL]

Without --url a redis-server is started on a free loopback port in a temp dir
(and stopped at the end). Every row measures our code and its baseline
interleaved, round after round, on the same server and connection settings, and
reports the median of the per-round ratios (ours / baseline: lower is better).
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

from pmp_cache import cache
from pmp_cache._redis import AsyncRedisCache, RedisCache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH (apt-get install redis-server) and no --url given")
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
                sys.exit("redis-server did not start")
            time.sleep(0.01)
    client.close()
    return process, f"redis://127.0.0.1:{port}/0"


def per_call(fn, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def per_call_async(loop: asyncio.AbstractEventLoop, fn, number: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(number):
            await fn()
        return (time.perf_counter() - start) / number

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
    rounds = 5 if options.quick else 15
    net = 300 if options.quick else 1000  # calls per round that cross the network
    mem = 20_000 if options.quick else 100_000  # calls per round served from memory

    tmp = tempfile.TemporaryDirectory()
    process = None
    url = options.url
    if url is None:
        process, url = start_server(tmp.name)
    rows: list[dict[str, object]] = []
    try:
        rows += sync_rows(url, rounds, net, mem)
        rows += async_rows(url, rounds, net)
    finally:
        if process is not None:
            process.kill()
            process.wait()
        tmp.cleanup()

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

    @cache(backend=ours)
    def remote(x: int) -> dict[str, object]:
        return {"x": x}

    @cache(backend=two_tier)
    def tiered(x: int) -> dict[str, object]:
        return {"x": x}

    @cache(maxsize=1024)
    def in_memory(x: int) -> dict[str, object]:
        return {"x": x}

    for f in (remote, tiered, in_memory):
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
    from aiocache import RedisCache as AioRedisCache
    from aiocache.serializers import JsonSerializer as AioJson

    loop = asyncio.new_event_loop()
    port = int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    bare = redis.asyncio.Redis.from_url(url)
    ours = AsyncRedisCache(url, namespace="abench")
    aio = AioRedisCache(serializer=AioJson(), endpoint="127.0.0.1", port=port, namespace="aio")
    value = {"id": 1, "name": "Ada", "tags": ["a", "b"]}

    async def setup() -> None:
        await ours.set("hit", value)
        await aio.set("hit", value)

    loop.run_until_complete(setup())
    out = [
        row(
            "AsyncRedisCache.get hit (JSON dict)",
            "aiocache RedisCache.get hit (JSON)",
            compare(
                rounds,
                lambda: per_call_async(loop, lambda: ours.get("hit"), net),
                lambda: per_call_async(loop, lambda: aio.get("hit"), net),
            ),
            1.0,
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
        await aio.clear()
        await ours.aclose()
        await aio.close()
        await bare.aclose()

    loop.run_until_complete(teardown())
    loop.close()
    return out


if __name__ == "__main__":
    main()
