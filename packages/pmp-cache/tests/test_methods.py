"""Cached methods are told apart from functions by where they live, not by a parameter's name."""

import asyncio
import copy
import dataclasses
import functools
import gc
import inspect
import pickle
import sys
import threading
import weakref
from typing import Any, NamedTuple

import pytest

from pmp_cache import LRUCache, async_cache, cache
from pmp_errors import ConfigurationError, ValidationError

seen: list[tuple[str, int]] = []


class _Named:
    """Methods whose first parameter is not called ``self``."""

    def __init__(self, n: int) -> None:
        self.n = n

    @cache
    def this(this, x: int) -> int:  # noqa: N805 - the case under test
        seen.append(("this", x))
        return this.n + x

    @cache(ttl=5)
    def obj(obj, x: int) -> int:  # noqa: N805 - the case under test
        seen.append(("obj", x))
        return obj.n + x

    @cache
    def cls_(cls_, *xs: int) -> int:  # noqa: N805 - the case under test
        seen.append(("cls_", xs[0]))
        return cls_.n + sum(xs)

    def _add(this, k: int, x: int) -> int:  # noqa: N805 - the case under test
        seen.append(("partial", x))
        return this.n + k + x

    partial = cache(functools.partialmethod(_add, 10))

    @async_cache
    async def later(this, x: int) -> int:  # noqa: N805 - the case under test
        seen.append(("later", x))
        return this.n + x


@pytest.mark.parametrize("name", ["this", "obj", "cls_"])
def test_a_method_gets_per_instance_caches_whatever_its_first_parameter_is_called(name: str):
    """Two instances never share entries; each is freed when dropped; stats sum over them."""
    seen.clear()
    a, b = _Named(1), _Named(100)
    method = getattr(_Named, name)
    assert getattr(a, name)(2) == getattr(a, name)(2) == 3
    assert getattr(b, name)(2) == 102
    assert method(a, 2) == 3  # through the class: a's own cache
    assert seen == [(name, 2), (name, 2)]
    assert method.cache_info().hits == 2
    assert getattr(a, name).cache_info().currsize == 1
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None
    method.cache_clear()


@pytest.mark.parametrize("name", ["this", "obj", "cls_", "partial"])
def test_a_method_works_on_a_temporary_instance(name: str):
    """A().m(1) and m = A().m; m(1) work: the bound method keeps its instance alive."""
    seen.clear()
    assert getattr(_Named(1), name)(2) >= 3
    m = getattr(_Named(2), name)
    gc.collect()
    assert m(2) == m(2)
    assert len(seen) == 2  # the second call of m was a hit


def test_a_partialmethod_gets_per_instance_caches():
    """cache(partialmethod(...)) caches per instance, whatever the first parameter is called."""
    seen.clear()
    a, b = _Named(1), _Named(100)
    assert a.partial(2) == a.partial(2) == 13
    assert b.partial(2) == 112
    assert seen == [("partial", 2), ("partial", 2)]
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None


@pytest.mark.asyncio
async def test_an_async_method_not_taking_self_is_cached_per_instance():
    """An async cached method reads as a coroutine function and caches per instance."""
    seen.clear()
    assert inspect.iscoroutinefunction(_Named.later)
    assert inspect.iscoroutinefunction(_Named(1).later)
    assert await _Named(1).later(2) == 3
    a = _Named(5)
    assert await a.later(2) == await a.later(2) == 7
    assert await _Named.later(a, 2) == 7
    assert seen == [("later", 2), ("later", 2)]
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None


class _Kinds:
    """Static and class methods, with @cache above and below; their parameters named to mislead."""

    @staticmethod
    @cache
    def static_below(self: int, x: int = 0) -> tuple[int, int]:  # noqa: PLW0211 - the case under test
        seen.append(("static_below", self))
        return (self, x)

    @cache
    @staticmethod
    def static_above(self: int, x: int = 0) -> tuple[int, int]:  # noqa: PLW0211 - the case under test
        seen.append(("static_above", self))
        return (self, x)

    @classmethod
    @cache
    def class_below(self, x: int) -> str:  # noqa: N804 - the case under test
        seen.append(("class_below", x))
        return f"{self.__name__}:{x}"

    @cache
    @classmethod
    def class_above(self, x: int) -> str:  # noqa: N804 - the case under test
        seen.append(("class_above", x))
        return f"{self.__name__}:{x}"


class _SubKinds(_Kinds):
    pass


@pytest.mark.parametrize("name", ["static_below", "static_above"])
def test_a_static_method_is_one_cache_keyed_by_all_its_arguments(name: str):
    """@staticmethod above or below @cache: a function, even with a first parameter named self."""
    seen.clear()
    kinds: Any = _Kinds  # mypy reads a function under @staticmethod as the plain function
    method = getattr(kinds, name)
    assert method(1, 2) == getattr(kinds(), name)(1, 2) == (1, 2)
    assert getattr(_SubKinds, name)(1, 2) == (1, 2)
    assert method(3) == (3, 0)
    assert seen == [(name, 1), (name, 3)]
    info = method.cache_info()
    assert (info.hits, info.misses, info.currsize) == (2, 2, 2)
    assert method.cache_invalidate(1, 2) is True
    method.cache_clear()
    assert method.cache_info().currsize == 0


@pytest.mark.parametrize("name", ["class_below", "class_above"])
def test_a_class_method_is_one_cache_keyed_by_the_class(name: str):
    """@classmethod above or below @cache: one cache, each class its own entries."""
    seen.clear()
    kinds: Any = _Kinds
    assert getattr(kinds, name)(1) == getattr(kinds(), name)(1) == "_Kinds:1"
    assert getattr(_SubKinds, name)(1) == "_SubKinds:1"
    assert seen == [(name, 1), (name, 1)]
    info = getattr(kinds, name).cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 2, 2)
    assert getattr(_SubKinds, name).cache_info() == info  # the one cache
    getattr(kinds, name).cache_clear()
    assert getattr(kinds, name).cache_info().currsize == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("order", ["below", "above"])
async def test_async_static_and_class_methods(order: str):
    """@async_cache with @staticmethod or @classmethod, either order: a coroutine function."""
    if order == "below":

        class K:
            @staticmethod
            @async_cache
            async def s(self: int) -> int:  # noqa: PLW0211 - the case under test
                return self * 2

            @classmethod
            @async_cache
            async def c(cls, x: int) -> str:
                return f"{cls.__name__}:{x}"
    else:

        class K:  # type: ignore[no-redef]
            @async_cache
            @staticmethod
            async def s(self: int) -> int:  # noqa: PLW0211 - the case under test
                return self * 2

            @async_cache
            @classmethod
            async def c(cls, x: int) -> str:
                return f"{cls.__name__}:{x}"

    k: Any = K
    assert inspect.iscoroutinefunction(k.s)
    assert inspect.iscoroutinefunction(k.c)
    assert await k.s(2) == await k().s(2) == 4
    assert await k.c(1) == await k().c(1) == "K:1"
    assert k.s.cache_info().hits == k.c.cache_info().hits == 1


@cache
def module_level(self: int, x: int) -> int:
    """A function, not a method, whose first parameter happens to be called self."""
    seen.append(("module_level", self))
    return self + x


def test_a_function_whose_first_parameter_is_named_self_is_a_function():
    """A module-level or nested function taking `self` first keys by every argument."""
    seen.clear()
    assert module_level(1, 2) == module_level(1, 2) == 3
    assert module_level(2, 2) == 4
    assert module_level.cache_info().currsize == 2

    @cache
    def nested(self: int) -> int:
        return self

    assert nested(1) == nested(1) == 1
    assert nested.cache_info().hits == 1
    assert inspect.isfunction(module_level)  # the fastest form: a plain function


def test_a_method_with_a_backend_is_refused_when_the_class_is_made():
    """A per-instance method cannot share a backend; a static method over one can."""
    shared: LRUCache[Any, Any] = LRUCache()
    with pytest.raises((ConfigurationError, RuntimeError)) as info:

        class C:
            @cache(backend=shared, namespace="m")
            def m(this, x: int) -> int:  # noqa: N805 - the case under test
                return x

    error = info.value if isinstance(info.value, ConfigurationError) else info.value.__cause__
    assert isinstance(error, ConfigurationError)
    assert "method" in str(error)
    if sys.version_info >= (3, 12):  # older versions wrap errors from __set_name__
        assert info.type is ConfigurationError

    class S:
        @staticmethod
        @cache(backend=shared, namespace="s")
        def s(self: int) -> int:  # noqa: PLW0211 - the case under test
            return self

    assert S.s(1) == S.s(1) == 1
    assert len(shared) == 1


class _Slotted:
    __slots__ = ("__weakref__", "n")

    def __init__(self, n: int) -> None:
        self.n = n

    @cache
    def plus(this, x: int) -> int:  # noqa: N805 - the case under test
        return this.n + x


def test_a_slotted_class_with_weak_references_gets_per_instance_caches():
    """Instances without __dict__ keep their caches in a table that forgets them when they die."""
    a, b = _Slotted(1), _Slotted(10)
    assert a.plus(1) == a.plus(1) == 2
    assert b.plus(1) == 11
    assert _Slotted.plus.cache_info().hits == 1
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None
    assert _Slotted.plus.cache_info().currsize == 1
    for n in range(200):  # a new instance often takes a dead one's address (and id)
        assert _Slotted(n).plus(0) == n


def test_static_methods_below_cache_pickle_by_reference_and_name_themselves():
    """A static method below @cache pickles as the function it is, and says what it is."""
    import pickle

    assert pickle.loads(pickle.dumps(_Kinds.static_below)) is _Kinds.static_below
    assert repr(_Kinds.static_below) == "<cached _Kinds.static_below>"


def test_a_method_copied_into_another_class_gets_caches_there_too():
    """The same cached method in two class bodies gives instances of each their own caches."""

    class Other:
        this = _Named.__dict__["this"]

        def __init__(self) -> None:
            self.n = 7

    assert Other().this(1) == 8
    assert _Named(1).this(1) == 2


def test_a_method_assigned_after_the_class_over_a_backend_is_refused_when_bound():
    """A class-body function set on a class later, over a shared backend, fails when read."""
    shared: LRUCache[Any, Any] = LRUCache()

    class Source:
        @staticmethod
        @cache(backend=shared, namespace="late")
        def late(this: Any, x: int) -> int:  # noqa: ARG004 - the instance, once a method
            return x

    class Target:
        pass

    target: Any = Target
    target.late = Source.__dict__["late"].__func__
    with pytest.raises(ConfigurationError, match="method"):
        target().late(1)


@pytest.mark.asyncio
async def test_coroutine_controls_of_methods_and_static_methods():
    """acache_* controls act on one instance's cache, or on a static method's one cache."""
    a = _Named(1)
    assert await a.later(1) == 2
    assert await _Named.later.acache_invalidate(a, 1) is True
    assert await _Named.later.acache_refresh(a, 1) == 2
    await _Named.later.acache_clear()
    assert _Named.later.cache_info().currsize == 0
    named: Any = _Named  # a sync cached method offers the coroutine controls too
    assert named(1).this(1) == 2
    assert await named.this.acache_invalidate(named(1), 1) is False
    await named.this.acache_clear()

    class S:
        @staticmethod
        @async_cache
        async def s(x: int) -> int:
            return x

    s: Any = S.s
    assert await s(1) == 1
    assert await s.acache_refresh(1) == 1
    assert await s.acache_invalidate(1) is True
    await s.acache_clear()
    assert await s.cache_refresh(2) == 2


class _Payload:
    """A cached value whose lifetime the tests watch."""


class _Holder:
    @cache
    def value(self, x: int) -> _Payload:
        return _Payload()

    @async_cache
    async def avalue(self, x: int) -> _Payload:
        return _Payload()


@pytest.mark.asyncio
@pytest.mark.parametrize("is_async", [False, True])
async def test_an_instance_cache_is_freed_with_its_instance_without_the_collector(is_async: bool):
    """A dead instance's cache and values go at once, not at the next garbage collection."""
    gc.collect()
    gc.disable()
    try:
        holder = _Holder()
        value = await holder.avalue(1) if is_async else holder.value(1)
        ref = weakref.ref(value)
        del value, holder
        await asyncio.sleep(0)  # the loop drops the finished computation's future
        assert ref() is None
        assert _Holder.value.cache_info().currsize == _Holder.avalue.cache_info().currsize == 0
    finally:
        gc.enable()


class _Registry(type):
    """A metaclass whose cached method gets each class as its instance."""

    @cache
    def describe(cls, x: int) -> tuple[str, int]:
        return (cls.__name__, x)


class _Registered(metaclass=_Registry):
    pass


class _RegisteredChild(_Registered):
    pass


def test_a_cached_method_of_a_metaclass_caches_per_class():
    """A class is an instance of its metaclass: it gets a cache of its own, as instances do."""
    registry: Any = _Registry  # type checkers do not bind a metaclass's descriptor to a class
    registered: Any = _Registered
    child: Any = _RegisteredChild
    assert registered.describe(1) == registered.describe(1) == ("_Registered", 1)
    assert child.describe(1) == ("_RegisteredChild", 1)
    assert registered.describe.cache_info().currsize == 1
    assert registry.describe.cache_info().misses == 2
    assert registry.describe.cache_invalidate(_Registered, 1) is True


def test_a_class_redefined_over_itself_keeps_a_cache_per_definition():
    """A class redefined over itself, calling super() in a cached method, gets two caches."""

    class Greeter:
        @cache
        def greet(self, name: str) -> str:
            return f"hello {name}"

    base = Greeter

    class Greeter(base):  # type: ignore[no-redef,valid-type,misc]  # the same qualified name
        @cache
        def greet(self, name: str) -> str:
            return super().greet(name).upper()

    greeter = Greeter()
    assert greeter.greet("ada") == greeter.greet("ada") == "HELLO ADA"
    assert base.greet(greeter, "ada") == "hello ada"
    assert Greeter.greet.cache_info().hits == 1


class _Account:
    @cache
    def balance(self, day: int) -> int:
        return day


_ACCOUNT: Any = _Account  # the mistakes below are type errors too


@pytest.mark.parametrize(
    "use",
    [
        lambda: _ACCOUNT.balance.cache_invalidate(1),
        _ACCOUNT.balance.cache_invalidate,
        lambda: _ACCOUNT.balance.cache_refresh("1"),
        lambda: _ACCOUNT.balance(1),
        lambda: _ACCOUNT.balance.cache_invalidate(_Payload(), 1),
    ],
)
def test_a_method_read_from_its_class_without_an_instance_says_to_pass_one(use: Any):
    """Class.method(...) and its controls name the missing instance, not __slots__."""
    with pytest.raises(ValidationError, match=r"method of _Account: .*balance\(obj"):
        use()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="weakref_slot is new in Python 3.11")
def test_a_slotted_dataclass_without_weak_references_is_told_about_weakref_slot():
    """@dataclass(slots=True) has no __weakref__: the error names the dataclass option."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Point:
        x: int

        @cache
        def shifted(self, dx: int) -> int:
            return self.x + dx

    with pytest.raises(ConfigurationError, match=r"weakref_slot=True"):
        Point(1).shifted(1)

    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)  # type: ignore[call-overload,unused-ignore]
    class Fixed:
        x: int

        @cache
        def shifted(self, dx: int) -> int:
            return self.x + dx

    assert Fixed(1).shifted(1) == Fixed(1).shifted(1) == 2


def test_a_method_reports_its_counters_in_the_order_a_function_does():
    """Class.method.cache_stats() lists its keys as every other cache_stats() does."""

    @cache
    def function(x: int) -> int:
        return x

    assert list(_Account.balance.cache_stats()) == list(function.cache_stats())


class _Pair(NamedTuple):
    left: int
    right: int

    @cache
    def total(self) -> int:
        return self.left + self.right


def test_a_named_tuple_method_is_refused_with_advice_it_can_follow():
    """A NamedTuple cannot take __weakref__: the error says to cache a function of its fields."""
    with pytest.raises(ConfigurationError, match="a function of its fields"):
        _Pair(1, 2).total()


class _Counter:
    def __init__(self, start: int) -> None:
        self.start = start
        self.runs = 0

    @cache
    def next_after(self, x: int) -> int:
        self.runs += 1
        return self.start + x


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))]
)
def test_a_copied_or_pickled_instance_starts_with_a_cache_of_its_own(clone: Any):
    """A copy computes for itself, never from the original's cache, and the original keeps its."""
    original = _Counter(10)
    assert original.next_after(1) == 11
    twin = clone(original)
    twin.start = 20
    assert twin.next_after(1) == 21
    assert original.next_after(1) == 11
    assert original.runs == 1


def test_class_level_controls_work_while_other_threads_bind_instances():
    """cache_stats() and cache_clear() on Class.method never fail while instances get caches."""

    class Busy:
        @cache
        def value(self, x: int) -> int:
            return x

    stop = threading.Event()
    alive: list[Busy] = []

    def bind() -> None:
        while not stop.is_set():
            busy = Busy()
            busy.value(1)
            alive.append(busy)
            if len(alive) > 200:  # enough live caches to iterate over
                alive.clear()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=bind) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2000):
            Busy.value.cache_stats()
            Busy.value.cache_clear()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(interval)
