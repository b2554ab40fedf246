"""Singletons and scoped services under real thread races."""

from __future__ import annotations

import asyncio
import threading
import time

from pmp_di import DIContainer, LifecycleScope

THREADS = 16


class Slow:
    built = 0

    def __init__(self) -> None:
        time.sleep(0.001)  # widen the race window
        type(self).built += 1


class Consumer:
    def __init__(self, slow: Slow) -> None:
        self.slow = slow


def _race(target: object, count: int = THREADS) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = target()  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_singleton_built_once_under_16_racing_threads() -> None:
    """16 threads racing for a singleton get one instance built once."""
    Slow.built = 0
    container = DIContainer().register(Slow, scope=LifecycleScope.SINGLETON).register(Consumer)
    results = _race(lambda: container.resolve(Consumer))
    assert Slow.built == 1
    assert len({id(r.slow) for r in results}) == 1  # type: ignore[attr-defined]


def test_scoped_built_once_per_scope_under_racing_threads() -> None:
    """Threads sharing one scope share one scoped instance."""
    Slow.built = 0
    container = DIContainer().register(Slow, scope=LifecycleScope.SCOPED)
    with container.scope() as scope:
        results = _race(lambda: scope.resolve(Slow))
    assert Slow.built == 1
    assert len({id(r) for r in results}) == 1


def test_registration_during_resolution_is_safe() -> None:
    """Re-registering while other threads resolve never yields a half-built plan."""
    container = DIContainer().register(Slow).register(Consumer)
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            container.register(Slow)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        results = _race(lambda: [container.resolve(Consumer) for _ in range(20)], 4)
    finally:
        stop.set()
        worker.join()
    assert all(isinstance(c.slow, Slow) for batch in results for c in batch)  # type: ignore[attr-defined]


def test_async_singleton_built_once_across_threads_and_event_loops() -> None:
    """8 threads, each awaiting in its own event loop, share one async factory run."""
    calls = 0

    async def make() -> Slow:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)  # keep the build pending while the others arrive
        return Slow()

    container = DIContainer().register(Slow, factory=make, scope=LifecycleScope.SINGLETON)
    results = _race(lambda: asyncio.run(container.aresolve(Slow)), 8)
    assert calls == 1
    assert len({id(r) for r in results}) == 1


class _NoLock:
    def __enter__(self) -> None:
        raise AssertionError("a built singleton took its lock")

    def __exit__(self, *exc: object) -> None:  # pragma: no cover - never entered
        pass


def test_built_singleton_is_reached_without_its_lock() -> None:
    """Once built, resolving a singleton (or a consumer of it) never takes its lock."""
    container = DIContainer().register(Slow, scope=LifecycleScope.SINGLETON).register(Consumer)
    slow = container.resolve(Slow)
    container._registry.regs[Slow].state.lock = _NoLock()  # type: ignore[assignment]
    assert container.resolve(Consumer).slow is slow
    assert container.resolve(Slow) is slow
    with container.scope() as scope:
        assert scope.resolve(Consumer).slow is slow
