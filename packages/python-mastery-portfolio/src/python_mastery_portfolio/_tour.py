"""The tour: one short section per pattern, each printing what it shows."""

from __future__ import annotations

import importlib
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SECTIONS", "main"]

SECTIONS: tuple[tuple[str, str], ...] = (
    ("Structured errors (pmp-errors)", "_tour_errors"),
    ("Decorators: retry, timing, validation, cached property (pmp-decorators)", "_tour_decorators"),
    ("Caching (pmp-cache)", "_tour_cache"),
    ("Shared cache in Redis (pmp-cache[redis])", "_tour_redis"),
    ("Result, Container and Pipeline (pmp-typing)", "_tour_typing"),
    ("Dependency injection (pmp-di)", "_tour_di"),
    ("Rate limiting (pmp-ratelimit)", "_tour_ratelimit"),
)
"""Each section's title and the module whose ``show()`` prints it."""


def _section(module: str) -> Callable[[], None]:
    show: Callable[[], None] = importlib.import_module(f"python_mastery_portfolio.{module}").show
    return show


def main(argv: list[str] | None = None) -> int:
    """Run every section (or those whose title contains one of *argv*) and return 0."""
    wanted = [word.lower() for word in (sys.argv[1:] if argv is None else argv)]
    start = time.perf_counter()
    shown = 0
    for title, module in SECTIONS:
        if wanted and not any(word in title.lower() for word in wanted):
            continue
        print(f"\n{'=' * 72}\n{title}\n{'=' * 72}")
        _section(module)()
        shown += 1
    print(f"\n{shown} section(s) shown in {time.perf_counter() - start:.2f} s.")
    return 0
