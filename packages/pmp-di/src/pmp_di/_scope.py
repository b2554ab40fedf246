"""``Scope``: a unit of work (a request, a job) and the getters of its scoped services."""

from __future__ import annotations

import asyncio
import threading
from threading import get_ident
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_di._errors import CircularDependencyError, ScopeError
from pmp_di._finalizers import Finalizers
from pmp_di._instrument import report
from pmp_di._needs import key_of
from pmp_di._registration import UNSET

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from contextlib import AbstractAsyncContextManager, AbstractContextManager
    from contextvars import Token
    from types import TracebackType

    from typing_extensions import Self

    from pmp_di._registry import Registry

__all__ = ["Scope", "reentered"]

T = TypeVar("T")

_CLOSED_PARENT = (
    "a scope this one is nested in (or this scope) was closed while it was in use; "
    "close nested scopes before their parent"
)


class _ClosedCache(dict[Any, Any]):
    """Stands in for a closed scope's cache: a nested scope reaching it gets a clear error."""

    __slots__ = ()

    def get(self, _key: object, _default: object = None, /) -> Any:
        """Refuse: the scope is closed."""
        raise ScopeError(_CLOSED_PARENT)

    def __setitem__(self, _key: object, _value: object, /) -> None:
        raise ScopeError(_CLOSED_PARENT)


_CLOSED_CACHE = _ClosedCache()
_CLAIMS = threading.Lock()  # held only to claim or finish a build, never while one runs
_NO_PLANS: dict[Any, Any] = {}  # a closed scope's plans: every lookup misses, then refuses


def reentered(name: str) -> CircularDependencyError:
    """The error for a build that asked for its own service again."""
    msg = (
        f"Circular dependency: {name} -> {name}: building {name} asked for {name} again "
        "(does its factory resolve its own service?)"
    )
    return CircularDependencyError(msg, path=[name, name], cycle=[name, name])


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
        future.exception()  # waiters re-raise it; nobody else needs to be told


class Scope:
    """A unit of work (a request, a job): scoped services live as long as it does.

    Open one with ``container.scope()`` (optionally with ``context={Request: request}``:
    values from outside, resolvable like services). Entering it (``with`` /
    ``async with``, or :meth:`activate`) makes it the current scope of the running
    thread or task, so ``container.resolve`` and injected functions use it; exiting
    runs its finalizers (newest first) and restores the previous current scope.
    Nested scopes (``scope.scope()``) see their parents' instances; close them first.

    >>> from pmp_di import DIContainer, LifecycleScope
    >>> class Request: ...
    >>> class Session: ...
    >>> c = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    >>> request = Request()
    >>> with c.scope(context={Request: request}) as scope:
    ...     scope.resolve(Request) is request, c.resolve(Session) is scope.resolve(Session)
    (True, True)
    """

    __slots__ = (
        "_aplans",
        "_building",
        "_cache",
        "_closed",
        "_current",
        "_finalizers",
        "_parent",
        "_pending",
        "_plans",
        "_registry",
        "_token",
        "_waiters",
    )

    def __init__(
        self,
        registry: Registry,
        parent: Scope | None = None,
        context: Mapping[Any, Any] | None = None,
    ) -> None:
        self._registry = registry
        self._current = registry.current
        self._parent = parent
        self._plans = registry.scoped_plans
        self._aplans = registry.scoped_aplans
        self._cache: dict[Any, Any] = registry.context_cache(context) if context else {}
        self._pending: dict[Any, Any] | None = None
        self._building: dict[Any, int] = {}  # key -> the thread building it
        self._waiters: dict[Any, threading.Event] | None = None  # threads waiting for a build
        self._finalizers: Finalizers | None = None  # made when the first one is entered
        self._closed = False
        self._token: Token[Scope | None] | None = None

    @property
    def parent(self) -> Scope | None:
        """The scope this one was opened from (``None`` for a top-level scope)."""
        return self._parent

    @property
    def closed(self) -> bool:
        """Whether the scope has been closed."""
        return self._closed

    def resolve(self, service: type[T], name: str | None = None) -> T:
        """Return an instance of ``service`` (the binding called ``name``) for this scope."""
        try:
            if name is None:  # tested inside the try: the unnamed path stays one lookup
                return self._plans[service](self)  # type: ignore[no-any-return]
            return self._plans[key_of(service, name)](self)  # type: ignore[no-any-return]
        except (KeyError, TypeError) as exc:
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is not None:
                raise
        key = service if name is None else key_of(service, name)
        plan: Callable[[Scope], T] = self._compile(key, is_async=False)
        return plan(self)

    async def aresolve(self, service: type[T], name: str | None = None) -> T:
        """Like :meth:`resolve`, awaiting async factories."""
        key = service if name is None else key_of(service, name)
        try:
            plan: Callable[[Scope], Awaitable[T]] = self._aplans[key]
        except (KeyError, TypeError):
            plan = self._compile(key, is_async=True)
        return await plan(self)

    def _compile(self, service: Any, *, is_async: bool) -> Callable[[Scope], Any]:
        try:
            self._check_open()
        except ScopeError as exc:
            report(service, exc)
            raise
        return self._registry.compile(service, scoped=True, is_async=is_async)

    def _check_open(self) -> None:
        scope: Scope | None = self
        while scope is not None:
            if scope.closed:
                msg = "this scope is closed; open a new one with container.scope()"
                raise ScopeError(msg)
            scope = scope.parent

    def scope(self, *, context: Mapping[Any, Any] | None = None) -> Scope:
        """Open a nested scope that sees this scope's instances (and adds ``context``)."""
        self._check_open()
        return Scope(self._registry, self, context)

    def enter_context(self, manager: AbstractContextManager[T]) -> T:
        """Enter a context manager now; its exit runs when this scope closes.

        >>> import contextlib
        >>> from pmp_di import DIContainer
        >>> with DIContainer().scope() as scope:
        ...     scope.enter_context(contextlib.nullcontext(5))
        5
        """
        finalizers = self._exits()
        value: T = finalizers.enter(manager)
        if self._closed:  # closed by another thread while this was built: exit it now
            finalizers.close()
            self._check_open()
        return value

    async def enter_async_context(self, manager: AbstractAsyncContextManager[T]) -> T:
        """Enter an async context manager now; its exit is awaited when this scope closes."""
        finalizers = self._exits()
        value: T = await finalizers.aenter(manager)
        if self._closed:  # closed (by the request's task) while this was built: exit it now
            await finalizers.aclose()
            self._check_open()
        return value

    def _exits(self) -> Finalizers:
        finalizers = self._finalizers
        if finalizers is None:
            with _CLAIMS:
                finalizers = self._finalizers
                if finalizers is None:
                    finalizers = self._finalizers = Finalizers("scope")
        return finalizers

    def activate(self) -> Self:
        """Make this the current scope of the running thread or task (until it closes).

        ``with`` and ``async with`` do this; call it directly when the scope is
        opened and closed in separate hooks (``before_request`` / ``teardown``).
        """
        if self._closed or self._parent is not None:
            self._check_open()
        if self._token is None:
            self._token = self._current.set(self)
        return self

    def _deactivate(self) -> None:
        """Stop being the current scope (if this scope was made current)."""
        token = self._token
        if token is not None:
            self._token = None
            try:
                self._current.reset(token)
            except ValueError:  # closed from another context: that one is left alone
                return

    def _finish(self) -> Finalizers | None:
        """Stop being current and refuse further use; return the finalizers to run."""
        self._deactivate()
        self._closed = True
        self._plans = self._aplans = _NO_PLANS
        self._cache = _CLOSED_CACHE
        return self._finalizers

    def close(self, exc: BaseException | None = None) -> None:
        """Run this scope's finalizers, newest first; the scope cannot be used again.

        ``exc`` (the exception that ended the unit of work, if any) is passed to the
        factories' context managers. With async finalizers pending this raises
        ``ScopeError`` and closes nothing: use :meth:`aclose`.
        """
        self.__exit__(None, exc, None)

    async def aclose(self, exc: BaseException | None = None) -> None:
        """Like :meth:`close`, also awaiting async finalizers.

        A second call while the first one's finalizers run waits for them to finish.
        """
        finalizers = self._finalizers if self._closed else self._finish()
        if finalizers is not None:
            await finalizers.aclose(exc)

    def __enter__(self) -> Self:
        if self._closed or self._parent is not None:
            self._check_open()
        if self._token is None:  # as activate(), inlined: entered once per request
            self._token = self._current.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # close()'s body lives here: a `with` block, the common request, is one call shorter
        if self._closed:
            return
        finalizers = self._finalizers
        if finalizers is None:  # nothing to run: the common request
            self._closed = True
            self._plans = self._aplans = _NO_PLANS
            self._cache = _CLOSED_CACHE
            self._deactivate()
            return
        self._deactivate()  # even when refused below: the unit of work is over
        finalizers.check_sync()
        self._finish()
        finalizers.close(exc)

    async def __aenter__(self) -> Self:
        return self.activate()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose(exc)

    # -- used by compiled plans -----------------------------------------------------------

    def cached(self, key: Any) -> Any:
        """The instance cached under ``key`` here or in a parent scope (else ``UNSET``)."""
        value = self._cache.get(key, UNSET)
        if value is UNSET and self._parent is not None:
            return self._parent.cached(key)
        return value

    def provide(
        self, key: Any, builder: Callable[..., Any], name: str, pass_scope: bool = True
    ) -> Any:
        """The scoped instance under ``key``, built by ``builder`` once per scope.

        ``builder`` is called with this scope, or with nothing if ``pass_scope`` is
        false. Compiled plans call this; it is not meant to be called directly.
        """
        value = self._cache.get(key, UNSET)
        if value is not UNSET:
            return value
        if self._parent is not None:
            value = self._parent.cached(key)
            if value is not UNSET:
                return value
        # claiming the build is one atomic dict.setdefault: no lock is taken unless two
        # threads want the same service of one scope at once (then one waits for the other)
        me = get_ident()
        claims = self._building
        while True:
            owner = claims.get(key)
            if owner is None:
                owner = claims.setdefault(key, me)  # atomic: the first thread to get here
                if owner == me:
                    break
            self._wait(key, owner, name)
            value = self._cache.get(key, UNSET)
            if value is not UNSET:
                return value
        value = self._cache.get(key, UNSET)  # built (and released) since we looked?
        if value is UNSET:
            try:
                value = builder(self) if pass_scope else builder()
                self._cache[key] = value
            finally:
                del claims[key]
                if self._waiters:
                    self._wake(key)
        else:
            del claims[key]
        return value

    def _wait(self, key: Any, owner: int, name: str) -> None:
        """Wait while another thread builds ``key`` (refuse a thread's own rebuild)."""
        if owner == get_ident():  # this thread, inside its own build
            raise reentered(name)
        while self._building.get(key) == owner:
            with _CLAIMS:
                waiters = self._waiters
                if waiters is None:
                    waiters = self._waiters = {}
                done = waiters.setdefault(key, threading.Event())
            done.wait(0.01)  # a wake-up missed between the check and the wait is bounded

    def _wake(self, key: Any) -> None:
        with _CLAIMS:
            waiters = self._waiters
            done = None if waiters is None else waiters.pop(key, None)
        if done is not None:
            done.set()

    async def aprovide(self, key: Any, builder: Callable[[Scope], Any], name: str) -> Any:
        """Like :meth:`provide`, awaiting ``builder``; concurrent tasks share one build."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        while True:
            value = self.cached(key)
            if value is not UNSET:
                return value
            pending_builds = self._pending
            entry = None if pending_builds is None else pending_builds.get(key)
            if entry is None or entry[0].get_loop() is not loop:
                break
            pending, owner = entry
            if owner is task:  # awaiting its own build would never end
                raise reentered(name)
            await asyncio.wait((pending,))
            if not pending.cancelled():
                return pending.result()
        future = loop.create_future()
        pending_builds = self._pending
        if pending_builds is None:
            pending_builds = self._pending = {}
        pending_builds[key] = (future, task)
        try:
            value = await builder(self)
        except BaseException as exc:
            pending_builds.pop(key, None)
            _fail(future, exc)
            raise
        self._cache[key] = value
        pending_builds.pop(key, None)
        future.set_result(value)
        return value
