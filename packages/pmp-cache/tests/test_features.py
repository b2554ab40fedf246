"""unless=, cache_refresh() and the other options users of the peers ask for."""

import asyncio
from typing import Any

import pytest

from pmp_cache import LRUCache, async_cache, cache
from pmp_errors import ValidationError


@pytest.mark.parametrize(
    "options", [{}, {"ttl": 5}, {"maxsize": None}, {"backend": "lru"}, {"star": True}]
)
def test_unless_keeps_refused_results_out_of_the_cache(options: dict[str, Any]):
    """Results unless= returns true for are returned but not stored."""
    options = dict(options)
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "find"}
    star = options.pop("star", False)
    calls: list[int] = []

    def body(x: int) -> int | None:
        calls.append(x)
        return None if x < 0 else x

    if star:

        def find(*args: int) -> int | None:
            return body(*args)
    else:

        def find(x: int) -> int | None:  # type: ignore[misc]
            return body(x)

    cached = cache(unless=lambda r: r is None, **options)(find)
    assert [cached(-1), cached(-1), cached(2), cached(2)] == [None, None, 2, 2]
    assert calls == [-1, -1, 2]


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}, {"backend": "lru"}])
async def test_async_unless_keeps_refused_results_out_of_the_cache(options: dict[str, Any]):
    """async_cache(unless=...) stores only results it accepts."""
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "afind"}
    calls: list[int] = []

    @async_cache(unless=lambda r: not r, **options)
    async def afind(x: int) -> list[int]:
        calls.append(x)
        return [x] if x > 0 else []

    assert [await afind(0), await afind(0), await afind(1), await afind(1)] == [[], [], [1], [1]]
    assert calls == [0, 0, 1]


def test_a_failing_unless_fails_the_call_and_stores_nothing():
    """An exception from unless= reaches the caller like the function's own."""

    def boom(_: object) -> bool:
        raise ValueError("bad predicate")

    @cache(unless=boom)
    def f(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="bad predicate"):
        f(1)
    assert f.cache_info().currsize == 0


def test_unless_must_be_callable():
    """unless= names itself when it is not callable."""
    with pytest.raises(ValidationError, match="unless"):
        cache(unless=3)  # type: ignore[call-overload]


def test_cache_refresh_recomputes_and_stores():
    """f.cache_refresh(*args) recomputes, stores and returns the new value."""
    version = [1]

    @cache
    def read(name: str) -> tuple[str, int]:
        return (name, version[0])

    assert read("a") == ("a", 1)
    version[0] = 2
    assert read("a") == ("a", 1)
    assert read.cache_refresh("a") == ("a", 2)
    assert read("a") == ("a", 2)
    assert read.__wrapped__("a") == ("a", 2)  # the bypass: no cache at all


class _Repo:
    def __init__(self) -> None:
        self.version = 1

    @cache
    def get(self, name: str) -> tuple[str, int]:
        return (name, self.version)

    @async_cache
    async def aget(self, name: str) -> tuple[str, int]:
        return (name, self.version)


def test_cache_refresh_on_methods():
    """obj.m.cache_refresh(...) and Class.m.cache_refresh(obj, ...) refresh one instance."""
    repo = _Repo()
    assert repo.get("a") == ("a", 1)
    repo.version = 2
    assert repo.get.cache_refresh("a") == ("a", 2)
    repo.version = 3
    assert _Repo.get.cache_refresh(repo, "a") == ("a", 3)
    assert repo.get("a") == ("a", 3)


@pytest.mark.asyncio
async def test_acache_refresh_on_functions_and_methods():
    """Awaiting f.acache_refresh(...) recomputes and stores, for functions and methods."""
    version = [1]

    @async_cache
    async def read(name: str) -> tuple[str, int]:
        await asyncio.sleep(0)
        return (name, version[0])

    assert await read("a") == ("a", 1)
    version[0] = 2
    assert await read.acache_refresh("a") == ("a", 2)
    assert await read("a") == ("a", 2)
    repo = _Repo()
    assert await repo.aget("a") == ("a", 1)
    repo.version = 2
    assert await repo.aget.acache_refresh("a") == ("a", 2)
    assert await repo.aget("a") == ("a", 2)
