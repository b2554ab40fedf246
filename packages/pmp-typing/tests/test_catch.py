import asyncio
import inspect

import pytest

from pmp_errors import ValidationError
from pmp_typing import Failure, Success, as_result


@as_result(ValueError)
def parse(text: str, *, base: int = 10) -> int:
    """Parse an integer."""
    return int(text, base)


@as_result(KeyError, IndexError)
def pick(data: dict[str, list[int]], key: str, index: int) -> int:
    return data[key][index]


@as_result(ValueError)
async def parse_async(text: str) -> int:
    """Parse an integer, asynchronously."""
    await asyncio.sleep(0)
    return int(text)


def test_success_wraps_return_value() -> None:
    """A normal return becomes Success, with arguments passed through."""
    assert parse("42") == Success(42)
    assert parse("ff", base=16) == Success(255)


def test_listed_exception_becomes_failure() -> None:
    """A listed exception becomes Failure holding that very exception."""
    result = parse("x")
    assert isinstance(result, Failure)
    assert isinstance(result.error, ValueError)
    assert "invalid literal" in str(result.error)


@pytest.mark.parametrize(("key", "index", "error_type"), [("a", 5, IndexError), ("b", 0, KeyError)])
def test_several_exception_types(key: str, index: int, error_type: type[Exception]) -> None:
    """Each of several listed exception types is captured."""
    assert isinstance(pick({"a": [1]}, key, index).error, error_type)
    assert pick({"a": [1]}, "a", 0) == Success(1)


def test_unlisted_exception_propagates() -> None:
    """An exception that is not listed propagates unchanged."""

    @as_result(KeyError)
    def fail() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail()


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, asyncio.CancelledError])
def test_base_exceptions_are_never_captured(exc_type: type[BaseException]) -> None:
    """KeyboardInterrupt and CancelledError pass through even with as_result(Exception)."""

    @as_result(Exception)
    def fail() -> None:
        raise exc_type

    with pytest.raises(exc_type):
        fail()


def test_keeps_name_doc_and_wrapped() -> None:
    """The wrapper keeps the name, doc, __wrapped__ and signature."""
    assert parse.__name__ == "parse"
    assert parse.__doc__ == "Parse an integer."
    assert parse.__wrapped__.__name__ == "parse"  # type: ignore[attr-defined]
    assert str(inspect.signature(parse)) == "(text: str, *, base: int = 10) -> int"


@pytest.mark.asyncio
async def test_async_success_and_failure() -> None:
    """An async def is wrapped by a coroutine function with the same behaviour."""
    assert inspect.iscoroutinefunction(parse_async)
    assert await parse_async("7") == Success(7)
    result = await parse_async("x")
    assert isinstance(result.error, ValueError)
    assert parse_async.__name__ == "parse_async"


@pytest.mark.asyncio
async def test_async_cancellation_propagates() -> None:
    """Cancelling a wrapped coroutine cancels it; no Failure is made."""
    started = asyncio.Event()

    @as_result(Exception)
    async def slow() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.ensure_future(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    ("args", "shown"),
    [((), "at least one"), ((KeyboardInterrupt,), "KeyboardInterrupt"), ((42,), "42")],
)
def test_bad_exception_arguments(args: tuple[object, ...], shown: str) -> None:
    """Bad exception lists raise ValidationError naming the argument and value."""
    with pytest.raises(ValidationError, match=shown) as info:
        as_result(*args)  # type: ignore[arg-type]
    assert info.value.field == "exceptions"
    assert isinstance(info.value, TypeError)


def test_decorating_a_non_callable() -> None:
    """Decorating something that is not callable raises ValidationError (a TypeError)."""
    with pytest.raises(ValidationError, match="callable") as info:
        as_result(ValueError)(42)  # type: ignore[call-overload]
    assert info.value.field == "fn"
    assert info.value.value == 42
    assert isinstance(info.value, TypeError)
