"""Tests for to_jsonable: every value becomes bounded, deterministic, strict JSON."""

from __future__ import annotations

import array
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections import deque
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_errors import PortfolioError, ValidationError, to_jsonable
from pmp_errors._json import MAX_DEPTH, MAX_ITEMS, MAX_NODES, MAX_STR, Walk, convert, safe_repr


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")


class WeirdRepr:
    def __repr__(self) -> Any:
        return 42


class BadMapping(dict[str, int]):
    def items(self) -> Any:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (3, 3),
        (1.5, 1.5),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        ("s", "s"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), "2024-01-02T03:04:05+00:00"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.time(3, 4), "03:04:00"),
        (dt.timedelta(seconds=90), 90.0),
        (decimal.Decimal("1.10"), "1.10"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (Color.RED, "red"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        (b"abc", "abc"),
        (b"\xff\x00", "base64:/wA="),
        (bytearray(b"x"), "x"),
        ((1, 2), [1, 2]),
        (deque([1]), [1]),
        (PurePosixPath("/a/b"), "/a/b"),
        (Point(1, 2.0), {"x": 1, "y": 2.0}),
    ],
)
def test_obvious_forms(value: object, expected: object) -> None:
    """Values with an obvious JSON form are converted to it."""
    result = to_jsonable(value)
    json.dumps(result, allow_nan=False)
    if expected is not None or value is None:
        assert result == expected


def test_keys_become_strings() -> None:
    """Non-string keys become JSON-style strings or safe reprs."""
    result = to_jsonable({(1, 2): "t", 1: "i", None: "n", False: "b", 1.5: "f", Color.RED: "e"})
    assert result == {"(1, 2)": "t", "1": "i", "null": "n", "false": "b", "1.5": "f", "red": "e"}


def test_hostile_objects_fall_back_to_safe_repr() -> None:
    """Objects whose repr/str raise, or return non-strings, never break rendering."""
    assert str(to_jsonable(BadRepr())).startswith("<unrepresentable")
    assert str(to_jsonable(WeirdRepr())).startswith("<unrepresentable")
    assert str(to_jsonable(BadMapping(a=1))).startswith("{")
    e = PortfolioError("m", bad=BadRepr(), mapping=BadMapping(a=1))
    json.dumps(e.to_dict(), allow_nan=False)


def test_bad_str_in_exception_message_of_cause() -> None:
    """A cause whose __str__ raises is rendered with a safe fallback."""

    class Nasty(Exception):
        def __str__(self) -> str:
            raise RuntimeError

    class Nastier(Nasty):
        def __repr__(self) -> str:
            raise RuntimeError

    err = PortfolioError("m")
    err.__cause__ = Nasty()
    assert err.to_dict()["cause"]["message"] == "Nasty()"
    err.__cause__ = Nastier()
    assert "unrepresentable" in err.to_dict()["cause"]["message"]


def test_cycles_are_marked() -> None:
    """Self-referencing containers render with a cycle marker."""
    a: list[Any] = [1]
    a.append(a)
    d: dict[str, Any] = {}
    d["self"] = d
    assert to_jsonable(a) == [1, "<cycle: builtins.list>"]
    assert to_jsonable(d) == {"self": "<cycle: builtins.dict>"}


def test_shared_but_acyclic_values_are_not_cycles() -> None:
    """The same object twice (not nested in itself) is rendered twice."""
    shared = [1]
    assert to_jsonable([shared, shared]) == [[1], [1]]


def test_deep_structures_are_cut() -> None:
    """A structure deeper than the limit is cut with a marker, without RecursionError."""
    deep: list[Any] = []
    node = deep
    for _ in range(100_000):
        nxt: list[Any] = []
        node.append(nxt)
        node = nxt
    result = to_jsonable(deep)
    text = json.dumps(result)
    assert "depth limit" in text
    assert text.count("[") == MAX_DEPTH


def test_large_structures_are_truncated() -> None:
    """Containers and strings beyond the size caps are truncated and say so."""
    big = list(range(MAX_ITEMS + 50))
    out = to_jsonable(big)
    assert isinstance(out, list)
    assert len(out) == MAX_ITEMS + 1
    assert out[-1] == "<truncated: 50 more items>"
    mapping = {i: i for i in range(MAX_ITEMS + 5)}
    out_map = to_jsonable(mapping)
    assert isinstance(out_map, dict)
    assert out_map["<truncated>"] == "5 more items"
    out_set = to_jsonable(set(range(MAX_ITEMS + 3)))
    assert isinstance(out_set, list)
    assert out_set[-1] == "<truncated: 3 more items>"
    long = to_jsonable("x" * (MAX_STR * 2))
    assert isinstance(long, str)
    assert len(long) <= MAX_STR + 20


def test_safe_repr_is_bounded() -> None:
    """safe_repr cuts long reprs and says how much was cut."""
    text = safe_repr("x" * 500, limit=10)
    assert text == "'xxxxx...[+496]"


def test_str_subclass_with_broken_str() -> None:
    """A str subclass is rendered as its plain string value."""

    class S(str):
        __slots__ = ()

        def __str__(self) -> str:
            raise RuntimeError

    assert to_jsonable(S("abc")) == "abc"


def test_nested_exception_in_context() -> None:
    """An exception inside the context renders in the error shape."""
    e = PortfolioError("outer", inner=ValidationError("inner", field="f"))
    inner: Any = e.to_dict()["context"]["inner"]
    assert inner["code"] == "validation_error"
    assert inner["context"] == {"field": "f"}


def test_sets_render_deterministically() -> None:
    """Sets of strings render in the same order regardless of hash order."""
    assert to_jsonable({"b", "c", "a"}) == ["a", "b", "c"]


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.decimals(allow_nan=True),
    st.datetimes(),
    st.uuids(),
    st.sampled_from(list(Color)),
    st.builds(BadRepr),
    st.builds(object),
)
any_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(
            st.one_of(st.text(max_size=5), st.integers(), st.tuples(st.integers())),
            children,
            max_size=5,
        ),
        st.frozensets(st.integers(), max_size=5),
    ),
    max_leaves=30,
)


@given(st.dictionaries(st.text(min_size=1, max_size=10), any_value, max_size=6))
def test_any_context_gives_strict_json(context: dict[str, Any]) -> None:
    """Whatever the context holds, to_dict() and to_problem() pass json.dumps(allow_nan=False)."""
    e = PortfolioError("m", **context)
    first = json.dumps(e.to_dict(), allow_nan=False)
    json.dumps(e.to_problem(), allow_nan=False)
    assert first == json.dumps(e.to_dict(), allow_nan=False)


@given(st.dictionaries(st.text(min_size=1, max_size=10), any_value, max_size=6))
def test_pickle_preserves_rendering(context: dict[str, Any]) -> None:
    """A pickle round trip leaves to_dict() equal (up to per-object reprs)."""
    import pickle

    picklable = {k: v for k, v in context.items() if k != "field" and _picklable(v)}
    e = ValidationError("m", field="f", **picklable)
    clone = pickle.loads(pickle.dumps(e))
    assert _strip_ids(clone.to_dict()) == _strip_ids(e.to_dict())


def _picklable(value: object) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _strip_ids(value: Any) -> Any:
    import re

    return json.loads(re.sub(r" at 0x[0-9a-f]+", "", json.dumps(value)))


def test_nan_in_nested_float() -> None:
    """A NaN nested inside lists of dicts never reaches the JSON text."""
    out = to_jsonable([{"x": math.nan}])
    assert out == [{"x": "NaN"}]


@pytest.mark.parametrize("big", [10**5000, -(10**5000), 2**2001], ids=["pos", "neg", "bits"])
def test_huge_ints_stay_strict_json(big: int) -> None:
    """Ints too long for json.dumps (int_max_str_digits) render as bounded hex strings."""
    out = to_jsonable({"n": big, big: "key"})
    json.dumps(out, allow_nan=False)
    assert isinstance(out, dict)
    assert out["n"] == _cut_hex(big)
    assert out[_cut_hex(big)] == "key"
    e = PortfolioError("m", n=big)
    json.dumps(e.to_dict(), allow_nan=False)
    json.dumps(e.to_problem(), allow_nan=False)
    assert to_jsonable(2**1000) == 2**1000


def _cut_hex(n: int) -> str:
    text = hex(n)
    return text if len(text) <= MAX_STR else f"{text[: MAX_STR - 4]}...[+{len(text) - MAX_STR + 4}]"


def test_keys_that_collide_as_strings_are_all_kept() -> None:
    """Keys equal once converted to strings are kept apart with a #n suffix, in order."""
    data: dict[object, str] = {1: "int", "1": "str", None: "none", "null": "text", "1#2": "real"}
    out = to_jsonable(data)
    assert out == {"1": "int", "1#2": "str", "null": "none", "null#2": "text", "1#2#2": "real"}
    assert to_jsonable({"1#2": "a", 1: "b", "1": "c"}) == {"1#2": "a", "1": "b", "1#3": "c"}
    long_a, long_b = "a" * (MAX_STR + 5) + "x", "a" * (MAX_STR + 5) + "y"
    cut = to_jsonable({long_a: 1, long_b: 2})
    assert isinstance(cut, dict)
    assert sorted(cut.values()) == [1, 2]  # type: ignore[type-var]
    crowded: dict[object, object] = {"<truncated>": "mine", **{i: i for i in range(MAX_ITEMS + 1)}}
    many = to_jsonable(crowded)
    assert isinstance(many, dict)
    assert len(many) == MAX_ITEMS + 1
    assert (many["<truncated>"], many["<truncated>#2"]) == ("mine", "2 more items")


def test_shared_parts_do_not_unfold_without_bound() -> None:
    """A small structure sharing its parts many times over is cut at the size limit."""
    shared: list[Any] = [0] * 5
    for _ in range(8):
        shared = [shared] * 5  # 5**9 (about two million) leaves, ten objects
    text = json.dumps(to_jsonable(shared), allow_nan=False)
    assert "<size limit>" in text or "more items" in text
    assert text.count("0") <= MAX_NODES
    e = PortfolioError("m", shared=shared, other=1)
    assert "shared" in e.to_dict()["context"]


def test_sets_larger_than_the_cap_keep_the_same_items() -> None:
    """Which items of a big set are kept depends on the items only, not on hash order."""
    words = [f"w{i:04d}" for i in range(MAX_ITEMS * 2)]
    forward, backward = set(), set()
    for word in words:
        forward.add(word)
    for word in reversed(words):
        backward.add(word)
    assert to_jsonable(forward) == to_jsonable(backward)
    out = to_jsonable(forward)
    assert isinstance(out, list)
    assert out[:2] == ["w0000", "w0001"]
    assert out[-1] == f"<truncated: {MAX_ITEMS} more items>"


@pytest.mark.parametrize(("raw", "prefix"), [(b"a" * 5000, "a"), (b"\xff" * 5000, "base64:")])
def test_long_bytes_say_they_were_cut(raw: bytes, prefix: str) -> None:
    """Bytes beyond the size cap are cut with a marker giving how many bytes were left out."""
    out = to_jsonable(raw)
    assert isinstance(out, str)
    assert out.startswith(prefix)
    assert out.endswith(f"...[+{5000 - MAX_STR // 2} bytes]")
    assert len(out) <= MAX_STR + 20
    wide = to_jsonable(memoryview(array.array("i", [0x41424344] * 600)))
    assert isinstance(wide, str)
    assert wide.endswith(f"...[+{600 * 4 - MAX_STR // 2} bytes]")


def test_an_exhausted_budget_cuts_every_further_value() -> None:
    """Once a rendering has used its budget, any further value is a size-limit marker."""
    walk = Walk()
    walk.left = 0
    assert convert(Point(1, 2.0), 0, walk) == "<size limit>"
    walk.left = 2
    assert convert(Point(1, 2.0), 0, walk) == {"x": 1, "y": "<size limit>"}
