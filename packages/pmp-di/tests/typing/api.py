"""Types users see: resolve returns T, register chains, inject drops injected parameters."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable
from typing import Annotated, TypeAlias

from typing_extensions import assert_type

from pmp_di import DIContainer, LifecycleScope, Named, Provider, Scope, ServiceProvider


class Database:
    def query(self) -> str:
        return "rows"


class Mailer:
    pass


class Service:
    def __init__(self, db: Database) -> None:
        self.db = db


def make_service(db: Database) -> Service:
    return Service(db)


container = DIContainer()
assert_type(container.register(Database, scope=LifecycleScope.SINGLETON), DIContainer)
assert_type(container.register(Service, factory=make_service).register(Mailer), DIContainer)
assert_type(container.register(Database, instance=Database()), DIContainer)
assert_type(container.resolve(Database), Database)
assert_type(container.register(Database).register(Mailer).register(Service), DIContainer)

# negative checks: each ignore must be needed (warn_unused_ignores), so the error is real
wrong: Mailer = container.resolve(Database)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
no_attribute = container.resolve(Database).missing  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownVariableType, reportUnknownMemberType]
not_chained = container.register(Database).missing  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownVariableType, reportUnknownMemberType]
container.register(Database, Mailer)  # type: ignore[arg-type]
container.register(Database, scope="singleton")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

with container.scope() as scope:
    assert_type(scope, Scope)
    assert_type(scope.resolve(Service), Service)
    assert_type(scope.scope(), Scope)

with container.override(Database, instance=Database()) as overridden:
    assert_type(overridden, DIContainer)

provider = ServiceProvider(container)


@provider.inject(Database)
def process_data(db: Database) -> str:
    return db.query()


assert_type(process_data, Callable[[], str])
assert_type(process_data(), str)
process_data(Database())  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # the injected parameter is gone


@provider.inject(Database, Mailer)
def send(db: Database, mailer: Mailer, to: str, *, urgent: bool = False) -> int:
    return len(to)


assert_type(send("a@b.c"), int)
assert_type(send("a@b.c", urgent=True), int)
send(42)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # the rest of the signature is still checked
send()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


@provider.inject(Database)
async def fetch(db: Database, key: str) -> str:
    return key


@provider.inject(Mailer)
def trailing(to: str, mailer: Mailer) -> bool:
    return True


# injected parameters that are not leading keep the call unchecked but typed by return
assert_type(trailing, Callable[..., bool])


async def main() -> None:
    assert_type(await container.aresolve(Service), Service)
    assert_type(await fetch("k"), str)
    await fetch(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await fetch(key="k")
    async with container.scope() as async_scope:
        assert_type(await async_scope.aresolve(Database), Database)


class Repository(abc.ABC):
    @abc.abstractmethod
    def get(self) -> str: ...


class SqlRepository(Repository):
    def get(self) -> str:
        return "sql"


# abstract service keys: mypy's type-abstract check applies to every type[T] API
container.register(Repository, SqlRepository)  # type: ignore[type-abstract]
assert_type(container.resolve(Repository), Repository)  # type: ignore[type-abstract]


class Clock:
    pass


class Audit:
    pass


@provider.inject(Database, Mailer, Clock, Audit)
def four(db: Database, mailer: Mailer, clock: Clock, audit: Audit, to: str) -> int:
    return len(to)


# four or more services: honestly untyped parameters, never a wrong signature
assert_type(four, Callable[..., int])
assert_type(four("a@b.c"), int)


# request scopes: context values, the current scope, separate activate/close hooks
class Request:
    pass


container.register(Request, from_context=True)
with container.scope(context={Request: Request()}) as request_scope:
    assert_type(request_scope.resolve(Request), Request)
    assert_type(container.current_scope(), Scope | None)
    assert_type(request_scope.scope(context={Request: Request()}), Scope)
    assert_type(request_scope.resolve(Database, name="primary"), Database)
    request_scope.resolve(Database, name=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
assert_type(container.scope().activate(), Scope)
with container.scope() as hooks_scope:  # an integration ties its own cleanup to the request
    assert_type(hooks_scope.enter_context(contextlib.nullcontext(5)), int)
    hooks_scope.enter_context(5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


async def enter_async(scope: Scope) -> None:
    """enter_async_context keeps the managed value's type."""
    assert_type(await scope.enter_async_context(contextlib.nullcontext("x")), str)
    (await scope.enter_async_context(contextlib.nullcontext(5))).bit_count(1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


container.scope(context=[Request])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # a mapping of values

# named bindings
assert_type(container.register(Database, name="primary"), DIContainer)
assert_type(container.resolve(Database, name="primary"), Database)
container.resolve(Database, name=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
PrimaryDatabase: TypeAlias = Annotated[Database, Named("primary")]


class UsesBindings:
    def __init__(
        self,
        db: PrimaryDatabase,
        plugins: list[Mailer],
        lazy: Provider[Service],
        factory: Callable[[], Service],
    ) -> None:
        assert_type(db, Database)
        assert_type(lazy(), Service)
        assert_type(factory(), Service)
        self.plugins = plugins


assert_type(Named("primary").name, str)
