"""The container: registrations, compiled plans, scopes and cleanup."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_di._compiler import Emitter
from pmp_di._errors import CleanupError, MissingDependencyError, RegistrationError, ScopeError
from pmp_di._graph import explain_tree, lookup, validate_graph
from pmp_di._lifecycle import LifecycleScope
from pmp_di._registration import (
    Registration,
    display,
    is_instance_of,
    is_subclass_of,
    optional_inner,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["DIContainer", "Scope"]

T = TypeVar("T")
_Exits = list[tuple[bool, Any]]


def _raised_inside(exc: BaseException) -> bool:
    """Whether ``exc`` came from inside a plan rather than from the plan lookup itself."""
    traceback = exc.__traceback__
    return traceback is not None and traceback.tb_next is not None


def _exit_args(
    exc: BaseException | None,
) -> tuple[type[BaseException] | None, BaseException | None, TracebackType | None]:
    if exc is None:
        return None, None, None
    return type(exc), exc, exc.__traceback__


def _raise_failures(
    errors: list[BaseException], interrupt: BaseException | None, where: str
) -> None:
    """Raise the gathered failures; an interruption (cancellation, Ctrl-C) takes precedence."""
    failures = None
    if errors:
        msg = f"{len(errors)} finalizer(s) of the {where} failed: " + "; ".join(
            f"{type(e).__name__}: {e}" for e in errors
        )
        failures = CleanupError(msg, errors=tuple(errors))
        failures.__cause__ = errors[0]
    if interrupt is not None:
        raise interrupt from failures
    if failures is not None:
        raise failures


def _close_sync(exits: _Exits, exc: BaseException | None, where: str) -> None:
    errors: list[BaseException] = []
    interrupt: BaseException | None = None
    while exits:
        is_async, finalizer = exits.pop()
        if is_async:
            errors.append(
                ScopeError(
                    f"an async finalizer ({display(finalizer)}) cannot run in a synchronous "
                    f"close of the {where}; use `async with` or `await ....aclose()`"
                )
            )
            continue
        try:
            finalizer(*_exit_args(exc))
        except BaseException as failure:  # noqa: BLE001 - every finalizer runs; re-raised below
            if failure is exc:
                continue
            if isinstance(failure, Exception):
                errors.append(failure)
            elif interrupt is None:
                interrupt = failure
    _raise_failures(errors, interrupt, where)


async def _close_async(exits: _Exits, exc: BaseException | None, where: str) -> None:
    errors: list[BaseException] = []
    interrupt: BaseException | None = None
    while exits:
        is_async, finalizer = exits.pop()
        try:
            if is_async:
                await finalizer(*_exit_args(exc))
            else:
                finalizer(*_exit_args(exc))
        except BaseException as failure:  # noqa: BLE001 - every finalizer runs; re-raised below
            if failure is exc:
                continue
            if isinstance(failure, Exception):
                errors.append(failure)
            elif interrupt is None:
                interrupt = failure
    _raise_failures(errors, interrupt, where)


def _instance_registration(service: Any, scope: LifecycleScope, instance: Any) -> Registration:
    if scope is LifecycleScope.SCOPED:
        msg = f"an instance of {display(service)} is shared; it cannot be SCOPED"
        raise RegistrationError(msg, argument="scope", value=scope.name)
    if not is_instance_of(instance, service):
        msg = (
            f"instance for {display(service)} must be a {display(service)}, got "
            f"{type(instance).__name__} {instance!r}"
        )
        raise RegistrationError(msg, argument="instance", value=instance)
    return Registration(service, LifecycleScope.SINGLETON, origin=None, instance=instance)


def _check_buildable(service: Any, origin: Any, implementation: Any) -> None:
    """Refuse an abstract class to build, or an implementation that is not a ``service``."""
    if isinstance(origin, type) and (
        getattr(origin, "_is_protocol", False) or getattr(origin, "__abstractmethods__", None)
    ):
        msg = (
            f"{display(origin)} is abstract; register it with an implementation, e.g. "
            f"container.register({display(origin)}, ConcreteClass)"
        )
        raise RegistrationError(msg, argument="implementation", value=display(origin))
    if implementation is not None and not is_subclass_of(implementation, service):
        msg = (
            f"implementation for {display(service)} must be a subclass of it, got "
            f"{display(implementation)}; register it for its own type instead"
        )
        raise RegistrationError(msg, argument="implementation", value=display(implementation))


class DIContainer:
    """A dependency-injection container whose resolutions run at hand-written speed.

    Each resolved type gets one generated function that builds its whole
    transient subtree inline, with built singletons bound as constants.

    >>> class Repo: ...
    >>> class Service:
    ...     def __init__(self, repo: Repo) -> None:
    ...         self.repo = repo
    >>> container = DIContainer()
    >>> container = container.register(Repo, scope=LifecycleScope.SINGLETON).register(Service)
    >>> container.resolve(Service).repo is container.resolve(Repo)
    True
    """

    __slots__ = (
        "__weakref__",
        "_aplans",
        "_exits",
        "_generation",
        "_lock",
        "_plans",
        "_read",
        "_regs",
        "_saplans",
        "_splans",
    )

    def __init__(self) -> None:
        self._regs: dict[Any, Registration] = {}
        self._plans: dict[Any, Callable[[], Any]] = {}
        self._aplans: dict[Any, Callable[[], Awaitable[Any]]] = {}
        self._splans: dict[Any, Callable[[Scope], Any]] = {}
        self._saplans: dict[Any, Callable[[Scope], Awaitable[Any]]] = {}
        self._exits: _Exits = []
        self._lock = threading.RLock()
        self._generation = 0
        self._read = False  # whether any graph was walked (only then can a binding be stale)

    # -- registration -------------------------------------------------------------------

    def register(
        self,
        service: type[T],
        implementation: Callable[..., T] | None = None,
        *,
        scope: LifecycleScope = LifecycleScope.TRANSIENT,
        factory: Callable[..., Any] | None = None,
        instance: T | None = None,
    ) -> Self:
        """Bind ``service`` to how it is built; returns the container for chaining.

        ``implementation`` is a class to build for an interface, ``factory`` a
        callable (plain, generator, context manager, async or async generator)
        whose parameters are autowired, ``instance`` a ready object. Registering
        a service again replaces the old binding and everything built from it.

        >>> class Config: ...
        >>> c = DIContainer().register(Config, scope=LifecycleScope.SINGLETON)
        >>> c.resolve(Config) is c.resolve(Config)
        True
        """
        self._install(self._make(service, implementation, scope, factory, instance))
        return self

    def _make(
        self,
        service: Any,
        implementation: Any,
        scope: Any,
        factory: Any,
        instance: Any,
    ) -> Registration:
        try:
            hash(service)
        except TypeError:
            msg = f"service must be a hashable type, got {service!r}"
            raise RegistrationError(msg, argument="service", value=service) from None
        if not isinstance(scope, LifecycleScope):
            msg = f"scope must be a LifecycleScope (SINGLETON, TRANSIENT or SCOPED), got {scope!r}"
            raise RegistrationError(msg, argument="scope", value=scope)
        given = [
            n
            for n, v in (("implementation", implementation), ("factory", factory))
            if v is not None
        ]
        if instance is not None:
            given.append("instance")
        if len(given) > 1:
            msg = (
                f"give at most one of implementation, factory and instance for "
                f"{display(service)}, got {' and '.join(given)}"
            )
            raise RegistrationError(msg, argument=given[1], value=display(service))
        if instance is not None:
            return _instance_registration(service, scope, instance)
        origin = factory if factory is not None else implementation
        if origin is None:
            origin = service
        if not callable(origin):
            argument = given[0] if given else "service"
            msg = f"{argument} for {display(service)} must be callable, got {origin!r}"
            raise RegistrationError(msg, argument=argument, value=origin)
        _check_buildable(service, origin, implementation)
        return Registration(service, scope, origin=origin)

    def _install(self, reg: Registration) -> dict[Any, Registration | None]:
        """Bind ``reg``; reset everything built from the old binding; return what it replaced."""
        with self._lock:
            key = reg.service
            replaced: dict[Any, Registration | None] = {key: self._regs.get(key)}
            self._regs[key] = reg
            if self._read:
                replaced.update(self._refresh_dependents(key, replaced))
            self._invalidate()
            return replaced

    def _refresh_dependents(self, key: Any, keep: dict[Any, Any]) -> dict[Any, Registration]:
        """Reset every binding (outside ``keep``) built from ``key``; return the old ones."""
        reset: dict[Any, Registration] = {}
        for other_key, other in list(self._regs.items()):
            if other_key not in keep and self._depends_on(other, key):
                reset[other_key] = other
                self._regs[other_key] = other.fresh()
        return reset

    def _depends_on(self, reg: Registration, key: Any) -> bool:
        """Whether ``reg`` was compiled or built from ``key`` (also as ``key | None``)."""
        todo, seen = [reg], set[int]()
        while todo:
            current = todo.pop()
            params = current._params  # noqa: SLF001 - only graphs already read hold stale state
            if params is None or id(current) in seen:
                continue
            seen.add(id(current))
            for param in params:
                if param.annotation == key or optional_inner(param.annotation) == key:
                    return True
                target, _ = lookup(self._regs, param.annotation)
                if target is not None:
                    todo.append(target)
        return False

    def _invalidate(self) -> None:
        self._generation += 1
        for plans in (self._plans, self._aplans, self._splans, self._saplans):
            plans.clear()

    @contextlib.contextmanager
    def override(
        self,
        service: type[T],
        implementation: Callable[..., T] | None = None,
        *,
        scope: LifecycleScope = LifecycleScope.TRANSIENT,
        factory: Callable[..., Any] | None = None,
        instance: T | None = None,
    ) -> Iterator[Self]:
        """Temporarily rebind ``service`` (for tests); the old binding returns on exit.

        >>> class Clock:
        ...     now = 1
        >>> class FakeClock(Clock):
        ...     now = 2
        >>> c = DIContainer().register(Clock)
        >>> with c.override(Clock, instance=FakeClock()):
        ...     c.resolve(Clock).now
        2
        >>> c.resolve(Clock).now
        1
        """
        replaced = self._install(self._make(service, implementation, scope, factory, instance))
        try:
            yield self
        finally:
            with self._lock:
                for key, old in replaced.items():
                    if old is None:
                        self._regs.pop(key, None)
                    else:
                        self._regs[key] = old
                # bindings first read during the block were built from the override
                self._refresh_dependents(service, replaced)
                self._invalidate()

    def is_registered(self, service: object) -> bool:
        """Whether ``service`` has a binding.

        >>> DIContainer().is_registered(int)
        False
        """
        try:
            return service in self._regs
        except TypeError:
            return False

    # -- resolution ---------------------------------------------------------------------

    def resolve(self, service: type[T]) -> T:
        """Return an instance of ``service``, building its dependencies.

        >>> class A: ...
        >>> isinstance(DIContainer().register(A).resolve(A), A)
        True
        """
        try:
            return self._plans[service]()  # type: ignore[no-any-return]
        except (KeyError, TypeError) as exc:
            if _raised_inside(exc):
                raise
        plan: Callable[[], T] = self._compile_plan(
            service, self._plans, scoped=False, is_async=False
        )
        return plan()

    async def aresolve(self, service: type[T]) -> T:
        """Return an instance of ``service``, awaiting async factories.

        >>> import asyncio
        >>> class A: ...
        >>> async def make_a() -> A:
        ...     return A()
        >>> c = DIContainer().register(A, factory=make_a)
        >>> isinstance(asyncio.run(c.aresolve(A)), A)
        True
        """
        try:
            plan: Callable[[], Awaitable[T]] = self._aplans[service]
        except (KeyError, TypeError):
            plan = self._compile_plan(service, self._aplans, scoped=False, is_async=True)
        return await plan()

    def _compile_plan(
        self, service: Any, cache: dict[Any, Any], *, scoped: bool, is_async: bool
    ) -> Callable[..., Any]:
        with self._lock:
            self._read = True
            generation = self._generation
            reg, _ = lookup(self._regs, service)
            if reg is None or reg.service != service:
                name = display(service)
                msg = f"{name} is not registered; register it with container.register({name}, ...)"
                raise MissingDependencyError(msg, service=name, path=[name])
            plan, cacheable = Emitter(self._regs, self, scoped=scoped, is_async=is_async).plan(reg)
            if cacheable and generation == self._generation:
                cache[service] = plan
            return plan

    def scope(self) -> Scope:
        """Open a scope: scoped services are shared inside it and cleaned up when it closes.

        >>> class Session: ...
        >>> c = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
        >>> with c.scope() as scope:
        ...     scope.resolve(Session) is scope.resolve(Session)
        True
        """
        return Scope(self, None)

    # -- inspection ---------------------------------------------------------------------

    def validate(self) -> None:
        """Check the whole graph now: missing dependencies, cycles and captive dependencies.

        Raises the first problem found (its ``context["problems"]`` lists all).

        >>> class Repo: ...
        >>> class Service:
        ...     def __init__(self, repo: Repo) -> None: ...
        >>> DIContainer().register(Service).validate()
        Traceback (most recent call last):
        ...
        pmp_di._errors.MissingDependencyError: Missing dependency Service.repo -> Repo: ...
        """
        with self._lock:
            self._read = True
            validate_graph(self._regs)

    def explain(self, service: object) -> str:
        """A readable tree of how ``service`` would be built, with lifetimes and factories.

        >>> class A: ...
        >>> class B:
        ...     def __init__(self, a: A) -> None: ...
        >>> print(DIContainer().register(A).register(B).explain(B))
        B  (transient <- B())
        └─ a: A  (transient <- A())
        """
        with self._lock:
            self._read = True
            return explain_tree(self._regs, service)

    # -- cleanup ------------------------------------------------------------------------

    def close(self) -> None:
        """Run the finalizers of singletons and root-level transients, newest first.

        Built singletons are dropped, so a later resolve builds them again. Scopes
        still open keep their instances and run their own finalizers when they close.
        """
        self._reset()
        _close_sync(self._exits, None, "container")

    async def aclose(self) -> None:
        """Like :meth:`close`, also awaiting async finalizers."""
        self._reset()
        await _close_async(self._exits, None, "container")

    def _reset(self) -> None:
        with self._lock:
            for key, reg in list(self._regs.items()):
                if reg.lifetime is LifecycleScope.SINGLETON:
                    self._regs[key] = reg.fresh()
                else:  # keep the state open scopes cache their instances under
                    reg.state.builder = reg.state.abuilder = None
            self._invalidate()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _ClosedCache(dict[Any, Any]):
    """Stands in for a closed scope's cache: a nested scope reaching it gets a clear error."""

    __slots__ = ()

    def get(self, _key: object, _default: object = None, /) -> Any:
        """Refuse: the scope is closed."""
        raise ScopeError(_CLOSED_PARENT)

    def __setitem__(self, _key: object, _value: object, /) -> None:
        raise ScopeError(_CLOSED_PARENT)


_CLOSED_PARENT = (
    "a scope this one is nested in (or this scope) was closed while it was in use; "
    "close nested scopes before their parent"
)

_CLOSED_CACHE = _ClosedCache()


class Scope:
    """A unit of work (a request, a job): scoped services live as long as it does.

    Open one with ``container.scope()``; nested scopes (``scope.scope()``) see
    the instances of their parents and add their own. Close nested scopes before
    their parent: one whose parent closed raises ``ScopeError`` when it needs the
    parent's instances.
    """

    __slots__ = (
        "_aplans",
        "_building",
        "_cache",
        "_closed",
        "_container",
        "_exits",
        "_lock",
        "_parent",
        "_pending",
        "_plans",
    )

    def __init__(self, container: DIContainer, parent: Scope | None) -> None:
        self._container = container
        self._parent = parent
        self._plans = container._splans  # noqa: SLF001 - shared, cleared on registration
        self._aplans = container._saplans  # noqa: SLF001
        self._cache: dict[Any, Any] = {}
        self._pending: dict[Any, Any] = {}
        self._building: set[Any] | None = None
        self._exits: _Exits = []
        self._lock = threading.RLock()
        self._closed = False

    @property
    def parent(self) -> Scope | None:
        """The scope this one was opened from (``None`` for a top-level scope)."""
        return self._parent

    @property
    def closed(self) -> bool:
        """Whether the scope has been closed."""
        return self._closed

    def resolve(self, service: type[T]) -> T:
        """Return an instance of ``service`` for this scope."""
        try:
            return self._plans[service](self)  # type: ignore[no-any-return]
        except (KeyError, TypeError) as exc:
            if _raised_inside(exc):
                raise
        plan: Callable[[Scope], T] = self._compile(service, is_async=False)
        return plan(self)

    async def aresolve(self, service: type[T]) -> T:
        """Return an instance of ``service`` for this scope, awaiting async factories."""
        try:
            plan: Callable[[Scope], Awaitable[T]] = self._aplans[service]
        except (KeyError, TypeError):
            plan = self._compile(service, is_async=True)
        return await plan(self)

    def _compile(self, service: Any, *, is_async: bool) -> Callable[[Scope], Any]:
        self._check_open()
        container = self._container
        cache = container._saplans if is_async else container._splans  # noqa: SLF001
        return container._compile_plan(service, cache, scoped=True, is_async=is_async)  # noqa: SLF001

    def _check_open(self) -> None:
        scope: Scope | None = self
        while scope is not None:
            if scope.closed:
                msg = "this scope is closed; open a new one with container.scope()"
                raise ScopeError(msg)
            scope = scope.parent

    def scope(self) -> Scope:
        """Open a nested scope that sees this scope's instances."""
        self._check_open()
        return Scope(self._container, self)

    def _shut(self) -> None:
        self._closed = True
        self._plans = {}
        self._aplans = {}
        self._cache = _CLOSED_CACHE

    def close(self, exc: BaseException | None = None) -> None:
        """Run this scope's finalizers, newest first; the scope cannot be used again."""
        if not self._closed:
            self._shut()
            _close_sync(self._exits, exc, "scope")

    async def aclose(self, exc: BaseException | None = None) -> None:
        """Like :meth:`close`, also awaiting async finalizers."""
        if not self._closed:
            self._shut()
            await _close_async(self._exits, exc, "scope")

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(exc)

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose(exc)
