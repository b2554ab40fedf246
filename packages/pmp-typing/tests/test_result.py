import copy
import pickle
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_errors import PortfolioError
from pmp_typing import Failure, FailureError, Result, Success, is_failure, is_success

values = st.one_of(st.integers(), st.text(), st.none(), st.tuples(st.integers(), st.booleans()))
functions = st.sampled_from([lambda x: (x, 1), repr, lambda x: [x], lambda x: repr(x)[::-1]])
results = st.one_of(values.map(Success), values.map(Failure))


def divide(a: int, b: int) -> Result[float, str]:
    if b == 0:
        return Result.failure("Cannot divide by zero")
    return Result.success(a / b)


def never(_: object) -> Result[object, object]:
    raise AssertionError("called on the short-circuit side")


def test_seed_divide_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's divide example prints the value, or the error after is_success()."""
    for b in (2, 0):
        result = divide(10, b)
        if result.is_success():
            print(result.get_or_raise())  # noqa: T201 - the seed example prints
        else:
            print(f"Error: {result.error}")  # noqa: T201 - the seed example prints
    assert capsys.readouterr().out == "5.0\nError: Cannot divide by zero\n"


def test_factories_are_the_final_classes() -> None:
    """Result.success / Result.failure are the Success / Failure classes themselves."""
    assert Result.success is Success
    assert Result.failure is Failure
    assert isinstance(Result.success(1), Result)
    assert isinstance(Result.failure(1), Result)
    for variant in (Success, Failure, Result):
        with pytest.raises(TypeError, match=f"cannot subclass {variant.__name__}"):
            type("Sub", (variant,), {})


def test_result_itself_cannot_be_built() -> None:
    """Result is abstract and says how to build one."""
    with pytest.raises(TypeError, match=r"Result\.success\(value\)"):
        Result()


@pytest.mark.parametrize(
    ("result", "success", "value", "error"),
    [(Success(3), True, 3, None), (Failure("bad"), False, None, "bad")],
)
def test_accessors(result: Result[int, str], success: bool, value: object, error: object) -> None:
    """is_success/is_failure/value/error agree on both variants."""
    assert result.is_success() is success
    assert result.is_failure() is not success
    assert result.value == value
    assert result.error == error
    assert is_success(result) is success
    assert is_failure(result) is not success


def test_get_or_variants() -> None:
    """get_or and get_or_else fall back only on a failure, passing the error."""
    assert Success(1).get_or(0) == 1
    assert Failure("e").get_or(0) == 0
    assert Success(1).get_or_else(never) == 1
    assert Failure("err").get_or_else(len) == 3


def test_get_or_raise_reraises_the_same_exception() -> None:
    """An exception error is raised itself, with its original traceback kept."""

    def boom() -> None:
        raise KeyError("k")

    try:
        boom()
    except KeyError as exc:
        original = exc
    frames_before = original.__traceback__
    with pytest.raises(KeyError) as info:
        Failure(original).get_or_raise()
    assert info.value is original
    tb = info.value.__traceback__
    names = []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "boom" in names
    assert frames_before is not None


@pytest.mark.parametrize("error", ["disk full", 42, {"code": 7}, None])
def test_get_or_raise_wraps_non_exceptions(error: object) -> None:
    """A non-exception error raises FailureError showing its repr and keeping it."""
    with pytest.raises(FailureError) as info:
        Failure(error).get_or_raise()
    assert repr(error) in str(info.value)
    assert info.value.error == error
    assert isinstance(info.value, PortfolioError)
    assert info.value.to_dict()["code"] == "failure_error"


def test_get_or_raise_survives_a_broken_repr() -> None:
    """An error whose __repr__ raises still gives a readable FailureError."""

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError

    with pytest.raises(FailureError, match="repr failed"):
        Failure(Broken()).get_or_raise()
    assert "repr failed" in repr(Failure(Broken()))


def test_success_get_or_raise_returns_value() -> None:
    """get_or_raise on a success returns the value."""
    assert Success([1]).get_or_raise() == [1]


def test_map_and_chain() -> None:
    """map, map_error, and_then and or_else act on their own side only."""
    assert Success(2).map(lambda x: x * 10) == Success(20)
    assert Failure("e").map(never) == Failure("e")
    assert Failure("e").map_error(str.upper) == Failure("E")
    assert Success(1).map_error(never) == Success(1)
    assert Success(4).and_then(lambda x: divide(x, 2)) == Success(2.0)
    assert Success(4).and_then(lambda x: divide(x, 0)) == Failure("Cannot divide by zero")
    assert Failure("e").and_then(never) == Failure("e")
    assert Failure("e").or_else(lambda e: Success(len(e))) == Success(1)
    assert Success(1).or_else(never) == Success(1)


def test_short_circuit_returns_the_same_object() -> None:
    """A failure's map/and_then and a success's map_error/or_else return self."""
    failure: Failure[str] = Failure("e")
    success: Success[int] = Success(1)
    assert failure.map(never) is failure
    assert failure.and_then(never) is failure
    assert success.map_error(never) is success
    assert success.or_else(never) is success


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (Success(1), Success(1), True),
        (Success(1), Success(2), False),
        (Failure(1), Failure(1), True),
        (Success(1), Failure(1), False),
        (Success(1), 1, False),
        (Failure("x"), "x", False),
    ],
)
def test_equality_and_hash(left: object, right: object, equal: bool) -> None:
    """Results equal by variant and content; equal ones hash alike."""
    assert (left == right) is equal
    assert (left != right) is not equal
    if equal:
        assert hash(left) == hash(right)


def test_hash_differs_between_variants() -> None:
    """Success(x) and Failure(x) are distinct set members."""
    assert len({Success(1), Failure(1), Success(1)}) == 2


@pytest.mark.parametrize("result", [Success(1), Failure("e")])
def test_immutable(result: Result[int, str]) -> None:
    """Setting value/error or adding attributes raises."""
    for name in ("value", "error", "extra"):
        with pytest.raises(AttributeError):
            setattr(result, name, 5)
    with pytest.raises(AttributeError):
        del result.value


def test_repr() -> None:
    """The repr shows the variant and the held object."""
    assert repr(Success("a")) == "Success('a')"
    assert repr(Failure(ValueError("v"))) == "Failure(ValueError('v'))"


@pytest.mark.parametrize("result", [Success([1, 2]), Failure({"e": 1})])
def test_pickle_and_copy(result: Result[list[int], dict[str, int]]) -> None:
    """Results survive pickle, copy and deepcopy."""
    assert pickle.loads(pickle.dumps(result)) == result
    assert copy.copy(result) == result
    assert copy.deepcopy(result) == result


def test_match_binds_values() -> None:
    """Patterns Success(v) / Failure(e) bind the held objects."""
    seen = []
    for result in (divide(9, 3), divide(1, 0)):
        match result:
            case Success(value):
                seen.append(("ok", value))
            case Failure(error):
                seen.append(("err", error))
    assert seen == [("ok", 3.0), ("err", "Cannot divide by zero")]


def test_collect_all_successes() -> None:
    """Result.collect returns a success of every value, in order."""
    assert Result.collect([Success(1), Success(2), Success(3)]) == Success([1, 2, 3])
    assert Result.collect([]) == Success([])


def test_collect_stops_at_first_failure() -> None:
    """Result.collect returns the first failure and consumes nothing after it."""
    consumed = []

    def gen() -> Iterator[Result[int, str]]:
        for item in (Success(1), Failure("first"), Failure("second"), Success(4)):
            consumed.append(item)
            yield item

    assert Result.collect(gen()) == Failure("first")
    assert len(consumed) == 2


@given(results)
def test_functor_identity(result: Result[object, object]) -> None:
    """map(identity) and map_error(identity) change nothing."""
    assert result.map(lambda x: x) == result
    assert result.map_error(lambda x: x) == result


@given(results, functions, functions)
def test_functor_composition(result: Result[object, object], f, g) -> None:
    """map(f).map(g) equals map(g . f), on both sides."""
    assert result.map(f).map(g) == result.map(lambda x: g(f(x)))
    assert result.map_error(f).map_error(g) == result.map_error(lambda x: g(f(x)))


@given(values, functions)
def test_monad_left_identity(value: object, f) -> None:
    """success(a).and_then(k) equals k(a)."""

    def k(x: object) -> Result[object, object]:
        return Success(f(x))

    assert Result.success(value).and_then(k) == k(value)


@given(results)
def test_monad_right_identity(result: Result[object, object]) -> None:
    """m.and_then(success) equals m; m.or_else(failure) equals m."""
    assert result.and_then(Result.success) == result
    assert result.or_else(Result.failure) == result


@given(results, functions, functions)
def test_monad_associativity(result: Result[object, object], f, g) -> None:
    """(m >>= k) >>= h equals m >>= (x -> k(x) >>= h)."""

    def k(x: object) -> Result[object, object]:
        return Success(f(x)) if hash(repr(x)) % 2 else Failure(x)

    def h(x: object) -> Result[object, object]:
        return Success(g(x))

    assert result.and_then(k).and_then(h) == result.and_then(lambda x: k(x).and_then(h))


@given(st.lists(results))
def test_collect_matches_a_loop(items: list[Result[object, object]]) -> None:
    """Result.collect gives the first failure, else all values."""
    failures = [r for r in items if r.is_failure()]
    expected = failures[0] if failures else Success([r.value for r in items])
    assert Result.collect(items) == expected


def test_module_needs_no_typing_extensions() -> None:
    """TypeIs and Never are checker-only imports: nothing is loaded at run time."""
    import pmp_typing._result as module

    assert "typing_extensions" not in vars(module)
