"""Turning a service's graph into one generated function (its "plan").

A plan for ``D`` in the graph ``D(c: C, b: B)``, ``C(a: A, b: B)``, ``B(a: A)``,
``A()`` with everything transient is literally::

    def _plan():
        return _k0(_k1(_k2(), _k3(_k2())), _k3(_k2()))

Built singletons and instances are bound as constants, singletons not built yet
are reached through a getter that builds them once under a lock, scoped services
through a getter that consults the scope's cache.

A deep graph is cut every ``_INLINE_DEPTH`` levels: the subtree below the cut
becomes its own generated function, emitted after the current one returns, so
neither the emitter's recursion nor the generated expression's nesting grows with
the depth of the graph.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from pmp_di._errors import AsyncDependencyError, CaptiveDependencyError, ScopeError
from pmp_di._graph import cycle_error, missing_error
from pmp_di._lifecycle import LifecycleScope
from pmp_di._needs import Need, lazy_resolver, need_of
from pmp_di._registration import UNSET, Kind, Registration, display
from pmp_di._singletons import async_singleton_getter, singleton_getter

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_di._registration import State
    from pmp_di._registry import Registry

__all__ = ["Emitter", "needs_async"]

_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_INLINE_DEPTH = 24  # levels per generated function: ~5 frames and <= 3 brackets per level


def needs_async(regs: dict[Any, Registration], reg: Registration) -> bool:
    """Whether building ``reg`` now would await something."""
    todo, seen = [reg], set[int]()
    while todo:
        current = todo.pop()
        if id(current) in seen or current.kind is Kind.INSTANCE:
            continue
        if current.lifetime is LifecycleScope.SINGLETON and current.state.value is not UNSET:
            continue
        if current.kind.is_async:
            return True
        seen.add(id(current))
        for param in current.params([display(current.service)]):
            need, targets, _ = need_of(regs, param.annotation)
            if need is Need.ONE or need is Need.MANY:
                todo.extend(targets)
    return False


class _Job:
    """What one top-level compile shares.

    The subtrees cut to emit later, the builders set, and whether every singleton
    it reached was built already (then the plan may be cached).
    """

    __slots__ = ("built", "cuts", "deferred", "folded")

    def __init__(self) -> None:
        self.deferred: list[tuple[Emitter, Registration, str]] = []  # resumed emitter
        self.built: list[State] = []
        self.cuts = 0
        self.folded = True


class Emitter:
    """Generates the source of one plan (or one builder) and compiles it."""

    def __init__(
        self,
        registry: Registry,
        *,
        scoped: bool,
        is_async: bool,
        parent: Emitter | None = None,
        captor: str | None = None,
    ) -> None:
        self.registry = registry
        self.regs = registry.regs
        self.scoped = scoped
        self.is_async = is_async
        self.captor = captor
        self.names: list[str] = parent.names if parent else []
        self.stack: list[Any] = parent.stack if parent else []
        self.base: int = parent.base if parent else 0
        self.job: _Job = parent.job if parent else _Job()
        self.namespace: dict[str, Any] = {}
        self._bound: dict[int, str] = {}

    def _resume(self) -> Emitter:
        """A copy that continues this emitter's walk from here, with the path so far."""
        clone = object.__new__(Emitter)
        clone.__dict__.update(self.__dict__)
        clone.names, clone.stack = list(self.names), list(self.stack)
        clone.base = len(clone.stack)
        return clone

    def const(self, obj: object) -> str:
        """Bind ``obj`` into the generated function's globals and return its name."""
        name = self._bound.get(id(obj))
        if name is None:
            name = self._bound[id(obj)] = f"_k{len(self._bound)}"
            self.namespace[name] = obj
        return name

    def plan(self, reg: Registration) -> tuple[Callable[..., Any], bool]:
        """The plan resolving ``reg``, and whether it may be cached."""
        job = self.job
        try:
            expr = self.node(reg)
            while job.deferred:  # the subtrees cut from deep graphs, each from its own path
                resumed, target, name = job.deferred.pop()
                resumed.emit_function(resumed.node(target), display(target.service), name)
        except BaseException:
            for state in job.built:  # builders may name subtrees that were never emitted
                state.builder = state.abuilder = None
            raise
        return self.emit_function(expr, display(reg.service)), job.folded

    def emit_function(self, expr: str, label: str, name: str = "_plan") -> Callable[..., Any]:
        """Compile ``expr`` into the function ``name`` (taking ``scope`` if scoped)."""
        head = "async def" if self.is_async else "def"
        source = f"{head} {name}({'scope' if self.scoped else ''}):\n    return {expr}\n"
        exec(compile(source, f"<pmp_di plan for {label}>", "exec"), self.namespace)  # noqa: S102 - source is generated from registered objects bound as globals, never from text
        plan: Callable[..., Any] = self.namespace[name]
        return plan

    def node(self, reg: Registration) -> str:
        """An expression producing ``reg``'s value (cycle-checked)."""
        if len(self.stack) - self.base >= _INLINE_DEPTH:
            return self._cut(reg)
        if reg.service in self.stack:
            raise cycle_error(self.names, self.stack.index(reg.service), display(reg.service))
        self.stack.append(reg.service)
        self.names.append(display(reg.service))
        try:
            return self._node(reg)
        finally:
            self.stack.pop()
            self.names.pop()

    def _cut(self, reg: Registration) -> str:
        """A call to a function, emitted later, that produces ``reg``'s value."""
        self.job.cuts += 1
        name = f"_cut{self.job.cuts}"
        self.namespace[name] = None  # reserves the name; replaced by the emitted function
        self.job.deferred.append((self._resume(), reg, name))
        call = f"{name}({'scope' if self.scoped else ''})"
        return f"(await {call})" if self.is_async else call

    def _node(self, reg: Registration) -> str:
        if reg.kind is Kind.INSTANCE:
            return self.const(reg.state.value)
        if reg.lifetime is LifecycleScope.SINGLETON:
            return self._singleton(reg)
        if reg.lifetime is LifecycleScope.SCOPED:
            return self._scoped(reg)
        return self.construct(reg)

    def _singleton(self, reg: Registration) -> str:
        state = reg.state
        if state.value is not UNSET:
            return self.const(state.value)
        self.job.folded = False
        name = display(reg.service)
        if self.is_async and needs_async(self.regs, reg):
            if state.abuilder is None:
                sub = Emitter(self.registry, scoped=False, is_async=True, parent=self)
                sub.captor = name
                state.abuilder = async_singleton_getter(
                    state, sub.emit_function(sub.construct(reg), name), name
                )
                self.job.built.append(state)
            return f"(await {self.const(state.abuilder)}())"
        if state.builder is None:
            sub = Emitter(self.registry, scoped=False, is_async=False, parent=self)
            sub.captor = name
            state.builder = singleton_getter(
                state, sub.emit_function(sub.construct(reg), name), name
            )
            self.job.built.append(state)
        return f"{self.const(state.builder)}()"

    def _scoped(self, reg: Registration) -> str:
        name = display(reg.service)
        chain = " -> ".join(self.names)
        if self.captor is not None:
            msg = (
                f"Captive dependency {chain}: singleton {self.captor} cannot depend on scoped "
                f"{name}; make {name} a singleton or {self.captor} scoped"
            )
            raise CaptiveDependencyError(msg, path=list(self.names))
        if not self.scoped:
            msg = (
                f"{name} is scoped and can only be resolved inside a scope ({chain}); use "
                f"`with container.scope() as scope: scope.resolve({self.names[0]})`"
            )
            raise ScopeError(msg, path=list(self.names), service=name, needs_scope=True)
        state = reg.state
        if self.is_async and needs_async(self.regs, reg):
            if state.abuilder is None:
                sub = Emitter(self.registry, scoped=True, is_async=True, parent=self)
                state.abuilder = sub.emit_function(sub.construct(reg), name)
                self.job.built.append(state)
            args = f"{self.const(state)}, {self.const(state.abuilder)}, {self.const(name)}"
            return f"(await scope.aprovide({args}))"
        plain = reg.kind is Kind.CALL and not reg.params(self.names)  # built by provider()
        if state.builder is None:
            if plain:
                state.builder = reg.provider
            else:
                sub = Emitter(self.registry, scoped=True, is_async=False, parent=self)
                state.builder = sub.emit_function(sub.construct(reg), name)
            self.job.built.append(state)
        args = f"{self.const(state)}, {self.const(state.builder)}, {self.const(name)}"
        return f"scope.provide({args}, False)" if plain else f"scope.provide({args})"

    def construct(self, reg: Registration) -> str:
        """An expression calling ``reg``'s provider with its dependencies."""
        call = f"{self.const(reg.provider)}({self._arguments(reg)})"
        kind = reg.kind
        if kind is Kind.CALL:
            return call
        if kind.is_async and not self.is_async:
            chain = " -> ".join(self.names)
            msg = (
                f"{self.names[-1]} is built by the async factory {display(reg.origin)} "
                f"({chain}); use `await container.aresolve({self.names[0]})` (or "
                "`await scope.aresolve(...)`)"
            )
            raise AsyncDependencyError(msg, path=list(self.names), factory=display(reg.origin))
        if kind is Kind.ASYNC:
            return f"(await {call})"
        if self.scoped:
            enter = "scope.enter_context" if kind is Kind.CONTEXT else "scope.enter_async_context"
        elif self.captor is None:  # nothing would own its cleanup but the container: a leak
            chain = " -> ".join(self.names)
            msg = (
                f"{self.names[-1]} is built by {display(reg.origin)}, whose cleanup needs an "
                f"owner ({chain}); resolve it inside a scope: `with container.scope() as "
                f"scope: scope.resolve({self.names[0]})`, or make it a singleton"
            )
            raise ScopeError(msg, path=list(self.names), service=self.names[-1], needs_scope=True)
        else:  # part of a singleton: cleaned up with it, when the container closes
            finalizers = self.registry.finalizers
            enter = self.const(finalizers.enter if kind is Kind.CONTEXT else finalizers.aenter)
        if kind is Kind.CONTEXT:
            return f"{enter}({call})"
        return f"(await {enter}({call}))"

    def _arguments(self, reg: Registration) -> str:
        parts: list[str] = []
        skipped = False
        for param in reg.params(self.names):
            need, targets, nullable = need_of(self.regs, param.annotation)
            if need is Need.NONE:
                if param.has_default:
                    if param.kind is not _POSITIONAL_ONLY:
                        skipped = True
                        continue
                    expr = self.const(param.default)
                elif nullable:
                    expr = "None"
                else:
                    raise missing_error(self.names, reg, param, self.regs)
            else:
                expr = self._need(need, targets)
            if param.kind is _KEYWORD_ONLY or (skipped and param.kind is not _POSITIONAL_ONLY):
                parts.append(f"{param.name}={expr}")
            else:
                parts.append(expr)
        return ", ".join(parts)

    def _need(self, need: Need, targets: tuple[Registration, ...]) -> str:
        """The expression for a dependency on one, every or a lazily built service."""
        if need is Need.ONE:
            return self.node(targets[0])
        if need is Need.MANY:
            return "[" + ", ".join(self.node(target) for target in targets) + "]"
        key = targets[0].service
        is_async = need is Need.ALAZY
        if self.scoped:
            resolve = "scope.aresolve" if is_async else "scope.resolve"
            return f"{self.const(lazy_resolver)}({resolve}, {self.const(key)})"
        registry = self.registry
        return self.const(lazy_resolver(registry.aresolve if is_async else registry.resolve, key))
