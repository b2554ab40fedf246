"""The options of ``cache`` and ``async_cache``, and the checks that name what is wrong."""

from __future__ import annotations

import inspect
import types
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from pmp_cache._backend import CacheBackend
from pmp_cache._lru import LRUCache
from pmp_cache._policy import check_policy
from pmp_cache._validate import (
    check_callable,
    check_hook,
    check_maxsize,
    check_timer,
    check_ttl,
)
from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["CacheOptions", "check_identity", "check_options", "check_stale", "fill_options"]


class CacheOptions(TypedDict, total=False):
    """The keyword options ``cache`` and ``async_cache`` share (see ``cache``).

    >>> sorted(CacheOptions.__annotations__)[:3]
    ['key', 'namespace', 'on_event']
    """

    typed: bool
    key: Callable[..., Hashable] | None
    timer: Callable[[], float] | None
    namespace: str | None
    unless: Callable[[Any], object] | None
    on_event: Callable[[str, Any], object] | None
    stale: float | None
    policy: Literal["lru", "s3fifo"]


_DEFAULTS: dict[str, Any] = dict.fromkeys(CacheOptions.__annotations__) | {
    "typed": False,
    "policy": "lru",
}


def fill_options(decorator: str, given: dict[str, Any]) -> dict[str, Any]:
    """Every option, defaults filled in; an unknown name raises ``TypeError`` naming it."""
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        msg = (
            f"{decorator}() got an unexpected keyword argument {unknown[0]!r}; it takes "
            f"maxsize, ttl, backend and {', '.join(_DEFAULTS)}"
        )
        raise TypeError(msg)
    return _DEFAULTS | given


def check_identity(func: Callable[..., Any]) -> None:
    """Refuse a backend-backed function whose name is not unique and stable across processes."""
    qualname = getattr(func, "__qualname__", None)
    module = getattr(func, "__module__", None)
    # A method bound to an object or a class is named after the function, whatever it is
    # bound to (a builtin function is bound to its module, and named uniquely).
    bound = getattr(func, "__self__", None)
    unbound = bound is None or isinstance(bound, types.ModuleType)
    if isinstance(qualname, str) and isinstance(module, str) and "<" not in qualname and unbound:
        return
    raise ConfigurationError(
        f"{func!r} has no unique, stable name (a lambda, a closure, a function made inside "
        "another function, or a method bound to one object or class): its entries in a shared "
        "backend would mix with those of its siblings; pass namespace='...' naming this "
        "function's entries",
        config_key="namespace",
    )


def check_backend(backend: Any, *, is_async: bool) -> None:
    """Raise unless ``backend`` is a store the decorator can use without blocking."""
    if not isinstance(backend, CacheBackend):
        raise ValidationError(
            f"backend must provide get/set/delete/clear/stats (see CacheBackend), got {backend!r}",
            field="backend",
            value=backend,
        )
    if (
        is_async
        and not inspect.iscoroutinefunction(backend.get)
        and not isinstance(backend, LRUCache)
    ):
        raise ValidationError(
            f"backend {backend!r} is synchronous: async_cache would block the event loop "
            "on every call to it; use an async backend such as AsyncRedisCache (or an "
            "in-memory LRUCache)",
            field="backend",
            value=backend,
        )
    if not is_async and inspect.iscoroutinefunction(backend.get):
        raise ValidationError(
            f"backend {backend!r} is async (its get is a coroutine function): use it "
            "with async_cache, or give cache a sync backend such as RedisCache",
            field="backend",
            value=backend,
        )


def check_stale(stale: object, *, ttl: object, backend: object) -> float | None:
    """``stale`` as seconds, or ``None``; it needs a ``ttl`` and the in-memory store."""
    checked = check_ttl(stale, "stale")
    if checked is not None and ttl is None:
        raise ValidationError(
            "stale= serves entries after their ttl: give the decorator a ttl too",
            field="stale",
            value=stale,
        )
    if checked is not None and backend is not None:
        raise ConfigurationError(
            "stale= works with the in-memory store only: drop backend= or stale=",
            config_key="stale",
        )
    return checked


def check_options(
    *, is_async: bool, maxsize: object, ttl: object, backend: object, options: dict[str, Any]
) -> tuple[int | None, float | None]:
    typed, key, timer = options["typed"], options["key"], options["timer"]
    unless, on_event, namespace = options["unless"], options["on_event"], options["namespace"]
    checked_maxsize = check_maxsize(maxsize)
    checked_ttl = check_ttl(ttl)
    if not isinstance(typed, bool):
        raise ValidationError(
            f"typed must be True or False, got {typed!r}", field="typed", value=typed
        )
    check_callable(key, "key", "a callable taking the function's arguments")
    check_callable(unless, "unless", "a callable taking a result (true: do not store it)")
    if key is not None and typed:
        raise ValidationError(
            "typed=True has no effect with key=: the key function alone makes the key; "
            "drop typed=True, or put the types in the key (e.g. (type(x), x))",
            field="typed",
            value=typed,
        )
    check_timer(timer)
    check_hook(on_event)
    if check_policy(options["policy"]) != "lru" and backend is not None:
        raise ConfigurationError(
            "policy= chooses how the in-memory store evicts; a backend evicts by its own "
            "rules: drop backend= or policy=",
            config_key="policy",
        )
    if on_event is not None and backend is not None:
        raise ConfigurationError(
            "on_event reports the events of the in-memory store; a backend keeps its own "
            "statistics: drop on_event, or read the backend's stats()",
            config_key="on_event",
        )
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValidationError(
            f"namespace must be a non-empty str or None, got {namespace!r}",
            field="namespace",
            value=namespace,
        )
    if backend is not None:
        check_backend(backend, is_async=is_async)
    return checked_maxsize, checked_ttl
