"""ServiceProvider.inject: per-call injection into functions."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import pytest

from pmp_di import DIContainer, LifecycleScope, RegistrationError, ServiceProvider

if TYPE_CHECKING:
    from collections.abc import Callable


class Database:
    def __init__(self, url: str = "db://") -> None:
        self.url = url


class Mailer:
    pass


def test_inject_resolves_per_call_and_sees_late_registrations() -> None:
    """Services are resolved at call time, so registrations after decoration count."""
    container = DIContainer()
    provider = ServiceProvider(container)

    @provider.inject(Database)
    def url(db: Database) -> str:
        return db.url

    container.register(Database, instance=Database("late://"))
    assert url() == "late://"
    container.register(Database, instance=Database("later://"))
    assert url() == "later://"


def test_caller_keyword_arguments_win() -> None:
    """An injected parameter passed by keyword is not resolved."""
    container = DIContainer()
    provider = ServiceProvider(container)

    @provider.inject(Database)
    def url(db: Database) -> str:
        return db.url

    assert url(db=Database("explicit://")) == "explicit://"  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda f: f("a"), ("db://", "a", 1, ())),
        (lambda f: f("a", 2), ("db://", "a", 2, ())),
        (lambda f: f(name="b"), ("db://", "b", 1, ())),
        (lambda f: f("a", 2, 3, 4), ("db://", "a", 2, (3, 4))),
    ],
)
def test_leading_injected_parameters_leave_the_rest_to_the_caller(
    call: Callable[[Callable[..., object]], object], expected: tuple[object, ...]
) -> None:
    """Positional arguments fill the parameters that are not injected, in order."""
    container = DIContainer().register(Database).register(Mailer)
    provider = ServiceProvider(container)

    @provider.inject(Database, Mailer)
    def handler(
        db: Database, mailer: Mailer, name: str, count: int = 1, *rest: int
    ) -> tuple[object, ...]:
        assert isinstance(mailer, Mailer)
        return db.url, name, count, rest

    assert call(handler) == expected


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda f: f("a"), ("a", "db://", "k")),
        (lambda f: f(name="a"), ("a", "db://", "k")),
        (lambda f: f("a", db=Database("x://"), flag="z"), ("a", "x://", "z")),
    ],
)
def test_injected_parameters_anywhere_in_the_signature(
    call: Callable[[Callable[..., object]], object], expected: tuple[object, ...]
) -> None:
    """Injected parameters after or among the caller's, and keyword-only ones, are filled."""
    container = DIContainer().register(Database).register(Mailer)
    provider = ServiceProvider(container)

    @provider.inject(Database, Mailer)
    def handler(name: str, db: Database, *, mailer: Mailer, flag: str = "k") -> tuple[str, ...]:
        assert isinstance(mailer, Mailer)
        return name, db.url, flag

    assert call(handler) == expected


def test_inject_keeps_metadata() -> None:
    """The wrapper keeps name, doc and __wrapped__."""
    provider = ServiceProvider(DIContainer())

    @provider.inject(Database)
    def documented(db: Database) -> None:
        """Docs."""

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Docs."
    assert inspect.unwrap(documented) is documented.__wrapped__  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_inject_on_async_function_uses_aresolve() -> None:
    """An async def is injected through aresolve, so async factories work."""

    async def make_db() -> Database:
        return Database("async://")

    container = DIContainer().register(Database, factory=make_db, scope=LifecycleScope.SINGLETON)
    provider = ServiceProvider(container)

    @provider.inject(Database)
    async def url(db: Database, suffix: str) -> str:
        return db.url + suffix

    @provider.inject(Database)
    async def trailing(suffix: str, *, db: Database) -> str:
        return db.url + suffix

    assert inspect.iscoroutinefunction(url)
    assert await url("/x") == "async:///x"
    assert await trailing("/y") == "async:///y"
    assert await url("/z", db=Database("kw://")) == "kw:///z"  # type: ignore[call-arg]


def test_forward_references_are_read_at_first_call() -> None:
    """A parameter naming a type defined after decoration is matched at the first call."""
    container = DIContainer()
    provider = ServiceProvider(container)

    @provider.inject(Database)
    def use(db: Database, later: DefinedAfterDecoration | None = None) -> str:
        return db.url

    container.register(Database)
    assert use() == "db://"


class DefinedAfterDecoration:
    pass


def test_unresolvable_annotation_is_reported_at_call() -> None:
    """A service whose parameter's annotation never resolves is reported at the first call."""
    provider = ServiceProvider(DIContainer().register(Database))

    @provider.inject(Database)
    def use(db: Ghost) -> None:  # type: ignore[name-defined]  # noqa: F821 - never defined, on purpose
        """Unreachable."""

    with pytest.raises(RegistrationError, match="Ghost"):
        use()


def test_unresolvable_annotation_of_a_callers_parameter_is_ignored() -> None:
    """The caller's own parameters need no readable annotation."""
    provider = ServiceProvider(DIContainer().register(Database))

    @provider.inject(Database)
    def use(db: Database, ghost: Ghost) -> object:  # type: ignore[name-defined]  # noqa: F821 - never defined, on purpose
        return ghost

    assert use(ghost=None) is None


@pytest.mark.parametrize("services", [(), (Mailer,)])
def test_inject_rejects_bad_services(services: tuple[type, ...]) -> None:
    """inject() needs at least one service, each matching an annotated parameter."""
    provider = ServiceProvider(DIContainer())

    def use(db: Database) -> None:
        """Unused."""

    with pytest.raises(RegistrationError) as info:
        provider.inject(*services)(use)
    assert info.value.context["argument"] == "services"
