"""Request scopes: current per thread and task, values from outside, and separate hooks."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import TYPE_CHECKING

import pytest

from pmp_di import (
    DIContainer,
    LifecycleScope,
    RegistrationError,
    Scope,
    ScopeError,
    ServiceProvider,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


class Request:
    def __init__(self, path: str) -> None:
        self.path = path


class User:
    def __init__(self, name: str) -> None:
        self.name = name


class Session:
    pass


class Handler:
    def __init__(self, request: Request, session: Session) -> None:
        self.request = request
        self.session = session


def web_container() -> DIContainer:
    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    return container.register(Handler).register(Request, from_context=True)


def test_entered_scope_is_current_for_container_resolve() -> None:
    """Inside `with container.scope(...)`, container.resolve uses that scope."""
    container = web_container()
    container.validate()
    assert "request: Request  (scoped <- the scope's context)" in container.explain(Handler)
    request = Request("/a")
    assert container.current_scope() is None
    with container.scope(context={Request: request}) as scope:
        assert container.current_scope() is scope
        handler = container.resolve(Handler)
        assert handler.request is request
        assert handler.session is scope.resolve(Session)
        with scope.scope() as inner:
            assert container.current_scope() is inner
            assert container.resolve(Handler).session is handler.session
        assert container.current_scope() is scope
    assert container.current_scope() is None
    with pytest.raises(ScopeError, match="inside a scope"):
        container.resolve(Handler)


def test_context_value_not_given_says_how_to_supply_it() -> None:
    """A value declared from_context but not supplied names the context= argument."""
    container = web_container()
    with container.scope(), pytest.raises(ScopeError, match=r"scope\(context=\{Request: \.\.\.\}"):
        container.resolve(Handler)


def test_context_value_of_an_undeclared_type_is_refused_and_changes_nothing() -> None:
    """A request's context= must not rebind the container: other services default that type.

    Declaring it on first use made every service with an ``int = 3`` default depend on the
    request (a singleton among them became a captive dependency, a transient unresolvable
    outside a scope).
    """

    class Settings:
        def __init__(self, retries: int = 3) -> None:
            self.retries = retries

    container = DIContainer().register(Settings, scope=LifecycleScope.SINGLETON)
    with pytest.raises(RegistrationError, match=r"register\(int, from_context=True\)"):
        container.scope(context={int: 5})
    assert not container.is_registered(int)
    assert container.resolve(Settings).retries == 3
    user = User("ada")
    with container.register(User, from_context=True).scope(context={User: user}) as scope:
        assert scope.resolve(User) is user


def test_nested_scope_context_shadows_the_parent() -> None:
    """A nested scope may supply its own value for a type its parent supplied."""
    container = DIContainer().register(User, from_context=True)
    outer, inner = User("outer"), User("inner")
    with container.scope(context={User: outer}) as scope:
        with scope.scope(context={User: inner}):
            assert container.resolve(User) is inner
        assert container.resolve(User) is outer


def test_override_of_a_context_value_still_takes_the_scopes_values() -> None:
    """Overriding a from_context type keeps scopes opening with it; the override wins.

    The code that opens scopes (a web integration) keeps supplying the request while a
    test replaces it; a scope opened during the override still has the real value after
    the override ends, and a value of the wrong type is still refused.
    """
    container = web_container()
    real, fake = Request("/real"), Request("/fake")
    with container.override(Request, instance=fake):
        with container.scope(context={Request: real}) as scope:
            assert container.resolve(Handler).request is fake
            with (
                container.override(Request, instance=Request("/inner")),  # nested overrides
                scope.scope(context={Request: Request("/nested")}),
            ):
                assert container.resolve(Request).path == "/inner"
            with pytest.raises(RegistrationError, match="must be a Request"):
                container.scope(context={Request: "not a request"})
        long_lived = container.scope(context={Request: real})
    with long_lived:
        assert long_lived.resolve(Handler).request is real
    with container.scope(context={Request: real}):
        assert container.resolve(Handler).request is real


@pytest.mark.parametrize(
    ("context", "match"),
    [({User: "ada"}, "must be a User"), ({Session: Session()}, "registered as a service")],
)
def test_bad_context_values_are_refused(context: dict[type, object], match: str) -> None:
    """A value of the wrong type, or for a type bound to a factory, is refused."""
    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    container.register(User, from_context=True)
    with pytest.raises(RegistrationError, match=match):
        container.scope(context=context)


def test_concurrent_threads_never_see_each_others_scope() -> None:
    """Each thread has its own current scope and its own instances."""
    container = web_container()
    seen: dict[int, tuple[str, Session]] = {}
    barrier = threading.Barrier(8)

    def serve(index: int) -> None:
        with container.scope(context={Request: Request(f"/{index}")}):
            barrier.wait()
            handler = container.resolve(Handler)
            seen[index] = (handler.request.path, handler.session)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {path for path, _ in seen.values()} == {f"/{i}" for i in range(8)}
    assert len({id(session) for _, session in seen.values()}) == 8


@pytest.mark.asyncio
async def test_concurrent_tasks_never_see_each_others_scope() -> None:
    """Each task entering a scope gets its own; sub-tasks inherit their request's scope."""
    container = web_container()

    async def serve(index: int) -> tuple[str, Session, Session]:
        async with container.scope(context={Request: Request(f"/{index}")}):
            await asyncio.sleep(0)
            handler = await container.aresolve(Handler)
            child = await asyncio.create_task(container.aresolve(Handler))
            return handler.request.path, handler.session, child.session

    results = await asyncio.gather(*(serve(i) for i in range(20)))
    assert [path for path, _, _ in results] == [f"/{i}" for i in range(20)]
    assert all(mine is child for _, mine, child in results)
    assert len({id(session) for _, session, _ in results}) == 20


def test_scope_opened_and_closed_in_separate_hooks() -> None:
    """activate() then close(exc) from another hook, as before/after-request handlers do."""
    log: list[str] = []

    def session() -> Iterator[Session]:
        try:
            yield Session()
        except RuntimeError:
            log.append("rolled back")
            raise
        finally:
            log.append("closed")

    container = DIContainer().register(Session, factory=session, scope=LifecycleScope.SCOPED)
    scope = container.scope().activate()  # before_request
    assert container.current_scope() is scope
    container.resolve(Session)
    scope.close(RuntimeError("endpoint failed"))  # teardown_request(exc): not raised again
    assert log == ["rolled back", "closed"]
    assert container.current_scope() is None
    assert scope.closed


def test_closing_from_another_context_leaves_that_context_alone() -> None:
    """A scope activated in one context and closed in another closes without error."""
    container = DIContainer()
    scope = contextvars.copy_context().run(lambda: container.scope().activate())
    scope.close()
    assert scope.closed
    assert container.current_scope() is None


def test_a_scope_closed_from_another_context_is_no_longer_current_where_it_was_activated() -> None:
    """The activating context sees no current scope once another context closed it.

    Otherwise every later resolve and injected call there failed with "this scope is closed"
    instead of opening its own scope.
    """
    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    provider = ServiceProvider(container)

    @provider.inject(Session)
    def handle(session: Session) -> Session:
        return session

    scope = container.scope().activate()
    contextvars.copy_context().run(scope.close)  # an after-request hook in another context
    assert container.current_scope() is None
    assert isinstance(handle(), Session)  # a scope of its own for the call
    with pytest.raises(ScopeError, match="inside a scope"):
        container.resolve(Session)
    with container.scope() as fresh:
        assert container.current_scope() is fresh
    assert container.current_scope() is None


@pytest.mark.asyncio
async def test_a_build_finishing_after_its_scope_closed_is_cleaned_up_at_once() -> None:
    """A build still running when the request's scope closes is exited right away.

    The task building it gets an error, and what it entered is exited now instead of never.
    """
    log: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def connect() -> AsyncIterator[Session]:
        started.set()
        await release.wait()
        try:
            yield Session()
        finally:
            log.append("closed")

    container = DIContainer().register(Session, factory=connect, scope=LifecycleScope.SCOPED)
    scope = container.scope()
    build = asyncio.ensure_future(scope.aresolve(Session))  # a task the request started
    await started.wait()
    await scope.aclose()  # the request ends first
    release.set()
    with pytest.raises(ScopeError, match="closed"):
        await build
    assert log == ["closed"]


def test_a_sync_build_finishing_after_its_scope_closed_is_cleaned_up_at_once() -> None:
    """The same for a thread building in a scope that another thread closes."""
    log: list[str] = []
    started, release = threading.Event(), threading.Event()

    def connect() -> Iterator[Session]:
        started.set()
        release.wait(5)
        try:
            yield Session()
        finally:
            log.append("closed")

    container = DIContainer().register(Session, factory=connect, scope=LifecycleScope.SCOPED)
    scope = container.scope()
    errors: list[BaseException] = []

    def build() -> None:
        try:
            scope.resolve(Session)
        except ScopeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    assert started.wait(5)
    scope.close()
    release.set()
    thread.join(5)
    assert len(errors) == 1
    assert log == ["closed"]


@pytest.mark.asyncio
async def test_async_finalizers_run_when_the_endpoint_raises() -> None:
    """An integration's pattern: open, activate, resolve, aclose(exc) even on failure."""
    log: list[str] = []

    async def safe_session() -> AsyncIterator[Session]:
        try:
            yield Session()
        finally:
            log.append("safe closed")

    container = DIContainer().register(Session, factory=safe_session, scope=LifecycleScope.SCOPED)
    container.register(Request, from_context=True)

    async def endpoint() -> None:
        await container.aresolve(Session)
        raise KeyError("boom")

    scope = container.scope(context={Request: Request("/")}).activate()
    try:
        await endpoint()
    except KeyError as exc:
        await scope.aclose(exc)
    assert log == ["safe closed"]
    assert scope.closed


def test_injected_function_uses_the_current_scope() -> None:
    """An injected handler called inside a request shares that request's scoped services."""
    container = web_container()
    provider = ServiceProvider(container)

    @provider.inject(Handler)
    def endpoint(handler: Handler) -> Handler:
        return handler

    with container.scope(context={Request: Request("/x")}) as scope:
        assert endpoint().session is scope.resolve(Session)
        assert endpoint().request.path == "/x"


def test_closed_scope_refuses_use() -> None:
    """A closed scope cannot be entered, resolved from or nested."""
    container = web_container()
    scope = container.scope()
    scope.close()
    for use in (scope.activate, scope.__enter__, scope.scope, lambda: scope.resolve(Session)):
        with pytest.raises(ScopeError, match="closed"):
            use()
    assert isinstance(scope, Scope)


def test_scope_enter_context_runs_at_close() -> None:
    """An integration can tie its own cleanup to the request scope."""
    log: list[str] = []

    class Tracked:
        def __enter__(self) -> str:
            return "entered"

        def __exit__(self, *exc: object) -> None:
            log.append("exited")

    with DIContainer().scope() as scope:
        assert scope.enter_context(Tracked()) == "entered"
        assert log == []
    assert log == ["exited"]


class Slow:
    built = 0

    def __init__(self) -> None:
        type(self).built += 1
        if type(self).built == 1:
            threading.Event().wait(0.05)  # the others arrive while this one builds
            raise RuntimeError("first build fails")
        threading.Event().wait(0.02)


def test_threads_sharing_a_scope_build_a_scoped_service_once_at_a_time() -> None:
    """Threads racing for one scoped service wait for the build; a failed build is retried."""
    container = DIContainer().register(Slow, scope=LifecycleScope.SCOPED)
    results: list[object] = []
    with container.scope() as scope:
        barrier = threading.Barrier(6)

        def race() -> None:
            barrier.wait()
            try:
                results.append(scope.resolve(Slow))
            except RuntimeError as exc:
                results.append(exc)

        threads = [threading.Thread(target=race) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    failures = [r for r in results if isinstance(r, RuntimeError)]
    built = {id(r) for r in results if isinstance(r, Slow)}
    assert len(failures) == 1
    assert len(built) == 1
    assert Slow.built == 2


def test_context_must_be_a_mapping() -> None:
    """context= takes a mapping of types to values."""
    with pytest.raises(RegistrationError, match="mapping of types to values"):
        DIContainer().scope(context=[Request])  # type: ignore[arg-type]


def test_a_context_value_cannot_be_a_singleton() -> None:
    """A value supplied per scope is refused as a singleton."""
    with pytest.raises(RegistrationError, match="cannot be a SINGLETON"):
        DIContainer().register(Request, from_context=True, scope=LifecycleScope.SINGLETON)


def test_needs_scope_tells_which_services_a_scope_must_own() -> None:
    """Scoped services, context values and transients with cleanup need a scope; others not."""

    def connect() -> Iterator[Session]:
        yield Session()

    async def aconnect() -> AsyncIterator[User]:
        yield User("ada")

    container = web_container().register(User, factory=aconnect)
    assert container.needs_scope(Handler)
    assert container.needs_scope(Request)
    assert container.needs_scope(User, is_async=True)
    container.register(Session, factory=connect)
    assert container.needs_scope(Session)
    container.register(Session)
    assert not container.needs_scope(Session)
    assert container.needs_scope(Handler)


def test_injected_function_opens_no_scope_when_none_is_needed() -> None:
    """A call needing only singletons and plain transients runs without a scope of its own."""
    container = DIContainer().register(Session, scope=LifecycleScope.SINGLETON)
    provider = ServiceProvider(container)

    @provider.inject(Session)
    def endpoint(session: Session) -> Scope | None:
        return container.current_scope()

    assert endpoint() is None
    with container.scope() as scope:
        assert endpoint() is scope
