import copy
import pickle
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_typing import Container, Success


def test_seed_example() -> None:
    """The seed's Container example runs and map keeps a Container."""
    int_container: Container[int] = Container(42)
    str_container: Container[str] = Container("hello")
    result = int_container.map(lambda x: x * 2)
    assert result == Container(84)
    assert str_container.value == "hello"


def test_map_returns_new_container() -> None:
    """Container.map returns a new Container and leaves the original alone."""
    box = Container([1, 2])
    mapped = box.map(len)
    assert mapped == Container(2)
    assert box.value == [1, 2]
    assert mapped is not cast("object", box)


def test_flat_map() -> None:
    """flat_map returns the function's own Container."""
    assert Container(3).flat_map(lambda x: Container(x * "a")) == Container("aaa")


@pytest.mark.parametrize("name", ["value", "_value", "other"])
def test_immutable(name: str) -> None:
    """Setting or deleting any attribute raises AttributeError."""
    box = Container(1)
    with pytest.raises(AttributeError, match="immutable"):
        setattr(box, name, 2)
    with pytest.raises(AttributeError, match="immutable"):
        delattr(box, name)
    assert box.value == 1


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (Container(1), Container(1), True),
        (Container(1), Container(2), False),
        (Container(1), 1, False),
    ],
)
def test_equality_and_hash(left: object, right: object, equal: bool) -> None:
    """Containers equal by content and hash alike when equal."""
    assert (left == right) is equal
    if equal:
        assert hash(left) == hash(right)


def test_repr_and_match() -> None:
    """The repr shows the value; the pattern Container(v) binds it."""
    assert repr(Container("x")) == "Container('x')"
    match Container(5):
        case Container(value):
            assert value == 5


@given(st.integers())
def test_functor_laws(x: int) -> None:
    """map(identity) is identity and map(f).map(g) is map(g . f)."""
    box = Container(x)
    assert box.map(lambda v: v) == box
    assert box.map(str).map(len) == box.map(lambda v: len(str(v)))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(protocol: int) -> None:
    """A Container survives pickle with every protocol, equal and still immutable."""
    box = Container({"k": [1, 2]})
    clone = pickle.loads(pickle.dumps(box, protocol=protocol))
    assert clone == box
    assert type(clone) is Container
    with pytest.raises(AttributeError, match="immutable"):
        clone._value = 3


def test_copy_and_deepcopy() -> None:
    """A shallow copy shares the value, a deep copy copies it, as for Result."""
    value = [1, [2]]
    box = Container(value)
    shallow = copy.copy(box)
    deep = copy.deepcopy(box)
    assert shallow == box == deep
    assert shallow.value is value
    assert deep.value is not value
    assert deep.value[1] is not value[1]
    nested = Container(Container(value))
    assert copy.deepcopy(nested).value.value == value


def test_container_of_result_round_trips() -> None:
    """A Container holding a Result (and the other way round) pickles whole."""
    box = Container(Success(Container(3)))
    assert pickle.loads(pickle.dumps(box)) == box


def _pickled(value: object, protocol: int) -> object:
    return pickle.loads(pickle.dumps(value, protocol=protocol))


@pytest.mark.parametrize(
    "clone",
    [copy.deepcopy, *(partial(_pickled, protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1))],
)
def test_a_container_inside_its_own_value_is_copied_once(clone: Callable[[Any], Any]) -> None:
    """A Container reachable from its own value comes back as one Container, not two."""
    box: Container[list[Any]] = Container([])
    box.value.append(box)
    other = clone(box)
    assert other.value[0] is other
    assert clone(Container(None)).value is None
