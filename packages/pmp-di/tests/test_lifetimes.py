"""Lifetimes that never leak, nothing dropped at close, and registrations that say what is wrong."""

from __future__ import annotations

import asyncio
import functools
import gc
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_di import (
    CaptiveDependencyError,
    DIContainer,
    LifecycleScope,
    MissingDependencyError,
    RegistrationError,
    ScopeError,
    ServiceProvider,
)

if TYPE_CHECKING:
    from collections.abc import (
        AsyncGenerator,
        AsyncIterator,
        Awaitable,
        Callable,
        Generator,
        Iterator,
    )
    from decimal import Decimal as Engine  # a name that exists only for type checkers
    from random import Random


class Connection:
    def __init__(self) -> None:
        self.open = True


class Tracker:
    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0

    def factory(self) -> Iterator[Connection]:
        connection = Connection()
        self.opened += 1
        try:
            yield connection
        finally:
            connection.open = False
            self.closed += 1


def test_transient_with_cleanup_outside_a_scope_is_refused() -> None:
    """Resolving a transient generator factory with no scope to own its cleanup is refused."""
    tracker = Tracker()
    container = DIContainer().register(Connection, factory=tracker.factory)
    with pytest.raises(ScopeError, match="resolve it inside a scope"):
        container.resolve(Connection)
    assert tracker.opened == 0
    with container.scope():
        assert container.resolve(Connection).open
    assert tracker.opened == tracker.closed == 1


@pytest.mark.asyncio
async def test_async_transient_with_cleanup_outside_a_scope_is_refused() -> None:
    """The same for an async generator factory and aresolve."""

    async def connect() -> AsyncIterator[Connection]:
        yield Connection()

    container = DIContainer().register(Connection, factory=connect)
    with pytest.raises(ScopeError, match="resolve it inside a scope"):
        await container.aresolve(Connection)


def test_injected_handler_closes_what_each_call_opened() -> None:
    """Each call of an injected function owns a scope: its transients are cleaned up at return."""
    tracker = Tracker()
    container = DIContainer().register(Connection, factory=tracker.factory)
    provider = ServiceProvider(container)

    @provider.inject(Connection)
    def handler(connection: Connection) -> Connection:
        assert tracker.opened == tracker.closed + 1
        return connection

    connections = [handler() for _ in range(100)]
    assert tracker.opened == tracker.closed == 100
    assert not any(c.open for c in connections)


@pytest.mark.asyncio
async def test_injected_async_handler_closes_even_when_it_raises() -> None:
    """An injected coroutine's scope closes on the way out of an exception too."""
    tracker = Tracker()
    container = DIContainer().register(Connection, factory=tracker.factory)

    @ServiceProvider(container).inject(Connection)
    async def handler(connection: Connection) -> None:
        raise ValueError(connection)

    with pytest.raises(ValueError, match="Connection"):
        await handler()
    assert tracker.opened == tracker.closed == 1


def test_injected_generator_keeps_its_scope_open_while_it_is_iterated() -> None:
    """A generator function gets its services when iterated and its scope closes at its end.

    Closing the scope when the generator object was made handed the body closed connections.
    """
    tracker = Tracker()
    container = DIContainer().register(Connection, factory=tracker.factory)

    @ServiceProvider(container).inject(Connection)
    def rows(connection: Connection, count: int) -> Generator[bool, None, None]:
        for _ in range(count):
            yield connection.open

    assert list(rows(3)) == [True, True, True]
    assert tracker.opened == tracker.closed == 1
    stopped = rows(5)
    assert next(stopped)
    stopped.close()  # a consumer that stops early closes the scope too
    assert tracker.opened == tracker.closed == 2
    assert container.current_scope() is None


@pytest.mark.asyncio
async def test_injected_async_generator_awaits_its_services_and_keeps_its_scope_open() -> None:
    """An async generator function is injected with aresolve; its scope outlives its items.

    Async factories work, and the scope stays open until the generator is exhausted or
    closed; a consumer stopping early is not a failure for the factories.
    """
    log: list[str] = []

    async def connect() -> AsyncIterator[Connection]:
        connection = Connection()
        yield connection
        connection.open = False
        log.append("closed")

    container = DIContainer().register(Connection, factory=connect)

    @ServiceProvider(container).inject(Connection)
    async def stream(connection: Connection, count: int) -> AsyncGenerator[bool, None]:
        for _ in range(count):
            await asyncio.sleep(0)
            yield connection.open

    assert [open_ async for open_ in stream(2)] == [True, True]
    assert log == ["closed"]
    stopped = stream(5)
    assert await stopped.__anext__()
    await stopped.aclose()
    assert log == ["closed", "closed"]


@pytest.mark.asyncio
async def test_injected_plain_function_returning_a_coroutine_keeps_its_scope_until_awaited() -> (
    None
):
    """A plain function returning a coroutine keeps its call's scope until the coroutine ends.

    A decorator below inject hides an async def (functools.wraps-style): the scope used to
    close when the coroutine was returned, so its body saw closed connections.
    """
    tracker = Tracker()
    container = DIContainer().register(Connection, factory=tracker.factory)

    def hide(func: Callable[..., Awaitable[bool]]) -> Callable[..., Awaitable[bool]]:
        @functools.wraps(func)
        def plain(*args: Any, **kwargs: Any) -> Awaitable[bool]:
            return func(*args, **kwargs)

        return plain

    @ServiceProvider(container).inject(Connection)
    @hide
    async def handler(connection: Connection) -> bool:
        await asyncio.sleep(0)
        return connection.open

    assert await handler()
    assert tracker.opened == tracker.closed == 1
    assert container.current_scope() is None


class Pool:
    closed = False


async def make_pool() -> AsyncIterator[Pool]:
    pool = Pool()
    yield pool
    pool.closed = True


@pytest.mark.asyncio
async def test_sync_close_with_async_finalizers_keeps_them_for_aclose() -> None:
    """close() refuses while async finalizers are pending and drops nothing; aclose() runs them."""
    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    pool = await container.aresolve(Pool)
    with pytest.raises(ScopeError, match="async finalizer"):
        container.close()
    assert not pool.closed
    assert await container.aresolve(Pool) is pool  # the singleton is kept too
    await container.aclose()
    assert pool.closed


@pytest.mark.asyncio
async def test_sync_close_of_a_scope_with_async_finalizers_keeps_them() -> None:
    """The same for a scope: close() refuses, aclose() finishes the job."""
    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SCOPED)
    scope = container.scope()
    pool = await scope.aresolve(Pool)
    with pytest.raises(ScopeError, match=r"async finalizer\(s\) pending \(make_pool\)"):
        scope.close()  # names the factory, not a context manager object
    assert not pool.closed
    assert not scope.closed
    await scope.aclose()
    assert pool.closed
    assert scope.closed


class UsesEngine:
    def __init__(self, connection: Connection, engine: Engine | None = None) -> None:
        self.connection = connection
        self.engine = engine


class NeedsEngine:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine


def test_type_checking_only_annotation_with_a_default_is_skipped() -> None:
    """A parameter whose annotation cannot be read keeps its default; the rest is injected."""
    container = DIContainer().register(Connection).register(UsesEngine)
    container.validate()
    built = container.resolve(UsesEngine)
    assert isinstance(built.connection, Connection)
    assert built.engine is None


def test_type_checking_only_annotation_without_default_names_it() -> None:
    """Without a default, resolve and validate name the annotation that cannot be read."""
    container = DIContainer().register(NeedsEngine)
    with pytest.raises(MissingDependencyError, match="annotated 'Engine', which cannot be"):
        container.resolve(NeedsEngine)
    with pytest.raises(MissingDependencyError, match="TYPE_CHECKING"):
        container.validate()


class Settings:
    pass


class Cache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


class Holder:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache


def test_validate_and_resolve_agree_on_singleton_over_transient() -> None:
    """A singleton may depend on a transient (built once for it): validate and resolve accept."""
    container = DIContainer().register(Cache, scope=LifecycleScope.SINGLETON)
    container.register(Settings)
    container.validate()
    assert container.resolve(Cache) is container.resolve(Cache)


def test_validate_and_resolve_agree_on_singleton_over_scoped_through_a_transient() -> None:
    """A singleton reaching a scoped service, even through a transient, is refused by both."""
    container = DIContainer().register(Holder, scope=LifecycleScope.SINGLETON)
    container.register(Cache).register(Settings, scope=LifecycleScope.SCOPED)
    with pytest.raises(CaptiveDependencyError, match="Holder -> Cache -> Settings"):
        container.validate()
    with container.scope() as scope, pytest.raises(CaptiveDependencyError, match="Holder"):
        scope.resolve(Holder)


def make_settings() -> Settings:
    return Settings()


@pytest.mark.parametrize("function", [make_settings, lambda: Settings()])  # noqa: PLW0108 - a lambda is the case
def test_registering_a_function_as_the_service_is_refused(function: Any) -> None:
    """register(make_x) would bind the function itself: refused, showing factory=."""
    with pytest.raises(RegistrationError, match=r"container.register\(T, factory="):
        DIContainer().register(function)


@pytest.mark.asyncio
async def test_waiters_of_a_failing_async_singleton_leave_nothing_unretrieved() -> None:
    """Tasks waiting on a failing async singleton get the error; nothing is logged after."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    started = asyncio.Event()

    async def failing() -> Settings:
        started.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        raise LookupError("down")

    container = DIContainer().register(Settings, factory=failing, scope=LifecycleScope.SINGLETON)
    builder = asyncio.ensure_future(container.aresolve(Settings))
    await started.wait()
    waiters = [asyncio.ensure_future(container.aresolve(Settings)) for _ in range(5)]
    results = await asyncio.gather(builder, *waiters, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    del builder, waiters, results
    for _ in range(3):
        await asyncio.sleep(0)
        gc.collect()
    assert reported == []


class Clock:
    pass


class FakeClock(Clock):
    pass


class OtherFakeClock(Clock):
    pass


def test_overrides_exited_out_of_order_restore_the_right_binding() -> None:
    """The newest open override is in force; the original returns when the last one exits."""
    container = DIContainer().register(Clock)
    first = container.override(Clock, FakeClock)
    second = container.override(Clock, OtherFakeClock)
    first.__enter__()
    second.__enter__()
    assert type(container.resolve(Clock)) is OtherFakeClock
    first.__exit__(None, None, None)
    assert type(container.resolve(Clock)) is OtherFakeClock
    second.__exit__(None, None, None)
    assert type(container.resolve(Clock)) is Clock


def test_overrides_exited_in_order_restore_each_layer() -> None:
    """Exiting the newest override brings back the one below it."""
    container = DIContainer().register(Clock)
    with container.override(Clock, FakeClock):
        with container.override(Clock, OtherFakeClock):
            assert type(container.resolve(Clock)) is OtherFakeClock
        assert type(container.resolve(Clock)) is FakeClock
    assert type(container.resolve(Clock)) is Clock


def test_injected_function_with_a_type_checking_only_parameter_is_called() -> None:
    """A caller's parameter annotated with a TYPE_CHECKING-only name does not stop injection."""
    provider = ServiceProvider(DIContainer().register(Settings))

    @provider.inject(Settings)
    def handler(settings: Settings, engine: Engine | None = None) -> Engine | None:
        assert isinstance(settings, Settings)
        return engine

    assert handler() is None
    assert handler(engine=None) is None


class Layered:
    def __init__(self, layer: int = 0) -> None:
        self.layer = layer


class Uses:
    def __init__(self, layered: Layered) -> None:
        self.layered = layered


@given(st.lists(st.booleans(), max_size=30), st.randoms(use_true_random=False))
def test_overrides_entered_and_exited_in_any_order_keep_the_newest_open(
    opens: list[bool], random: Random
) -> None:
    """Whatever the order of exits, the newest override still open is in force, else the base."""
    container = DIContainer().register(Layered).register(Uses)
    open_layers: list[tuple[int, Any]] = []
    for number, opening in enumerate(opens, start=1):
        if opening or not open_layers:
            override = container.override(Layered, factory=lambda n=number: Layered(n))
            override.__enter__()
            open_layers.append((number, override))
        else:
            _, override = open_layers.pop(random.randrange(len(open_layers)))
            override.__exit__(None, None, None)
        expected = open_layers[-1][0] if open_layers else 0
        assert container.resolve(Layered).layer == expected
        assert container.resolve(Uses).layered.layer == expected
    while open_layers:
        open_layers.pop(random.randrange(len(open_layers)))[1].__exit__(None, None, None)
    assert container.resolve(Uses).layered.layer == 0
