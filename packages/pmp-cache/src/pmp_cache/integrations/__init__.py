"""Ready instruments for a cache's ``on_event`` (and a Redis cache's ``on_error``) hooks.

``opentelemetry`` (extra ``pmp-cache[opentelemetry]``), ``prometheus`` (extra
``pmp-cache[prometheus]``) and ``logging`` (stdlib ``logging`` or structlog). Each is imported
only when asked for; without its library the import raises a
``pmp_errors.ConfigurationError`` naming the extra to install.
"""
