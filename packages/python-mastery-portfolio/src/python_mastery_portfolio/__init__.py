"""Every pmp package in one namespace: ``from python_mastery_portfolio import X``.

The names are the very objects of the member packages (``pmp_errors``, …), re-exported
unchanged. ``python -m python_mastery_portfolio`` runs a short tour of every pattern.

>>> from python_mastery_portfolio import ValidationError
>>> ValidationError("bad", field="age").field
'age'
"""

from __future__ import annotations

from pmp_errors import (
    APIError,
    ConfigurationError,
    DataProcessingError,
    ErrorDict,
    JSONValue,
    PortfolioError,
    RateLimitError,
    ValidationError,
    exception_to_dict,
    to_jsonable,
)

__all__ = [
    "APIError",
    "ConfigurationError",
    "DataProcessingError",
    "ErrorDict",
    "JSONValue",
    "PortfolioError",
    "RateLimitError",
    "ValidationError",
    "exception_to_dict",
    "to_jsonable",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("python-mastery-portfolio")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
