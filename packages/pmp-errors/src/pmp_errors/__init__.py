"""Structured exceptions with context, JSON rendering and RFC 9457 problem details.

>>> from pmp_errors import ValidationError
>>> try:
...     raise ValidationError("Age cannot be negative", field="age", value=-1)
... except ValidationError as e:
...     e.context
{'field': 'age', 'value': -1}
"""

from __future__ import annotations

from pmp_errors._chain import ErrorDict, exception_to_dict
from pmp_errors._core import PortfolioError, RateLimitError, ValidationError
from pmp_errors._json import JSONValue, to_jsonable
from pmp_errors._operation import APIError, ConfigurationError, DataProcessingError
from pmp_errors._rebuild import ProblemError, from_problem

__all__ = [
    "APIError",
    "ConfigurationError",
    "DataProcessingError",
    "ErrorDict",
    "JSONValue",
    "PortfolioError",
    "ProblemError",
    "RateLimitError",
    "ValidationError",
    "exception_to_dict",
    "from_problem",
    "to_jsonable",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pmp-errors")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
