import asyncio
import functools
import inspect
import traceback
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, cast

import pytest

from pmp_errors import ValidationError
from pmp_typing import Failure, Success, as_result
from pmp_typing._catch import _returns_plain_value


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
        as_result(*args)  # type: ignore[call-overload]
    assert info.value.field == "exceptions"
    assert isinstance(info.value, TypeError)


def test_decorating_a_non_callable() -> None:
    """Decorating something that is not callable raises ValidationError (a TypeError)."""
    with pytest.raises(ValidationError, match="callable") as info:
        as_result(ValueError)(42)  # type: ignore[call-overload]
    assert info.value.field == "fn"
    assert info.value.value == 42
    assert isinstance(info.value, TypeError)


def _signatures(
    a: object,
    /,
    b: object,
    c: object = 3,
    *args: object,
    d: object,
    e: object = 5,
    **kwargs: object,
) -> tuple[object, ...]:
    return (a, b, c, args, d, e, kwargs)


def _defaults(
    a: object,
    b: list[object] = [],  # noqa: B006 - the identity of default objects is what is tested
    /,
    *,
    c: dict[object, object] = {},  # noqa: B006 - the identity of default objects is what is tested
) -> tuple[object, ...]:
    return (a, b, c)


def _reserved(_pmp_fn: object, _pmp_exc: object = 1) -> tuple[object, ...]:
    return (_pmp_fn, _pmp_exc)


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"),
    [
        (_signatures, (1, 2), {"d": 4}),
        (_signatures, (1,), {"b": 2, "d": 4, "e": 6, "z": 7}),
        (_signatures, (1, 2, 3, 8, 9), {"d": 4, "a": "kw-named-a"}),
        (_defaults, (1,), {}),
        (_defaults, (1, [2]), {"c": {3: 4}}),
        (_reserved, (1,), {}),
        (_reserved, (), {"_pmp_fn": 1, "_pmp_exc": 2}),
        (divmod, (7, 2), {}),
        (functools.partial(_defaults, 0), (), {"c": 1}),
    ],
)
def test_arguments_reach_the_function_unchanged(
    fn: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    """Every kind of parameter binds exactly as in a direct call, defaults included."""
    wrapped = as_result(ValueError)(fn)
    result = wrapped(*args, **kwargs)
    expected = fn(*args, **kwargs)
    assert result == Success(expected)
    if fn is _defaults and len(args) == 1:  # the very default objects, not copies
        assert result.value is not None
        assert result.value[1] is expected[1]  # type: ignore[index]
        assert result.value[2] is expected[2]  # type: ignore[index]


def test_wrapper_keeps_the_exact_signature_and_name_in_tracebacks() -> None:
    """A bad call fails like the function would; tracebacks name the function."""
    with pytest.raises(TypeError, match=r"parse\(\) missing 1 required positional argument"):
        parse()  # type: ignore[call-arg]
    error = parse("x").error
    assert error is not None
    frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(error.__traceback__)]
    assert frames[0] == "parse"


def test_bad_calls_are_not_turned_into_failures() -> None:
    """Calling with arguments that do not fit raises, even with TypeError listed."""

    @as_result(TypeError)
    def add(a: int, b: int) -> int:
        return a + b

    assert isinstance(add(1, "2").error, TypeError)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="add"):
        add(1)  # type: ignore[call-arg]


def test_methods_and_callable_objects() -> None:
    """Methods bind self; objects that are not plain functions are wrapped too."""

    class Parser:
        def __init__(self, base: int) -> None:
            self.base = base

        @as_result(ValueError)
        def parse(self, text: str) -> int:
            return int(text, self.base)

    assert Parser(16).parse("ff") == Success(255)
    assert isinstance(Parser(2).parse("3").error, ValueError)
    assert as_result(ValueError)(int)("12") == Success(12)
    assert isinstance(as_result(ValueError)(int)("x").error, ValueError)


@pytest.mark.asyncio
async def test_async_exact_signature() -> None:
    """Async functions get an exact-signature coroutine wrapper too."""

    @as_result(KeyError)
    async def lookup(data: dict[str, int], /, key: str = "a", *, scale: int = 1) -> int:
        await asyncio.sleep(0)
        return data[key] * scale

    assert await lookup({"a": 2}) == Success(2)
    assert await lookup({"b": 3}, key="b", scale=2) == Success(6)
    assert isinstance((await lookup({})).error, KeyError)
    assert str(inspect.signature(lookup)) == (
        "(data: dict[str, int], /, key: str = 'a', *, scale: int = 1) -> int"
    )
    with pytest.raises(TypeError, match="lookup"):
        await lookup()  # type: ignore[call-arg]


@pytest.mark.asyncio
async def test_async_callables_that_are_not_plain_functions() -> None:
    """An async callable such as a partial is wrapped by a coroutine function too."""

    async def scaled(factor: int, text: str) -> int:
        await asyncio.sleep(0)
        return factor * int(text)

    triple = as_result(ValueError)(functools.partial(scaled, 3))
    assert inspect.iscoroutinefunction(triple)
    assert await triple("4") == Success(12)
    assert isinstance((await triple("x")).error, ValueError)


def test_above_staticmethod_and_classmethod() -> None:
    """Placed above @staticmethod or @classmethod, the method keeps its kind."""

    class Parser:
        base = 16

        @as_result(ValueError)
        @staticmethod
        def parse_decimal(text: str) -> int:
            return int(text)

        @as_result(ValueError)
        @classmethod
        def parse_based(cls, text: str) -> int:
            return int(text, cls.base)

    assert Parser().parse_decimal("12") == Success(12)
    assert isinstance(Parser.parse_decimal("x").error, ValueError)
    assert Parser.parse_based("ff") == Success(255)
    assert isinstance(Parser().parse_based("zz").error, ValueError)
    assert isinstance(vars(Parser)["parse_decimal"], staticmethod)
    assert isinstance(vars(Parser)["parse_based"], classmethod)


def _numbers() -> Iterator[int]:
    yield int("x")


async def _async_numbers() -> AsyncIterator[int]:
    yield int("x")


@pytest.mark.parametrize("fn", [_numbers, _async_numbers, functools.partial(_numbers)])
def test_generator_functions_are_refused(fn: Callable[[], object]) -> None:
    """A generator raises only while iterated, out of reach: decorating one is an error."""
    with pytest.raises(ValidationError, match="generator") as info:
        as_result(ValueError)(fn)
    assert (info.value.field, info.value.value) == ("fn", fn)
    assert isinstance(info.value, TypeError)


class _AsyncParser:
    async def __call__(self, text: str) -> int:
        await asyncio.sleep(0)
        return int(text)


@pytest.mark.asyncio
async def test_objects_with_async_call_get_a_coroutine_wrapper() -> None:
    """An object whose __call__ is async def is wrapped by a coroutine function."""
    wrapped = as_result(ValueError)(_AsyncParser())
    assert inspect.iscoroutinefunction(wrapped)
    assert await wrapped("3") == Success(3)
    assert isinstance((await wrapped("x")).error, ValueError)


async def _maybe(text: str) -> int:
    await asyncio.sleep(0)
    return int(text)


def _returns_coroutine(text: str) -> Coroutine[Any, Any, int]:
    return _maybe(text)


class _SyncCallReturningCoroutine:
    def __call__(self, text: str) -> Coroutine[Any, Any, int]:
        return _maybe(text)


@pytest.mark.parametrize(
    "fn",
    [
        lambda text: _maybe(text),  # noqa: PLW0108 - a plain function is the case under test
        _returns_coroutine,
        functools.partial(_returns_coroutine),
        _SyncCallReturningCoroutine(),
    ],
    ids=["lambda", "annotated", "partial", "callable-object"],
)
@pytest.mark.asyncio
async def test_plain_function_returning_a_coroutine_is_awaited(
    fn: Callable[[str], Coroutine[Any, Any, int]],
) -> None:
    """A sync callable returning a coroutine gives a coroutine of Success or Failure."""
    wrapped = as_result(ValueError)(fn)
    assert await wrapped("42") == Success(42)
    failed = await wrapped("x")
    assert isinstance(failed, Failure)
    assert isinstance(failed.error, ValueError)
    with pytest.raises(ZeroDivisionError):
        await as_result(ValueError)(lambda: _divide_later())()  # noqa: PLW0108 - plain, as above


async def _divide_later() -> float:
    await asyncio.sleep(0)
    return 1 / 0


@pytest.mark.asyncio
async def test_coroutine_returned_by_a_plain_function_propagates_cancellation() -> None:
    """Cancelling the awaited coroutine of a plain function is never a Failure."""
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    plain = lambda: forever()  # noqa: PLW0108 - a plain function returning a coroutine
    task = asyncio.ensure_future(as_result(Exception)(plain)())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_other_awaitables_are_values() -> None:
    """A future returned by a plain function is a value, as its type says."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.set_result(1)
    result = as_result(ValueError)(lambda: future)()
    assert result == Success(future)


def _annotated_int() -> int:
    return 1


def _annotated_none() -> None:
    return None


def _annotated_generic() -> list[int]:
    return [1]


def _annotated_any() -> Any:
    return 1


def _annotated_object() -> object:
    return 1


def _annotated_union() -> int | None:
    return 1


def _annotated_awaitable_union() -> int | Coroutine[Any, Any, int]:
    return 1


def _annotated_unresolvable() -> "NoSuchName":  # type: ignore[name-defined]  # noqa: F821
    return 1


def _unannotated():
    return 1


@pytest.mark.parametrize(
    ("fn", "plain"),
    [
        (_annotated_int, True),
        (_annotated_none, True),
        (_annotated_generic, True),
        (_annotated_any, False),
        (_annotated_object, False),
        (_annotated_union, True),
        (_annotated_awaitable_union, False),
        (_annotated_unresolvable, False),
        (_unannotated, False),
    ],
)
def test_only_a_proving_annotation_skips_the_coroutine_check(
    fn: Callable[[], object], *, plain: bool
) -> None:
    """The per-call check is left out only where the return annotation rules out a coroutine."""
    assert _returns_plain_value(cast("types.FunctionType", fn)) is plain
    assert as_result(ValueError)(fn)() == Success(fn())
    assert not _returns_plain_value(cast("types.FunctionType", _returns_coroutine))


def test_resolving_an_annotation_leaves_the_function_globals_alone() -> None:
    """A string return annotation is resolved without adding names to the function's globals."""

    def f():
        return 1

    bare = types.FunctionType(f.__code__, {"int": int}, "f")
    bare.__annotations__ = {"return": "int"}
    assert _returns_plain_value(bare)
    assert bare.__globals__ == {"int": int}


async def _double(n: int) -> int:
    return n * 2


def _checked(n: int) -> int:
    if n < 0:
        msg = "negative"
        raise ValueError(msg)
    return n


@pytest.mark.asyncio
async def test_failure_before_the_coroutine_is_awaitable_when_annotated() -> None:
    """A function annotated to return a coroutine gives one also when it raises before making it."""

    def fetch(n: int) -> Coroutine[Any, Any, int]:
        return _double(_checked(n))

    safe = as_result(ValueError)(fetch)
    assert await safe(2) == Success(4)
    failed = await safe(-1)
    assert isinstance(failed, Failure)
    assert str(failed.error) == "negative"
