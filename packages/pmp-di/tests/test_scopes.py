"""Scopes, nested scopes, context-manager factories and cleanup order."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest

from pmp_di import CleanupError, DIContainer, LifecycleScope, ScopeError

if TYPE_CHECKING:
    from collections.abc import Iterator


class Session:
    pass


class Handler:
    def __init__(self, session: Session) -> None:
        self.session = session


class Resource:
    def __init__(self, name: str) -> None:
        self.name = name


class Other:
    pass


def scoped_container() -> DIContainer:
    return DIContainer().register(Session, scope=LifecycleScope.SCOPED).register(Handler)


def test_scoped_instances_are_shared_within_and_differ_across_scopes() -> None:
    """A scoped service is one instance per scope."""
    container = scoped_container()
    with container.scope() as first:
        a = first.resolve(Handler).session
        assert first.resolve(Session) is a
    with container.scope() as second:
        assert second.resolve(Session) is not a


def test_nested_scopes_see_their_parents() -> None:
    """A nested scope reuses its parent's instances and adds its own."""
    container = scoped_container().register(Other, scope=LifecycleScope.SCOPED)
    with container.scope() as outer:
        session = outer.resolve(Session)
        with outer.scope() as inner:
            assert inner.parent is outer
            assert inner.resolve(Session) is session
            other = inner.resolve(Other)
        assert outer.resolve(Other) is not other


def test_scoped_outside_scope_raises_with_path() -> None:
    """Resolving a scoped service from the container names the path and the fix."""
    with pytest.raises(ScopeError, match=r"Session is scoped.*Handler -> Session") as info:
        scoped_container().resolve(Handler)
    assert info.value.path == ["Handler", "Session"]


@pytest.mark.parametrize("action", ["resolve", "scope", "enter"])
def test_closed_scope_cannot_be_used(action: str) -> None:
    """A closed scope refuses to resolve, nest or be entered again."""
    container = scoped_container()
    with container.scope() as scope:
        scope.resolve(Session)
    assert scope.closed
    with pytest.raises(ScopeError, match="closed"):
        if action == "resolve":
            scope.resolve(Session)
        elif action == "scope":
            scope.scope()
        else:
            scope.__enter__()


def _tracking_factories(log: list[str]) -> dict[str, object]:
    @contextlib.contextmanager
    def cm_factory() -> Iterator[Session]:
        log.append("open session")
        yield Session()
        log.append("close session")

    def gen_factory(session: Session) -> Iterator[Resource]:
        log.append("open resource")
        yield Resource("r")
        log.append("close resource")

    return {"cm": cm_factory, "gen": gen_factory}


def test_cleanup_runs_in_reverse_creation_order_at_scope_exit() -> None:
    """Generator and context-manager factories are finalized newest first."""
    log: list[str] = []
    factories = _tracking_factories(log)
    container = DIContainer()
    container.register(Session, factory=factories["cm"], scope=LifecycleScope.SCOPED)  # type: ignore[arg-type]
    container.register(Resource, factory=factories["gen"])  # type: ignore[arg-type]
    with container.scope() as scope:
        scope.resolve(Resource)
        scope.resolve(Resource)
        assert log == ["open session", "open resource", "open resource"]
    assert log[3:] == ["close resource", "close resource", "close session"]


def test_cleanup_runs_when_body_raises_and_sees_the_error() -> None:
    """Finalizers run when the scope body raises; a generator sees the exception."""
    seen: list[BaseException] = []

    def factory() -> Iterator[Session]:
        try:
            yield Session()
        except ValueError as exc:
            seen.append(exc)
            raise

    container = DIContainer().register(Session, factory=factory, scope=LifecycleScope.SCOPED)
    with pytest.raises(ValueError, match="body"), container.scope() as scope:
        scope.resolve(Session)
        raise ValueError("body")
    assert len(seen) == 1


def test_failing_finalizer_does_not_skip_the_others() -> None:
    """Every finalizer runs; failures are gathered into one CleanupError."""
    log: list[str] = []

    def good() -> Iterator[Session]:
        yield Session()
        log.append("good closed")

    def bad(session: Session) -> Iterator[Resource]:
        yield Resource("bad")
        raise RuntimeError("finalizer broke")

    container = DIContainer().register(Session, factory=good, scope=LifecycleScope.SCOPED)
    container.register(Resource, factory=bad)
    with pytest.raises(CleanupError, match="finalizer broke") as info, container.scope() as scope:
        scope.resolve(Resource)
    assert log == ["good closed"]
    assert isinstance(info.value.__cause__, RuntimeError)
    assert len(info.value.errors) == 1


def test_singleton_and_scoped_transient_cleanup() -> None:
    """Singletons' finalizers run when the container closes, transients' with their scope."""
    log: list[str] = []
    factories = _tracking_factories(log)
    container = DIContainer()
    container.register(Session, factory=factories["cm"], scope=LifecycleScope.SINGLETON)  # type: ignore[arg-type]
    container.register(Resource, factory=factories["gen"])  # type: ignore[arg-type]
    with container:
        first = container.resolve(Session)
        with container.scope():
            container.resolve(Resource)
    assert log == ["open session", "open resource", "close resource", "close session"]
    assert container.resolve(Session) is not first


def test_interrupted_finalizer_does_not_skip_the_others() -> None:
    """A finalizer raising KeyboardInterrupt still lets the older ones run, then re-raises."""
    log: list[str] = []

    def session() -> Iterator[Session]:
        yield Session()
        log.append("session closed")

    def resource(session: Session) -> Iterator[Resource]:
        yield Resource("r")
        raise KeyboardInterrupt

    container = DIContainer().register(Session, factory=session, scope=LifecycleScope.SCOPED)
    container.register(Resource, factory=resource, scope=LifecycleScope.SCOPED)
    scope = container.scope()
    scope.resolve(Resource)
    with pytest.raises(KeyboardInterrupt):
        scope.close()
    assert log == ["session closed"]


def test_closing_the_container_keeps_an_open_scopes_instances() -> None:
    """A scope open across container.close() keeps its scoped instances and finalizers."""
    log: list[str] = []

    def session() -> Iterator[Session]:
        yield Session()
        log.append("session closed")

    container = DIContainer().register(Session, factory=session, scope=LifecycleScope.SCOPED)
    with container.scope() as scope:
        first = scope.resolve(Session)
        container.close()
        assert scope.resolve(Session) is first
        assert log == []
    assert log == ["session closed"]


def test_nested_scope_of_a_closed_parent_raises() -> None:
    """A nested scope whose parent closed refuses to reach the parent's instances."""
    container = scoped_container()
    outer = container.scope()
    outer.resolve(Handler)
    inner = outer.scope()
    outer.close()
    with pytest.raises(ScopeError, match="closed"):
        inner.resolve(Handler)
    with pytest.raises(ScopeError, match="closed"):
        inner.scope()
