"""Types users see in Flask and Django views: inject drops the injected parameters."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, JsonResponse
from flask import Flask
from typing_extensions import assert_type

from pmp_di import DIContainer, Scope, ServiceProvider
from pmp_di.integrations import django as pmp_django
from pmp_di.integrations import flask as pmp_flask


class Users:
    def names(self) -> list[str]:
        return []


container = DIContainer().register(Users)
app = Flask(__name__)
provider = pmp_flask.setup(app, container)
assert_type(provider, ServiceProvider)


@provider.inject(Users)
def flask_view(users: Users, user_id: int) -> list[str]:
    return [*users.names(), str(user_id)]


assert_type(flask_view(7), list[str])
flask_view(Users(), 7)  # type: ignore[arg-type, call-arg]  # pyright: ignore[reportCallIssue]  # the injected parameter is gone
assert_type(pmp_flask.request_scope(), Scope)
assert_type(pmp_flask.stream_with_scope(["a", "b"]), Iterator[str])

django_provider = pmp_django.setup(container)


@django_provider.inject(Users)
def django_view(users: Users, request: HttpRequest) -> JsonResponse:
    return JsonResponse({"path": request.path, "names": users.names()})


assert_type(django_view(HttpRequest()), JsonResponse)
django_view(Users(), HttpRequest())  # type: ignore[arg-type, call-arg]  # pyright: ignore[reportCallIssue]  # the injected parameter is gone
assert_type(pmp_django.request_scope(HttpRequest()), Scope)
