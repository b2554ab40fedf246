"""Import a framework for an integration, or say which extra installs it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["requires_extra"]


@contextlib.contextmanager
def requires_extra(requirement: str, *modules: str) -> Iterator[None]:
    """Turn a missing *modules* import inside the block into an error naming *requirement*.

    Only a missing top-level module among *modules* is translated; any other import
    error (a broken install of something else) passes through unchanged.

    >>> with requires_extra("pmp-errors[fastapi]", "not_installed_framework"):
    ...     import not_installed_framework
    Traceback (most recent call last):
    ...
    ImportError: this integration needs not_installed_framework, which is not installed: \
pip install 'pmp-errors[fastapi]'
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in modules:
            raise
        msg = (
            f"this integration needs {missing}, which is not installed: pip install '{requirement}'"
        )
        raise ImportError(msg, name=exc.name) from exc
