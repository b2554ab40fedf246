"""``as_result``: a decorator turning listed exceptions into ``Failure``."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast, overload

from pmp_typing._errors import ArgumentTypeError, safe_repr
from pmp_typing._result import Failure, Outcome, Success

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = ["ResultDecorator", "as_result"]

P = ParamSpec("P")
R = TypeVar("R")
E_co = TypeVar("E_co", bound=Exception, covariant=True)
E1 = TypeVar("E1", bound=Exception)
E2 = TypeVar("E2", bound=Exception)
E3 = TypeVar("E3", bound=Exception)


class ResultDecorator(Protocol[E_co]):
    """What ``as_result(...)`` returns: it decorates sync and ``async def`` functions."""

    @overload
    def __call__(  # type: ignore[overload-overlap]  # pyright: ignore[reportOverlappingOverload]
        self, fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> Callable[P, Coroutine[Any, Any, Outcome[R, E_co]]]: ...

    @overload
    def __call__(self, fn: Callable[P, R], /) -> Callable[P, Outcome[R, E_co]]: ...


@overload
def as_result(exception: type[E1], /) -> ResultDecorator[E1]: ...


@overload
def as_result(exception: type[E1], exception2: type[E2], /) -> ResultDecorator[E1 | E2]: ...


@overload
def as_result(
    exception: type[E1], exception2: type[E2], exception3: type[E3], /
) -> ResultDecorator[E1 | E2 | E3]: ...


@overload
def as_result(*exceptions: type[E1]) -> ResultDecorator[E1]: ...


def as_result(*exceptions: type[Exception]) -> ResultDecorator[Exception]:
    """Return a decorator that turns the listed exceptions into ``Failure``.

    The decorated function returns ``Success(return_value)``, or ``Failure(exc)``
    when it raises one of ``exceptions``; anything else propagates. ``async def``
    functions are wrapped by a coroutine function. Only ``Exception`` subclasses
    can be listed, so ``KeyboardInterrupt`` and ``asyncio.CancelledError`` are
    never captured.

    Raises:
        pmp_errors.ValidationError: (also a ``TypeError``) no exception type is
            given, one is not an ``Exception`` subclass, or the decorated object
            is not callable; ``field`` names the argument and ``value`` holds it.

    >>> @as_result(ValueError)
    ... def parse(text: str) -> int:
    ...     return int(text)
    >>> parse("42"), parse("x").is_failure()
    (Success(42), True)
    """
    if not exceptions:
        msg = "as_result() needs at least one exception type, e.g. as_result(ValueError)"
        raise ArgumentTypeError(msg, field="exceptions", value=exceptions)
    for exc_type in cast("tuple[object, ...]", exceptions):  # checked: callers may be untyped
        shown = safe_repr(exc_type)
        if not (isinstance(exc_type, type) and issubclass(exc_type, Exception)):
            msg = (
                f"as_result() takes Exception subclasses, got {shown}"
                " (BaseException-only types such as KeyboardInterrupt are never captured)"
            )
            raise ArgumentTypeError(msg, field="exceptions", value=exc_type)
    catch = exceptions[0] if len(exceptions) == 1 else tuple(exceptions)
    return cast("ResultDecorator[Exception]", _decorator(catch))


def _decorator(
    catch: type[Exception] | tuple[type[Exception], ...],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            msg = f"as_result(...) decorates a callable, got {safe_repr(fn)}"
            raise ArgumentTypeError(msg, field="fn", value=fn)
        if inspect.iscoroutinefunction(fn):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Outcome[Any, Exception]:
                try:
                    return Success(await fn(*args, **kwargs))
                except catch as exc:
                    return Failure(exc)

            return functools.update_wrapper(async_wrapper, fn)

        def wrapper(*args: Any, **kwargs: Any) -> Outcome[Any, Exception]:
            try:
                return Success(fn(*args, **kwargs))
            except catch as exc:
                return Failure(exc)

        return functools.update_wrapper(wrapper, fn)

    return decorate
