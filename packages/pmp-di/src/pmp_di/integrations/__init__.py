"""Ready instruments for ``pmp_di.instrumentation``, one module per library.

``opentelemetry`` (extra ``pmp-di[opentelemetry]``), ``prometheus`` (extra
``pmp-di[prometheus]``) and ``logging`` (stdlib ``logging`` or structlog). Each is imported
only when asked for; without its library the import raises a
``pmp_errors.ConfigurationError`` naming the extra to install.
"""
