"""Registration, autowiring, rebinding and overrides."""

from __future__ import annotations

import abc
import asyncio
import collections.abc
import dataclasses
import functools
import importlib.metadata
import inspect
from typing import TYPE_CHECKING, Annotated, Optional, Protocol

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pmp_di
from pmp_di import (
    AsyncDependencyError,
    CaptiveDependencyError,
    DIContainer,
    LifecycleScope,
    MissingDependencyError,
    RegistrationError,
    ServiceProvider,
)
from pmp_di._registry import Registry
from pmp_errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from typing_extensions import Self

    from pmp_di._registration import Registration


class Config:
    def __init__(self, url: str = "sqlite://") -> None:
        self.url = url


class DatabaseService:
    def __init__(self, connection_string: str = "memory://") -> None:
        self.connection_string = connection_string

    def query(self) -> str:
        return f"rows from {self.connection_string}"


class RequestService:
    pass


class Handler:
    def __init__(self, config: Config) -> None:
        self.config = config


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config


class Repository(abc.ABC):
    @abc.abstractmethod
    def get(self) -> str: ...


class SqlRepository(Repository):
    def get(self) -> str:
        return "sql"


class Greeter(Protocol):
    def greet(self) -> str: ...


class English:
    def greet(self) -> str:
        return "hello"


class UsesLater:
    def __init__(self, later: DefinedLater) -> None:
        self.later = later


class DefinedLater:
    pass


class WithDefaults:
    def __init__(
        self, config: Config, retries: int = 3, name: str = "x", *, verbose: bool = False
    ) -> None:
        self.config = config
        self.retries = retries
        self.name = name
        self.verbose = verbose


class OptionalDeps:
    def __init__(self, maybe: Config | None = None, old: Optional[RequestService] = None) -> None:  # noqa: UP045 - both spellings are supported
        self.maybe = maybe
        self.old = old


class NullableNoDefault:
    def __init__(self, maybe: Config | None) -> None:
        self.maybe = maybe


class KeywordOnly:
    def __init__(self, *, config: Config, extra: int = 1) -> None:
        self.config = config
        self.extra = extra


class AfterSkip:
    def __init__(self, retries: int = 3, config: Config | None = None) -> None:
        self.retries = retries
        self.config = config


class PositionalOnly:
    def __init__(self, retries: int = 5, config: Config | None = None, /) -> None:
        self.retries = retries
        self.config = config


class VarArgs:
    def __init__(self, config: Config, *args: int, **kwargs: str) -> None:
        self.config = config
        self.args = args
        self.kwargs = kwargs


def test_seed_registration_and_resolution() -> None:
    """The seed's first example: singletons are shared, transients are new each time."""
    container = DIContainer()
    container.register(DatabaseService, scope=LifecycleScope.SINGLETON)
    container.register(RequestService, scope=LifecycleScope.TRANSIENT)
    assert container.resolve(DatabaseService) is container.resolve(DatabaseService)
    assert container.resolve(RequestService) is not container.resolve(RequestService)


def test_seed_factories_are_autowired() -> None:
    """The seed's factory examples: a factory's own parameters are resolved."""

    def database_factory() -> DatabaseService:
        return DatabaseService(connection_string="postgresql://...")

    def config_aware_factory(config: Config) -> Service:
        return Service(config)

    container = DIContainer().register(Config, scope=LifecycleScope.SINGLETON)
    container.register(DatabaseService, factory=database_factory)
    container.register(Service, factory=config_aware_factory)
    assert container.resolve(DatabaseService).connection_string == "postgresql://..."
    assert container.resolve(Service).config is container.resolve(Config)


def test_seed_service_provider() -> None:
    """The seed's ServiceProvider example runs as written."""
    container = DIContainer()
    container.register(DatabaseService, scope=LifecycleScope.SINGLETON)
    provider = ServiceProvider(container)

    @provider.inject(DatabaseService)
    def process_data(db: DatabaseService):
        return db.query()

    assert process_data() == "rows from memory://"


def test_register_returns_the_container_for_chaining() -> None:
    """register() returns the same container."""
    container = DIContainer()
    assert container.register(Config) is container


@pytest.mark.parametrize(
    ("service", "implementation"), [(Repository, SqlRepository), (Greeter, English)]
)
def test_interface_is_bound_to_implementation(service: type, implementation: type) -> None:
    """ABCs and Protocols resolve to the registered implementation."""
    container = DIContainer().register(service, implementation)
    assert type(container.resolve(service)) is implementation


def test_registered_instance_is_returned() -> None:
    """instance= registers a ready object, shared like a singleton."""
    config = Config("postgres://")
    container = DIContainer().register(Config, instance=config).register(Service)
    assert container.resolve(Config) is config
    assert container.resolve(Service).config is config


def test_forward_references_are_resolved() -> None:
    """Annotations naming classes defined later (and string annotations) are resolved."""
    container = DIContainer().register(UsesLater).register(DefinedLater)
    assert isinstance(container.resolve(UsesLater).later, DefinedLater)


class MakeService:
    def __call__(self, config: Config) -> Service:
        return Service(config)


class MakeServiceAsync:
    async def __call__(self, config: Config) -> Service:
        return Service(config)


def _make_service(config: Config, suffix: str) -> Service:
    return Service(Config(config.url + suffix))


@pytest.mark.parametrize(
    "factory",
    [MakeService(), functools.partial(_make_service, suffix=""), functools.partial(Service)],
)
def test_callable_objects_and_partials_are_autowired(factory: Callable[..., Service]) -> None:
    """Callable objects and functools.partial factories have their string annotations read."""
    container = DIContainer().register(Config, instance=Config("x://"))
    container.register(Service, factory=factory)
    assert container.resolve(Service).config.url == "x://"


def test_async_callable_object_is_awaited() -> None:
    """An object with an async __call__ is an async factory, resolved through aresolve."""
    container = DIContainer().register(Config).register(Service, factory=MakeServiceAsync())
    with pytest.raises(AsyncDependencyError):
        container.resolve(Service)
    assert isinstance(asyncio.run(container.aresolve(Service)).config, Config)


@dataclasses.dataclass
class DataclassService:
    config: Config
    retries: int = 3


class InheritsInit(Service):
    pass


class NewOnly:
    config: Config

    def __new__(cls, config: Config) -> Self:  # Self is not importable at runtime here
        self = super().__new__(cls)
        self.config = config
        return self


class AnnotatedParams:
    def __init__(
        self, config: Annotated[Config, "primary"], maybe: Annotated[Config, "x"] | None = None
    ) -> None:
        self.config = config
        self.maybe = maybe


@pytest.mark.parametrize("cls", [DataclassService, InheritsInit, NewOnly, AnnotatedParams])
def test_constructor_shapes_are_autowired(cls: type) -> None:
    """Dataclasses, inherited __init__, __new__-only classes and Annotated hints are autowired."""
    config = Config("shape://")
    built: object = DIContainer().register(Config, instance=config).register(cls).resolve(cls)
    assert built.config is config  # type: ignore[attr-defined]


def test_unregistered_parameters_keep_their_defaults() -> None:
    """An unregistered type with a default keeps the default (retries stays 3, not 0)."""
    container = DIContainer().register(Config).register(WithDefaults)
    built = container.resolve(WithDefaults)
    assert (built.retries, built.name, built.verbose) == (3, "x", False)


def test_registered_parameter_type_is_injected_even_with_default() -> None:
    """A registered type wins over a parameter default."""
    container = DIContainer().register(int, instance=7).register(Config).register(WithDefaults)
    assert container.resolve(WithDefaults).retries == 7


def test_optional_unregistered_gives_none_and_registered_is_injected() -> None:
    """X | None and Optional[X] give None when X is unregistered, else an X."""
    container = DIContainer().register(OptionalDeps).register(NullableNoDefault)
    assert container.resolve(OptionalDeps).maybe is None
    assert container.resolve(NullableNoDefault).maybe is None
    container.register(Config).register(RequestService)
    built = container.resolve(OptionalDeps)
    assert isinstance(built.maybe, Config)
    assert isinstance(built.old, RequestService)


def test_top_level_optional_resolves_like_an_optional_parameter() -> None:
    """resolve(X | None) and resolve(Optional[X]) give an X when X is registered, else None.

    Exactly what a parameter annotated so receives, in every resolve and in explain.
    """
    container = DIContainer()
    keys: list[object] = [Config | None, Optional[Config]]  # noqa: UP045 - both spellings
    for key in keys:
        assert container.resolve(key) is None  # type: ignore[arg-type]
        assert asyncio.run(container.aresolve(key)) is None  # type: ignore[arg-type]
        assert "None" in container.explain(key)
    container.register(Config, scope=LifecycleScope.SCOPED)
    for key in keys:
        with container.scope() as scope:
            got: object = scope.resolve(key)  # type: ignore[arg-type]
            assert isinstance(got, Config)
            assert got is container.resolve(key)  # type: ignore[arg-type]
            assert got is asyncio.run(scope.aresolve(key))  # type: ignore[arg-type]
        assert container.needs_scope(key)
        assert "Config  (scoped" in container.explain(key)


def test_parameters_after_a_skipped_default_are_passed_by_keyword() -> None:
    """A dependency after a defaulted parameter still arrives, by keyword."""
    container = DIContainer().register(Config).register(AfterSkip).register(KeywordOnly)
    built = container.resolve(AfterSkip)
    assert built.retries == 3
    assert isinstance(built.config, Config)
    assert isinstance(container.resolve(KeywordOnly).config, Config)


def test_positional_only_defaults_are_passed_through() -> None:
    """A skipped positional-only parameter gets its default so later ones can be passed."""
    container = DIContainer().register(Config).register(PositionalOnly)
    built = container.resolve(PositionalOnly)
    assert built.retries == 5
    assert isinstance(built.config, Config)


def test_var_args_are_left_alone() -> None:
    """*args and **kwargs are never filled."""
    built = DIContainer().register(Config).register(VarArgs).resolve(VarArgs)
    assert (built.args, built.kwargs) == ((), {})


def test_reregistration_replaces_binding_and_built_singleton() -> None:
    """Registering again replaces the binding, even a singleton already built."""
    container = DIContainer().register(Config, scope=LifecycleScope.SINGLETON).register(Service)
    first = container.resolve(Service).config
    container.register(Config, instance=Config("new://"))
    assert container.resolve(Config).url == "new://"
    assert container.resolve(Service).config.url == "new://"
    assert container.resolve(Service).config is not first


def test_reregistration_rebuilds_dependent_singletons() -> None:
    """A singleton built from a replaced binding is rebuilt with the new one."""
    container = DIContainer().register(Config, instance=Config("old://"))
    container.register(Service, scope=LifecycleScope.SINGLETON)
    assert container.resolve(Service).config.url == "old://"
    container.register(Config, instance=Config("new://"))
    assert container.resolve(Service).config.url == "new://"


class MaybeConfig:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config


class UsesMaybe:
    def __init__(self, maybe: MaybeConfig) -> None:
        self.maybe = maybe


@pytest.mark.parametrize("lifetime", [LifecycleScope.SINGLETON, LifecycleScope.SCOPED])
def test_registering_an_optional_dependency_rebuilds_its_consumers(
    lifetime: LifecycleScope,
) -> None:
    """A consumer built with None for an unregistered X | None gets an X once X is registered."""
    container = DIContainer().register(MaybeConfig, scope=lifetime)
    container.register(UsesMaybe, scope=lifetime)
    with container.scope() as scope:
        assert scope.resolve(UsesMaybe).maybe.config is None
    container.register(Config, instance=Config("late://"))
    with container.scope() as scope:
        assert scope.resolve(MaybeConfig).config is not None
        assert scope.resolve(UsesMaybe).maybe.config.url == "late://"  # type: ignore[union-attr]


def test_registering_before_any_resolve_does_not_scan_for_dependents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Building a container is linear: nothing can be stale before a graph was walked."""
    scans: list[object] = []
    original = Registry._depends_on

    def counting(self: Registry, reg: Registration, key: object) -> bool:
        scans.append(key)
        return original(self, reg, key)

    monkeypatch.setattr(Registry, "_depends_on", counting)
    container = DIContainer()
    for index in range(50):
        container.register(type(f"S{index}", (), {}))
    container.register(Config).register(Service)
    assert scans == []
    container.resolve(Service)
    container.register(Config, instance=Config("new://"))
    assert scans
    assert container.resolve(Service).config.url == "new://"


def test_override_restores_original_on_exit() -> None:
    """override() swaps a binding for the block and restores built singletons after."""
    container = DIContainer().register(Config, scope=LifecycleScope.SINGLETON)
    container.register(Service, scope=LifecycleScope.SINGLETON)
    original = container.resolve(Service)
    fake = Config("fake://")
    with container.override(Config, instance=fake) as same:
        assert same is container
        assert container.resolve(Service).config is fake
    assert container.resolve(Service) is original


@pytest.mark.parametrize("lifetime", [LifecycleScope.SINGLETON, LifecycleScope.SCOPED])
def test_override_does_not_leak_into_consumers_first_built_inside_it(
    lifetime: LifecycleScope,
) -> None:
    """A consumer first built during override() is rebuilt from the real binding afterwards."""
    container = DIContainer().register(Config, instance=Config("real://"))
    container.register(Service, scope=lifetime)
    with container.scope() as scope:
        with container.override(Config, instance=Config("fake://")):
            assert scope.resolve(Service).config.url == "fake://"
        assert scope.resolve(Service).config.url == "real://"


def test_validate_sees_the_overridden_graph() -> None:
    """validate() inside override() checks the override; after the block, the original."""

    def needs_repository(repo: Repository) -> Config:  # pragma: no cover - never called
        return Config()

    container = DIContainer().register(Config).register(Service)
    with (
        container.override(Config, factory=needs_repository),
        pytest.raises(MissingDependencyError, match=r"Config.repo -> Repository"),
    ):
        container.validate()
    container.validate()


@pytest.mark.parametrize("is_async", [False, True])
def test_singleton_factory_returning_none_runs_once(is_async: bool) -> None:
    """None is a value like any other: a singleton factory returning it is not run again."""
    calls: list[int] = []

    def make() -> Config | None:
        calls.append(1)
        return None

    async def amake() -> Config | None:
        return make()

    factory = amake if is_async else make
    container = DIContainer().register(Config, factory=factory, scope=LifecycleScope.SINGLETON)
    for _ in range(3):
        got = asyncio.run(container.aresolve(Config)) if is_async else container.resolve(Config)
        assert got is None
    assert calls == [1]


def test_override_of_unregistered_service_is_removed_on_exit() -> None:
    """Overriding a service that was not registered leaves it unregistered afterwards."""
    container = DIContainer()
    with container.override(Config, instance=Config()):
        assert container.is_registered(Config)
    assert not container.is_registered(Config)


def test_override_restores_even_when_block_raises() -> None:
    """The original binding comes back when the block raises."""
    container = DIContainer().register(Config, instance=Config("real://"))
    with (
        pytest.raises(ValueError, match="boom"),
        container.override(Config, instance=Config("fake://")),
    ):
        raise ValueError("boom")
    assert container.resolve(Config).url == "real://"


def test_is_registered_handles_unhashable() -> None:
    """is_registered answers False for unhashable input instead of raising."""
    assert not DIContainer().is_registered([])


def test_resolving_unregistered_service_names_it() -> None:
    """An unregistered service raises MissingDependencyError naming it."""
    with pytest.raises(MissingDependencyError, match="Config is not registered") as info:
        DIContainer().resolve(Config)
    assert isinstance(info.value, ConfigurationError)
    assert info.value.context["service"] == "Config"


def test_resolving_unhashable_raises_missing_dependency() -> None:
    """An unhashable service key is reported as not registered."""
    with pytest.raises(MissingDependencyError, match="not registered"):
        DIContainer().resolve([])  # type: ignore[arg-type]


def test_errors_raised_inside_factories_propagate_untouched() -> None:
    """A KeyError or TypeError raised by a factory is not mistaken for a missing plan."""

    def broken() -> Config:
        raise KeyError(Config)

    def wrong() -> Service:
        raise TypeError("bad")

    container = DIContainer().register(Config, factory=broken).register(Service, factory=wrong)
    for _ in range(2):
        with pytest.raises(KeyError):
            container.resolve(Config)
        with pytest.raises(TypeError, match="bad"):
            container.resolve(Service)


def _no_annotation(config, retries: int = 3) -> Config:
    return Config()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"scope": "forever"}, "scope"),
        ({"factory": 3}, "factory"),
        ({"implementation": Config, "factory": Config}, "factory"),
        ({"factory": Config, "instance": Config()}, "instance"),
        ({"instance": Config(), "scope": LifecycleScope.SCOPED}, "scope"),
        ({"factory": _no_annotation}, "config"),
    ],
)
def test_bad_registrations_name_the_argument(kwargs: dict[str, object], argument: str) -> None:
    """Invalid register() arguments raise RegistrationError naming the argument."""
    with pytest.raises(RegistrationError) as info:
        DIContainer().register(Config, **kwargs)  # type: ignore[arg-type]
    assert info.value.context["argument"] == argument
    assert isinstance(info.value, TypeError)


def _returns_service() -> Service:  # pragma: no cover - never called
    return Service(Config())


def _returns_none() -> None:  # pragma: no cover - never called
    """Forgot to return."""


def _yields_service() -> Iterator[Service]:  # pragma: no cover - never called
    yield Service(Config())


# Iterator is imported for type checking only; give the factory a readable annotation
_yields_service.__annotations__["return"] = collections.abc.Iterator[Service]


class Base:
    pass


class Derived(Base):
    pass


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"instance": "postgres://"}, "instance"),
        ({"instance": Service(Config())}, "instance"),
        ({"implementation": Service}, "implementation"),
    ],
)
def test_wrong_typed_bindings_are_rejected_at_register(
    kwargs: dict[str, object], argument: str
) -> None:
    """An instance or implementation that is not a Config cannot be bound to Config."""
    with pytest.raises(RegistrationError, match="must be") as info:
        DIContainer().register(Config, **kwargs)  # type: ignore[arg-type]
    assert info.value.context["argument"] == argument


@pytest.mark.parametrize("factory", [_returns_service, _returns_none, _yields_service])
def test_factory_annotated_to_produce_something_else_is_rejected(
    factory: Callable[..., object],
) -> None:
    """A factory whose return annotation is unrelated to the service fails resolve and validate."""
    container = DIContainer().register(Config, factory=factory).register(Handler)
    with pytest.raises(RegistrationError, match=r"annotated to produce .*not a Config") as info:
        container.resolve(Handler)
    assert info.value.context["argument"] == "factory"
    assert info.value.path == ["Handler", "Config"]
    with pytest.raises(RegistrationError, match="annotated to produce"):
        container.validate()


@pytest.mark.parametrize(
    ("service", "value"), [(float, 1), (complex, 2.0), (Base, Derived()), (Greeter, English())]
)
def test_compatible_bindings_are_accepted(service: type, value: object) -> None:
    """Subclasses, the numeric tower and (unchecked) protocols are accepted."""
    assert DIContainer().register(service, instance=value).resolve(service) is value


def test_factories_annotated_with_a_related_type_are_accepted() -> None:
    """A factory annotated with a base class of the service (or Any) is trusted."""

    def broad() -> Base:
        return Derived()

    def untyped():
        return Derived()

    container = DIContainer().register(Derived, factory=broad)
    assert isinstance(container.resolve(Derived), Derived)
    container.register(Derived, factory=untyped)
    assert isinstance(container.resolve(Derived), Derived)


@pytest.mark.parametrize("service", [Repository, Greeter])
def test_abstract_service_without_implementation_is_rejected(service: type) -> None:
    """Registering an ABC or Protocol alone asks for an implementation."""
    with pytest.raises(RegistrationError, match="abstract"):
        DIContainer().register(service)


def test_unhashable_service_is_rejected() -> None:
    """An unhashable service key is rejected at register."""
    with pytest.raises(RegistrationError, match="hashable"):
        DIContainer().register([])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["x=print('injected') or 1, y", "lambda", "1x"])
def test_forged_parameter_names_never_reach_generated_code(name: str) -> None:
    """A hand-made __signature__ whose parameter name is not an identifier is refused."""
    param = inspect.Parameter("x", inspect.Parameter.KEYWORD_ONLY, annotation=Config)
    param._name = name  # type: ignore[attr-defined]  # what Parameter() itself would refuse

    def factory(**kwargs: object) -> dict[str, object]:  # pragma: no cover - never called
        return kwargs

    factory.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [param], __validate_parameters__=False
    )
    with pytest.raises(RegistrationError, match="is not a parameter name"):
        DIContainer().register(dict, factory=factory)


def test_builtin_without_signature_is_built_without_arguments() -> None:
    """A callable whose signature cannot be read is called with no arguments."""
    container = DIContainer().register(dict)
    assert container.resolve(dict) == {}


@given(st.lists(st.sampled_from(list(LifecycleScope)), min_size=1, max_size=6))
def test_chain_resolves_for_any_lifetimes_inside_a_scope(lifetimes: list[LifecycleScope]) -> None:
    """A chain of any lifetimes resolves in a scope, unless a singleton would capture a scoped."""
    classes: list[type] = []
    container = DIContainer()
    for index, lifetime in enumerate(lifetimes):
        previous = classes[-1] if classes else None

        def init(self: object, dep: object = None) -> None:
            self.dep = dep  # type: ignore[attr-defined]

        if previous is not None:
            init.__annotations__ = {"dep": previous, "return": None}
        cls = type(f"S{index}", (), {"__init__": init})
        classes.append(cls)
        container.register(cls, scope=lifetime)
    captive = any(
        lifetime is LifecycleScope.SINGLETON and LifecycleScope.SCOPED in lifetimes[:index]
        for index, lifetime in enumerate(lifetimes)
    )
    with container.scope() as scope:
        if captive:
            with pytest.raises(CaptiveDependencyError, match="Captive dependency"):
                scope.resolve(classes[-1])
            return
        top: object = scope.resolve(classes[-1])
        again: object = scope.resolve(classes[-1])
    depth = 0
    node: object = top
    while node is not None:
        depth += 1
        node = node.dep  # type: ignore[attr-defined]
    assert depth == len(lifetimes)
    assert (top is again) == (lifetimes[-1] is not LifecycleScope.TRANSIENT)


def test_version_matches_metadata() -> None:
    """__version__ is read from the installed metadata."""
    assert pmp_di.__version__ == importlib.metadata.version("pmp-di")
    with pytest.raises(AttributeError):
        _ = pmp_di.nonexistent
