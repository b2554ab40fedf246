"""Checks on the callable a decorator is given."""

from __future__ import annotations

from pmp_decorators._nodes import safe_repr
from pmp_errors import ValidationError

__all__ = [
    "AwaitableReturnedError",
    "is_async_callable",
    "refuse_async_sleep",
    "refuse_awaitable",
    "refuse_bare_use",
    "refuse_generator",
    "refuse_uncallable",
]


def refuse_uncallable(func: object, decorator: str) -> None:
    """Raise ``ValidationError`` when ``func`` cannot be called at all."""
    if not callable(func):
        raise ValidationError(
            f"{decorator} decorates callables, got {type(func).__name__} {safe_repr(func)}",
            field="func",
            value=func,
            expected="a function, a method or a callable object",
        )


def refuse_generator(func: object, decorator: str, advice: str) -> None:
    """Raise ``ValidationError`` when ``func`` is a (sync or async) generator function.

    Calling a generator function only creates the generator: its body runs later,
    while the caller iterates, so a wrapper around the call would retry or time nothing.
    """
    import inspect

    if inspect.isasyncgenfunction(func):
        kind = "an async generator function"
    elif inspect.isgeneratorfunction(func):
        kind = "a generator function"
    else:
        return
    name = getattr(func, "__qualname__", None) or repr(func)
    raise ValidationError(
        f"{decorator} cannot wrap {name}, {kind}: calling it only creates the generator "
        f"and its body runs later, while it is iterated; {advice}",
        field="func",
        value=func,
        expected="a function or coroutine function",
    )


def refuse_bare_use(value: object, decorator: str, field: str) -> None:
    """Explain ``@decorator`` written without parentheses (the function lands in ``field``)."""
    import inspect

    if inspect.isroutine(value) or inspect.isclass(value):
        name = getattr(value, "__qualname__", None) or repr(value)
        raise ValidationError(
            f"{decorator} makes a decorator: write @{decorator}() or "
            f"@{decorator}({field}=...), not @{decorator} (got {name} as {field})",
            field=field,
            value=value,
            expected=f"@{decorator}(...) with parentheses",
        )


def is_async_callable(func: object) -> bool:
    """Whether calling ``func`` returns a coroutine: ``async def``, or an async ``__call__``."""
    import inspect

    if inspect.iscoroutinefunction(func):
        return True
    if inspect.isroutine(func) or isinstance(func, type):
        return False
    call = getattr(type(func), "__call__", None)  # noqa: B004 - the method itself is wanted
    return inspect.iscoroutinefunction(call)


def refuse_async_sleep(sleep: object, where: str) -> None:
    """Refuse an async ``sleep`` where nothing would await it (``where`` says why)."""
    if sleep is not None and is_async_callable(sleep):
        raise ValidationError(
            f"sleep={sleep!r} is async, but {where}: nothing would await it and the "
            f"retries would not pause; pass a blocking sleep such as time.sleep",
            field="sleep",
            value=sleep,
            expected="a blocking sleep for plain functions and `for` loops",
        )


class AwaitableReturnedError(ValidationError):
    """A plain function under a sync wrapper returned an awaitable (:func:`refuse_awaitable`).

    Its own class so that the wrapper can let it through whatever it catches.
    """


def refuse_awaitable(name: str, result: object, decorator: str, advice: str) -> None:
    """Refuse an awaitable ``result`` of ``name``, a function wrapped as a plain one.

    The wrapper treated the function as synchronous, so whatever the awaitable does
    later happens outside it. A coroutine is closed first: it will never be awaited.
    """
    import inspect

    if not inspect.isawaitable(result):  # asks the type, and knows @types.coroutine generators
        return
    close = getattr(result, "close", None)
    if callable(close):
        close()
    kind = type(result).__name__
    raise AwaitableReturnedError(
        f"{decorator} wraps {name} as a plain function, but it returned an awaitable {kind}: "
        f"its failures would happen where it is awaited, outside {decorator}; "
        f"{advice}",
        field="func",
        value=name,
        expected="an `async def` function for a result that is awaited",
    )
