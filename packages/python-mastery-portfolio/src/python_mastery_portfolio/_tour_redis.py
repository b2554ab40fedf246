"""Tour section: a cache shared by processes through Redis, with an in-process tier.

Runs against ``$REDIS_URL`` or ``redis://127.0.0.1:6379/0`` when a server answers
within 0.2 s; otherwise it says how to try it. redis-py is imported only by
``pmp_cache`` when a Redis cache is made, never when this module is imported.
"""

from __future__ import annotations

import importlib.util
import os
import time
import uuid

from pmp_cache import RedisCache, cache

__all__ = ["show"]

_DEFAULT_URL = "redis://127.0.0.1:6379/0"
_HOW_TO = """\
No Redis server answered at {url}, so this section only says how to try it:

    pip install "pmp-cache[redis]"
    redis-server                      # or: docker run -p 6379:6379 redis
    export REDIS_URL=redis://127.0.0.1:6379/0

then run the tour again. Every process using the same namespace and version
then shares one cache, with an optional in-process tier in front of Redis."""


def _connect(url: str) -> RedisCache | None:
    """A two-tier cache on ``url`` in a namespace of its own, or ``None`` if unreachable."""
    if importlib.util.find_spec("redis") is None:
        return None
    shared = RedisCache(
        url,
        namespace=f"pmp-tour-{uuid.uuid4().hex[:8]}",
        ttl=60,
        timeout=0.2,
        local_maxsize=256,
        local_ttl=1.0,
    )
    try:
        shared.client.ping()
    except Exception:  # noqa: BLE001 - whatever the failure, there is no usable server here
        shared.close()
        return None
    return shared


def show() -> None:
    """Print the Redis section: two tiers and their statistics, or how to start a server."""
    url = os.environ.get("REDIS_URL") or _DEFAULT_URL
    shared = _connect(url)
    if shared is None:
        print(_HOW_TO.format(url=url))
        return
    computed: list[int] = []

    @cache(backend=shared, namespace="tour.profile")
    def profile(user_id: int) -> dict[str, object]:
        computed.append(user_id)
        return {"id": user_id, "name": f"user-{user_id}"}

    try:
        start = time.perf_counter()
        first = profile(7)
        miss = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(1000):
            profile(7)
        local = (time.perf_counter() - start) / 1000
        print(f"Redis at {url}, namespace {shared.namespace!r}")
        print(f"profile(7) -> {first}: computed once, stored in Redis and in this process")
        print(f"first call {miss * 1e6:.0f} us; 1000 repeated hits {local * 1e6:.2f} us each")
        stats = shared.stats()
        print(
            f"stats: hits={stats['hits']} (local tier {stats['local_hits']}) "
            f"misses={stats['misses']} errors={stats['errors']} computed={len(computed)}"
        )
    finally:
        shared.clear()  # this namespace only (SCAN + UNLINK), never FLUSHDB
        shared.close()
