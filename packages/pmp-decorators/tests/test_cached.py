import abc
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_decorators import CachedProperty


class ExpensiveComputation:
    def __init__(self) -> None:
        self.calls = 0

    @CachedProperty
    def result(self) -> int:
        """The sum."""
        self.calls += 1
        return sum(range(1000))


def test_computes_once_then_reads_the_instance_dict():
    """The getter runs once; later reads come from the instance __dict__."""
    obj = ExpensiveComputation()
    assert obj.result == 499500
    assert obj.result == 499500
    assert obj.calls == 1
    assert obj.__dict__["result"] == 499500


def test_is_a_non_data_descriptor():
    """No __set__/__delete__, so a cached value shadows the descriptor."""
    assert not hasattr(CachedProperty, "__set__")
    assert not hasattr(CachedProperty, "__delete__")


def test_instances_are_independent():
    """Each instance computes and caches its own value."""
    a, b = ExpensiveComputation(), ExpensiveComputation()
    a.result  # noqa: B018
    assert "result" not in b.__dict__
    b.result  # noqa: B018
    assert (a.calls, b.calls) == (1, 1)


def test_delete_invalidates_and_assignment_overrides():
    """Del obj.attr forgets the value; assigning sets it directly."""
    obj = ExpensiveComputation()
    obj.result  # noqa: B018
    del obj.result
    assert obj.result == 499500
    assert obj.calls == 2
    obj.result = 7
    assert obj.result == 7
    with pytest.raises(AttributeError):
        del ExpensiveComputation().result


def test_class_access_returns_the_descriptor():
    """Accessing through the class returns the descriptor with the getter's doc."""
    descriptor = ExpensiveComputation.result
    assert isinstance(descriptor, CachedProperty)
    assert descriptor.__doc__ == "The sum."
    assert descriptor.attrname == "result"
    assert descriptor.__wrapped__ is ExpensiveComputation.__dict__["result"].func
    assert "result" in repr(descriptor)


def test_exceptions_are_not_cached():
    """A getter that raises caches nothing; the next read tries again."""
    attempts = []

    class Flaky:
        @CachedProperty
        def value(self):
            attempts.append(1)
            if len(attempts) == 1:
                raise ValueError
            return 3

    obj = Flaky()
    with pytest.raises(ValueError):
        obj.value  # noqa: B018
    assert obj.value == 3


def _creation_error(excinfo):
    exc = excinfo.value
    if isinstance(exc, RuntimeError) and sys.version_info < (3, 12):
        exc = exc.__cause__
    return exc


def test_slots_without_dict_fail_at_class_creation():
    """A __slots__ class without __dict__ is refused when the class is created."""
    with pytest.raises((TypeError, RuntimeError)) as info:

        class Slotted:
            __slots__ = ("x",)

            @CachedProperty
            def value(self):
                return 1

    err = _creation_error(info)
    assert isinstance(err, TypeError)
    assert "Slotted has __slots__ without '__dict__'" in str(err)


def test_slots_with_dict_are_accepted():
    """A __slots__ class that keeps __dict__ works."""

    class Slotted:
        __slots__ = ("__dict__", "x")

        @CachedProperty
        def value(self):
            return 2

    assert Slotted().value == 2


def test_same_descriptor_under_two_names_is_refused():
    """One CachedProperty cannot serve two attribute names."""
    shared = CachedProperty(lambda _self: 1)
    with pytest.raises((TypeError, RuntimeError)) as info:

        class Twice:
            a = shared
            b = shared

    assert "two different names" in str(_creation_error(info))


def test_same_name_twice_is_fine():
    """Calling __set_name__ again with the same name is accepted."""

    class Owner:
        pass

    prop = CachedProperty(lambda _self: 1)
    prop.__set_name__(Owner, "x")
    prop.__set_name__(Owner, "x")
    assert prop.attrname == "x"


def test_without_set_name_access_is_a_clear_error():
    """A descriptor added after class creation explains what is missing."""

    class Late:
        value: CachedProperty[int]

    Late.value = CachedProperty(lambda _self: 1)
    with pytest.raises(TypeError, match="__set_name__"):
        Late().value  # noqa: B018


def test_non_callable_getter_is_refused():
    """CachedProperty(42) is a TypeError."""
    with pytest.raises(TypeError, match="callable"):
        CachedProperty(42)  # type: ignore[arg-type]


def test_abstract_getter_keeps_abc_working():
    """An abstract getter makes the class abstract."""

    class Base(abc.ABC):
        @CachedProperty
        @abc.abstractmethod
        def value(self): ...

    class Impl(Base):
        @CachedProperty
        def value(self):
            return 1

    with pytest.raises(TypeError):
        Base()  # type: ignore[abstract]
    assert Impl().value == 1
    assert ExpensiveComputation.result.__isabstractmethod__ is False


@given(st.lists(st.integers(), min_size=1, max_size=20))
def test_value_is_whatever_the_getter_returned_first(values):
    """The cached value is the first result, whatever the getter returns later."""
    feed = iter(values)

    class Source:
        @CachedProperty
        def value(self):
            return next(feed)

    obj = Source()
    assert [obj.value for _ in values] == [values[0]] * len(values)


def test_locked_getter_runs_once_under_concurrent_first_access():
    """With CachedProperty.locked, 8 racing threads see one computation.

    The getter waits (up to 0.5 s) for a second computation to start: without the
    lock the other threads enter it at once, so the test fails every time.
    """
    barrier = threading.Barrier(8)
    calls = []
    second = threading.Event()

    class Model:
        @CachedProperty.locked
        def weights(self):
            calls.append(1)
            if len(calls) > 1:
                second.set()
            second.wait(0.5)
            return object()

    model = Model()
    seen = []

    def read():
        barrier.wait()
        seen.append(model.weights)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(v) for v in seen}) == 1
    assert Model.weights._pending == {}


def test_locked_instances_do_not_wait_for_each_other():
    """A slow first access on one instance does not block another instance."""
    release = threading.Event()
    entered = threading.Event()

    class Model:
        def __init__(self, slow):
            self.slow = slow

        @CachedProperty.locked
        def value(self):
            if self.slow:
                entered.set()
                release.wait(5)
            return self.slow

    slow, fast = Model(True), Model(False)
    t = threading.Thread(target=lambda: slow.value)
    t.start()
    assert entered.wait(5)
    assert fast.value is False
    assert release.is_set() is False
    release.set()
    t.join()
    assert slow.value is True


def test_locked_getter_error_releases_the_lock():
    """A raising locked getter leaves no lock entry behind and can be retried."""
    results = iter([ValueError(), 5])

    class Model:
        @CachedProperty.locked
        def value(self):
            item = next(results)
            if isinstance(item, Exception):
                raise item
            return item

    model = Model()
    with pytest.raises(ValueError):
        model.value  # noqa: B018
    assert Model.value._pending == {}
    assert model.value == 5


def test_locked_flag_on_constructor():
    """CachedProperty(func, lock=True) is the same as CachedProperty.locked."""
    prop = CachedProperty(lambda _self: 1, lock=True)
    assert prop.lock is True
    assert CachedProperty.locked(lambda _self: 1).lock is True


def test_metaclass_use_fails_at_class_creation():
    """On a metaclass the instances are classes with a read-only __dict__: refused early."""
    with pytest.raises((TypeError, RuntimeError)) as info:

        class Meta(type):
            @CachedProperty
            def registry(cls):
                return {}

    err = _creation_error(info)
    assert isinstance(err, TypeError)
    assert "'registry'" in str(err)
    assert "Meta is a metaclass" in str(err)
