"""cache(backend=RedisCache(...)) against a real redis-server (see redis_server.py)."""

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pmp_cache import cache
from pmp_cache._redis import CacheUnavailableError, RedisCache

_spec = importlib.util.spec_from_file_location(
    "pmp_cache_test_redis_server", Path(__file__).with_name("redis_server.py")
)
assert _spec is not None
assert _spec.loader is not None
_server = sys.modules.get(_spec.name) or importlib.util.module_from_spec(_spec)
if _spec.name not in sys.modules:
    sys.modules[_spec.name] = _server
    _spec.loader.exec_module(_server)
redis_server = _server.redis_server
redis_url = _server.redis_url


@pytest.fixture
def shared(redis_url):
    """A fail-open RedisCache on the test server that retries at once after a failure."""
    backend = RedisCache(redis_url, namespace="dec", retry_interval=0)
    yield backend
    backend.close()


WORKER = textwrap.dedent(
    """
    import sys
    from pmp_cache import cache
    from pmp_cache._redis import RedisCache

    calls = []

    @cache(backend=RedisCache(sys.argv[1], namespace="dec"))
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    results = [square(x) for x in (2, 3, 4)]
    print(results, len(calls))
    """
)


def run_worker(url):
    command = [sys.executable, "-c", WORKER, url]
    done = subprocess.run(command, check=True, timeout=30, capture_output=True, text=True)  # noqa: S603 - our own code
    return done.stdout.strip()


def test_two_processes_share_a_decorated_functions_results(redis_url):
    """A second process finds the first one's results and computes nothing."""
    assert run_worker(redis_url) == "[4, 9, 16] 3"
    assert run_worker(redis_url) == "[4, 9, 16] 0"


def test_decorated_function_fails_open_and_resumes(shared, redis_server):
    """Server down: calls still return correct results, errors are counted; then caching resumes."""
    calls = []

    @cache(backend=shared)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    assert [double(1), double(1)] == [2, 2]
    assert calls == [1]
    redis_server.stop()
    try:
        assert [double(1), double(2), double(2)] == [2, 4, 4]
        assert double.cache_stats()["errors"] > 0
    finally:
        redis_server.start()
    calls.clear()
    assert [double(5), double(5)] == [10, 10]
    assert calls == [5]


def test_decorated_function_strict_mode_raises(redis_url, redis_server):
    """With strict=True a dead server makes the call raise CacheUnavailableError."""
    backend = RedisCache(redis_url, namespace="dec", strict=True)

    @cache(backend=backend)
    def double(x: int) -> int:
        return 2 * x

    assert double(1) == 2
    redis_server.stop()
    try:
        with pytest.raises(CacheUnavailableError):
            double(1)
    finally:
        redis_server.start()
        backend.close()
    assert double(1) == 2


def test_results_the_serializer_cannot_store_raise(shared):
    """A result JSON cannot keep raises ValidationError instead of being cached altered."""
    from pmp_errors import ValidationError

    @cache(backend=shared)
    def pair(x: int) -> tuple[int, int]:
        return (x, x)

    with pytest.raises(ValidationError, match="tuple"):
        pair(1)
