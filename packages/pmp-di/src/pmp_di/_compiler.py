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

import asyncio
import concurrent.futures
import inspect
from typing import TYPE_CHECKING, Any, Protocol

from pmp_di._errors import (
    AsyncDependencyError,
    CaptiveDependencyError,
    CircularDependencyError,
    ScopeError,
)
from pmp_di._graph import cycle_error, lookup, missing_error
from pmp_di._lifecycle import LifecycleScope
from pmp_di._registration import UNSET, Kind, Registration, State, display

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Emitter", "FinalizerOwner", "aenter", "enter", "needs_async"]

_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_INLINE_DEPTH = 24  # levels per generated function: ~5 frames and <= 3 brackets per level


class FinalizerOwner(Protocol):
    """Something that runs finalizers when it closes (a container or a scope)."""

    _exits: list[tuple[bool, Any]]


class ScopeLike(FinalizerOwner, Protocol):
    """What a scoped getter needs from a scope."""

    _cache: dict[State, Any]
    _parent: ScopeLike | None
    _pending: dict[State, tuple[asyncio.Future[Any], asyncio.Task[Any] | None]]
    _building: set[State] | None
    _lock: Any


def enter(owner: FinalizerOwner, manager: Any) -> Any:
    """Enter a context manager and leave its exit with ``owner``."""
    value = manager.__enter__()
    owner._exits.append((False, manager.__exit__))  # noqa: SLF001 - the owner's own list
    return value


async def aenter(owner: FinalizerOwner, manager: Any) -> Any:
    """Enter an async context manager and leave its exit with ``owner``."""
    value = await manager.__aenter__()
    owner._exits.append((True, manager.__aexit__))  # noqa: SLF001 - the owner's own list
    return value


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
            target, _ = lookup(regs, param.annotation)
            if target is not None:
                todo.append(target)
    return False


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
        future.exception()  # waiters re-raise it; nobody else needs to be told


def _reentered(name: str) -> CircularDependencyError:
    msg = (
        f"Circular dependency: {name} -> {name}: building {name} asked for {name} again "
        "(does its factory resolve its own service?)"
    )
    return CircularDependencyError(msg, path=[name, name], cycle=[name, name])


def _singleton_getter(state: State, builder: Callable[[], Any], name: str) -> Callable[[], Any]:
    def get() -> Any:
        value = state.value
        if value is UNSET:
            with state.lock:
                value = state.value
                if value is UNSET:
                    if state.building is not None:  # this thread, inside its own build
                        raise _reentered(name)
                    state.building = True
                    try:
                        value = builder()
                    finally:
                        state.building = None
                    state.value = value
        return value

    return get


def _async_singleton_getter(
    state: State, builder: Callable[[], Any], name: str
) -> Callable[[], Any]:
    async def aget() -> Any:
        while True:
            value = state.value
            if value is not UNSET:
                return value
            task = asyncio.current_task()
            with state.lock:  # one builder across tasks, threads and event loops
                value, pending = state.value, state.pending
                if value is not UNSET:
                    return value
                if pending is None:
                    pending = state.pending = concurrent.futures.Future()
                    state.building = task
                    break
                if state.building is task:  # awaiting its own build would never end
                    raise _reentered(name)
            await asyncio.wait((asyncio.wrap_future(pending),))
            if not pending.cancelled():  # a cancelled builder lets a waiter build instead
                return pending.result()
        try:
            value = await builder()
        except BaseException as exc:
            with state.lock:
                state.pending = state.building = None
            if isinstance(exc, asyncio.CancelledError):
                pending.cancel()
            else:
                pending.set_exception(exc)
            raise
        with state.lock:
            state.value, state.pending, state.building = value, None, None
        pending.set_result(value)
        return value

    return aget


def _scoped_getter(state: State, builder: Callable[[Any], Any], name: str) -> Callable[[Any], Any]:
    def get(scope: ScopeLike) -> Any:
        current: ScopeLike | None = scope
        while current is not None:
            value = current._cache.get(state, UNSET)  # noqa: SLF001 - the scope's cache
            if value is not UNSET:
                return value
            current = current._parent  # noqa: SLF001
        with scope._lock:  # noqa: SLF001
            value = scope._cache.get(state, UNSET)  # noqa: SLF001
            if value is UNSET:
                building = scope._building  # noqa: SLF001
                if building is None:
                    building = scope._building = set()  # noqa: SLF001
                if state in building:  # this thread, inside its own build
                    raise _reentered(name)
                building.add(state)
                try:
                    value = builder(scope)
                finally:
                    building.discard(state)
                scope._cache[state] = value  # noqa: SLF001
        return value

    return get


def _async_scoped_getter(
    state: State, builder: Callable[[Any], Any], name: str
) -> Callable[[Any], Any]:
    async def aget(scope: ScopeLike) -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        while True:
            current: ScopeLike | None = scope
            while current is not None:
                value = current._cache.get(state, UNSET)  # noqa: SLF001 - the scope's cache
                if value is not UNSET:
                    return value
                current = current._parent  # noqa: SLF001
            entry = scope._pending.get(state)  # noqa: SLF001
            if entry is None or entry[0].get_loop() is not loop:
                break
            pending, owner = entry
            if owner is task:  # awaiting its own build would never end
                raise _reentered(name)
            await asyncio.wait((pending,))
            if not pending.cancelled():
                return pending.result()
        future = loop.create_future()
        scope._pending[state] = (future, task)  # noqa: SLF001
        try:
            value = await builder(scope)
        except BaseException as exc:
            scope._pending.pop(state, None)  # noqa: SLF001
            _fail(future, exc)
            raise
        scope._cache[state] = value  # noqa: SLF001
        scope._pending.pop(state, None)  # noqa: SLF001
        future.set_result(value)
        return value

    return aget


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
        regs: dict[Any, Registration],
        owner: FinalizerOwner,
        *,
        scoped: bool,
        is_async: bool,
        parent: Emitter | None = None,
        captor: str | None = None,
    ) -> None:
        self.regs = regs
        self.owner = owner
        self.scoped = scoped
        self.is_async = is_async
        self.captor = captor
        self.names: list[str] = parent.names if parent else []
        self.stack: list[Any] = parent.stack if parent else []
        self.base: int = parent.base if parent else 0
        self.job: _Job = parent.job if parent else _Job()
        self.namespace: dict[str, Any] = {"_enter": enter, "_aenter": aenter}
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
                resumed._compile(resumed.node(target), display(target.service), name)  # noqa: SLF001 - an emitter of the same job
        except BaseException:
            for state in job.built:  # builders may name subtrees that were never emitted
                state.builder = state.abuilder = None
            raise
        return self._compile(expr, display(reg.service)), job.folded

    def _compile(self, expr: str, label: str, name: str = "_plan") -> Callable[..., Any]:
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
                sub = Emitter(self.regs, self.owner, scoped=False, is_async=True, parent=self)
                sub.captor = name
                state.abuilder = _async_singleton_getter(
                    state, sub._compile(sub.construct(reg), name), name
                )
                self.job.built.append(state)
            return f"(await {self.const(state.abuilder)}())"
        if state.builder is None:
            sub = Emitter(self.regs, self.owner, scoped=False, is_async=False, parent=self)
            sub.captor = name
            state.builder = _singleton_getter(state, sub._compile(sub.construct(reg), name), name)
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
            raise ScopeError(msg, path=list(self.names), service=name)
        state = reg.state
        if self.is_async and needs_async(self.regs, reg):
            if state.abuilder is None:
                sub = Emitter(self.regs, self.owner, scoped=True, is_async=True, parent=self)
                state.abuilder = _async_scoped_getter(
                    state, sub._compile(sub.construct(reg), name), name
                )
                self.job.built.append(state)
            return f"(await {self.const(state.abuilder)}(scope))"
        if state.builder is None:
            sub = Emitter(self.regs, self.owner, scoped=True, is_async=False, parent=self)
            state.builder = _scoped_getter(state, sub._compile(sub.construct(reg), name), name)
            self.job.built.append(state)
        return f"{self.const(state.builder)}(scope)"

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
        owner = "scope" if self.scoped else self.const(self.owner)
        if kind is Kind.CONTEXT:
            return f"_enter({owner}, {call})"
        if kind is Kind.ASYNC:
            return f"(await {call})"
        return f"(await _aenter({owner}, {call}))"

    def _arguments(self, reg: Registration) -> str:
        parts: list[str] = []
        skipped = False
        for param in reg.params(self.names):
            target, nullable = lookup(self.regs, param.annotation)
            if target is not None:
                expr = self.node(target)
            elif param.has_default:
                if param.kind is not _POSITIONAL_ONLY:
                    skipped = True
                    continue
                expr = self.const(param.default)
            elif nullable:
                expr = "None"
            else:
                raise missing_error(self.names, reg, param, self.regs)
            if param.kind is _KEYWORD_ONLY or (skipped and param.kind is not _POSITIONAL_ONLY):
                parts.append(f"{param.name}={expr}")
            else:
                parts.append(expr)
        return ", ".join(parts)
