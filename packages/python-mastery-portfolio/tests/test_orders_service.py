"""The example FastAPI service runs with its one command and answers as documented."""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SERVICE = Path(__file__).resolve().parent.parent / "examples" / "orders_service.py"
PROBLEM = "application/problem+json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """``python examples/orders_service.py --port N`` in a subprocess; its base URL."""
    if not SERVICE.is_file():
        pytest.skip("the examples folder is not beside these tests")
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(SERVICE), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else b""
                    pytest.fail(f"the service did not start: {output.decode()}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_price_is_retried_and_cached(service: str) -> None:
    """The upstream drops every other call: the retry hides it, the cache keeps the price."""
    for _ in range(3):
        response = httpx.get(f"{service}/products/tea/price")
        assert response.json() == {"sku": "tea", "price": 4.5}


def test_orders_commit_and_problems(service: str) -> None:
    """An order placed is found; a failing request commits nothing and answers a problem."""
    placed = httpx.post(f"{service}/orders", json={"sku": "cake", "quantity": 2})
    assert placed.status_code == 201
    order = placed.json()
    assert order["total"] == 6.5
    assert httpx.get(f"{service}/orders/{order['id']}").json() == order

    unknown = httpx.post(f"{service}/orders", json={"sku": "caviar", "quantity": 1})
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == PROBLEM
    assert unknown.json()["sku"] == "caviar"

    invalid = httpx.post(f"{service}/orders", json={"sku": "tea", "quantity": 0})
    assert invalid.status_code == 422
    assert invalid.json()["field"] == "body.quantity"

    missing = httpx.get(f"{service}/orders/{order['id'] + 1000}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "order_not_found_error"


def test_orders_are_rate_limited(service: str) -> None:
    """Past five orders a minute a client gets 429 with Retry-After."""
    statuses = []
    for _ in range(6):
        response = httpx.post(f"{service}/orders", json={"sku": "tea", "quantity": 1})
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert int(response.headers["Retry-After"]) >= 1
    problem = json.loads(response.text)
    assert problem["limit"] == 5
    assert response.headers["Content-Type"] == PROBLEM


def test_openapi_has_no_injected_parameters(service: str) -> None:
    """Services in endpoint signatures stay out of the OpenAPI schema."""
    paths = httpx.get(f"{service}/openapi.json").json()["paths"]
    assert [p["name"] for p in paths["/products/{sku}/price"]["get"]["parameters"]] == ["sku"]
    assert "parameters" not in paths["/orders"]["post"]
