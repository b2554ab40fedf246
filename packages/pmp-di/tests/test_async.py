"""Async factories, async scopes and async singletons under concurrency."""

from __future__ import annotations

import asyncio
import sys
import threading
from contextvars import ContextVar
from typing import TYPE_CHECKING

import pytest

from pmp_di import AsyncDependencyError, CleanupError, DIContainer, LifecycleScope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


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
async def test_cancellation_during_cleanup_lets_every_finalizer_finish() -> None:
    """A request cancelled while its scope closes lets each async finalizer finish.

    Its client went away: each async finalizer runs to its end, the next ones run too, and
    then the cancellation propagates.
    """
    log: list[str] = []
    cleaning, release = asyncio.Event(), asyncio.Event()

    async def make_pool() -> AsyncIterator[Pool]:
        yield Pool()
        await asyncio.sleep(0)
        log.append("pool closed")

    async def make_session(pool: Pool) -> AsyncIterator[Session]:
        yield Session()
        cleaning.set()
        await release.wait()  # the cancellation arrives here
        log.append("session closed")

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SCOPED)
    container.register(Session, factory=make_session, scope=LifecycleScope.SCOPED)

    async def request() -> None:
        async with container.scope() as scope:
            await scope.aresolve(Session)

    task = asyncio.ensure_future(request())
    await cleaning.wait()
    task.cancel()
    for _ in range(3):
        await asyncio.sleep(0)
    assert not task.done()  # still closing: the session's cleanup was not cut short
    task.cancel()  # a second cancellation is held back as well
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["session closed", "pool closed"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Task.get_context is new in 3.12")
@pytest.mark.asyncio
async def test_async_finalizers_run_in_the_closing_tasks_own_context() -> None:
    """A ContextVar set before a factory's yield is reset by its token after it."""
    var: ContextVar[str] = ContextVar("var", default="none")

    async def make_session() -> AsyncIterator[Session]:
        token = var.set("request")
        yield Session()
        var.reset(token)

    container = DIContainer().register(Session, factory=make_session, scope=LifecycleScope.SCOPED)
    async with container.scope() as scope:
        await scope.aresolve(Session)
        assert var.get() == "request"
    assert var.get() == "none"


@pytest.mark.asyncio
async def test_timeout_during_cleanup_lets_every_finalizer_finish() -> None:
    """A timeout expiring while a scope closes waits for its finalizers, then times out."""
    log: list[str] = []

    async def make_session() -> AsyncIterator[Session]:
        yield Session()
        await asyncio.sleep(0.02)
        log.append("session closed")

    container = DIContainer().register(Session, factory=make_session, scope=LifecycleScope.SCOPED)

    async def request() -> None:
        async with container.scope() as scope:
            await scope.aresolve(Session)

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(request(), 0.001)
    assert log == ["session closed"]


@pytest.mark.asyncio
@pytest.mark.parametrize("closing", ["container", "scope"])
@pytest.mark.parametrize("fails", [False, True])
async def test_a_second_concurrent_aclose_waits_for_the_first_and_sees_its_outcome(
    closing: str, fails: bool
) -> None:
    """Two tasks closing one container (or scope) at once both return after the cleanup.

    The second caller neither returns early while finalizers still run nor runs the
    remaining ones itself; a cleanup failure reaches both.
    """
    log: list[str] = []
    release = asyncio.Event()

    def make_session() -> Iterator[Session]:  # entered first, so it exits last
        yield Session()
        log.append("session closed")

    async def make_pool() -> AsyncIterator[Pool]:
        yield Pool()
        await release.wait()
        log.append("pool closed")
        if fails:
            raise RuntimeError("pool close failed")

    lifetime = LifecycleScope.SINGLETON if closing == "container" else LifecycleScope.SCOPED
    container = DIContainer().register(Session, factory=make_session, scope=lifetime)
    container.register(Pool, factory=make_pool, scope=lifetime)
    owner = container if closing == "container" else container.scope()
    await owner.aresolve(Session)
    await owner.aresolve(Pool)
    outcomes: list[tuple[list[str], str]] = []

    async def close() -> None:
        try:
            await owner.aclose()
        except CleanupError:
            outcomes.append((list(log), "failed"))
        else:
            outcomes.append((list(log), "closed"))

    first = asyncio.create_task(close())
    await asyncio.sleep(0)
    second = asyncio.create_task(close())
    for _ in range(5):
        await asyncio.sleep(0)
    assert outcomes == []
    release.set()
    await asyncio.gather(first, second)
    outcome = "failed" if fails else "closed"
    assert outcomes == [(["pool closed", "session closed"], outcome)] * 2


def test_a_second_aclose_from_another_threads_event_loop_waits_without_hanging() -> None:
    """A container closed at once from two threads, each with its own event loop.

    The second caller waits for the first one's cleanup and returns after it; it used to
    wait on the first loop's task from the wrong loop and never wake up.
    """
    log: list[str] = []
    cleaning, release = threading.Event(), threading.Event()

    async def make_pool() -> AsyncIterator[Pool]:
        yield Pool()
        cleaning.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait)
        log.append("pool closed")

    container = DIContainer().register(Pool, factory=make_pool, scope=LifecycleScope.SINGLETON)
    seen: list[list[str]] = []

    def close_too() -> None:
        asyncio.run(container.aclose())
        seen.append(list(log))

    async def first() -> None:
        await container.aresolve(Pool)
        closing = asyncio.create_task(container.aclose())
        await asyncio.get_running_loop().run_in_executor(None, cleaning.wait)
        second = threading.Thread(target=close_too, daemon=True)
        second.start()
        await asyncio.sleep(0.05)
        assert seen == []  # still waiting for the first cleanup
        release.set()
        await closing
        await asyncio.get_running_loop().run_in_executor(None, second.join, 5.0)
        assert not second.is_alive()

    asyncio.run(first())
    assert seen == [["pool closed"]]
