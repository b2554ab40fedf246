"""Tour section: pmp_typing's Result, Container, Pipeline and Serializable."""

from __future__ import annotations

from pmp_errors import ValidationError
from pmp_typing import (
    Container,
    Failure,
    Outcome,
    Pipeline,
    Result,
    Serializable,
    Success,
    as_result,
)

__all__ = ["show"]


def _divide(a: int, b: int) -> Result[float, str]:
    if b == 0:
        return Result.failure("Cannot divide by zero")
    return Result.success(a / b)


@as_result(ValueError)
def _parse(text: str) -> int:
    return int(text)


def _describe(outcome: Outcome[int, ValueError]) -> str:
    match outcome:
        case Success(value):
            return f"parsed {value}"
        case Failure(error):
            return f"rejected ({error})"


def show() -> None:
    """Print a short tour of pmp_typing."""
    print("== Typing: Result, Container, Pipeline, Serializable ==")
    for b in (2, 0):
        result = _divide(10, b)
        if result.is_success():
            print(f"divide(10, {b}) -> {result.get_or_raise()}")
        else:
            print(f"divide(10, {b}) -> Error: {result.error}")
    print("chained:", _divide(9, 3).map(round).and_then(lambda n: _divide(n, n - 3)))
    print("as_result:", _parse("42"), "/", _describe(_parse("4x2")))
    print("collect:", Result.collect([_parse("1"), _parse("2")]))
    print("Container(42).map(lambda x: x * 2) ->", Container(42).map(lambda x: x * 2))
    pipeline = Pipeline(5).add(lambda x: x * 2).add(lambda x: x + 3).add(lambda x: x**2)
    print("Pipeline(5) x2 +3 ^2 ->", pipeline.execute(), "| same steps on 1 ->", pipeline.run(1))
    failing = Pipeline("0").add(int, name="parse").add(lambda n: 1 / n, name="invert")
    print("failing step ->", repr(failing.execute_result().error))
    error = ValidationError("Age cannot be negative", field="age", value=-1)
    print("a pmp_errors error is Serializable:", isinstance(error, Serializable))
