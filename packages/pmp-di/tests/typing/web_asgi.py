"""Types users see in the ASGI integrations: Injected[T] is T, resolve returns T."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI
from litestar import Litestar
from litestar.di import Provide
from starlette.applications import Starlette
from typing_extensions import assert_type

from pmp_di import DIContainer, Scope
from pmp_di.integrations import fastapi, litestar, starlette

if TYPE_CHECKING:
    from starlette.requests import Request


class Greeter:
    def greet(self) -> str:
        return "hi"


async def endpoint(
    greeter: fastapi.Injected[Greeter], other: Annotated[Greeter, fastapi.provide(Greeter)]
) -> str:
    assert_type(greeter, Greeter)
    assert_type(other, Greeter)
    return greeter.greet() + other.greet()


async def starlette_endpoint(request: Request) -> str:
    greeter = await starlette.resolve(request, Greeter)
    assert_type(greeter, Greeter)
    assert_type(starlette.request_scope(request.scope), Scope)
    return greeter.greet()


container = DIContainer()
fastapi.setup(FastAPI(), container)
starlette.setup(Starlette(), container, errors=False)
assert_type(litestar.provide(Greeter), Provide)
Litestar(plugins=[litestar.DIPlugin(container)])
