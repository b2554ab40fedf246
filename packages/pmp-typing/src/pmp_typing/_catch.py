"""``as_result``: a decorator turning listed exceptions into ``Failure``."""

from __future__ import annotations

import functools
import inspect
import keyword
import sys
import types
import typing
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast, overload

from pmp_typing._errors import ArgumentTypeError, safe_repr
from pmp_typing._result import Failure, Outcome, Success

if TYPE_CHECKING:
    from collections.abc import Callable

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

    A plain function gets a wrapper with its very parameters (built once per
    parameter shape), so calling it costs about what a hand-written
    ``try``/``except`` does, and a call whose arguments do not fit raises
    ``TypeError`` at once, never a ``Failure``. Other callables (builtins,
    ``functools.partial``, objects with ``__call__``) get a ``*args, **kwargs``
    wrapper.

    Placed above ``@staticmethod`` or ``@classmethod``, it wraps the function and
    keeps the method's kind. An object whose ``__call__`` is ``async def`` is
    wrapped by a coroutine function too.

    A plain function that *returns* a coroutine (a ``lambda`` calling an ``async
    def`` one, a sync wrapper around one) gives a coroutine too: the wrapper
    awaits the function's coroutine and turns the listed exceptions into
    ``Failure``, as for ``async def``. Other awaitables (futures, tasks) are
    values like any other. Each call checks for a coroutine (one type test) unless
    the function's return annotation proves it returns none (``-> int``,
    ``-> list[str] | None``; not ``Any``, ``object``, type variables or awaitables).
    When such a function raises a listed exception before making its coroutine, the
    wrapper gives a coroutine of the ``Failure`` if the function is annotated to
    return a ``Coroutine``, else (a ``lambda``, say) the ``Failure`` itself.

    >>> import asyncio
    >>> async def fetch(n: int) -> int:
    ...     if n < 0:
    ...         raise ValueError("negative")
    ...     return n
    >>> safe_fetch = as_result(ValueError)(lambda n: fetch(n))
    >>> asyncio.run(safe_fetch(-1))
    Failure(ValueError('negative'))

    Raises:
        pmp_errors.ValidationError: (also a ``TypeError``) no exception type is
            given, one is not an ``Exception`` subclass, or the decorated object
            is not callable or is a generator function (which raises only while
            iterated, out of the wrapper's reach); ``field`` names the argument
            and ``value`` holds it.

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
        if isinstance(fn, staticmethod | classmethod):  # placed above one: keep its kind
            method = cast("staticmethod[..., Any] | classmethod[Any, ..., Any]", fn)
            kind = cast("Callable[[Callable[..., Any]], Callable[..., Any]]", type(method))
            return kind(decorate(method.__func__))
        if not callable(fn):
            msg = f"as_result(...) decorates a callable, got {safe_repr(fn)}"
            raise ArgumentTypeError(msg, field="fn", value=fn)
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            msg = (
                f"as_result(...) cannot decorate the generator function {safe_repr(fn)}: it raises"
                " only while iterated, after the wrapper has returned; wrap the code that"
                " iterates it instead"
            )
            raise ArgumentTypeError(msg, field="fn", value=fn)
        is_async = inspect.iscoroutinefunction(fn) or (
            not isinstance(fn, type) and inspect.iscoroutinefunction(type(fn).__call__)
        )
        wrapper = _exact_wrapper(fn, catch, is_async=is_async)
        if wrapper is None:
            wrapper = _generic_wrapper(fn, catch, is_async=is_async)
        return functools.update_wrapper(wrapper, fn)

    return decorate


def _generic_wrapper(
    fn: Callable[..., Any],
    catch: type[Exception] | tuple[type[Exception], ...],
    *,
    is_async: bool,
) -> Callable[..., Any]:
    """Wrap any callable, forwarding ``*args, **kwargs``."""
    if is_async:

        async def async_wrapper(*args: Any, **kwargs: Any) -> Outcome[Any, Exception]:
            try:
                return Success(await fn(*args, **kwargs))
            except catch as exc:
                return Failure(exc)

        return async_wrapper

    failure = _failure_maker(fn)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            value = fn(*args, **kwargs)
        except catch as exc:
            return failure(exc)
        if type(value) is types.CoroutineType:
            return _settle(cast("Coroutine[Any, Any, Any]", value), catch)
        return Success(value)

    return wrapper


async def _settle(
    coroutine: Coroutine[Any, Any, Any], catch: type[Exception] | tuple[type[Exception], ...]
) -> Outcome[Any, Exception]:
    """Await the coroutine a plain function returned, as an ``async def`` one's wrapper does."""
    try:
        return Success(await coroutine)
    except catch as exc:
        return Failure(exc)


def _return_annotation(fn: types.FunctionType) -> object:
    """``fn``'s return annotation, resolved; ``_UNANNOTATED`` if absent or unresolvable."""
    try:
        annotation = fn.__annotations__.get("return", _UNANNOTATED)
        if isinstance(annotation, str):  # from __future__ import annotations
            scope = fn.__globals__
            if "__builtins__" not in scope:  # eval would add it to the function's globals
                scope = {**scope}
            annotation = eval(annotation, scope)  # noqa: S307 - what get_type_hints does
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved proves nothing
        return _UNANNOTATED
    return annotation


def _returns_plain_value(fn: types.FunctionType) -> bool:
    """Whether ``fn``'s return annotation proves it never returns a coroutine.

    Such functions get a wrapper without the per-call check for a coroutine.
    """
    annotation = _return_annotation(fn)
    return annotation is not _UNANNOTATED and _plain(annotation)


def _returns_coroutine(fn: Callable[..., Any]) -> bool:
    """Whether the plain function ``fn`` is annotated to return a coroutine."""
    if type(fn) is not types.FunctionType:
        return False
    annotation = _return_annotation(fn)
    cls = typing.get_origin(annotation) or annotation
    return isinstance(cls, type) and issubclass(cls, Coroutine)


async def _async_failure(exc: Exception) -> Failure[Exception]:
    """What a function annotated to return a coroutine gives when it raises before making one."""
    return Failure(exc)


def _failure_maker(fn: Callable[..., Any]) -> Callable[[Exception], object]:
    """What the wrapper of the sync callable ``fn`` returns for a caught exception."""
    return _async_failure if _returns_coroutine(fn) else Failure


def _plain(annotation: object) -> bool:
    """Whether values of type ``annotation`` are never awaitable (``None``, classes, unions)."""
    if annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return all(_plain(arg) for arg in typing.get_args(annotation))
    cls = origin or annotation
    return (
        isinstance(cls, type) and cls not in {object, typing.Any} and not issubclass(cls, Awaitable)
    )


_UNANNOTATED: Any = object()
_RESERVED = "_pmp_"
_TEMPLATE = """\
def _pmp_make(_pmp_fn, _pmp_catch, _pmp_success, _pmp_failure, _pmp_settle, _pmp_coroutine):
    {prefix}def _pmp_wrapper({params}):
        try:
            {call}
        except _pmp_catch as _pmp_exc:
            return _pmp_failure(_pmp_exc)
        {after}
    return _pmp_wrapper
"""
# a wrapper whose function may return a coroutine checks each result (one type test)
_UNCHECKED = ("return _pmp_success({awaited}_pmp_fn({arguments}))", "")
_CHECKED = (
    "_pmp_value = _pmp_fn({arguments})",
    """if type(_pmp_value) is _pmp_coroutine:  # a plain function returned a coroutine
            return _pmp_settle(_pmp_value, _pmp_catch)
        return _pmp_success(_pmp_value)""",
)


def _exact_wrapper(
    fn: Callable[..., Any],
    catch: type[Exception] | tuple[type[Exception], ...],
    *,
    is_async: bool,
) -> Callable[..., Any] | None:
    """Wrap a plain function with a wrapper of the very same parameters, or return ``None``.

    The interpreter then binds the arguments once, at the wrapper, and the call to
    ``fn`` passes them on without packing ``*args, **kwargs``: as cheap as a
    hand-written ``try``/``except``. Defaults are the function's own objects.
    """
    if type(fn) is not types.FunctionType:
        return None
    code = fn.__code__
    shape = _shape(code)
    if shape is None:
        return None
    checked = not is_async and not _returns_plain_value(fn)
    failure = Failure if is_async else _failure_maker(fn)
    make = _factory(*shape, is_async=is_async, checked=checked)
    wrapper = cast(
        "types.FunctionType",
        make(fn, catch, Success, failure, _settle, types.CoroutineType),
    )
    wrapper.__defaults__ = fn.__defaults__
    wrapper.__kwdefaults__ = fn.__kwdefaults__
    # tracebacks through the wrapper show the function's name, not "_pmp_wrapper"
    if sys.version_info >= (3, 11):
        wrapper.__code__ = wrapper.__code__.replace(
            co_name=code.co_name, co_qualname=code.co_qualname
        )
    else:  # pragma: no cover - Python 3.10
        wrapper.__code__ = wrapper.__code__.replace(co_name=code.co_name)
    return wrapper


def _shape(code: types.CodeType) -> tuple[str, str] | None:
    """Return the parameter list and the forwarding argument list of ``code``, if expressible."""
    names = code.co_varnames
    n_pos, n_posonly, n_kwonly = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    index = n_pos + n_kwonly
    var_args = names[index] if code.co_flags & inspect.CO_VARARGS else None
    index += var_args is not None
    var_kwargs = names[index] if code.co_flags & inspect.CO_VARKEYWORDS else None
    used = [*names[:index], *([var_kwargs] if var_kwargs else [])]
    if not all(
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith(_RESERVED)
        for name in used
    ):
        return None
    positional = list(names[:n_pos])
    kwonly = list(names[n_pos : n_pos + n_kwonly])
    params = positional[:n_posonly] + (["/"] if n_posonly else []) + positional[n_posonly:]
    arguments = list(positional)
    if var_args is not None:
        params.append(f"*{var_args}")
        arguments.append(f"*{var_args}")
    elif kwonly:
        params.append("*")
    params += kwonly
    arguments += [f"{name}={name}" for name in kwonly]
    if var_kwargs is not None:
        params.append(f"**{var_kwargs}")
        arguments.append(f"**{var_kwargs}")
    return ", ".join(params), ", ".join(arguments)


@functools.lru_cache(maxsize=256)
def _factory(params: str, arguments: str, *, is_async: bool, checked: bool) -> Callable[..., Any]:
    """Compile (once per parameter shape and kind) a function that builds exact wrappers."""
    call, after = _CHECKED if checked else _UNCHECKED
    source = _TEMPLATE.format(
        prefix="async " if is_async else "",
        params=params,
        call=call.format(awaited="await " if is_async else "", arguments=arguments),
        after=after,
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<pmp_typing.as_result wrapper>", "exec"), namespace)  # noqa: S102 - the source is built from validated identifiers only
    return cast("Callable[..., Any]", namespace["_pmp_make"])
