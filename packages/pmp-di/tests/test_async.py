"""Async factories, async scopes and async singletons under concurrency."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from pmp_di import AsyncDependencyError, CleanupError, DIContainer, LifecycleScope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Pool:
    pass


class Repo:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool


class Session:
    pass


class Handler:
    def __init__(self, repo: Repo, session: Session) -> None:
        self.repo = repo
        self.session = session


@pytest.mark.asyncio
async def test_async_singleton_factory_runs_once_for_50_tasks() -> None:
    """50 concurrent aresolve calls share one factory run."""
    calls = 0

    async def make_pool() -> Pool:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return Pool()

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    container.register(Repo)
    results = await asyncio.gather(*(container.aresolve(Repo) for _ in range(50)))
    assert calls == 1
    assert len({id(r.pool) for r in results}) == 1


@pytest.mark.asyncio
async def test_failed_async_singleton_is_retried() -> None:
    """Waiters see the failure; a later aresolve runs the factory again."""
    attempts = 0

    async def make_pool() -> Pool:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise ConnectionError("down")
        return Pool()

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    outcomes = await asyncio.gather(
        container.aresolve(Pool), container.aresolve(Pool), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert isinstance(await container.aresolve(Pool), Pool)
    assert attempts == 2


@pytest.mark.asyncio
async def test_cancelled_async_singleton_lets_a_waiter_build() -> None:
    """If the task building a singleton is cancelled, a waiting task builds it."""
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def make_pool() -> Pool:
        nonlocal calls
        calls += 1
        started.set()
        if calls == 1:
            await asyncio.Event().wait()
        await release.wait()
        return Pool()

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    first = asyncio.ensure_future(container.aresolve(Pool))
    await started.wait()
    second = asyncio.ensure_future(container.aresolve(Pool))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert isinstance(await second, Pool)
    assert calls == 2
    with pytest.raises(asyncio.CancelledError):
        await first


def test_sync_resolve_of_async_graph_raises_clear_error() -> None:
    """resolve() on a graph needing an async factory names it and points to aresolve."""

    async def make_pool() -> Pool:  # pragma: no cover - never awaited
        return Pool()

    container = DIContainer().register(Pool, factory=make_pool).register(Repo)
    with pytest.raises(AsyncDependencyError, match=r"Repo -> Pool.*aresolve") as info:
        container.resolve(Repo)
    assert info.value.path == ["Repo", "Pool"]


def test_built_async_singleton_is_usable_from_sync_code() -> None:
    """Once an async singleton is built, a sync resolve can use it."""

    async def make_pool() -> Pool:
        return Pool()

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    container.register(Repo)
    pool = asyncio.run(container.aresolve(Pool))
    assert container.resolve(Repo).pool is pool


@pytest.mark.asyncio
async def test_async_generator_factories_in_async_scope() -> None:
    """Async generator factories are entered in an async scope and closed at its exit."""
    log: list[str] = []

    async def make_session() -> AsyncIterator[Session]:
        log.append("open")
        yield Session()
        log.append("close")

    async def make_pool() -> Pool:
        return Pool()

    container = DIContainer().register(Session, factory=make_session, scope=LifecycleScope.SCOPED)
    container.register(Pool, factory=make_pool).register(Repo).register(Handler)
    async with container.scope() as scope:
        handler = await scope.aresolve(Handler)
        sessions = await asyncio.gather(*(scope.aresolve(Session) for _ in range(20)))
        assert all(s is handler.session for s in sessions)
        assert isinstance(handler.repo.pool, Pool)
        assert await scope.aresolve(Handler) is not handler
    assert log == ["open", "close"]


@pytest.mark.asyncio
async def test_failed_async_scoped_is_retried_in_scope() -> None:
    """A scoped async factory that fails can be retried within the scope."""
    attempts = 0

    async def make_session() -> Session:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise ConnectionError("flaky")
        return Session()

    container = DIContainer().register(Session, factory=make_session, scope=LifecycleScope.SCOPED)
    async with container.scope() as scope:
        outcomes = await asyncio.gather(
            scope.aresolve(Session), scope.aresolve(Session), return_exceptions=True
        )
        assert all(isinstance(o, ConnectionError) for o in outcomes)
        assert await scope.aresolve(Session) is await scope.aresolve(Session)
    with pytest.raises(Exception, match="closed"):
        await scope.aresolve(Session)


@pytest.mark.asyncio
async def test_async_cleanup_failures_are_gathered_and_container_aclose_runs() -> None:
    """Container aclose runs sync and async finalizers and reports every failure together."""
    log: list[str] = []

    async def make_pool() -> AsyncIterator[Pool]:
        yield Pool()
        log.append("pool closed")
        raise RuntimeError("pool close failed")

    def make_session() -> object:
        yield Session()
        log.append("session closed")

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    container.register(Session, factory=make_session, scope=LifecycleScope.SINGLETON)
    async with container:
        await container.aresolve(Pool)
        await container.aresolve(Session)
        with pytest.raises(CleanupError, match="pool close failed"):
            await container.aclose()
    assert log == ["session closed", "pool closed"]


@pytest.mark.asyncio
async def test_cancellation_during_cleanup_still_runs_every_finalizer() -> None:
    """A task cancelled while one async finalizer runs still closes the rest, then is cancelled."""
    log: list[str] = []
    cleaning = asyncio.Event()

    async def make_pool() -> AsyncIterator[Pool]:
        yield Pool()
        log.append("pool closed")

    async def make_session(pool: Pool) -> AsyncIterator[Session]:
        yield Session()
        cleaning.set()
        await asyncio.Event().wait()  # cancelled here

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SCOPED)
    container.register(Session, factory=make_session, scope=LifecycleScope.SCOPED)

    async def request() -> None:
        async with container.scope() as scope:
            await scope.aresolve(Session)

    task = asyncio.ensure_future(request())
    await cleaning.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["pool closed"]
