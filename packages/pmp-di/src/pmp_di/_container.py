"""``DIContainer``: register, resolve, override, validate, explain and close."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_di._binding import make_registration
from pmp_di._graph import explain_tree, validate_graph
from pmp_di._lifecycle import LifecycleScope
from pmp_di._needs import key_of
from pmp_di._registry import Registry
from pmp_di._scope import Scope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator, Mapping

    from typing_extensions import Self

    from pmp_di._registration import Registration

__all__ = ["DIContainer"]

T = TypeVar("T")


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

    __slots__ = ("__weakref__", "_aplans", "_bases", "_layers", "_plans", "_registry")

    def __init__(self) -> None:
        self._registry = registry = Registry()
        self._plans = registry.plans
        self._aplans = registry.aplans
        self._layers: dict[Any, list[tuple[object, Registration]]] = {}
        self._bases: dict[Any, dict[Any, Registration | None]] = {}

    # -- registration -------------------------------------------------------------------

    def register(
        self,
        service: type[T],
        implementation: Callable[..., T] | None = None,
        *,
        scope: LifecycleScope = LifecycleScope.TRANSIENT,
        factory: Callable[..., Any] | None = None,
        instance: T | None = None,
        name: str | None = None,
        from_context: bool = False,
    ) -> Self:
        """Bind ``service`` to how it is built; returns the container for chaining.

        ``implementation`` is a class to build for an interface, ``factory`` a
        callable (plain, generator, context manager, async or async generator)
        whose parameters are autowired, ``instance`` a ready object, and
        ``from_context=True`` declares a value each scope is given
        (``container.scope(context={Request: request})``). ``name`` tells apart
        several bindings of one type (``Annotated[T, Named(name)]`` parameters get
        it; ``list[T]`` parameters get all of them). Registering a key again
        replaces the old binding and everything built from it.

        >>> class Config: ...
        >>> c = DIContainer().register(Config, scope=LifecycleScope.SINGLETON)
        >>> c.resolve(Config) is c.resolve(Config)
        True
        """
        self._registry.install(
            make_registration(
                service,
                implementation,
                scope,
                factory,
                instance,
                name=name,
                from_context=from_context,
            )
        )
        return self

    @contextlib.contextmanager
    def override(
        self,
        service: type[T],
        implementation: Callable[..., T] | None = None,
        *,
        scope: LifecycleScope = LifecycleScope.TRANSIENT,
        factory: Callable[..., Any] | None = None,
        instance: T | None = None,
        name: str | None = None,
    ) -> Generator[Self, None, None]:
        """Temporarily rebind ``service`` (for tests); the old binding returns on exit.

        Overrides of one service nest in any exit order: the newest one still
        open is in force, and the original returns when the last one exits.

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
        reg = make_registration(service, implementation, scope, factory, instance, name=name)
        key, layer = reg.service, object()
        registry = self._registry
        with registry.lock:
            below = registry.regs.get(key)
            if below is not None:  # scopes keep taking the values of an overridden context
                reg.context_of = below if below.from_context else below.context_of
            layers = self._layers.setdefault(key, [])
            replaced = registry.install(reg)
            if not layers:
                self._bases[key] = replaced
            layers.append((layer, reg))
        try:
            yield self
        finally:
            with registry.lock:
                index = next(i for i, (mark, _) in enumerate(layers) if mark is layer)
                del layers[index]
                if not layers:
                    del self._layers[key]
                    registry.restore(key, self._bases.pop(key))
                elif index == len(layers):  # the newest exited: the one below is in force
                    registry.install(layers[-1][1])

    def is_registered(self, service: object, name: str | None = None) -> bool:
        """Whether ``service`` (under ``name``) has a binding.

        >>> DIContainer().is_registered(int)
        False
        """
        try:
            return key_of(service, name) in self._registry.regs
        except TypeError:
            return False

    # -- resolution ---------------------------------------------------------------------

    def resolve(self, service: type[T], name: str | None = None) -> T:
        """Return an instance of ``service`` (the binding called ``name``, if given).

        Inside a current scope (see :class:`Scope`), scoped services and
        factories with cleanup come from that scope.

        >>> class A: ...
        >>> isinstance(DIContainer().register(A).resolve(A), A)
        True
        """
        try:
            if name is None:  # tested inside the try: the unnamed path stays one lookup
                return self._plans[service]()  # type: ignore[no-any-return]
            return self._plans[key_of(service, name)]()  # type: ignore[no-any-return]
        except (KeyError, TypeError) as exc:  # not compiled yet, or an unhashable key
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is not None:
                raise  # raised inside the plan
        key = service if name is None else key_of(service, name)
        plan: Callable[[], T] = self._registry.compile(key, scoped=False, is_async=False)
        return plan()

    async def aresolve(self, service: type[T], name: str | None = None) -> T:
        """Return an instance of ``service``, awaiting async factories.

        >>> import asyncio
        >>> class A: ...
        >>> async def make_a() -> A:
        ...     return A()
        >>> c = DIContainer().register(A, factory=make_a)
        >>> isinstance(asyncio.run(c.aresolve(A)), A)
        True
        """
        key = service if name is None else key_of(service, name)
        try:
            plan: Callable[[], Awaitable[T]] = self._aplans[key]
        except (KeyError, TypeError):
            plan = self._registry.compile(key, scoped=False, is_async=True)
        return await plan()

    def scope(self, *, context: Mapping[Any, Any] | None = None) -> Scope:
        """Open a scope: scoped services are shared inside it and cleaned up when it closes.

        ``context`` supplies values from outside (the request, the current user),
        resolvable like services in the scope.

        >>> class Session: ...
        >>> c = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
        >>> with c.scope() as scope:
        ...     scope.resolve(Session) is scope.resolve(Session)
        True
        """
        return Scope(self._registry, None, context)

    def needs_scope(self, service: object, *, is_async: bool = False) -> bool:
        """Whether ``service`` can only be resolved inside a scope.

        True when its graph holds a scoped service (or a value from a scope's
        context) or a transient whose factory has cleanup; ``resolve`` outside
        any scope refuses those. Raises what ``resolve`` would for a graph that
        cannot be built at all.

        >>> class Session: ...
        >>> c = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
        >>> c.needs_scope(Session)
        True
        """
        return self._registry.needs_scope(service, is_async=is_async)

    def current_scope(self) -> Scope | None:
        """The scope made current for the running thread or task, if any (never a closed one).

        >>> c = DIContainer()
        >>> with c.scope() as scope:
        ...     c.current_scope() is scope
        True
        >>> c.current_scope() is None
        True
        """
        scope = self._registry.current.get()
        # a scope closed from another context stays set here, but it is over
        return None if scope is None or scope.closed else scope

    # -- inspection ---------------------------------------------------------------------

    def validate(self) -> None:
        """Check the whole graph now: missing dependencies, cycles and captive dependencies.

        Raises the first problem found (its ``context["problems"]`` lists all).
        A singleton may depend on singletons, instances and transients (each
        transient is then built once, for it); a singleton depending on a scoped
        service is a captive dependency, refused here and by ``resolve``.

        >>> class Repo: ...
        >>> class Service:
        ...     def __init__(self, repo: Repo) -> None: ...
        >>> DIContainer().register(Service).validate()
        Traceback (most recent call last):
        ...
        pmp_di._errors.MissingDependencyError: Missing dependency Service.repo -> Repo: ...
        """
        registry = self._registry
        with registry.lock:
            registry.read = True
            validate_graph(registry.regs)

    def explain(self, service: object, name: str | None = None) -> str:
        """A readable tree of how ``service`` would be built, with lifetimes and factories.

        >>> class A: ...
        >>> class B:
        ...     def __init__(self, a: A) -> None: ...
        >>> print(DIContainer().register(A).register(B).explain(B))
        B  (transient <- B())
        └─ a: A  (transient <- A())
        """
        registry = self._registry
        with registry.lock:
            registry.read = True
            return explain_tree(registry.regs, key_of(service, name))

    # -- cleanup ------------------------------------------------------------------------

    def close(self) -> None:
        """Run the finalizers of singletons, newest first, and drop built singletons.

        A later resolve builds them again. Scopes still open keep their instances
        and run their own finalizers when they close. With async finalizers
        pending this raises ``ScopeError`` and closes nothing: use :meth:`aclose`.
        """
        registry = self._registry
        registry.finalizers.check_sync()
        registry.forget_built()
        registry.finalizers.close()

    async def aclose(self) -> None:
        """Like :meth:`close`, also awaiting async finalizers."""
        registry = self._registry
        registry.forget_built()
        await registry.finalizers.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
