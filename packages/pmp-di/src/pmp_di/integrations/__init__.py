"""Integrations of pmp-di with other libraries, each behind an extra named after the library.

Web frameworks: one container scope per request. ``pmp_di.integrations.fastapi``,
``.starlette``, ``.litestar``, ``.flask`` and ``.django`` (``pip install 'pmp-di[flask]'``); each
module's ``setup`` installs the request scopes and, unless told otherwise, the ``pmp_errors``
problem-document handlers.

Instruments for ``pmp_di.instrumentation``: ``opentelemetry`` (extra ``pmp-di[opentelemetry]``),
``prometheus`` (extra ``pmp-di[prometheus]``) and ``logging`` (stdlib ``logging`` or structlog).

Each module is imported only when asked for; without its library the import raises an error
naming the extra to install.
"""
