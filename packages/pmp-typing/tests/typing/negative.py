"""Deliberate type errors: each must be reported, or the unused ignore fails the check."""

from __future__ import annotations

from pmp_typing import Container, Failure, Pipeline, Result, Success, as_result


def divide(a: int, b: int) -> Result[float, str]:
    return Result.success(a / b) if b else Result.failure("zero")


# a wrong pipeline step: str methods on an int
Pipeline(5).add(lambda x: x * 2).add(str.upper)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# the declared return type is enforced
bad: Result[int, str] = Result.success("text")  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]

# Success has no error type to offer, Failure no value
text: str = Result.success(1).value  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
missing: str = Result.failure("x").value  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
wrong_error: int = Result.failure("x").error  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


# the value of a Result may be missing until it is narrowed
def value_of(result: Result[float, str]) -> float:
    return result.value  # type: ignore[return-value]  # pyright: ignore[reportReturnType]


# map keeps the container type precise
doubled = Container(1).map(lambda x: x * 2)
container_text: Container[str] = doubled  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]

# a step name is keyword-only
Pipeline(1).add(abs, "label")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

# a wrong input for run()
Pipeline(1).add(str).run("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# only Exception subclasses can be caught
as_result(KeyboardInterrupt)  # type: ignore[type-var]  # pyright: ignore[reportCallIssue, reportArgumentType]


# Success and Failure are final
class MySuccess(Success[int]):  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    pass


class MyFailure(Failure[str]):  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    pass


# immutable: properties cannot be assigned
Result.success(1).value = 2  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
