"""The registrations of one container, their compiled plans and the current scope."""

from __future__ import annotations

import contextvars
import threading
from typing import TYPE_CHECKING, Any

from pmp_di._compiler import Emitter
from pmp_di._errors import (
    DependencyInjectionError,
    MissingDependencyError,
    RegistrationError,
    ScopeError,
)
from pmp_di._finalizers import Finalizers
from pmp_di._instrument import report
from pmp_di._lifecycle import LifecycleScope
from pmp_di._needs import Need, base_of, how_to_register, mentions, need_of
from pmp_di._registration import Registration, display, is_instance_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from pmp_di._scope import Scope

__all__ = ["Registry"]


class Registry:
    """Bindings by key, the plans compiled from them, and the container's finalizers.

    Plans are cached per key; any change of binding clears them. ``current`` holds
    the scope made current for the running thread or task.
    """

    __slots__ = (
        "aplans",
        "current",
        "finalizers",
        "generation",
        "lock",
        "plans",
        "read",
        "regs",
        "scope_bound",
        "scoped_aplans",
        "scoped_plans",
    )

    def __init__(self) -> None:
        self.regs: dict[Any, Registration] = {}
        self.plans: dict[Any, Callable[[], Any]] = {}
        self.aplans: dict[Any, Callable[[], Awaitable[Any]]] = {}
        self.scoped_plans: dict[Any, Callable[[Scope], Any]] = {}
        self.scoped_aplans: dict[Any, Callable[[Scope], Awaitable[Any]]] = {}
        self.scope_bound: set[tuple[Any, bool]] = set()  # (key, is_async) needing a scope
        self.finalizers = Finalizers("container")
        self.lock = threading.RLock()
        self.generation = 0
        self.read = False  # whether any graph was walked (only then can a binding be stale)
        self.current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
            "pmp_di.current_scope", default=None
        )

    def install(self, reg: Registration) -> dict[Any, Registration | None]:
        """Bind ``reg``; reset everything built from the old binding; return what it replaced."""
        with self.lock:
            key = reg.service
            replaced: dict[Any, Registration | None] = {key: self.regs.get(key)}
            self.regs[key] = reg
            if self.read:
                replaced.update(self.refresh_dependents(key, replaced))
            self.invalidate()
            return replaced

    def restore(self, key: Any, saved: dict[Any, Registration | None]) -> None:
        """Put ``saved`` bindings back; reset what was built from ``key`` meanwhile."""
        with self.lock:
            for other, old in saved.items():
                if old is None:
                    self.regs.pop(other, None)
                else:
                    self.regs[other] = old
            self.refresh_dependents(key, saved)
            self.invalidate()

    def refresh_dependents(self, key: Any, keep: Mapping[Any, Any]) -> dict[Any, Registration]:
        """Reset every binding (outside ``keep``) built from ``key``; return the old ones."""
        reset: dict[Any, Registration] = {}
        for other_key, other in list(self.regs.items()):
            if other_key not in keep and self._depends_on(other, key):
                reset[other_key] = other
                self.regs[other_key] = other.fresh()
        return reset

    def _depends_on(self, reg: Registration, key: Any) -> bool:
        """Whether ``reg`` was compiled or built from ``key``."""
        todo, seen = [reg], set[int]()
        while todo:
            current = todo.pop()
            params = current.read
            if params is None or id(current) in seen:
                continue
            seen.add(id(current))
            for param in params:
                if mentions(param.annotation, key):
                    return True
                todo.extend(need_of(self.regs, param.annotation)[1])
        return False

    def invalidate(self) -> None:
        """Forget every compiled plan (bindings changed)."""
        self.generation += 1
        for plans in (self.plans, self.aplans, self.scoped_plans, self.scoped_aplans):
            plans.clear()
        self.scope_bound.clear()

    def compile(self, service: Any, *, scoped: bool, is_async: bool) -> Callable[..., Any]:
        """The plan resolving ``service``, cached when nothing in it can change.

        A container error raised here is reported to the installed instruments first.
        """
        try:
            return self._compile(service, scoped=scoped, is_async=is_async)
        except DependencyInjectionError as exc:
            report(service, exc)
            raise

    def _compile(self, service: Any, *, scoped: bool, is_async: bool) -> Callable[..., Any]:
        if scoped:
            cache: dict[Any, Any] = self.scoped_aplans if is_async else self.scoped_plans
        else:
            cache = self.aplans if is_async else self.plans
        with self.lock:
            self.read = True
            generation = self.generation
            try:
                reg = self.regs.get(service)
            except TypeError:
                reg = None
            if reg is None:
                reg = self._gathering(service)
            try:
                plan, cacheable = Emitter(self, scoped=scoped, is_async=is_async).plan(reg)
            except ScopeError as exc:
                if scoped or type(exc) is not ScopeError or not exc.context.get("needs_scope"):
                    raise
                plan, cacheable = self._in_current_scope(service, exc, is_async=is_async), True
                self.scope_bound.add((service, is_async))
            if cacheable and generation == self.generation:
                cache[service] = plan
            return plan

    def _gathering(self, service: Any) -> Registration:
        """A binding for a collection, a provider or an optional, else an error.

        ``X | None`` is built as a parameter so annotated would be: an X, or ``None``.
        """
        need, _, nullable = need_of(self.regs, service)
        if not nullable and (need is Need.NONE or need is Need.ONE):
            name = display(service)
            msg = f"{name} is not registered; register it with {how_to_register(service)}"
            raise MissingDependencyError(msg, service=name, path=[name])

        def gather(gathered: Any) -> Any:
            return gathered

        gather.__annotations__ = {"gathered": service}
        gather.__qualname__ = f"<{'optional' if nullable else need.value} {display(service)}>"
        return Registration(service, LifecycleScope.TRANSIENT, origin=gather)

    def _in_current_scope(
        self, service: Any, refused: ScopeError, *, is_async: bool
    ) -> Callable[..., Any]:
        """A plan resolving ``service`` in the current scope (it needs one)."""
        current = self.current
        message, context = refused.message, dict(refused.context)

        def outside() -> ScopeError:
            error = ScopeError(message, **context)
            report(service, error)
            return error

        if is_async:

            async def aplan() -> Any:
                scope = current.get()
                if scope is None or scope.closed:  # closed from another context
                    raise outside()
                return await scope.aresolve(service)

            return aplan

        def plan() -> Any:
            scope = current.get()
            if scope is None or scope.closed:
                raise outside()
            return scope.resolve(service)

        return plan

    def needs_scope(self, service: Any, *, is_async: bool) -> bool:
        """Whether resolving ``service`` outside a scope is refused (compiling it if need be)."""
        plans = self.aplans if is_async else self.plans
        if service not in plans:
            self.compile(service, scoped=False, is_async=is_async)
        return bool(self.scope_bound) and (service, is_async) in self.scope_bound

    def resolve(self, service: Any) -> Any:
        """Resolve ``service`` outside any given scope (the current one if it needs one)."""
        try:
            plan = self.plans[service]
        except KeyError:
            plan = self.compile(service, scoped=False, is_async=False)
        return plan()

    async def aresolve(self, service: Any) -> Any:
        """Like :meth:`resolve`, awaiting async factories."""
        try:
            plan = self.aplans[service]
        except KeyError:
            plan = self.compile(service, scoped=False, is_async=True)
        return await plan()

    def forget_built(self) -> None:
        """Drop built singletons and compiled builders (the container is closing)."""
        with self.lock:
            for key, reg in list(self.regs.items()):
                if reg.lifetime is LifecycleScope.SINGLETON:
                    self.regs[key] = reg.fresh()
                else:  # keep the state open scopes cache their instances under
                    reg.state.builder = reg.state.abuilder = None
            self.invalidate()

    def context_cache(self, context: Mapping[Any, Any]) -> dict[Any, Any]:
        """A new scope's cache holding the values supplied from outside."""
        cache: dict[Any, Any] = {}
        if not callable(getattr(context, "items", None)):
            msg = (
                "context must be a mapping of types to values, e.g. {Request: request}, "
                f"got {context!r}"
            )
            raise RegistrationError(msg, argument="context", value=repr(context))
        for key, value in context.items():
            try:
                reg = self.regs.get(key)
            except TypeError:
                msg = f"context keys must be types, e.g. context={{Request: request}}, got {key!r}"
                raise RegistrationError(msg, argument="context", value=repr(key)) from None
            if reg is None:  # declaring it here would rebind every parameter of that type
                name = display(key)
                msg = (
                    f"{name} is not declared as a value supplied per scope; declare it once, "
                    f"before opening scopes: container.register({name}, from_context=True)"
                )
                raise RegistrationError(msg, argument="context", value=name)
            declared = reg if reg.from_context else reg.context_of  # (overridden for now)
            if declared is None:
                name = display(key)
                msg = (
                    f"{name} is registered as a service, so it cannot be supplied per scope; "
                    f"register it with container.register({name}, from_context=True)"
                )
                raise RegistrationError(msg, argument="context", value=name)
            if not is_instance_of(value, base_of(key)):
                name = display(key)
                msg = f"context value for {name} must be a {name}, got {value!r}"
                raise RegistrationError(msg, argument="context", value=value)
            cache[declared.state] = value
        return cache
