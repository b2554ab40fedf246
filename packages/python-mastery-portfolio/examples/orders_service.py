"""An order service on FastAPI that uses the whole pmp family together.

- One container scope per request (``pmp_di``): a unit of work that commits when the
  request succeeds and rolls back when it fails, built from the request itself.
- Prices come from a flaky upstream through ``async_retry`` (``pmp_decorators``) and are
  cached (``pmp_cache``).
- Placing orders is rate limited per client (``pmp_ratelimit``): over the limit the answer
  is a 429 with ``Retry-After``.
- Every error is an RFC 9457 problem document (``pmp_errors``), FastAPI's validation
  errors included; nothing private reaches the client.

Run it with ``python examples/orders_service.py`` (``--port`` to change 8000), then e.g.
``curl -X POST localhost:8000/orders -H 'content-type: application/json'
-d '{"sku": "tea", "quantity": 2}'``. It needs ``fastapi`` and ``uvicorn``.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import AsyncIterator  # noqa: TC003 - pmp-di reads the factory's hints
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from pmp_cache import async_cache
from pmp_decorators import async_retry
from pmp_di import DIContainer, LifecycleScope
from pmp_di.integrations.fastapi import Injected, setup
from pmp_errors import PortfolioError
from pmp_ratelimit import AsyncRateLimiter

PRICES = {"tea": 4.5, "coffee": 6.0, "cake": 3.25}


class UnknownProductError(PortfolioError):
    """No such product in the catalogue."""

    status = 404
    public = frozenset({"sku"})


class OrderNotFoundError(PortfolioError):
    """No order with that id."""

    status = 404
    public = frozenset({"order_id"})


class Upstream:
    """The catalogue API: every other call fails with a dropped connection."""

    def __init__(self) -> None:
        self.calls = 0

    async def price(self, sku: str) -> float:
        """The price of *sku*, or ``UnknownProductError``."""
        self.calls += 1
        if self.calls % 2:
            raise ConnectionError("upstream connection reset")
        if sku not in PRICES:
            raise UnknownProductError("no such product", sku=sku)
        return PRICES[sku]


class Catalogue:
    """Prices from the upstream, retried on dropped connections and cached for a minute."""

    def __init__(self, upstream: Upstream) -> None:
        retried = async_retry(max_attempts=3, delay=0.01, exceptions=(ConnectionError,))
        self.price = async_cache(maxsize=1024, ttl=60)(retried(upstream.price))


class Order(BaseModel):
    """A placed order."""

    id: int
    sku: str
    quantity: int
    total: float


class OrderIn(BaseModel):
    """What a client sends to place an order."""

    sku: str
    quantity: int = Field(ge=1, le=100)


class OrderStore:
    """The orders placed so far (a database in a real service)."""

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self.ids = itertools.count(1)


class UnitOfWork:
    """One request's changes: applied to the store only if the request succeeds."""

    def __init__(self, store: OrderStore, client: str) -> None:
        self.store = store
        self.client = client
        self.pending: list[Order] = []


async def unit_of_work(store: OrderStore, request: Request) -> AsyncIterator[UnitOfWork]:
    """Open a unit of work for the request; commit it when the request ends well."""
    work = UnitOfWork(store, request.client.host if request.client else "unknown")
    yield work  # an exception from the request is raised here: nothing is committed
    for order in work.pending:
        store.orders[order.id] = order


class OrderService:
    """Places and finds orders; one per request."""

    def __init__(self, work: UnitOfWork, catalogue: Catalogue) -> None:
        self.work = work
        self.catalogue = catalogue

    async def place(self, sku: str, quantity: int) -> Order:
        """Price and record an order (committed when the request succeeds)."""
        price = await self.catalogue.price(sku)
        order = Order(
            id=next(self.work.store.ids), sku=sku, quantity=quantity, total=price * quantity
        )
        self.work.pending.append(order)
        return order

    def get(self, order_id: int) -> Order:
        """The order *order_id*, or ``OrderNotFoundError``."""
        try:
            return self.work.store.orders[order_id]
        except KeyError:
            raise OrderNotFoundError("no such order", order_id=order_id) from None


def make_container() -> DIContainer:
    """Wire the service: shared upstream, catalogue and store; the rest per request."""
    container = DIContainer()
    container.register(Upstream, scope=LifecycleScope.SINGLETON)
    container.register(Catalogue, scope=LifecycleScope.SINGLETON)
    container.register(OrderStore, scope=LifecycleScope.SINGLETON)
    container.register(Request, from_context=True)
    container.register(UnitOfWork, factory=unit_of_work, scope=LifecycleScope.SCOPED)
    container.register(OrderService, scope=LifecycleScope.SCOPED)
    container.validate()
    return container


def create_app(*, orders_rate: str = "5/minute") -> FastAPI:
    """The application; each client may place *orders_rate* orders."""
    app = FastAPI(title="pmp orders")
    limiter = AsyncRateLimiter(orders_rate)

    @app.get("/products/{sku}/price")
    async def price(sku: str, catalogue: Injected[Catalogue]) -> dict[str, Any]:
        return {"sku": sku, "price": await catalogue.price(sku)}

    @app.post("/orders", status_code=201)
    async def place(body: OrderIn, service: Injected[OrderService]) -> Order:
        await limiter.acquire(service.work.client)  # 429 with Retry-After when over
        return await service.place(body.sku, body.quantity)

    @app.get("/orders/{order_id}")
    async def find(order_id: int, service: Injected[OrderService]) -> Order:
        return service.get(order_id)

    setup(app, make_container())
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the application with uvicorn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
