"""Qualified bindings (Named), collections of implementations and lazy providers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, ForwardRef

import pytest

from pmp_di import (
    DIContainer,
    LifecycleScope,
    MissingDependencyError,
    Named,
    Provider,
    RegistrationError,
    ServiceProvider,
)


class Repo:
    pass


class SqlRepo(Repo):
    pass


class MemoryRepo(Repo):
    pass


class Plugin:
    pass


class Audit(Plugin):
    pass


class Metrics(Plugin):
    pass


class Tracing(Plugin):
    pass


class Reports:
    def __init__(
        self,
        primary: Annotated[Repo, Named("primary")],
        cache: Annotated[Repo, Named("cache"), "documentation"],
    ) -> None:
        self.primary = primary
        self.cache = cache


def repos() -> DIContainer:
    container = DIContainer().register(Repo, SqlRepo, name="primary")
    return container.register(Repo, MemoryRepo, name="cache", scope=LifecycleScope.SINGLETON)


def test_named_bindings_are_told_apart() -> None:
    """Several bindings of one type, each resolvable and injectable by name."""
    container = repos().register(Reports)
    container.validate()
    reports = container.resolve(Reports)
    assert type(reports.primary) is SqlRepo
    assert reports.cache is container.resolve(Repo, name="cache")
    assert type(container.resolve(Repo, name="primary")) is SqlRepo
    assert container.is_registered(Repo, name="cache")
    assert not container.is_registered(Repo)
    with pytest.raises(MissingDependencyError, match="not registered"):
        container.resolve(Repo)


def test_named_binding_in_an_injected_function() -> None:
    """inject(Repo) fills a parameter annotated with a named Repo with that binding."""
    provider = ServiceProvider(repos())

    @provider.inject(Repo)
    def handler(repo: Annotated[Repo, Named("cache")]) -> Repo:
        return repo

    assert type(handler()) is MemoryRepo


def test_named_override() -> None:
    """override() takes the name too."""
    container = repos()
    with container.override(Repo, SqlRepo, name="cache"):
        assert type(container.resolve(Repo, name="cache")) is SqlRepo
    assert type(container.resolve(Repo, name="cache")) is MemoryRepo


class MaybeReports:
    def __init__(
        self,
        cache: Annotated[Repo | None, Named("cache")],
        spare: Annotated[Repo | None, Named("spare")],
    ) -> None:
        self.cache = cache
        self.spare = spare


def test_an_optional_named_binding_is_the_binding_or_none() -> None:
    """``Annotated[T | None, Named(n)]`` is the binding named n when there is one, else None."""
    container = repos().register(MaybeReports)
    container.validate()
    built = container.resolve(MaybeReports)
    assert built.cache is container.resolve(Repo, name="cache")
    assert built.spare is None
    assert container.resolve(Annotated[Repo | None, Named("spare")]) is None  # type: ignore[arg-type]
    assert "cache" in container.explain(MaybeReports)


@pytest.mark.parametrize("name", ["", 3])
def test_bad_names_are_refused(name: object) -> None:
    """A name must be a non-empty string."""
    with pytest.raises(RegistrationError, match="non-empty str"):
        Named(name)  # type: ignore[arg-type]


class Pipeline:
    def __init__(self, plugins: list[Plugin], also: Sequence[Plugin]) -> None:
        self.plugins = plugins
        self.also = also


def plugins() -> DIContainer:
    container = DIContainer().register(Plugin, Audit, name="audit")
    container.register(Plugin, Metrics, scope=LifecycleScope.SINGLETON)
    return container.register(Plugin, Tracing, name="tracing").register(Pipeline)


def test_collections_get_every_implementation_in_registration_order() -> None:
    """list[T] and Sequence[T] receive every binding of T (named or not), in order."""
    container = plugins()
    container.validate()
    pipeline = container.resolve(Pipeline)
    assert [type(p) for p in pipeline.plugins] == [Audit, Metrics, Tracing]
    assert [type(p) for p in pipeline.also] == [Audit, Metrics, Tracing]
    assert pipeline.plugins[1] is pipeline.also[1]  # the singleton is shared
    assert pipeline.plugins[0] is not pipeline.also[0]  # transients are not
    assert "plugins: list[Plugin]  (all 3:" in container.explain(Pipeline)


def test_empty_collection_is_a_missing_dependency() -> None:
    """With no binding of T, list[T] is reported like any missing dependency."""
    container = DIContainer().register(Pipeline)
    with pytest.raises(MissingDependencyError, match=r"Pipeline.plugins -> list\[Plugin\]"):
        container.resolve(Pipeline)


class Session:
    pass


class UsesLater:
    def __init__(
        self,
        session: Provider[Session],
        factory: Callable[[], Session],
        asynchronous: Callable[[], Awaitable[Session]],
    ) -> None:
        self.session = session
        self.factory = factory
        self.asynchronous = asynchronous


def test_lazy_providers_resolve_in_the_same_scope() -> None:
    """Provider[T] / Callable[[], T] resolve T when called, in the scope that built them."""
    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    container.register(UsesLater)
    container.validate()
    with container.scope() as scope:
        later = scope.resolve(UsesLater)
        assert later.session() is scope.resolve(Session)
        assert later.factory() is later.session()
        assert asyncio.run(later.asynchronous()) is later.session()  # type: ignore[arg-type]
    assert "session: Callable[[], Session]  (lazy -> Session)" in container.explain(UsesLater)


def test_lazy_provider_in_a_singleton_uses_the_current_scope() -> None:
    """A singleton holding Provider[Scoped] gets the scoped service of each request."""

    class Service:
        def __init__(self, session: Provider[Session]) -> None:
            self.session = session

    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    container.register(Service, scope=LifecycleScope.SINGLETON)
    container.validate()  # not a captive dependency: nothing is held
    service = container.resolve(Service)
    with container.scope() as first:
        assert service.session() is first.resolve(Session)
    with container.scope() as second:
        assert service.session() is second.resolve(Session)


class Node:
    def __init__(self, parent: Provider[Node]) -> None:
        self.parent = parent


def test_lazy_dependency_breaks_a_cycle() -> None:
    """A type may depend lazily on itself."""
    container = DIContainer().register(Node)
    container.validate()
    node = container.resolve(Node)
    assert isinstance(node.parent(), Node)


@pytest.mark.skipif(sys.version_info < (3, 14), reason="annotationlib is new in Python 3.14")
def test_annotationlib_reads_a_lazy_annotation_naming_an_undefined_type() -> None:
    """On 3.14 an annotation naming an undefined type is read as a forward reference."""
    namespace: dict[str, object] = {}
    source = (
        "class Uses:\n"
        "    def __init__(self, repo: Repo, ghost: Ghost = None) -> None:\n"
        "        self.repo, self.ghost = repo, ghost\n"
    )
    exec(source, {"Repo": Repo, "__name__": "lazy_annotations"}, namespace)  # noqa: S102 - evaluated without the future import
    uses: type[Any] = namespace["Uses"]  # type: ignore[assignment]
    container = DIContainer().register(Repo).register(uses)
    built = container.resolve(uses)
    assert isinstance(built.repo, Repo)
    assert built.ghost is None


def test_a_collection_resolves_at_the_root() -> None:
    """resolve(list[T]) gives every binding of T; explain shows them."""
    container = plugins()
    assert [type(p) for p in container.resolve(list[Plugin])] == [Audit, Metrics, Tracing]
    text = container.explain(list[Plugin])
    assert text.startswith("list[Plugin]  (all 3:")
    assert "└─ [2] Annotated[Plugin, Named('tracing')]  (transient <- Tracing())" in text


def test_missing_named_binding_shows_how_to_register_it() -> None:
    """The error for an unknown name shows register(..., name=...)."""
    with pytest.raises(MissingDependencyError, match=r"container.register\(Repo, ..., name='x'\)"):
        repos().resolve(Repo, name="x")


def test_a_scope_resolves_a_named_binding() -> None:
    """scope.resolve / aresolve take name= as the container's do (integrations hold the scope)."""
    container = DIContainer().register(Repo, SqlRepo, name="primary", scope=LifecycleScope.SCOPED)
    scope = container.scope()  # not made current: only the scope itself can resolve
    repo = scope.resolve(Repo, name="primary")
    assert isinstance(repo, SqlRepo)
    assert asyncio.run(scope.aresolve(Repo, name="primary")) is repo
    scope.close()


class NeedsMissing:
    def __init__(self, missing: Annotated[Repo, Named("x")]) -> None:
        self.missing = missing


@pytest.mark.parametrize(
    ("service", "advice"),
    [
        (Pipeline, "container.register(Plugin, ...)"),  # list[Plugin]: register a Plugin
        (list[Plugin], "container.register(Plugin, ...)"),
        (Sequence[Plugin], "container.register(Plugin, ...)"),
        (NeedsMissing, "container.register(Repo, ..., name='x')"),
    ],
)
def test_missing_collection_or_named_parameter_shows_what_to_register(
    service: Any, advice: str
) -> None:
    """The advice registers the item type (or the type under its name), never list[T]."""
    with pytest.raises(MissingDependencyError) as caught:
        DIContainer().register(Pipeline).register(NeedsMissing).resolve(service)
    assert advice in caught.value.message
    assert "register(list[" not in caught.value.message
    assert "register(Annotated[" not in caught.value.message


def test_forward_reference_objects_are_read_one_by_one() -> None:
    """Annotations given as ForwardRef objects (as 3.14's FORWARDREF format gives them) are read."""

    def build(repo: Repo, ghost: object = None) -> Reports:
        return Reports(repo, MemoryRepo())

    build.__annotations__ = {"repo": ForwardRef("Repo"), "ghost": ForwardRef("Ghost")}
    container = DIContainer().register(Repo, SqlRepo).register(Reports, factory=build)
    assert type(container.resolve(Reports).primary) is SqlRepo
