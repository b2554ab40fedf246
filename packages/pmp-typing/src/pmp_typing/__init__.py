"""Result, Container, Pipeline and Serializable: precise under mypy and pyright, no plugin.

>>> from pmp_typing import Pipeline, Result
>>> Result.success(20).map(lambda x: x + 1).get_or(0)
21
>>> Pipeline(5).add(lambda x: x * 2).add(lambda x: x + 3).add(lambda x: x**2).execute()
169
"""

from __future__ import annotations

from pmp_typing._catch import ResultDecorator, as_result
from pmp_typing._container import Container
from pmp_typing._errors import FailureError
from pmp_typing._pipeline import Pipeline
from pmp_typing._protocols import Serializable, is_serializable
from pmp_typing._result import Failure, Outcome, Result, Success, is_failure, is_success

__all__ = [
    "Container",
    "Failure",
    "FailureError",
    "Outcome",
    "Pipeline",
    "Result",
    "ResultDecorator",
    "Serializable",
    "Success",
    "as_result",
    "is_failure",
    "is_serializable",
    "is_success",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pmp-typing")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
