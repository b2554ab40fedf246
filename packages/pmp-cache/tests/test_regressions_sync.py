"""Regression tests for cache: re-entry through threads, methods, keys and decorator order."""

import contextvars
import functools
import threading
from typing import Any

import pytest

from pmp_cache import LRUCache, ReentrantCallError, cache
from pmp_errors import ConfigurationError, ValidationError


@pytest.mark.parametrize("options", [{}, {"ttl": 5}, {"backend": "lru"}])
@pytest.mark.parametrize("star", [False, True])
def test_reentry_through_a_thread_started_with_the_context_raises(options: Any, star: bool):
    """A computation waiting for a thread (with its context) that calls it back fails, not hangs."""
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "via_thread"}
    outcome: list[BaseException | int] = []

    def in_thread(x: int) -> None:
        try:
            outcome.append(via_thread(x))
        except BaseException as exc:
            outcome.append(exc)

    def body(x: int) -> int:
        context = contextvars.copy_context()
        child = threading.Thread(target=context.run, args=(in_thread, x), daemon=True)
        child.start()
        child.join(5)
        return x

    if star:

        def via_thread(*args: int) -> int:
            return body(*args)
    else:

        def via_thread(x: int) -> int:  # type: ignore[misc]
            return body(x)

    via_thread = cache(**options)(via_thread)
    assert via_thread(1) == 1
    assert len(outcome) == 1
    assert isinstance(outcome[0], ReentrantCallError)


class _Temp:
    def __init__(self, n: int) -> None:
        self.n = n

    @cache
    def plain(self, x: int) -> int:
        return self.n + x

    @cache(ttl=5)
    def timed(self, x: int, *rest: int) -> int:
        return self.n + x + sum(rest)

    @cache
    def me(self) -> "_Temp":
        return self


@pytest.mark.parametrize("name", ["plain", "timed"])
def test_cached_methods_work_on_temporary_objects(name: str):
    """A().m(1) and m = A().m; m(1) work: the bound method keeps its instance alive."""
    assert getattr(_Temp(1), name)(2) == 3
    m = getattr(_Temp(2), name)
    import gc

    gc.collect()
    assert m(2) == 4
    assert m(2) == 4
    assert m.cache_info().hits == 1


def test_a_cached_value_referring_to_self_does_not_keep_the_instance_alive():
    """An instance whose cached method returned self is freed once dropped."""
    import gc
    import weakref

    t = _Temp(1)
    assert t.me() is t
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is None


def test_an_unhashable_default_value_does_not_break_calls_that_omit_it():
    """A parameter defaulting to {} is fine as long as calls do not pass something unhashable."""
    from pmp_cache import UnhashableArgumentError

    @cache
    def f(x: int, context: dict[str, int] = {}) -> int:  # noqa: B006 - the case under test
        return x + len(context)

    assert f(1) == 1
    assert f(1) == 1
    assert f.cache_info().hits == 1
    assert f.cache_invalidate(1) is True
    with pytest.raises(UnhashableArgumentError, match="context"):
        f(1, {"a": 1})


_KIND_CALLS: list[int] = []


class _Kinds:
    @cache
    @classmethod
    def bare(cls, x: int) -> str:
        _KIND_CALLS.append(x)
        return f"{cls.__name__}:{x}"

    @cache(maxsize=4)
    @classmethod
    def sized(cls, x: int) -> str:
        return f"{cls.__name__}:{x}"

    @cache
    @staticmethod
    def static(x: int) -> int:
        return x * 2

    def _get(self, kind: str, x: int) -> str:
        return f"{kind}:{x}"

    user = cache(functools.partialmethod(_get, "user"))


class _SubKinds(_Kinds):
    pass


def test_cache_above_classmethod_staticmethod_and_partialmethod():
    """@cache above @classmethod / @staticmethod and over a partialmethod work."""
    # mypy types a function under @classmethod as the plain function: read it as Any
    kinds: Any = _Kinds
    subkinds: Any = _SubKinds
    assert kinds.bare(1) == kinds.bare(1) == "_Kinds:1"
    assert subkinds.bare(1) == "_SubKinds:1"  # the class is part of the key
    assert _KIND_CALLS == [1, 1]
    assert _Kinds().sized(2) == "_Kinds:2"
    assert _Kinds.static(3) == _Kinds().static(3) == 6
    obj = _Kinds()
    assert obj.user(5) == "user:5"
    assert obj.user(5) == "user:5"


def test_typed_with_a_key_function_is_refused():
    """typed=True together with key= is refused: the key function alone makes the key."""
    from pmp_errors import ValidationError

    with pytest.raises(ValidationError, match="typed") as info:
        cache(typed=True, key=lambda x: x)
    assert info.value.field == "typed"


@pytest.mark.parametrize("options", [{}, {"ttl": 5}])
def test_threads_joining_one_computation_count_as_hits(options: Any):
    """8 threads missing one key together: one miss (the computation), 7 hits."""
    release = threading.Event()
    barrier = threading.Barrier(8)

    @cache(**options)
    def slow(x: int) -> int:
        release.wait(5)
        return x

    def call() -> None:
        barrier.wait()
        slow(1)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    while len(slow.cache_stats.__self__.flights) == 0:  # type: ignore[attr-defined]
        pass
    release.set()  # threads arriving later hit the stored value: also hits
    for t in threads:
        t.join()
    info = slow.cache_info()
    assert (info.hits, info.misses) == (7, 1)


def test_a_thread_with_a_context_copied_before_the_computation_waits_for_it():
    """Computations started after a context was copied are not its own: they are waited for."""
    context = contextvars.copy_context()
    started, release = threading.Event(), threading.Event()

    @cache
    def slow(x: int) -> int:
        started.set()
        release.wait(5)
        return x

    owner = threading.Thread(target=slow, args=(1,))
    owner.start()
    started.wait(5)
    got: list[object] = []

    def late() -> None:
        try:
            got.append(slow(1))
        except BaseException as exc:
            got.append(exc)

    waiter = threading.Thread(target=context.run, args=(late,))
    waiter.start()
    core = slow.cache_stats.__self__  # type: ignore[attr-defined]
    while core.flights.get(1) is not None and core.flights[1][1] is None and waiter.is_alive():
        pass  # until the waiter waits for the flight
    release.set()
    owner.join()
    waiter.join()
    assert got == [1]


class _Base:
    @cache
    def m(self, x: int) -> tuple[str, object]:
        return ("base", x)


class _Derived(_Base):
    @cache
    def m(self, x: int) -> tuple[str, object]:
        return ("derived", super().m(x))


def test_an_overriding_cached_method_calling_super_has_its_own_cache():
    """A subclass's cached method calling super() reaches the base's cache, not its own."""
    d = _Derived()
    assert d.m(1) == ("derived", ("base", 1))
    assert d.m(1) == ("derived", ("base", 1))
    assert _Base.m.cache_info().misses == 1


class _DictOnly:
    __slots__ = ("__dict__",)

    @cache
    def m(self, x: int) -> int:
        return x


def test_a_class_with_a_dict_but_no_weak_references_gets_cached_methods():
    """Instances with __dict__ but no __weakref__ get their cache, refresh included."""
    obj = _DictOnly()
    assert obj.m(1) == 1
    assert obj.m.cache_refresh(1) == 1
    assert obj.m.cache_info().misses == 2


def _call_in_thread(func: Any, *args: Any) -> list[Any]:
    """Call ``func`` in another thread; its result, or nothing if it is still blocked after 5 s."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(func(*args)), daemon=True)
    worker.start()
    worker.join(5)
    return result


@pytest.mark.parametrize("ttl", [None, 5])
def test_a_miss_hook_that_raises_leaves_the_key_usable(ttl: float | None):
    """The caller gets the hook's error; later calls, from any thread, compute the key."""
    raised: list[str] = []

    def hook(kind: str, key: object) -> None:
        if kind == "miss" and not raised:
            raised.append(kind)
            raise RuntimeError(kind)

    @cache(maxsize=4, ttl=ttl, on_event=hook)
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(RuntimeError):
        double(1)
    assert _call_in_thread(double, 1) == [2]
    assert double(1) == 2


@pytest.mark.parametrize("make", [property, functools.cached_property])
@pytest.mark.parametrize("configured", [False, True])
def test_cache_above_a_property_says_to_put_property_above(make: Any, configured: bool):
    """``@cache`` over ``@property`` names the property and the order to use, not ``maxsize``."""
    prop = make(lambda _self: 1)
    with pytest.raises(ValidationError, match=r"@property above @cache") as info:
        cache(maxsize=3)(prop) if configured else cache(prop)
    assert info.value.field == "func"


@pytest.mark.parametrize("options", [{"maxsize": 2}, {"maxsize": 2, "ttl": 5}, {"typed": True}])
def test_parameters_named_like_builtins_the_wrapper_uses(options: Any):
    """A parameter called len, type, KeyError, TypeError or BaseException is just an argument."""

    @cache(**options)
    def f(len: int, type: int = 0, KeyError: int = 0, TypeError: int = 0, BaseException: int = 0):  # noqa: A002, N803 - the point of the test
        return len + type + KeyError + TypeError + BaseException

    @cache(**options)
    def g(len: int) -> int:  # noqa: A002 - the point of the test
        return len * 2

    for x in (1, 2, 3, 1, 2, 3):
        assert f(x, 1, 1, 1, 1) == x + 4
        assert g(x) == x * 2
    with pytest.raises(ValidationError):
        g([])  # type: ignore[arg-type]


class _Repository:
    def __init__(self, name: str) -> None:
        self.name = name

    def load(self, key: int) -> str:
        return f"{self.name}/{key}"

    @classmethod
    def kind(cls, key: int) -> str:
        return f"{cls.__name__}/{key}"


class _Orders(_Repository):
    pass


@pytest.mark.parametrize(
    "bound", [_Repository("users").load, _Repository.kind, _Orders.kind], ids=repr
)
def test_a_bound_method_over_a_backend_needs_a_namespace(bound: Any):
    """Bound methods of two objects (or classes) share a name: over a backend, name them."""
    with pytest.raises(ConfigurationError, match="namespace"):
        cache(backend=LRUCache())(bound)
    shared: LRUCache[Any, Any] = LRUCache()
    users = cache(backend=shared, namespace="users")(_Repository("users").load)
    orders = cache(backend=shared, namespace="orders")(_Repository("orders").load)
    assert (users(1), orders(1)) == ("users/1", "orders/1")
