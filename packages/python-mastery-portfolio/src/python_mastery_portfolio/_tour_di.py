"""Tour section: a small graph, lifetimes, scopes with cleanup, inject and ``explain()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmp_di import (
    CircularDependencyError,
    DIContainer,
    LifecycleScope,
    MissingDependencyError,
    ServiceProvider,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["show"]


class Config:
    """Settings shared by the whole application."""

    def __init__(self, url: str = "postgresql://localhost/app", pool_size: int = 5) -> None:
        self.url = url
        self.pool_size = pool_size


class Database:
    """A connection pool: one per application."""

    def __init__(self, config: Config) -> None:
        self.url = config.url

    def query(self, sql: str) -> str:
        """Pretend to run ``sql``."""
        return f"{sql!r} on {self.url}"


class Session:
    """A unit of work: one per request, closed at its end."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.open = True


class UserRepository:
    """Reads users through the request's session."""

    def __init__(self, session: Session) -> None:
        self.session = session


class Notifier:
    """Needs a type nobody registered."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer


class Signup:
    """Needs the notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier


class Mailer:
    """Never registered in this tour."""


class Chicken:
    """Half of a cycle."""

    def __init__(self, egg: Egg) -> None:
        self.egg = egg


class Egg:
    """The other half."""

    def __init__(self, chicken: Chicken) -> None:
        self.chicken = chicken


def _session(db: Database) -> Iterator[Session]:
    session = Session(db)
    print("    session opened")
    yield session
    session.open = False
    print("    session closed")


def show() -> None:
    """Wire a small graph and show resolution, scopes, injection and errors."""
    container = (
        DIContainer()
        .register(Config, instance=Config())
        .register(Database, scope=LifecycleScope.SINGLETON)
        .register(Session, factory=_session, scope=LifecycleScope.SCOPED)
        .register(UserRepository)
    )
    container.validate()
    print("explain(UserRepository):")
    print("  " + container.explain(UserRepository).replace("\n", "\n  "))

    print("\nsingleton: same Database every time ->", end=" ")
    print(container.resolve(Database) is container.resolve(Database))

    print("\ntwo request scopes (the session is shared inside one, cleaned up at its end):")
    for request in (1, 2):
        with container.scope() as scope:
            repo = scope.resolve(UserRepository)
            same = repo.session is scope.resolve(UserRepository).session
            print(f"  request {request}: one session for two repositories -> {same}")
    print(f"  after the scope: session.open = {repo.session.open}")

    provider = ServiceProvider(container)

    @provider.inject(Database)
    def process_data(db: Database) -> str:
        return db.query("SELECT 1")

    print(f"\n@provider.inject(Database) then process_data() -> {process_data()}")

    print("\nerrors name the whole path:")
    container.register(Signup).register(Notifier)
    try:
        container.resolve(Signup)
    except MissingDependencyError as e:
        print(f"  {type(e).__name__}: {e.message}")
    container.register(Chicken).register(Egg)
    try:
        container.resolve(Chicken)
    except CircularDependencyError as e:
        print(f"  {type(e).__name__}: {e.message}")
