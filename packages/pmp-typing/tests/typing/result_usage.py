"""Types users see from Result, Success, Failure, Outcome and the narrowing helpers."""

from __future__ import annotations

from typing import Literal

from typing_extensions import assert_never, assert_type

from pmp_typing import Failure, Outcome, Result, Success, is_failure, is_success


def divide(a: int, b: int) -> Result[float, str]:
    if b == 0:
        return Result.failure("Cannot divide by zero")
    return Result.success(a / b)


def parse(text: str) -> Result[int, ValueError]:
    if text.isdigit():
        return Result.success(int(text))
    return Result.failure(ValueError(text))


result = divide(10, 2)
assert_type(Result.success(1), Success[int])
assert_type(Result.failure("x"), Failure[str])
assert_type(Success("a"), Success[str])
assert_type(result.is_success(), bool)
assert_type(Result.success(1).is_success(), Literal[True])
assert_type(Result.failure(1).is_success(), Literal[False])
assert_type(result.get_or_raise(), float)
assert_type(result.error, "str | None")
assert_type(result.value, "float | None")
assert_type(result.get_or(0.0), float)
assert_type(result.get_or(0), "float | int")
assert_type(result.get_or(None), "float | None")
assert_type(result.get_or_else(len), "float | int")
assert_type(result.map(round), Result[int, str])
assert_type(result.map(str).map(len), Result[int, str])
assert_type(result.map_error(len), Result[float, int])
assert_type(result.and_then(lambda x: parse(str(x))), "Result[int, str | ValueError]")
assert_type(result.or_else(parse), "Result[float | int, ValueError]")
assert_type(Result.collect([divide(1, 2), divide(3, 4)]), Outcome[list[float], str])
assert_type(Result.success(3).value, int)
assert_type(Result.failure(3).error, int)
assert_type(Result.failure(KeyError("k")).get_or(1), int)

# TypeIs helpers narrow where methods cannot
if is_success(result):
    assert_type(result, Success[float])
    assert_type(result.value, float)
if is_failure(result):
    assert_type(result, Failure[str])
    assert_type(result.error, str)


def exhaustive(outcome: Outcome[int, str]) -> str:
    """Annotating with the union alias makes match exhaustive in both checkers."""
    match outcome:
        case Success(value):
            assert_type(value, int)
            return str(value + 1)
        case Failure(error):
            assert_type(error, str)
            return error.upper()
        case _:
            assert_never(outcome)


def narrowing_outcome(outcome: Outcome[int, str]) -> int:
    """On an Outcome, both branches of is_success narrow."""
    if is_success(outcome):
        return outcome.value
    assert_type(outcome, Failure[str])
    return len(outcome.error)


covariant: Result[object, Exception] = parse("1")
outcome: Outcome[float, str] = Result.success(1.5)
