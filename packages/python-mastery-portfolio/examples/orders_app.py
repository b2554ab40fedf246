"""A small order-import service that uses the whole pmp family together.

- DI (``pmp_di``) wires a repository and an upstream client.
- The client calls a flaky upstream with ``retry`` (``pmp_decorators``), which honours
  ``RateLimitError.retry_after`` (``pmp_errors``).
- Pages fetched from upstream are cached (``pmp_cache``): in memory, or in Redis when the
  ``REDIS_URL`` environment variable is set (``pip install "pmp-cache[redis]"``).
- A ``Pipeline`` (``pmp_typing``) turns raw rows into records checked by ``validate_types``.
- Failures come back as ``Result`` values and are rendered as RFC 9457 problem details,
  which show clients only what is public (the full record, with the step, goes to the log).

Run it with ``python examples/orders_app.py``; it needs no network and no server.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

from pmp_cache import cache
from pmp_decorators import RetryState, retry, validate_types
from pmp_di import DIContainer, LifecycleScope
from pmp_errors import PortfolioError, RateLimitError, ValidationError
from pmp_typing import Failure, Outcome, Pipeline, Success

Row = dict[str, Any]

PAGES: dict[int, list[Row]] = {
    1: [
        {"id": "1", "customer": " Ann ", "amount": "19.90"},
        {"id": "2", "customer": "Bob", "amount": "5"},
    ],
    2: [
        {"id": "3", "customer": "", "amount": "7.5"},
        {"id": "x", "customer": "Dee", "amount": "1"},
        {"id": "5", "customer": "Eve", "amount": "12.25"},
    ],
}


class FlakyUpstream:
    """An upstream API that drops the first call and rate-limits the second."""

    def __init__(self) -> None:
        self.calls = 0

    def get_page(self, page: int) -> list[Row]:
        """Return the raw rows of one page, failing the way real upstreams do."""
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("upstream connection reset")
        if self.calls == 2:  # noqa: PLR2004 - the second call is the rate-limited one
            raise RateLimitError("slow down", retry_after=0.05, limit=10)
        return [dict(row) for row in PAGES.get(page, [])]


class UpstreamClient:
    """Fetches pages from the upstream, retrying transient failures."""

    def __init__(self, upstream: FlakyUpstream) -> None:
        self.upstream = upstream
        self.fetch = retry(
            max_attempts=4,
            delay=0.01,
            exceptions=(ConnectionError, RateLimitError),
            jitter=None,  # exact pauses, so the printed log is the same on every run
            on_retry=_report_retry,
        )(upstream.get_page)


def _report_retry(state: RetryState) -> None:
    error = type(state.exception).__name__
    print(f"  attempt {state.attempt} failed ({error}); retrying in {state.wait:.2f} s")


@dataclasses.dataclass(frozen=True)
class Order:
    """A validated order."""

    order_id: int
    customer: str
    amount: float


class OrderRepository:
    """Keeps the imported orders."""

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}

    def save(self, order: Order) -> None:
        """Store (or replace) one order."""
        self.orders[order.order_id] = order


@validate_types()
def make_order(order_id: int, customer: str, amount: float) -> Order:
    """Build an order from already-typed fields; the types are checked at run time."""
    if not customer:
        raise ValidationError("customer must not be empty", field="customer", value=customer)
    return Order(order_id, customer, amount)


def normalise(row: Row) -> Row:
    """Trim strings."""
    return {key: value.strip() if isinstance(value, str) else value for key, value in row.items()}


def convert(row: Row) -> Row:
    """Turn the upstream's strings into numbers."""
    return {"order_id": int(row["id"]), "customer": row["customer"], "amount": float(row["amount"])}


def build(row: Row) -> Order:
    """Build the validated order."""
    return make_order(**row)


def row_to_order(row: Row) -> Outcome[Order, PortfolioError]:
    """Run one row through the pipeline; a failing step becomes a ``Failure``.

    A ``ValidationError`` keeps its class (422); any other exception becomes a
    ``DataProcessingError`` (500). Either names the step in its context.
    """
    pipeline = Pipeline(row).add(normalise, name="normalise").add(convert, name="convert")
    return pipeline.add(build, name="validate").execute_result()


class OrderImporter:
    """Imports pages of orders: fetch (cached), transform, store, report failures."""

    def __init__(self, client: UpstreamClient, repository: OrderRepository) -> None:
        self.repository = repository
        self.load_page = cache(maxsize=64, ttl=300, backend=_backend())(client.fetch)
        self.log: list[dict[str, Any]] = []  # the full records, for the operators

    def import_page(self, page: int) -> list[dict[str, Any]]:
        """Import one page; return the RFC 9457 problems of the rows that failed."""
        problems = []
        for index, row in enumerate(self.load_page(page)):
            outcome = row_to_order(row)
            match outcome:
                case Success(order):
                    self.repository.save(order)
                case Failure(error):
                    problems.append(error.to_problem(instance=f"/pages/{page}/rows/{index}"))
                    self.log.append(dict(error.to_dict()))
        return problems


def _backend() -> Any:
    """A Redis backend when REDIS_URL is set, else None (the in-memory LRU)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    from pmp_cache import RedisCache

    return RedisCache(url, namespace="orders-example")


def make_container() -> DIContainer:
    """Wire the application: one upstream and one repository, a client per use."""
    container = DIContainer()
    container.register(FlakyUpstream, scope=LifecycleScope.SINGLETON)
    container.register(OrderRepository, scope=LifecycleScope.SINGLETON)
    container.register(UpstreamClient, scope=LifecycleScope.SINGLETON)
    container.register(OrderImporter)
    container.validate()
    return container


def main() -> int:
    """Import every page, import page 1 again (from the cache) and print a report."""
    container = make_container()
    print("How the importer is built:")
    print(container.explain(OrderImporter))
    importer = container.resolve(OrderImporter)
    problems = []
    for page in sorted(PAGES):
        print(f"importing page {page}")
        problems += importer.import_page(page)
    print("importing page 1 again")
    importer.import_page(1)
    repository = container.resolve(OrderRepository)
    upstream = container.resolve(FlakyUpstream)
    print(f"imported {len(repository.orders)} orders; upstream called {upstream.calls} times")
    stats = importer.load_page.cache_stats()
    print(f"page cache: {stats['hits']} hit(s), {stats['misses']} miss(es)")
    print(f"{len(problems)} rows rejected, as RFC 9457 problem details:")
    print(json.dumps(problems, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
