"""How long a resolved instance lives."""

from __future__ import annotations

import enum

__all__ = ["LifecycleScope"]


class LifecycleScope(enum.Enum):
    """The lifetime of a registered service.

    ``SINGLETON``: one instance per container, built on first use.
    ``TRANSIENT``: a new instance on every resolve.
    ``SCOPED``: one instance per ``container.scope()``.

    >>> LifecycleScope.SINGLETON.name
    'SINGLETON'
    """

    SINGLETON = "singleton"
    TRANSIENT = "transient"
    SCOPED = "scoped"
