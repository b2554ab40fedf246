"""Typed usage through the meta-package, checked by mypy --strict (never executed)."""

from __future__ import annotations

from typing_extensions import assert_type

from python_mastery_portfolio import (
    Container,
    DIContainer,
    LifecycleScope,
    LRUCache,
    Pipeline,
    Result,
    cache,
    retry,
    validate_types,
)


class Database:
    pass


container = DIContainer().register(Database, scope=LifecycleScope.SINGLETON)
assert_type(container, DIContainer)
assert_type(container.resolve(Database), Database)

store: LRUCache[str, int] = LRUCache(maxsize=128, ttl=3600)
assert_type(store.get("user:123"), int | None)


@cache(maxsize=256, ttl=3600)
def expensive(x: int) -> int:
    return sum(range(x))


assert_type(expensive(10), int)


@retry(max_attempts=3, delay=1.0, backoff=2.0, exceptions=(IOError, ConnectionError))
def unstable(n: int) -> str:
    return str(n)


assert_type(unstable(1), str)


@validate_types(name=str, age=int)
def create_user(name: str, age: int) -> str:
    return f"{name} {age}"


assert_type(create_user("a", 1), str)


def divide(a: int, b: int) -> Result[float, str]:
    if b == 0:
        return Result.failure("Cannot divide by zero")
    return Result.success(a / b)


assert_type(divide(1, 2).get_or(0.0), float)
assert_type(Container(42).map(lambda x: x * 2), Container[int])
assert_type(Pipeline(5).add(lambda x: x * 2).add(str).execute(), str)
