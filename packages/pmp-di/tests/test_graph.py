"""Cycles, missing dependencies, captive dependencies, validate() and explain()."""

from __future__ import annotations

import asyncio
import collections.abc
from typing import TYPE_CHECKING, Generic, TypeVar

import pytest

from pmp_di import (
    AsyncDependencyError,
    CaptiveDependencyError,
    CircularDependencyError,
    DIContainer,
    LifecycleScope,
    MissingDependencyError,
    Scope,
)

if TYPE_CHECKING:
    from collections.abc import Callable


class Repository:
    pass


class Service:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo


class Handler:
    def __init__(self, service: Service) -> None:
        self.service = service


class CycleA:
    def __init__(self, b: CycleB) -> None:
        self.b = b


class CycleB:
    def __init__(self, a: CycleA) -> None:
        self.a = a


class Root:
    def __init__(self, a: CycleA) -> None:
        self.a = a


class Broken:
    def __init__(self, ghost: Ghost) -> None:  # type: ignore[name-defined]  # noqa: F821 - never defined, on purpose
        self.ghost = ghost


class Config:
    def __init__(self, retries: int = 3) -> None:
        self.retries = retries


class Cache:
    def __init__(self, config: Config, maybe: Repository | None = None) -> None:
        self.config = config


def test_missing_dependency_names_consumer_parameter_type_and_path() -> None:
    """The error shows Handler -> Service.repo -> Repository and names each part."""
    container = DIContainer().register(Handler).register(Service)
    with pytest.raises(MissingDependencyError) as info:
        container.resolve(Handler)
    error = info.value
    assert "Handler -> Service.repo -> Repository" in error.message
    assert error.context["consumer"] == "Service"
    assert error.context["parameter"] == "repo"
    assert error.context["service"] == "Repository"
    assert error.path == ["Handler", "Service.repo", "Repository"]


@pytest.mark.parametrize("lifetime", list(LifecycleScope))
def test_cycle_raises_chain_not_recursion_error(lifetime: LifecycleScope) -> None:
    """A cycle raises CircularDependencyError showing the chain, for every lifetime."""
    container = DIContainer().register(CycleA, scope=lifetime).register(CycleB, scope=lifetime)
    container.register(Root)
    with container.scope() as scope, pytest.raises(CircularDependencyError) as info:
        scope.resolve(Root)
    assert "CycleA -> CycleB -> CycleA" in info.value.message
    assert "reached from Root" in info.value.message
    assert info.value.context["cycle"] == ["CycleA", "CycleB", "CycleA"]


def test_self_dependency_is_a_cycle() -> None:
    """A factory needing its own type is reported as a cycle."""

    def make(repo: Repository) -> Repository:  # pragma: no cover - never called
        return repo

    with pytest.raises(CircularDependencyError, match="Repository -> Repository"):
        DIContainer().register(Repository, factory=make).resolve(Repository)


class UsesBroken:
    def __init__(self, broken: Broken) -> None:
        self.broken = broken


def test_unresolvable_forward_reference_is_reported() -> None:
    """An undefined annotation raises MissingDependencyError naming the type and the path."""
    with pytest.raises(MissingDependencyError, match="Ghost") as info:
        DIContainer().register(Broken).register(UsesBroken).resolve(UsesBroken)
    assert info.value.path == ["UsesBroken", "Broken.ghost", "Ghost"]
    assert "annotated 'Ghost', which cannot be evaluated here (NameError" in info.value.message


def test_validate_passes_for_a_sound_graph() -> None:
    """validate() is silent when every dependency can be built."""
    container = DIContainer().register(Handler).register(Service)
    container.register(Repository, scope=LifecycleScope.SINGLETON)
    container.register(Cache, scope=LifecycleScope.SINGLETON)
    container.register(Config, instance=Config())
    container.validate()


def test_validate_reports_all_problems_with_paths() -> None:
    """validate() raises the first problem and lists every problem in context."""
    container = DIContainer().register(Handler).register(Service)
    container.register(CycleA).register(CycleB).register(Broken)
    with pytest.raises(MissingDependencyError) as info:
        container.validate()
    problems = info.value.context["problems"]
    assert len(problems) == 3
    assert any("Service.repo -> Repository" in p for p in problems)
    assert any("CycleA -> CycleB -> CycleA" in p for p in problems)
    assert any("Ghost" in p for p in problems)
    assert "2 more problem(s)" in info.value.message


def test_validate_reports_captive_dependency() -> None:
    """A singleton depending on a scoped service is a captive dependency."""
    container = DIContainer().register(Cache, scope=LifecycleScope.SINGLETON)
    container.register(Config, scope=LifecycleScope.SCOPED)
    with pytest.raises(CaptiveDependencyError, match=r"Cache -> Config") as info:
        container.validate()
    assert info.value.path == ["Cache", "Config"]


def test_resolving_singleton_over_scoped_is_captive() -> None:
    """Resolving a singleton that needs a scoped service raises, even inside a scope."""
    container = DIContainer().register(Cache, scope=LifecycleScope.SINGLETON)
    container.register(Config, scope=LifecycleScope.SCOPED)
    with container.scope() as scope, pytest.raises(CaptiveDependencyError, match="singleton Cache"):
        scope.resolve(Cache)


MAKE_REPO = "test_explain_shows_tree_with_lifetimes_and_factories.<locals>.make_repo"


def test_explain_shows_tree_with_lifetimes_and_factories() -> None:
    """explain() draws each node with its lifetime, factory and defaults."""

    def make_repo() -> Repository:
        return Repository()

    container = DIContainer().register(Handler).register(Service)
    container.register(Repository, factory=make_repo, scope=LifecycleScope.SINGLETON)
    container.register(Cache, scope=LifecycleScope.SCOPED).register(Config)
    assert container.explain(Handler).splitlines() == [
        "Handler  (transient <- Handler())",
        "└─ service: Service  (transient <- Service())",
        f"   └─ repo: Repository  (singleton <- {MAKE_REPO}())",
    ]
    container.resolve(Repository)
    assert "(singleton, built <- " in container.explain(Handler)
    assert container.explain(Cache).splitlines() == [
        "Cache  (scoped <- Cache())",
        "├─ config: Config  (transient <- Config())",
        "│  └─ retries: int  (not registered, default 3)",
        f"└─ maybe: Repository | None  (singleton, built <- {MAKE_REPO}())",
    ]


def test_explain_marks_missing_cycles_instances_and_errors() -> None:
    """explain() never raises: it marks missing types, cycles and unreadable annotations."""

    def gen() -> object:
        yield Repository()

    container = DIContainer().register(Handler).register(CycleA).register(CycleB)
    container.register(Broken).register(Config, instance=Config())
    container.register(Repository, factory=gen)
    assert "MISSING: not registered" in container.explain(Handler)
    assert "(cycle back to CycleA)" in container.explain(CycleA)
    assert "MISSING: cannot evaluate the annotation (NameError" in container.explain(Broken)
    assert container.explain(Config) == "Config  (instance)"
    assert container.explain(int) == "int  (MISSING: not registered)"
    assert "[context manager]" in container.explain(Repository)


def test_explain_shows_nullable_without_default() -> None:
    """An unregistered X | None without a default is shown as None."""

    class Nullable:
        def __init__(self, repo: Repository | None) -> None:
            self.repo = repo

    text = DIContainer().register(Nullable).explain(Nullable)
    assert "(not registered, None)" in text


def _chain(
    depth: int, lifetime: Callable[[int], LifecycleScope] = lambda _: LifecycleScope.TRANSIENT
) -> tuple[DIContainer, list[type]]:
    """N0 <- N1 <- ... : each level's constructor takes the level below as ``dep``."""
    container = DIContainer()
    classes: list[type] = []
    for level in range(depth):

        def init(self: object, dep: object = None) -> None:
            self.dep = dep  # type: ignore[attr-defined]

        init.__annotations__ = {"dep": classes[-1]} if classes else {}
        classes.append(type(f"N{level}", (), {"__init__": init}))
        container.register(classes[-1], scope=lifetime(level))
    return container, classes


def _depth(node: object) -> int:
    depth = 0
    while node is not None:
        depth, node = depth + 1, node.dep  # type: ignore[attr-defined]
    return depth


@pytest.mark.parametrize("is_async", [False, True])
def test_deep_graph_compiles_without_recursion_error(is_async: bool) -> None:
    """A 500-level transient graph compiles and builds every level, sync and async."""
    container, classes = _chain(500)
    top: object = (
        asyncio.run(container.aresolve(classes[-1])) if is_async else container.resolve(classes[-1])
    )
    assert _depth(top) == 500


def test_deep_graph_with_singleton_and_scoped_layers() -> None:
    """Singleton and scoped layers inside a 500-level graph are built once each."""

    def lifetime(level: int) -> LifecycleScope:
        if level % 50 == 0:
            return LifecycleScope.SINGLETON if level < 250 else LifecycleScope.SCOPED
        return LifecycleScope.TRANSIENT

    container, classes = _chain(500, lifetime)
    with container.scope() as scope:
        node_a: object = scope.resolve(classes[-1])
        node_b: object = scope.resolve(classes[-1])
    assert _depth(node_a) == 500
    for _ in range(500 - 451):  # down to N450, the last scoped layer
        node_a, node_b = node_a.dep, node_b.dep  # type: ignore[attr-defined]
    assert type(node_a).__name__ == "N450"
    assert node_a is node_b


def test_deep_missing_dependency_names_the_whole_path() -> None:
    """A missing dependency 100 levels down is reported with the path from the top."""
    container, classes = _chain(100)

    def bottom(repo: Repository) -> object:  # pragma: no cover - never called
        return repo

    container.register(classes[0], factory=bottom)
    with pytest.raises(MissingDependencyError) as info:
        container.resolve(classes[-1])
    assert info.value.path[0] == "N99"
    assert info.value.path[-2:] == ["N0.repo", "Repository"]
    assert len(info.value.path) == 101


def test_deep_cycle_is_reported_with_its_chain() -> None:
    """A cycle closing 100 levels down is a CircularDependencyError naming both ends."""
    container, classes = _chain(100)

    def bottom(top: object) -> object:  # pragma: no cover - never called
        return top

    bottom.__annotations__["top"] = classes[-1]
    container.register(classes[0], factory=bottom)
    with pytest.raises(CircularDependencyError) as info:
        container.resolve(classes[-1])
    assert info.value.context["cycle"][0] == info.value.context["cycle"][-1] == "N99"
    assert len(info.value.context["cycle"]) == 101


def test_validate_and_explain_walk_very_deep_graphs() -> None:
    """validate() and explain() do not recurse per level: 1500 levels are fine."""
    container, classes = _chain(1500)
    container.validate()
    lines = container.explain(classes[-1]).splitlines()
    assert len(lines) == 1501  # 1500 levels and N0's own `dep=None`
    assert lines[-1] == " " * 3 * 1499 + "└─ dep  (not registered, default None)"


T = TypeVar("T")


class Repo(Generic[T]):
    pass


class User:
    pass


class UsesRepo:
    def __init__(self, repo: Repo[User], hook: object = None) -> None:
        self.repo = repo


UsesRepo.__init__.__annotations__["hook"] = collections.abc.Callable[[int, str], None] | None


def test_generic_services_are_named_without_module_prefixes() -> None:
    """Errors and explain() show Repo[User] and Callable[[int, str], None] as written."""
    container = DIContainer().register(UsesRepo)
    with pytest.raises(MissingDependencyError) as info:
        container.resolve(UsesRepo)
    assert info.value.path == ["UsesRepo.repo", "Repo[User]"]
    assert "hook: Callable[[int, str], None] | None  (not registered, default None)" in (
        container.explain(UsesRepo)
    )
    container.register(Repo[User], Repo)
    assert isinstance(container.resolve(UsesRepo).repo, Repo)


OtherRepository = type("Repository", (), {"__module__": "elsewhere.models"})


class UsesOtherRepository:
    def __init__(self, repo: OtherRepository) -> None:  # type: ignore[valid-type]
        self.repo = repo


def test_missing_type_sharing_a_name_with_a_registered_one_is_told_apart() -> None:
    """When a different class of the same name is registered, both are named by module."""
    container = DIContainer().register(Repository).register(UsesOtherRepository)
    with pytest.raises(MissingDependencyError) as info:
        container.resolve(UsesOtherRepository)
    message = info.value.message
    assert "UsesOtherRepository.repo -> elsewhere.models.Repository" in message
    assert f"{__name__}.Repository is registered, but it is a different type" in message
    with pytest.raises(MissingDependencyError, match=r"elsewhere\.models\.Repository"):
        container.validate()


def test_failed_deep_compile_leaves_no_half_built_singleton_builder() -> None:
    """A compile that fails below a cut drops the builders it made; a later compile works."""

    async def bottom() -> object:
        return None

    container, classes = _chain(60)
    container.register(classes[0], factory=bottom, scope=LifecycleScope.SINGLETON)
    container.register(classes[-1], scope=LifecycleScope.SINGLETON)
    with pytest.raises(AsyncDependencyError):  # found 59 levels down, past two cuts
        container.resolve(classes[-1])
    asyncio.run(container.aresolve(classes[0]))  # now the async part is built
    assert _depth(container.resolve(classes[-1])) == 59


@pytest.mark.parametrize("lifetime", [LifecycleScope.SINGLETON, LifecycleScope.SCOPED])
@pytest.mark.parametrize("is_async", [False, True])
def test_factory_resolving_its_own_service_is_a_cycle(
    lifetime: LifecycleScope, is_async: bool
) -> None:
    """A factory that resolves its own (cached) service raises instead of recursing or hanging."""
    container = DIContainer()

    def make(scope: Scope) -> Repository:
        scope.resolve(Repository)
        return Repository()  # pragma: no cover - never reached

    async def amake(scope: Scope) -> Repository:
        await scope.aresolve(Repository)
        return Repository()  # pragma: no cover - never reached

    async def run() -> None:
        async with container.scope() as scope:
            container.register(Scope, instance=scope)
            for _ in range(2):  # the failed build leaves nothing behind
                with pytest.raises(CircularDependencyError, match="Repository -> Repository"):
                    await (scope.aresolve(Repository) if is_async else _sync(scope))

    async def _sync(scope: Scope) -> Repository:
        return scope.resolve(Repository)

    container.register(Repository, factory=amake if is_async else make, scope=lifetime)
    asyncio.run(asyncio.wait_for(run(), 5))  # a hang would time out
