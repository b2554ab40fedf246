"""Fast, typed decorators: retry with exact backoff, timing, type validation, cached property.

>>> from pmp_decorators import retry, validate_types
>>> @retry(max_attempts=3, delay=0.0)
... @validate_types(x=int)
... def double(x):
...     return 2 * x
>>> double(21)
42
"""

from __future__ import annotations

from pmp_decorators._annotations import UnresolvedAnnotationWarning
from pmp_decorators._block import BlockTimer, measure_block
from pmp_decorators._cached import CachedProperty
from pmp_decorators._check import check_type
from pmp_decorators._errors import TypeValidationError
from pmp_decorators._retry import async_retry, retry
from pmp_decorators._retry_core import set_retry_testing
from pmp_decorators._retry_policy import RetryState
from pmp_decorators._retrying import Attempt, Retrying, retrying
from pmp_decorators._settings import Restorer
from pmp_decorators._stats import TimingStats
from pmp_decorators._timing import timed
from pmp_decorators._validate import set_validation_enabled, validate_types

__all__ = [
    "Attempt",
    "BlockTimer",
    "CachedProperty",
    "Restorer",
    "RetryState",
    "Retrying",
    "TimingStats",
    "TypeValidationError",
    "UnresolvedAnnotationWarning",
    "async_retry",
    "check_type",
    "measure_block",
    "retry",
    "retrying",
    "set_retry_testing",
    "set_validation_enabled",
    "timed",
    "validate_types",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pmp-decorators")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
