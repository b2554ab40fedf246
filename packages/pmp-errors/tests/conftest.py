"""Django set up for the tests that need it: settings once, a URLconf per test."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

DjangoSite = Callable[[list[Any], list[str]], None]


@pytest.fixture
def django_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[DjangoSite]:
    """Configure Django (once per process); give ``site(urlpatterns, middleware)``.

    ``site`` serves *urlpatterns* (with our ``handler500``) through *middleware* for the
    rest of the test, with ``DEBUG`` off.
    """
    import django
    from django.conf import settings
    from django.test import override_settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="not-a-secret",  # noqa: S106
            ALLOWED_HOSTS=["*"],
            INSTALLED_APPS=[],
            LOGGING_CONFIG=None,
        )
        django.setup()
    with contextlib.ExitStack() as stack:

        def site(urlpatterns: list[Any], middleware: list[str]) -> None:
            name = f"pmp_test_urls_{id(urlpatterns)}"
            module = types.ModuleType(name)
            module.urlpatterns = urlpatterns  # type: ignore[attr-defined]
            module.handler500 = "pmp_errors.integrations.django.server_error"  # type: ignore[attr-defined]
            monkeypatch.setitem(sys.modules, name, module)
            stack.enter_context(override_settings(ROOT_URLCONF=name, MIDDLEWARE=middleware))

        yield site
