"""Ready instruments for ``pmp_decorators.instrumentation``, one module per library.

``opentelemetry`` (extra ``pmp-decorators[opentelemetry]``), ``prometheus`` (extra
``pmp-decorators[prometheus]``) and ``logging`` (stdlib ``logging`` or structlog). Each is
imported only when asked for; without its library the import raises a
``pmp_errors.ConfigurationError`` naming the extra to install.
"""
