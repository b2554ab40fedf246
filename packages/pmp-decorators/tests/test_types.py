import collections
import collections.abc as cabc
import sys
import typing
from collections.abc import Callable
from typing import (
    Annotated,
    Any,
    ClassVar,
    Final,
    Literal,
    NewType,
    Optional,
    Protocol,
    TypeVar,
    Union,
    runtime_checkable,
)

import pytest
import typing_extensions
from hypothesis import given
from hypothesis import strategies as st

from pmp_decorators import TypeValidationError, check_type
from pmp_decorators._nodes import safe_repr, type_name
from pmp_decorators._types import compile_type
from pmp_errors import ValidationError


@runtime_checkable
class Closeable(Protocol):
    def close(self) -> None: ...


class NotRuntime(Protocol):
    def close(self) -> None: ...


class Movie(typing.TypedDict):
    title: str
    year: int


class PartialMovie(typing_extensions.TypedDict, total=False):
    title: str
    rating: float


NEVER: Any = typing.NoReturn
UserId = NewType("UserId", int)
Num = TypeVar("Num", int, float)
Bounded = TypeVar("Bounded", bound=str)
Free = TypeVar("Free")


class File:
    def close(self) -> None:
        pass


class Color:
    RED = "red"


CASES: list[tuple[object, list[object], list[object]]] = [
    (int, [0, -5, 10**30], [True, 1.0, "1", None]),
    (float, [1.5, 2], [True, "1.5", None]),
    (complex, [1j, 1.0, 3], [False, "1"]),
    (bool, [True, False], [1, 0, None]),
    (str, ["", "x"], [b"x", 1]),
    ((int, str), [1, "a"], [1.5, True]),
    (int | None, [None, 3], ["3", False]),
    (Optional[str], [None, "a"], [1]),  # noqa: UP045
    (Union[int, str], [1, "a"], [None]),  # noqa: UP007
    (int | bool, [True, 1], ["1"]),
    (Literal["a", 1], ["a", 1], ["b", True, 1.0, 2]),
    (Literal[True], [True], [1]),
    (Any, [None, object(), 1], []),
    (object, [None, 1], []),
    (None, [None], [0, ""]),
    (type(None), [None], [False]),
    (list[int], [[], [1, 2]], [(1,), [1, "2"], [True], None]),
    (typing.List[int], [[1]], [[1.5]]),  # noqa: UP006
    (list, [[1, "x"]], [(1,)]),
    (set[str], [set(), {"a"}], [{"a", 1}, frozenset({"a"})]),
    (frozenset[int], [frozenset({1})], [{1}, frozenset({"x"})]),
    (dict[str, int], [{}, {"a": 1}], [{"a": "1"}, {1: 1}, [("a", 1)]]),
    (typing.Dict[str, Any], [{"a": object()}], [{1: 1}]),  # noqa: UP006
    (dict[Any, int], [{1: 1, "a": 2}], [{"a": "x"}]),
    (dict[str, list[int]], [{"a": [1]}], [{"a": [1, "x"]}]),
    (tuple[int, ...], [(), (1, 2)], [[1], (1, "2")]),
    (tuple[int, str], [(1, "a")], [(1,), (1, 2), ("a", "a"), [1, "a"]]),
    (tuple[()], [()], [(1,)]),
    (tuple[Any, ...], [(1, "x")], [[1]]),
    (cabc.Sequence[int], [[1], (1, 2), range(3)], [{1}, [1, "x"], "ab"]),
    (cabc.Sequence[str], ["ab", ["a"]], [[1]]),
    (cabc.MutableSequence[int], [[1]], [(1,)]),
    (cabc.Mapping[str, int], [{"a": 1}, collections.OrderedDict(a=1)], [{"a": "b"}, [1]]),
    (cabc.Set[int], [{1}, frozenset({2})], [[1], {"x"}]),
    (cabc.Iterable[int], [[1], (1,), iter(["x"]), {1: "a"}], [[1, "x"], 5]),
    (cabc.Collection[int], [[1], {1}], [["x"]]),
    (typing.Iterator[int], [iter([1])], [[1]]),
    (collections.deque[int], [collections.deque([1])], [collections.deque(["x"])]),
    (collections.Counter[str], [collections.Counter("ab")], [collections.Counter([1])]),
    (type[int], [int, bool], [1, str]),
    (type[int | str], [int, str], [float]),
    (type, [int], [1]),
    (type[Any], [object], [1]),
    (Callable[[int], str], [len, lambda: 1, File], [1, None]),
    (cabc.Callable, [len], [1]),
    (typing.Callable, [len], [1]),
    (Closeable, [File()], [object(), 1]),
    (
        Movie,
        [{"title": "x", "year": 1}],
        [{"title": "x"}, {"title": "x", "year": "1"}, {"title": "x", "year": 1, "z": 0}, []],
    ),
    (PartialMovie, [{}, {"title": "x", "rating": 1}], [{"rating": "good"}]),
    (UserId, [UserId(5), 5], ["5", True]),
    (Num, [1, 1.5], ["1"]),
    (Bounded, ["x"], [1]),
    (Free, [1, None], []),
    (Annotated[int, "meta"], [1], ["1"]),
    (Final[int], [1], ["1"]),
    (ClassVar[int], [1], ["1"]),
    (typing.NoReturn, [], [None, 1]),
    (typing_extensions.Never, [], [None]),
    (typing_extensions.LiteralString, ["x"], [1]),
    (list[list[int]], [[[1], [2, 3]]], [[[1], [2, "x"]]]),
    (list[int | list[int]], [[1, [2]]], [[[1, "x"]]]),
    (list[Movie], [[{"title": "x", "year": 1}]], [[{"title": "x", "year": None}]]),
    (dict[str, tuple[int, Literal["a"]]], [{"k": (1, "a")}], [{"k": (1, "b")}]),
    (list[Color], [[Color()]], [[Color]]),
]


@pytest.mark.parametrize(("tp", "good", "bad"), CASES, ids=[type_name(c[0]) for c in CASES])
def test_annotation_accepts_good_and_rejects_bad_values(tp, good, bad):
    """Every supported annotation passes its good values and rejects its bad ones."""
    for value in good:
        assert check_type(value, tp) is value
    for value in bad:
        with pytest.raises(TypeValidationError):
            check_type(value, tp)


@pytest.mark.parametrize(("tp", "good", "bad"), CASES, ids=[type_name(c[0]) for c in CASES])
def test_failure_explanation_agrees_with_the_fast_check(tp, good, bad):
    """The slow explainer finds a failure exactly when the generated check fails."""
    node = compile_type(tp)
    for value in good:
        assert node.find(value, "v") is None
    for value in bad:
        assert node.find(value, "v") is not None


@pytest.mark.parametrize(
    ("tp", "value", "path", "bad", "expected"),
    [
        (list[int], [1, 2, "x"], "v[2]", "x", "int"),
        (dict[str, int], {"a": 1, "b": "x"}, "v['b']", "x", "int"),
        (dict[str, int], {"a": 1, 2: 3}, "v key 2", 2, "str"),
        (list[list[int]], [[1], [2, "x"]], "v[1][1]", "x", "int"),
        (tuple[int, str], (1, 2), "v[1]", 2, "str"),
        (tuple[int, str], (1,), "v", (1,), "tuple[int, str]"),
        (set[int], {"x"}, "v{'x'}", "x", "int"),
        (Movie, {"title": "x"}, "v['year']", None, f"required key of {type_name(Movie)}"),
        (
            Movie,
            {"title": "x", "year": 1, "extra": 2},
            "v['extra']",
            2,
            f"no key of {type_name(Movie)}",
        ),
        (Movie, {"title": 1, "year": 1}, "v['title']", 1, "str"),
        (list[int] | None, [1, "x"], "v[1]", "x", "int"),
        (int | str, 1.5, "v", 1.5, "int | str"),
        (Literal["a", "b"], "c", "v", "c", "Literal['a', 'b']"),
        (Callable[[int], int], 3, "v", 3, "Callable[[int], int]"),
        (int | Callable[[], int], "s", "v", "s", "int | (Callable[[], int])"),
    ],
)
def test_error_names_path_value_and_expected(tp, value, path, bad, expected):
    """The error carries the path inside the value, the bad item and the expected type."""
    with pytest.raises(TypeValidationError) as info:
        check_type(value, tp, name="v")
    err = info.value
    assert err.field == "v"
    assert err.path == path
    if bad is not None:
        assert err.value == bad
    assert err.expected == expected


@given(st.lists(st.integers() | st.text(max_size=3) | st.booleans(), max_size=30))
def test_list_of_int_checks_every_item(values):
    """list[int] passes exactly when every item is a non-bool int."""
    ok = all(type(v) is int for v in values)
    node = compile_type(list[int])
    assert (node.find(values, "v") is None) == ok
    try:
        check_type(values, list[int], name="v")
    except TypeValidationError as exc:
        assert not ok
        assert exc.path is not None
        index = int(exc.path[2:-1])
        assert type(values[index]) is not int
        assert all(type(v) is int for v in values[:index])
    else:
        assert ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)
Json = Union[None, bool, int, float, str, list["Json"], dict[str, "Json"]]  # noqa: UP007


@given(json_values)
def test_nested_structures_agree_with_explainer(value):
    """For nested data the fast check and the explainer always agree."""
    tp = dict[str, list[int | str]] | list[dict[str, int]] | int
    node = compile_type(tp)
    fast_ok = True
    try:
        check_type(value, tp)
    except TypeValidationError:
        fast_ok = False
    assert fast_ok == (node.find(value, "v") is None)


# typing.Self from Python 3.11, typing_extensions.Self before
if sys.version_info >= (3, 11):
    SELF: object = typing.Self
else:
    SELF: object = typing_extensions.Self


@pytest.mark.parametrize(
    "tp",
    [
        NotRuntime,
        5,
        "int",
        typing.ForwardRef("x"),
        (),
        list[3],  # type: ignore[valid-type]
        list[NotRuntime],
        type[list[int]],
        SELF,
    ],
    ids=repr,
)
def test_unsupported_annotations_are_refused(tp):
    """Forms that cannot be checked raise ValidationError instead of passing silently."""
    with pytest.raises(ValidationError) as info:
        check_type(1, tp)
    assert not isinstance(info.value, TypeValidationError)


def test_recursive_alias_is_refused_not_looping():
    """A recursive alias hits the depth limit with a clear error."""
    if sys.version_info < (3, 12):
        pytest.skip("type statement needs 3.12")
    namespace: dict[str, Any] = {}
    exec("type Tree = list[Tree]", namespace)  # noqa: S102
    with pytest.raises(ValidationError, match="nested too deeply"):
        check_type([], namespace["Tree"])


def test_type_alias_statement_is_unwrapped():
    """A 3.12 `type X = ...` alias is checked against its value."""
    if sys.version_info < (3, 12):
        pytest.skip("type statement needs 3.12")
    namespace: dict[str, Any] = {}
    exec("type Ids = list[int]", namespace)  # noqa: S102
    assert check_type([1], namespace["Ids"]) == [1]
    with pytest.raises(TypeValidationError):
        check_type(["1"], namespace["Ids"])


def test_unhashable_annotation_is_checked_without_caching():
    """An unhashable annotation (a Literal of a list) still works."""
    tp = Literal[1, 2]
    assert check_type(1, tp) == 1
    with pytest.raises(TypeValidationError):
        check_type([1], Annotated[int, []])


def test_cache_is_bounded(monkeypatch):
    """The annotation cache is cleared when it reaches its bound."""
    from pmp_decorators import _check

    monkeypatch.setattr(_check, "_MAX_CACHED", 2)
    monkeypatch.setattr(_check, "_PREDICATES", {})
    for tp in (int, str, float):
        check_type(tp(), tp)
    assert len(_check._PREDICATES) == 1


def test_safe_repr_cuts_and_survives_broken_repr():
    """safe_repr shortens long values and survives a failing __repr__."""

    class Broken:
        def __repr__(self):
            raise RuntimeError

    assert (
        safe_repr(Broken())
        == "<test_safe_repr_cuts_and_survives_broken_repr.<locals>.Broken object>"
    )
    assert len(safe_repr("x" * 500)) == 80


def test_type_names_are_readable():
    """type_name gives short readable names."""
    assert type_name(int) == "int"
    assert type_name(None) == "None"
    assert type_name(typing.List[int]) == "List[int]"  # noqa: UP006
    assert type_name(File).endswith("test_types.File")


class Loose(typing.TypedDict):
    name: str
    extra: Any


@pytest.mark.parametrize(
    ("tp", "good", "bad"),
    [
        (Loose, [{"name": "x", "extra": object()}], [{"name": 1, "extra": 1}]),
        (int | Any, [object()], []),
        (Union[int, NEVER], [1], ["1"]),  # noqa: UP007
        (str | bytes, ["a", b"a"], [1]),
        (str | bytes | None, [None, b""], [1]),
        (type[object], [int], [1]),
        (typing_extensions.TypeAliasType("Ids", list[int]), [[1]], [["1"]]),
    ],
    ids=repr,
)
def test_more_union_and_alias_forms(tp, good, bad):
    """Union simplifications, Any members and alias objects behave as annotations say."""
    for value in good:
        assert check_type(value, tp) is value
    for value in bad:
        with pytest.raises(TypeValidationError):
            check_type(value, tp)


@pytest.mark.parametrize(
    ("tp", "value", "path"),
    [
        (tuple[int, str] | None, (1, 2), "v[1]"),
        (Movie | None, {"title": "t", "year": "y"}, "v['year']"),
        (list[int] | dict[str, int], {"a": "b"}, "v['a']"),
    ],
    ids=repr,
)
def test_union_errors_explain_the_member_with_the_right_shape(tp, value, path):
    """When one union member has the value's outer shape, its inner failure is reported."""
    with pytest.raises(TypeValidationError) as info:
        check_type(value, tp, name="v")
    assert info.value.path == path


def test_deep_nesting_hits_the_depth_limit():
    """Annotations nested beyond the limit are refused with a clear error."""
    tp: Any = int
    for _ in range(45):
        tp = list[tp]
    with pytest.raises(ValidationError, match="nested too deeply"):
        check_type([], tp)


def test_unsupported_special_form_is_refused():
    """A typing form that is not a class (TypeGuard) is refused."""
    with pytest.raises(ValidationError, match="not a class or a supported typing form"):
        check_type(True, typing_extensions.TypeGuard[int])


@runtime_checkable
class Named(Protocol):
    name: str


class HasAName:
    name = "n"


def test_protocol_with_data_members_checks_instances():
    """A runtime-checkable protocol with data members checks instances (no issubclass)."""
    value = HasAName()
    assert check_type(value, Named) is value
    assert check_type(value, Named | None) is value
    with pytest.raises(TypeValidationError) as info:
        check_type(object(), Named, name="who")
    assert info.value.path == "who"
    assert "Named" in str(info.value.expected)


def test_type_of_a_protocol_with_data_members_is_refused_clearly():
    """type[P] cannot be checked when P has data members: a clear error, not a crash."""
    with pytest.raises(ValidationError, match="data members"):
        check_type(HasAName, type[Named])
