"""``ServiceProvider.inject``: fill function parameters from the container per call."""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from pmp_di._annotations import Unresolved, read_hints, signature
from pmp_di._errors import RegistrationError
from pmp_di._needs import base_of, normalize
from pmp_di._registration import display

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

    from pmp_di._container import DIContainer
    from pmp_di._scope import Scope

    _Todo = list[tuple[int, "_Slot"]]

__all__ = ["Inject", "ServiceProvider"]

P = ParamSpec("P")
R = TypeVar("R")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class _Slot:
    """One parameter of the decorated function: injected (``service``) or the caller's."""

    __slots__ = ("name", "positional", "service")

    def __init__(self, name: str, positional: bool, service: Any) -> None:
        self.name = name
        self.positional = positional
        self.service = service


def _layout(func: Callable[..., Any], services: tuple[object, ...]) -> list[_Slot]:
    """Match each service to the parameter annotated with it, in signature order."""
    sig = signature(func)
    hints = read_hints(func, sig)
    by_service: dict[object, str] = {}
    keys: dict[str, object] = {}
    unread = [hint for hint in hints.values() if isinstance(hint, Unresolved)]
    for name in sig.parameters:
        key = normalize(hints.get(name))
        for service in services:
            if (key == service or base_of(key) == service) and service not in by_service:
                by_service[service], keys[name] = name, key
                break
    for service in services:
        if service in by_service:
            continue
        if unread:  # perhaps the unread annotation names it: read again at the first call
            msg = f"{unread[0].text!r} ({unread[0].reason})"
            raise NameError(msg)
        msg = (
            f"{display(func)} has no parameter annotated {display(service)} to inject; "
            f"annotate one, e.g. `def {getattr(func, '__name__', 'f')}(x: "
            f"{display(service)})`"
        )
        raise RegistrationError(msg, argument="services", value=display(service))
    return [
        _Slot(name, param.kind in _POSITIONAL, keys.get(name))
        for name, param in sig.parameters.items()
        if param.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


class Inject(Generic[T1, T2, T3]):
    """The decorator returned by :meth:`ServiceProvider.inject`.

    For a type checker, the injected parameters are the leading ones (in the
    order given to ``inject``) and disappear from the decorated signature; the
    rest of the signature is kept. A function whose injected parameters are not
    leading is still injected at runtime but is typed ``Callable[..., R]``.
    """

    __slots__ = ("_container", "_services")

    def __init__(self, container: DIContainer, services: tuple[object, ...]) -> None:
        self._container = container
        self._services = services

    @overload
    def __call__(
        self: Inject[T1, None, None], func: Callable[Concatenate[T1, P], R]
    ) -> Callable[P, R]: ...
    @overload
    def __call__(
        self: Inject[T1, T2, None], func: Callable[Concatenate[T1, T2, P], R]
    ) -> Callable[P, R]: ...
    @overload
    def __call__(
        self: Inject[T1, T2, T3], func: Callable[Concatenate[T1, T2, T3, P], R]
    ) -> Callable[P, R]: ...
    @overload
    def __call__(self, func: Callable[..., R]) -> Callable[..., R]: ...
    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        layout = _Layout(func, self._services)
        if inspect.iscoroutinefunction(func):
            return _async_wrapper(self._container, layout, func)
        if inspect.isgeneratorfunction(func):
            return _generator_wrapper(self._container, layout, func)
        if inspect.isasyncgenfunction(func):
            return _async_generator_wrapper(self._container, layout, func)
        return _sync_wrapper(self._container, layout, func)


def _sync_wrapper(
    container: DIContainer, layout: _Layout, func: Callable[..., Any]
) -> Callable[..., Any]:
    def call(
        resolve: Callable[[Any], Any], call_args: list[Any], kwargs: dict[str, Any], todo: _Todo
    ) -> Any:
        for index, slot in todo:
            _fill(call_args, kwargs, index, slot, resolve(slot.service))
        return func(*call_args, **kwargs)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call_args, todo = layout.arrange(args, kwargs)
        if not todo:
            return func(*call_args, **kwargs)
        scope = container.current_scope()
        if scope is not None:
            return call(scope.resolve, call_args, kwargs, todo)
        for _, slot in todo:
            if container.needs_scope(slot.service):
                break
        else:  # nothing needs a scope: no scope is opened for this call
            return call(container.resolve, call_args, kwargs, todo)
        scope = container.scope().activate()  # one scope per call owns what the call needed
        try:
            result = call(scope.resolve, call_args, kwargs, todo)
        except BaseException as exc:
            scope.close(exc)
            raise
        if inspect.isawaitable(result):  # an async def hidden by a decorator: close after it
            return _closing(scope, result)
        scope.close()
        return result

    return wrapper


async def _closing(scope: Scope, awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable``, then close the scope that owns what it was given."""
    try:
        result = await awaitable
    except BaseException as exc:
        await scope.aclose(exc)
        raise
    await scope.aclose()
    return result


def _async_wrapper(
    container: DIContainer, layout: _Layout, func: Callable[..., Any]
) -> Callable[..., Any]:
    async def call(
        aresolve: Callable[[Any], Awaitable[Any]],
        call_args: list[Any],
        kwargs: dict[str, Any],
        todo: _Todo,
    ) -> Any:
        for index, slot in todo:
            _fill(call_args, kwargs, index, slot, await aresolve(slot.service))
        return await func(*call_args, **kwargs)

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        call_args, todo = layout.arrange(args, kwargs)
        if not todo:
            return await func(*call_args, **kwargs)
        scope = container.current_scope()
        if scope is not None:
            return await call(scope.aresolve, call_args, kwargs, todo)
        for _, slot in todo:
            if container.needs_scope(slot.service, is_async=True):
                break
        else:  # nothing needs a scope: no scope is opened for this call
            return await call(container.aresolve, call_args, kwargs, todo)
        async with container.scope() as scope:  # one scope per call owns what the call needed
            return await call(scope.aresolve, call_args, kwargs, todo)

    return wrapper


def _owner(
    container: DIContainer, todo: _Todo, *, is_async: bool
) -> tuple[Callable[[Any], Any], Scope | None]:
    """How a generator's services are resolved, and the scope it must close (if it owns one).

    A generator's own scope is not made current: the generator runs in its consumer's
    context, which must not see that scope between two items.
    """
    scope = container.current_scope()
    if scope is None:
        for _, slot in todo:
            if container.needs_scope(slot.service, is_async=is_async):
                owned = container.scope()
                return (owned.aresolve if is_async else owned.resolve), owned
        return (container.aresolve if is_async else container.resolve), None
    return (scope.aresolve if is_async else scope.resolve), None


def _generator_wrapper(
    container: DIContainer, layout: _Layout, func: Callable[..., Any]
) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        call_args, todo = layout.arrange(args, kwargs)  # services come at the first next()
        resolve, owned = _owner(container, todo, is_async=False)
        try:
            for index, slot in todo:
                _fill(call_args, kwargs, index, slot, resolve(slot.service))
            generator: Generator[Any, Any, Any] = func(*call_args, **kwargs)
            result: Any = yield from generator
        except BaseException as exc:
            if owned is not None:  # a consumer stopping early (GeneratorExit) is no failure
                owned.close(None if isinstance(exc, GeneratorExit) else exc)
            raise
        if owned is not None:
            owned.close()
        return result

    return wrapper


def _async_generator_wrapper(
    container: DIContainer, layout: _Layout, func: Callable[..., Any]
) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        call_args, todo = layout.arrange(args, kwargs)
        aresolve, owned = _owner(container, todo, is_async=True)
        try:
            await _afill(aresolve, call_args, kwargs, todo)
            agen = func(*call_args, **kwargs)
            try:
                value = await agen.__anext__()
                while True:  # asend/athrow/aclose reach the decorated generator
                    try:
                        sent: Any = yield value
                    except GeneratorExit:  # noqa: PERF203 - one item at a time, as yield from
                        await agen.aclose()
                        raise
                    except BaseException as thrown:  # noqa: BLE001 - handed to the generator
                        value = await agen.athrow(thrown)
                    else:
                        value = await agen.asend(sent)
            except StopAsyncIteration:
                pass
        except BaseException as exc:
            if owned is not None:
                await owned.aclose(None if isinstance(exc, GeneratorExit) else exc)
            raise
        if owned is not None:
            await owned.aclose()

    return wrapper


async def _afill(
    aresolve: Callable[[Any], Awaitable[Any]],
    call_args: list[Any],
    kwargs: dict[str, Any],
    todo: _Todo,
) -> None:
    for index, slot in todo:
        _fill(call_args, kwargs, index, slot, await aresolve(slot.service))


def _fill(
    call_args: list[Any], kwargs: dict[str, Any], index: int, slot: _Slot, value: Any
) -> None:
    if index < 0:
        kwargs[slot.name] = value
    else:
        call_args[index] = value


class _InjectMany:
    """The decorator of ``inject`` with four or more services: typed ``Callable[..., R]``."""

    __slots__ = ("_inject",)

    def __init__(self, inject: Inject[Any, Any, Any]) -> None:
        self._inject = inject

    def __call__(self, func: Callable[..., R]) -> Callable[..., R]:
        """Inject the services into ``func`` (see :class:`Inject`)."""
        return self._inject(func)


class _Layout:
    """The decorated function's parameters, read once (at the first call if need be)."""

    __slots__ = ("_func", "_services", "_slots")

    def __init__(self, func: Callable[..., Any], services: tuple[object, ...]) -> None:
        self._func = func
        self._services = services
        self._slots: list[_Slot] | None = None
        with contextlib.suppress(NameError):  # forward references: read at the first call
            self._slots = _layout(func, services)

    def slots(self) -> list[_Slot]:
        """The parameters, reading the annotations now if that was deferred."""
        if self._slots is None:
            try:
                self._slots = _layout(self._func, self._services)
            except NameError as exc:
                name = display(self._func)
                msg = f"cannot read the annotations of {name} to inject: {exc}"
                raise RegistrationError(msg, argument="func", value=name) from exc
        return self._slots

    def arrange(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[Any], list[tuple[int, _Slot]]]:
        """Lay out one call; list the injected slots still to fill (index -1: by keyword)."""
        call_args: list[Any] = []
        todo: list[tuple[int, _Slot]] = []
        supplied = iter(args)
        positional = True
        for slot in self.slots():
            positional = positional and slot.positional
            if slot.service is not None:
                if slot.name not in kwargs:
                    todo.append((len(call_args) if positional else -1, slot))
                    if positional:
                        call_args.append(None)
                elif positional:
                    call_args.append(kwargs.pop(slot.name))
            elif positional:
                value = next(supplied, _END)
                if value is _END:
                    positional = False
                else:
                    call_args.append(value)
        call_args.extend(supplied)
        return call_args, todo


_END = object()


class ServiceProvider:
    """Injects registered services into plain functions.

    >>> from pmp_di import DIContainer, LifecycleScope
    >>> class Database:
    ...     def query(self) -> str:
    ...         return "rows"
    >>> container = DIContainer().register(Database, scope=LifecycleScope.SINGLETON)
    >>> provider = ServiceProvider(container)
    >>> @provider.inject(Database)
    ... def process_data(db: Database) -> str:
    ...     return db.query()
    >>> process_data()
    'rows'
    """

    __slots__ = ("container",)

    def __init__(self, container: DIContainer) -> None:
        self.container = container

    @overload
    def inject(self, s1: type[T1], /) -> Inject[T1, None, None]: ...
    @overload
    def inject(self, s1: type[T1], s2: type[T2], /) -> Inject[T1, T2, None]: ...
    @overload
    def inject(self, s1: type[T1], s2: type[T2], s3: type[T3], /) -> Inject[T1, T2, T3]: ...
    @overload
    def inject(
        self, s1: type[Any], s2: type[Any], s3: type[Any], s4: type[Any], /, *more: type[Any]
    ) -> _InjectMany: ...
    def inject(self, *services: type[Any]) -> Inject[Any, Any, Any] | _InjectMany:
        """Decorate a function so that ``services`` are resolved per call.

        Each service fills the parameter annotated with it, unless the caller
        passes that parameter by keyword. Resolution happens at call time, so
        registrations made after decorating count. Works on ``async def`` (which
        uses ``aresolve``).
        """
        if not services:
            msg = "inject() needs at least one service type, e.g. provider.inject(Database)"
            raise RegistrationError(msg, argument="services", value=())
        inject: Inject[Any, Any, Any] = Inject(self.container, services)
        return _InjectMany(inject) if len(services) > 3 else inject  # noqa: PLR2004
