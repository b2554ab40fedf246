"""Per-request cost of dependency injection in FastAPI: pmp-di against Depends and peers.

Graph: a request-scoped ``Service(a: A, b: B)`` with ``A`` and ``B`` request-scoped too,
injected into an ``async`` endpoint returning ``{}``. Variants, all in the same rounds:

* ``bare``: the endpoint without any injection (FastAPI's own floor);
* ``Depends``: FastAPI's ``Depends`` with ``async`` provider functions (sync ones would
  run in a thread pool and be slower);
* ``pmp-di``: ``setup(app, container)`` and ``Injected[Service]``;
* ``dishka``: ``setup_dishka`` and ``FromDishka[Service]`` on a ``DishkaRoute``;
* ``wireup``: ``wireup.integration.fastapi.setup`` and ``Injected[Service]``.

In process, each request goes through ``httpx.ASGITransport`` (no sockets), and again
calling the ASGI app directly (the client's own cost, and its noise, left out); with
``--server`` each variant is also served by uvicorn on a loopback port and called over
HTTP keep-alive. The table gives microseconds per request, the overhead above ``bare``
and both as ratios to ``Depends``: the median of per-round values over interleaved rounds.
Run: ``python benchmarks/fastapi_bench.py [--quick] [--server]``.
"""

import argparse
import asyncio
import contextlib
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI

TARGET = 1.1  # pmp-di's per-request overhead at most this times Depends'


def make_classes() -> tuple[type, type, type]:
    class A:
        __slots__ = ()

    class B:
        __slots__ = ()

    class Service:
        __slots__ = ("a", "b")

        def __init__(self, a: A, b: B) -> None:
            self.a = a
            self.b = b

    # the peers read the constructor's annotations as objects
    Service.__init__.__annotations__.update(a=A, b=B)
    return A, B, Service


def bare() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def endpoint() -> dict[str, Any]:
        return {}

    return app


def depends() -> FastAPI:
    a_cls, b_cls, service_cls = make_classes()

    async def get_a() -> Any:
        return a_cls()

    async def get_b() -> Any:
        return b_cls()

    async def get_service(a: Any = Depends(get_a), b: Any = Depends(get_b)) -> Any:  # noqa: B008
        return service_cls(a, b)

    app = FastAPI()

    @app.get("/")
    async def endpoint(service: Annotated[Any, Depends(get_service)]) -> dict[str, Any]:
        assert isinstance(service, service_cls)
        return {}

    return app


def pmp_di() -> FastAPI:
    from pmp_di import DIContainer, LifecycleScope
    from pmp_di.integrations.fastapi import Injected, setup

    a_cls, b_cls, service_cls = make_classes()
    container = DIContainer()
    for cls in (a_cls, b_cls, service_cls):
        container.register(cls, scope=LifecycleScope.SCOPED)
    app = FastAPI()

    @app.get("/")
    async def endpoint(service: Injected[service_cls]) -> dict[str, Any]:  # type: ignore[valid-type]
        assert isinstance(service, service_cls)
        return {}

    setup(app, container, errors=False)
    return app


def dishka() -> FastAPI:
    from dishka import FromDishka, Provider, Scope, make_async_container
    from dishka.integrations.fastapi import DishkaRoute, setup_dishka

    a_cls, b_cls, service_cls = make_classes()
    provider = Provider(scope=Scope.REQUEST)
    for cls in (a_cls, b_cls, service_cls):
        provider.provide(cls)
    app = FastAPI()
    router = APIRouter(route_class=DishkaRoute)

    @router.get("/")
    async def endpoint(service: FromDishka[service_cls]) -> dict[str, Any]:  # type: ignore[valid-type]
        assert isinstance(service, service_cls)
        return {}

    app.include_router(router)
    setup_dishka(make_async_container(provider), app)
    return app


def wireup() -> FastAPI:
    import wireup as w
    import wireup.integration.fastapi

    a_cls, b_cls, service_cls = make_classes()
    for cls in (a_cls, b_cls, service_cls):
        w.injectable(lifetime="scoped")(cls)
    container = w.create_async_container(injectables=[a_cls, b_cls, service_cls])
    app = FastAPI()

    @app.get("/")
    async def endpoint(service: w.Injected[service_cls]) -> dict[str, Any]:  # type: ignore[valid-type]
        assert isinstance(service, service_cls)
        return {}

    wireup.integration.fastapi.setup(container, app)
    return app


VARIANTS: dict[str, Callable[[], FastAPI]] = {
    "bare": bare,
    "Depends": depends,
    "pmp-di": pmp_di,
    "dishka": dishka,
    "wireup": wireup,
}


async def in_process(
    apps: dict[str, FastAPI], rounds: int, requests: int
) -> dict[str, list[float]]:
    """Seconds per request of each variant, one value per round."""
    times: dict[str, list[float]] = {name: [] for name in apps}
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app)
            client = httpx.AsyncClient(transport=transport, base_url="http://bench")
            clients[name] = await stack.enter_async_context(client)
            assert (await clients[name].get("/")).status_code == 200, name
        for index in range(rounds + 1):  # the first round warms up and is dropped
            for name in _rotated(list(clients), index):
                client = clients[name]
                start = time.perf_counter()
                for _ in range(requests):
                    await client.get("/")
                if index:
                    times[name].append((time.perf_counter() - start) / requests)
    return times


def _http_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    pass


async def direct(apps: dict[str, FastAPI], rounds: int, requests: int) -> dict[str, list[float]]:
    """Seconds per request, calling each ASGI app directly (no HTTP client in the way)."""
    times: dict[str, list[float]] = {name: [] for name in apps}
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        for index in range(rounds + 1):
            for name in _rotated(list(apps), index):
                app = apps[name]
                start = time.perf_counter()
                for _ in range(requests):
                    await app(_http_scope(), _receive, _send)
                if index:
                    times[name].append((time.perf_counter() - start) / requests)
    return times


def _rotated(names: list[str], index: int) -> list[str]:
    """Each round starts with another variant, so none always runs first."""
    shift = index % len(names)
    return names[shift:] + names[:shift]


@contextlib.contextmanager
def serving(name: str) -> Iterator[str]:
    """Serve the variant *name* with uvicorn in a process of its own (no shared GIL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, __file__, "--serve", name, "--port", str(port)]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def over_server(names: list[str], rounds: int, requests: int) -> dict[str, list[float]]:
    """Seconds per request over a real uvicorn server and HTTP keep-alive."""
    times: dict[str, list[float]] = {name: [] for name in names}
    with contextlib.ExitStack() as stack:
        clients = {}
        for name in names:
            url = stack.enter_context(serving(name))
            clients[name] = stack.enter_context(httpx.Client(base_url=url))
            assert clients[name].get("/").status_code == 200, name
        for index in range(rounds + 1):
            for name in _rotated(list(clients), index):
                client = clients[name]
                start = time.perf_counter()
                for _ in range(requests):
                    client.get("/")
                if index:
                    times[name].append((time.perf_counter() - start) / requests)
    return times


def report(title: str, times: dict[str, list[float]]) -> dict[str, float]:
    """Print the table; return the median overhead ratio of each variant to Depends."""
    rounds = len(times["bare"])
    base = times["Depends"]
    print(f"\n{title} ({rounds} rounds)")
    print(
        f"{'variant':<8} {'us/request':>10} {'overhead us':>11} {'x Depends':>9} {'overhead x':>10}"
    )
    ratios = {}
    for name, values in times.items():
        per_request = statistics.median(values)
        overhead = statistics.median(v - b for v, b in zip(values, times["bare"], strict=True))
        total_ratio = statistics.median(v / d for v, d in zip(values, base, strict=True))
        if name == "bare":
            print(f"{name:<8} {per_request * 1e6:>10.1f} {'':>11} {total_ratio:>8.2f}x")
            continue
        overhead_ratio = statistics.median(
            (v - b) / (d - b) for v, d, b in zip(values, base, times["bare"], strict=True)
        )
        ratios[name] = overhead_ratio
        print(
            f"{name:<8} {per_request * 1e6:>10.1f} {overhead * 1e6:>11.1f} {total_ratio:>8.2f}x"
            f" {overhead_ratio:>9.2f}x"
        )
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--server", action="store_true", help="also measure over uvicorn")
    parser.add_argument("--serve", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=8000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import uvicorn

        uvicorn.run(VARIANTS[args.serve](), port=args.port, log_level="warning", access_log=False)
        return 0
    rounds, requests = (3, 100) if args.quick else (15, 1000)
    print(f"Python {platform.python_version()}, FastAPI: a request-scoped service with two deps")
    apps = {name: make() for name, make in VARIANTS.items()}
    ratios = report(
        "in process (httpx ASGITransport)", asyncio.run(in_process(apps, rounds, requests))
    )
    apps = {name: make() for name, make in VARIANTS.items()}
    report("in process, ASGI app called directly", asyncio.run(direct(apps, rounds, requests)))
    if args.server:
        report(
            "over uvicorn (HTTP/1.1 keep-alive)", over_server(list(VARIANTS), rounds, requests // 4)
        )
    ok = ratios["pmp-di"] <= TARGET and all(
        ratios["pmp-di"] < ratios[peer] for peer in ("dishka", "wireup")
    )
    print(
        f"\npmp-di overhead {ratios['pmp-di']:.2f}x Depends (target <= {TARGET}x, and below"
        f" dishka {ratios['dishka']:.2f}x and wireup {ratios['wireup']:.2f}x): "
        + ("met" if ok else "NOT met")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
