"""The error classes by ``code``, for rebuilding errors from problem documents."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pmp_errors._core import PortfolioError

__all__ = ["find_class", "register"]

# per code, the classes that took it, oldest first; weak, so that classes defined in
# a function (tests, plugins) can go, and the class that had the code before is found again
_CLASSES: dict[str, list[weakref.ref[type[PortfolioError]]]] = {}
_LOCK = threading.Lock()


def register(cls: type[PortfolioError]) -> None:
    """Make *cls* the class that :func:`find_class` gives for its ``code``."""
    with _LOCK:
        refs = [ref for ref in _CLASSES.get(cls.code, ()) if ref() not in {None, cls}]
        refs.append(weakref.ref(cls))
        _CLASSES[cls.code] = refs


def find_class(code: str) -> type[PortfolioError] | None:
    """Return the most recently defined error class still alive whose ``code`` is *code*."""
    with _LOCK:
        refs = _CLASSES.get(code, ())
        for ref in reversed(refs):
            cls = ref()
            if cls is not None:
                return cls
    return None
