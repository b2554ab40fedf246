import gc
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from pmp_cache import (
    CacheInfo,
    LRUCache,
    ReentrantCallError,
    UnhashableArgumentError,
    async_cache,
    cache,
)
from pmp_errors import ConfigurationError, ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counted(func: Callable[..., Any]) -> tuple[Callable[..., Any], list[Any]]:
    calls: list[Any] = []

    def inner(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return func(*args, **kwargs)

    return inner, calls


def test_seed_decorator_example_runs_as_written():
    """The seed's @cache example works with cache_stats and cache_clear."""

    @cache(maxsize=256, ttl=3600)
    def expensive_computation(x: int) -> int:
        return sum(range(x))

    assert expensive_computation(10) == 45
    assert expensive_computation(10) == 45
    stats = expensive_computation.cache_stats()
    assert (stats["hits"], stats["misses"], stats["maxsize"]) == (1, 1, 256)
    expensive_computation.cache_clear()
    assert expensive_computation.cache_info() == CacheInfo(0, 0, 256, 0)


@pytest.mark.parametrize("decorate", [cache, cache(), cache(maxsize=4, ttl=10)])
def test_keeps_name_doc_wrapped_and_signature(decorate):
    """The wrapper keeps the function's name, doc, __wrapped__ and signature."""

    def area(width: int, height: int = 2) -> int:
        """Area of a rectangle."""
        return width * height

    wrapped = decorate(area)
    assert wrapped.__name__ == "area"
    assert wrapped.__doc__ == "Area of a rectangle."
    assert wrapped.__wrapped__ is area
    assert inspect.signature(wrapped) == inspect.signature(area)
    assert wrapped(3) == 6


def test_equal_values_share_one_entry_unless_typed():
    """1, 1.0 and True share an entry; typed=True keeps them apart."""
    inner, calls = counted(lambda x: x)
    loose = cache(inner)
    assert [loose(1), loose(1.0), loose(True)] == [1, 1, 1]
    assert len(calls) == 1
    inner2, calls2 = counted(lambda x: x)
    strict = cache(typed=True)(inner2)
    assert [type(strict(v)) for v in (1, 1.0, True)] == [int, float, bool]
    assert len(calls2) == 3
    strict(x=1)
    strict(x=1.0)
    assert strict.cache_info().currsize == 5

    @cache
    def named(x: object) -> object:
        return x

    assert [named(1), named(1.0), named(True)] == [1, 1, 1]
    assert named.cache_info().currsize == 1


def test_key_rules_for_tuples_and_keywords():
    """A tuple argument, several arguments and keyword orders get consistent keys."""
    inner, calls = counted(lambda *a, **k: (a, k))
    f = cache(inner)
    f((1, 2))
    f(1, 2)
    f(1, 2)
    f(a=1, b=2)
    f(b=2, a=1)
    f(1)
    f(x=1)
    assert len(calls) == 5
    assert f.cache_info().hits == 2


def test_named_parameters_share_entries_across_call_forms():
    """With named parameters, positional, keyword and defaulted calls share one entry."""
    calls: list[tuple[int, int]] = []

    @cache
    def f(x: int, y: int = 0) -> int:
        calls.append((x, y))
        return x + y

    assert f(1, 2) == f(1, y=2) == f(x=1, y=2) == 3
    assert f(5) == f(5, 0) == 5
    assert calls == [(1, 2), (5, 0)]
    assert f.cache_info().currsize == 2
    assert f.cache_invalidate(x=1, y=2) is True
    assert f.cache_invalidate(1, 2) is False
    assert f.cache_invalidate(5) is True
    assert f.cache_info().currsize == 0
    with pytest.raises(TypeError):
        f.cache_invalidate(1, 2, 3)  # type: ignore[call-arg]


def test_every_parameter_kind_is_passed_through():
    """Positional-only, keyword-only and defaulted parameters reach the function intact."""

    @cache(typed=True)
    def f(a: float, /, b: int = 2, *, c: int = 3) -> tuple[float, int, int]:
        return (a, b, c)

    assert f(1, c=4) == (1, 2, 4)
    assert f(1.0, 2, c=4) == (1.0, 2, 4)
    assert f.cache_info().currsize == 2  # typed: 1 and 1.0 apart
    assert f.cache_invalidate(1, c=4) is True
    with pytest.raises(UnhashableArgumentError, match="'c'"):
        f(1, c=[4])  # type: ignore[arg-type]

    @cache
    def constant() -> int:
        return 42

    assert constant() == constant() == 42
    assert constant.cache_info().hits == 1
    assert constant.cache_invalidate() is True


def test_call_shape_keys_for_star_args_functions():
    """With *args/**kwargs, calls are keyed by their shape; invalidate drops every form."""
    calls: list[object] = []

    def g(x: int, y: int = 0, *rest: int) -> int:
        calls.append(x)
        return x + y + sum(rest)

    f = cache(g)
    f(1, 2)
    f(1, y=2)
    f(x=1, y=2)
    assert len(calls) == 3
    assert f.cache_invalidate(1, 2) is True
    assert f.cache_info().currsize == 0


def test_invalidate_on_builtin_without_signature_uses_the_given_form():
    """A callable without a signature is invalidated by the exact call form."""
    f = cache(max)
    assert f(1, 2) == 2
    assert f.cache_invalidate(1, 2) is True


@pytest.mark.parametrize("decorate", [cache, cache(ttl=10), cache(typed=True)])
def test_unhashable_argument_is_named_and_nothing_runs(decorate):
    """An unhashable argument raises a TypeError/ValidationError naming it; f never runs."""
    inner, calls = counted(lambda _items, *, flag=None: flag)

    def total(items, *, flag=None):
        return inner(items, flag=flag)

    f = decorate(total)
    with pytest.raises(UnhashableArgumentError) as info:
        f([1, 2])
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ValidationError)
    assert info.value.field == "items"
    assert info.value.value == [1, 2]
    assert "items" in str(info.value)
    with pytest.raises(UnhashableArgumentError) as info2:
        f(1, flag={})
    assert info2.value.field == "flag"
    assert calls == []
    assert f.cache_info().currsize == 0


def test_unhashable_extra_positional_is_named_by_position():
    """Arguments collected by *args are named by their position."""
    f = cache(lambda *_args: 0)
    with pytest.raises(UnhashableArgumentError, match=r"args\[1\]"):
        f(1, [2])


@pytest.mark.parametrize("decorate", [cache, cache(ttl=10)])
def test_type_error_from_a_hash_method_passes_through(decorate):
    """A TypeError not caused by an argument's hash is re-raised unchanged."""

    class Odd:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            raise TypeError("no comparing")

    f = decorate(lambda _x: 0)
    f(Odd())
    with pytest.raises(TypeError, match="no comparing") as info:
        f(Odd())
    assert not isinstance(info.value, UnhashableArgumentError)


def test_custom_key_function():
    """key= builds the key from the arguments; its unhashable result is named."""
    inner, calls = counted(lambda user, _request_id: user)
    f = cache(key=lambda user, _request_id: user)(inner)
    f("ann", 1)
    f("ann", 2)
    assert len(calls) == 1
    bad = cache(key=lambda x: [x])(lambda x: x)  # type: ignore[arg-type, return-value]
    with pytest.raises(UnhashableArgumentError) as info:
        bad(1)
    assert info.value.field == "key"
    assert f.cache_invalidate("ann", 99) is True


def test_exceptions_are_not_cached():
    """A failing call is not stored; the next call runs again."""
    attempts: list[int] = []

    @cache
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise ValueError("first time fails")
        return x

    with pytest.raises(ValueError, match="first time"):
        flaky(1)
    assert flaky(1) == 1
    assert flaky(1) == 1
    assert attempts == [1, 1]


def test_ttl_decorator_follows_a_patched_monotonic_clock(monkeypatch: pytest.MonkeyPatch):
    """Without a timer, the decorator reads time.monotonic at call time."""
    import time

    calls: list[int] = []

    @cache(ttl=60)
    def f(x: int) -> int:
        calls.append(x)
        return x

    now = time.monotonic()
    f(1)
    monkeypatch.setattr(time, "monotonic", lambda: now + 61)
    f(1)
    assert calls == [1, 1]


def test_ttl_decorator_expires_with_injected_timer():
    """cache(ttl=, timer=) recomputes once the deadline passes, counting an expiration."""
    clock = Clock()
    inner, calls = counted(lambda x: x * 2)
    f = cache(ttl=5, timer=clock)(inner)
    f(1)
    clock.now = 4.9
    f(1)
    clock.now = 5.0
    f(1)
    assert len(calls) == 2
    stats = f.cache_stats()
    assert (stats["hits"], stats["misses"], stats["expirations"]) == (1, 2, 1)


@pytest.mark.parametrize("options", [{}, {"ttl": 60}])
def test_counts_start_again_from_zero_after_clear(options: Any):
    """Hits and misses counted by the generated wrapper restart at zero after cache_clear."""

    @cache(**options)
    def f(x: int) -> int:
        return x

    f(1), f(1), f(1), f(2)
    assert (f.cache_info().hits, f.cache_info().misses) == (2, 2)
    f.cache_clear()
    assert (f.cache_info().hits, f.cache_info().misses) == (0, 0)
    f(1), f(1)
    assert (f.cache_info().hits, f.cache_info().misses) == (1, 1)
    assert f.cache_stats()["hit_rate"] == 0.5


@pytest.mark.parametrize("options", [{}, {"ttl": 60}])
def test_a_type_error_raised_on_a_hit_passes_through_unchanged(options: Any):
    """A TypeError from an on_event hook during a hit reaches the caller as raised."""
    raised = TypeError("from the hook")

    def hook(kind: str, key: object) -> None:
        if kind == "hit":
            raise raised

    @cache(on_event=hook, **options)
    def f(x: int) -> int:
        return x

    assert f(1) == 1
    with pytest.raises(TypeError) as info:
        f(1)
    assert info.value is raised


def test_maxsize_evicts_and_counts():
    """A full decorated cache evicts its LRU entry and counts it."""
    f = cache(maxsize=2)(lambda x: x)
    for x in (1, 2, 1, 3):
        f(x)
    assert f.cache_stats()["evictions"] == 1
    assert f.cache_info() == CacheInfo(hits=1, misses=3, maxsize=2, currsize=2)


@pytest.mark.parametrize("variant", ["plain", "ttl", "backend", "s3fifo", "s3fifo-ttl"])
def test_single_flight_across_threads(variant):
    """8 threads missing one key run the function once and share the result."""
    release = threading.Event()
    barrier = threading.Barrier(8)
    calls: list[int] = []
    options: dict[str, Any] = {
        "plain": {},
        "ttl": {"ttl": 60},
        "backend": {"backend": LRUCache(), "namespace": "slow"},
        "s3fifo": {"policy": "s3fifo"},
        "s3fifo-ttl": {"policy": "s3fifo", "ttl": 60},
    }

    @cache(**options[variant])
    def slow(x: int) -> object:
        calls.append(x)
        release.wait(5)
        return object()

    results: list[object] = []

    def call() -> None:
        barrier.wait()
        results.append(slow(1))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    while not calls:
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)  # let the other threads reach the flight
    release.set()
    for t in threads:
        t.join()
    assert calls == [1]
    assert len(results) == 8
    assert all(r is results[0] for r in results)


def test_other_keys_do_not_wait_for_a_slow_key():
    """A computation in flight for one key does not block another key."""
    release = threading.Event()
    started = threading.Event()

    @cache
    def f(x: int) -> int:
        if x == 1:
            started.set()
            release.wait(5)
        return x

    t = threading.Thread(target=f, args=(1,))
    t.start()
    started.wait(5)
    assert f(2) == 2  # returns while key 1 is still in flight
    assert not release.is_set()
    release.set()
    t.join()


def test_waiters_get_the_owners_exception_then_next_call_recomputes():
    """Threads waiting on a failing computation get its exception; nothing is stored."""
    release = threading.Event()
    barrier = threading.Barrier(4)
    calls: list[int] = []

    @cache
    def boom(x: int) -> int:
        calls.append(x)
        release.wait(5)
        if len(calls) == 1:
            raise ValueError("boom")
        return x

    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            boom(1)
        except ValueError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    while not calls:
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)
    release.set()
    for t in threads:
        t.join()
    assert len(errors) == 4
    assert calls == [1]
    assert boom(1) == 1


def test_interrupted_owner_lets_a_waiter_take_over():
    """If the owner dies of a BaseException, a waiter recomputes instead of failing."""
    release = threading.Event()
    calls: list[str] = []

    class Stop(BaseException):
        pass

    @cache
    def f(x: int) -> str:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            release.wait(5)
            raise Stop
        return "ok"

    def owner() -> None:
        with pytest.raises(Stop):
            f(1)

    t1 = threading.Thread(target=owner, name="owner")
    t1.start()
    while not calls:
        threading.Event().wait(0.001)
    out: list[str] = []
    t2 = threading.Thread(target=lambda: out.append(f(1)), name="waiter")
    t2.start()
    threading.Event().wait(0.05)
    release.set()
    t1.join()
    t2.join()
    assert out == ["ok"]
    assert calls == ["owner", "waiter"]


@pytest.mark.parametrize("how", ["clear", "invalidate"])
def test_clear_during_flight_wins(how):
    """A result computed across a cache_clear/cache_invalidate is returned but not stored."""
    release = threading.Event()
    started = threading.Event()

    @cache
    def f(x: int) -> int:
        started.set()
        release.wait(5)
        return x

    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(f(1)))
    t.start()
    started.wait(5)
    if how == "clear":
        f.cache_clear()
    else:
        f.cache_invalidate(1)
    release.set()
    t.join()
    assert out == [1]
    assert f.cache_info().currsize == 0


def test_reentrant_same_key_raises_and_other_keys_recurse():
    """Calling itself with the same key raises; fib(300) recursion works."""

    @cache
    def loop(n: int) -> int:
        return loop(n)

    with pytest.raises(ReentrantCallError, match="loop") as info:
        loop(1)
    assert isinstance(info.value, RuntimeError)

    @cache(maxsize=None)
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(300) == 222232244629420445529739893461909967206666939096499764990979600


def test_methods_do_not_keep_instances_alive_and_do_not_share():
    """Each instance has its own entries and is freed when dropped."""

    class Service:
        def __init__(self, name: str) -> None:
            self.name = name
            self.calls = 0

        @cache(maxsize=8)
        def greet(self, who: str) -> str:
            """Greet someone."""
            self.calls += 1
            return f"{self.name}:{who}"

    a, b = Service("a"), Service("b")
    assert a.greet("x") == "a:x"
    assert a.greet("x") == "a:x"
    assert b.greet("x") == "b:x"
    assert (a.calls, b.calls) == (1, 1)
    assert Service.greet.__doc__ == "Greet someone."
    assert Service.greet(a, "x") == "a:x"
    info = Service.greet.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (2, 2, 2, 16)
    assert Service.greet.cache_stats()["hit_rate"] == 0.5
    assert Service.greet.cache_invalidate(a, who="x") is True
    assert a.greet.cache_info().currsize == 0
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None
    Service.greet.cache_clear()
    assert Service.greet.cache_info() == CacheInfo(0, 0, 8, 0)
    del b
    gc.collect()
    assert Service.greet.cache_stats()["hit_rate"] == 0.0


def test_method_unbounded_maxsize_sums_to_none():
    """Summed stats of unbounded per-instance caches report maxsize None."""

    class C:
        @cache(maxsize=None)
        def f(self, x: int) -> int:
            return x

    c = C()
    c.f(1)
    assert C.f.cache_info().maxsize is None


def test_method_on_slots_class_without_weakref_is_refused():
    """A class whose instances cannot be weakly referenced gets a clear error."""

    class Slotted:
        __slots__ = ("x",)

        @cache
        def f(self, y: int) -> int:
            return y

    with pytest.raises(ConfigurationError, match="__weakref__"):
        Slotted().f(1)


def test_backend_stores_namespaced_keys():
    """backend= keeps entries in the given CacheBackend under the function's name."""
    shared: LRUCache[Any, Any] = LRUCache(maxsize=10)
    inner, calls = counted(lambda x: x + 1)
    f = cache(backend=shared, ttl=30, namespace="f")(inner)
    g = cache(backend=shared, namespace="g")(lambda x: x - 1)
    assert f(1) == 2
    assert f(1) == 2
    assert g(1) == 0
    assert len(calls) == 1
    assert len(shared) == 2
    assert f.cache_stats()["hits"] == 1
    assert f.cache_invalidate(1) is True
    with pytest.raises(UnhashableArgumentError):
        f([1])
    f.cache_clear()
    assert len(shared) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"maxsize": -1}, "maxsize"),
        ({"ttl": 0}, "ttl"),
        ({"typed": 1}, "typed"),
        ({"key": "name"}, "key"),
        ({"timer": 3}, "timer"),
        ({"backend": object()}, "backend"),
    ],
)
@pytest.mark.parametrize("decorator", [cache, async_cache])
def test_bad_options_raise_validation_error(decorator, kwargs, field):
    """Bad decorator options raise ValidationError naming the option."""
    with pytest.raises(ValidationError) as info:
        decorator(**kwargs)
    assert info.value.field == field


def test_decorating_a_non_callable_or_sync_function_for_async_is_refused():
    """Cache needs a callable; async_cache needs an async function."""
    with pytest.raises(ValidationError, match="callable"):
        cache()(42)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="async"):
        async_cache(lambda: 1)  # type: ignore[arg-type, return-value]


def test_a_kept_bound_method_keeps_its_instance_alive():
    """A bound cached method keeps its instance, as any bound method does."""

    class C:
        @cache
        def f(self, x: int) -> int:
            return x

    bound = C().f
    gc.collect()
    assert bound(1) == 1
    assert bound.cache_info().currsize == 1


@pytest.mark.parametrize("options", [{"ttl": 5}, {"backend": "lru"}, {}])
def test_every_store_variant_shares_flights_and_failures(options):
    """Plain, TTL and backend wrappers run a failing call once per flight and never store it."""
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "f"}
    release = threading.Event()
    calls: list[int] = []

    @cache(**options)
    def f(x: tuple[int, int]) -> int:
        calls.append(1)
        release.wait(5)
        if len(calls) == 1:
            raise ValueError("first")
        return sum(x)

    out: list[object] = []

    def call() -> None:
        try:
            out.append(f((1, 2)))
        except ValueError as exc:
            out.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    while not calls:
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert all(isinstance(o, ValueError) for o in out)
    assert f((1, 2)) == 3
    assert f((1, 2)) == 3
    assert len(calls) == 2
    with pytest.raises(UnhashableArgumentError):
        f([1])  # type: ignore[arg-type]


def test_type_error_from_key_function_passes_through_every_variant():
    """A TypeError raised while building a key is not mistaken for an unhashable argument."""

    def bad_key(x: int) -> int:
        raise TypeError("bad key")

    variants: tuple[dict[str, Any], ...] = (
        {},
        {"ttl": 5},
        {"backend": LRUCache(), "namespace": "f"},
    )
    for options in variants:
        f = cache(key=bad_key, **options)(lambda x: x)
        with pytest.raises(TypeError, match="bad key"):
            f(1)


def test_miss_path_returns_a_value_stored_meanwhile():
    """A miss that finds the value stored by another caller meanwhile returns it."""

    @cache
    def f(x: int) -> int:
        return x

    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    core.store.set(7, 70)
    assert core.begin(7) == 70


def test_owner_failing_after_clear_does_not_disturb_new_flights():
    """An owner that fails after cache_clear() leaves the new flight for its key alone."""
    release = threading.Event()
    started = threading.Event()

    @cache
    def f(x: int) -> int:
        started.set()
        release.wait(5)
        raise ValueError("late failure")

    errors: list[BaseException] = []

    def owner() -> None:
        try:
            f(1)
        except ValueError as exc:
            errors.append(exc)

    t = threading.Thread(target=owner)
    t.start()
    started.wait(5)
    f.cache_clear()
    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    replacement = core.begin(1)
    release.set()
    t.join()
    assert core.flights[1] is replacement
    assert len(errors) == 1


def test_unhashable_argument_of_a_builtin_is_named_by_position():
    """Without a signature, unhashable arguments are named by their position."""
    variants: tuple[dict[str, Any], ...] = ({}, {"ttl": 5})
    for options in variants:
        f = cache(**options)(max)
        with pytest.raises(UnhashableArgumentError, match=r"args\[0\]"):
            f([1], [2])


@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
def test_star_args_wrappers_hit_expire_and_fail_like_the_others(options):
    """Generic (*args) wrappers count hits, expire entries and never store failures."""
    clock = Clock()
    calls: list[tuple[object, ...]] = []

    @cache(timer=clock, **options)
    def f(*args: object) -> int:
        calls.append(args)
        if args == ("boom",):
            raise ValueError("boom")
        return len(args)

    assert f(1, 2) == f(1, 2) == 2
    with pytest.raises(ValueError, match="boom"):
        f("boom")
    clock.now = 10
    assert f(1, 2) == 2
    assert calls.count((1, 2)) == (2 if options else 1)
    stats = f.cache_stats()
    assert stats["hits"] == (1 if options else 2)
    assert stats["expirations"] == (1 if options else 0)


class _StoredWhileRegistering:
    """A key whose second hash (the flight's registration) stores a value for it."""

    def __init__(self, store: LRUCache[Any, Any], then: Callable[[], None]) -> None:
        self.store = store
        self.then = then
        self.hashes = 0

    def __hash__(self) -> int:
        self.hashes += 1
        if self.hashes == 2:
            self.store.set(self, "stored meanwhile")
            self.then()
        return 1

    def __eq__(self, other: object) -> bool:
        return self is other


@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
def test_value_stored_while_a_miss_registers_is_returned(options):
    """A value stored between a miss and its flight's registration is returned, not recomputed."""
    calls: list[object] = []

    @cache(timer=Clock(), **options)
    def f(x: object) -> str:
        calls.append(x)
        return "computed"

    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    assert f(_StoredWhileRegistering(core.store, lambda: None)) == "stored meanwhile"
    assert calls == []
    assert core.flights == {}
    assert f.cache_info() == CacheInfo(hits=1, misses=0, maxsize=128, currsize=1)


def test_value_expired_while_a_miss_registers_is_replaced():
    """A value stored meanwhile but expired by the time it is read is computed and replaced."""
    clock = Clock()
    calls: list[object] = []

    @cache(maxsize=2, ttl=5, timer=clock)
    def f(x: object) -> str:
        calls.append(x)
        return "computed"

    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    f("other")

    def expire() -> None:
        clock.now = 10.0

    key = _StoredWhileRegistering(core.store, expire)
    assert f(key) == "computed"
    assert calls == ["other", key]
    assert core.flights == {}
    assert list(core.store.items()) == [(key, "computed")]
    stats = f.cache_stats()
    # "other" has expired too, but stays stored (and uncounted) until its slot is needed
    assert (stats["expirations"], stats["evictions"], stats["currsize"]) == (1, 0, 1)


@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
def test_parameters_named_like_the_wrappers_own_variables(options):
    """Generated wrappers pass every argument through, whatever the parameters are called."""

    @cache(maxsize=1, **options)
    def f(
        key: int, entry: int, flight: int, /, value: int, *, exc: int, evicted: int, now: int
    ) -> str:
        return f"{key}{entry}{flight}{value}{exc}{evicted}{now}"

    assert f(1, 2, 3, 4, exc=5, evicted=6, now=7) == "1234567"
    assert f(1, 2, 3, value=4, exc=5, evicted=6, now=7) == "1234567"
    assert f(7, 6, 5, 4, exc=3, evicted=2, now=1) == "7654321"
    stats = f.cache_stats()
    assert (stats["hits"], stats["misses"], stats["evictions"]) == (1, 2, 1)


def test_ttl_decorator_counts_an_evicted_expired_entry_as_an_expiration():
    """A full TTL-cached function evicting an entry that already expired counts an expiration."""
    clock = Clock()
    f = cache(maxsize=2, ttl=10, timer=clock)(lambda x: x)
    f(1)
    f(2)
    clock.now = 5.0
    f(3)  # evicts 1, still live
    clock.now = 12.0
    f(4)  # evicts 2, expired at 10
    stats = f.cache_stats()
    assert (stats["evictions"], stats["expirations"], stats["currsize"]) == (1, 1, 2)


@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
def test_star_args_wrappers_share_flights_and_clear_wins(options):
    """Generic (*args) wrappers hand one result to every waiter and drop it after a clear."""
    release = threading.Event()
    barrier = threading.Barrier(4)
    calls: list[tuple[object, ...]] = []

    @cache(**options)
    def f(*args: object) -> object:
        calls.append(args)
        release.wait(5)
        return object()

    results: list[object] = []

    def call() -> None:
        barrier.wait()
        results.append(f(1))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    while not calls:
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)  # let the other threads reach the flight
    f.cache_clear()
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 4
    assert all(r is results[0] for r in results)
    assert f.cache_info().currsize == 0


def _factory(n: int, backend: LRUCache[Any, Any], namespace: str | None) -> Any:
    @cache(backend=backend, namespace=namespace)
    def add(x: int) -> int:
        return x + n

    return add


def test_closures_sharing_a_backend_are_refused_without_a_namespace():
    """Closures, lambdas and <locals> functions over a backend need namespace=, else refused."""
    shared: LRUCache[Any, Any] = LRUCache()
    with pytest.raises(ConfigurationError, match="namespace") as info:
        _factory(1, shared, None)
    assert info.value.context["config_key"] == "namespace"
    with pytest.raises(ConfigurationError, match="namespace"):
        cache(backend=shared)(lambda x: x)
    add1, add2 = _factory(1, shared, "add1"), _factory(2, shared, "add2")
    assert (add1(10), add2(10)) == (11, 12)
    assert cache(backend=shared, namespace="same")(lambda x: x)(1) == 1
    assert cache(namespace="unused")(lambda x: x)(1) == 1  # in memory: no sharing


@pytest.mark.parametrize("namespace", ["", 1])
def test_bad_namespace_is_refused(namespace: Any):
    """namespace= must be a non-empty string."""
    with pytest.raises(ValidationError, match="namespace"):
        cache(namespace=namespace)
