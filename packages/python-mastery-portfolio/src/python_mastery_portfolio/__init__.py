"""Every pmp package in one namespace: ``from python_mastery_portfolio import X``.

The names are the very objects of the member packages (``pmp_errors``, ``pmp_typing``,
``pmp_decorators``, ``pmp_cache`` and ``pmp_di``), re-exported unchanged.
``python -m python_mastery_portfolio`` runs a short tour of every pattern.

>>> from python_mastery_portfolio import ValidationError
>>> ValidationError("bad", field="age").field
'age'
"""

from __future__ import annotations

from pmp_cache import (
    AsyncCacheBackend,
    AsyncCachedFunction,
    AsyncRedisCache,
    CacheBackend,
    CachedFunction,
    CacheInfo,
    CacheStats,
    CacheUnavailableError,
    JsonSerializer,
    LRUCache,
    PayloadRejectedError,
    PickleSerializer,
    RedisCache,
    RedisCacheStats,
    ReentrantCallError,
    Serializer,
    UnhashableArgumentError,
    async_cache,
    cache,
)
from pmp_decorators import (
    BlockTimer,
    CachedProperty,
    Restorer,
    RetryState,
    TimingStats,
    TypeValidationError,
    async_retry,
    check_type,
    measure_block,
    retry,
    set_retry_testing,
    set_validation_enabled,
    timed,
    validate_types,
)
from pmp_di import (
    AsyncDependencyError,
    CaptiveDependencyError,
    CircularDependencyError,
    CleanupError,
    DependencyInjectionError,
    DIContainer,
    Inject,
    LifecycleScope,
    MissingDependencyError,
    RegistrationError,
    Scope,
    ScopeError,
    ServiceProvider,
)
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
from pmp_typing import (
    Container,
    Failure,
    FailureError,
    Outcome,
    Pipeline,
    Result,
    ResultDecorator,
    Serializable,
    Success,
    as_result,
    is_failure,
    is_serializable,
    is_success,
)

__all__ = [
    "APIError",
    "AsyncCacheBackend",
    "AsyncCachedFunction",
    "AsyncDependencyError",
    "AsyncRedisCache",
    "BlockTimer",
    "CacheBackend",
    "CacheInfo",
    "CacheStats",
    "CacheUnavailableError",
    "CachedFunction",
    "CachedProperty",
    "CaptiveDependencyError",
    "CircularDependencyError",
    "CleanupError",
    "ConfigurationError",
    "Container",
    "DIContainer",
    "DataProcessingError",
    "DependencyInjectionError",
    "ErrorDict",
    "Failure",
    "FailureError",
    "Inject",
    "JSONValue",
    "JsonSerializer",
    "LRUCache",
    "LifecycleScope",
    "MissingDependencyError",
    "Outcome",
    "PayloadRejectedError",
    "PickleSerializer",
    "Pipeline",
    "PortfolioError",
    "RateLimitError",
    "RedisCache",
    "RedisCacheStats",
    "ReentrantCallError",
    "RegistrationError",
    "Restorer",
    "Result",
    "ResultDecorator",
    "RetryState",
    "Scope",
    "ScopeError",
    "Serializable",
    "Serializer",
    "ServiceProvider",
    "Success",
    "TimingStats",
    "TypeValidationError",
    "UnhashableArgumentError",
    "ValidationError",
    "as_result",
    "async_cache",
    "async_retry",
    "cache",
    "check_type",
    "exception_to_dict",
    "is_failure",
    "is_serializable",
    "is_success",
    "measure_block",
    "retry",
    "set_retry_testing",
    "set_validation_enabled",
    "timed",
    "to_jsonable",
    "validate_types",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("python-mastery-portfolio")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
