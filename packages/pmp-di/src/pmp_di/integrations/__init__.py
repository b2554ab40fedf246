"""Web framework integrations: one container scope per request.

Each framework has its own module, imported only when you import it and behind an extra
named after the framework (``pip install 'pmp-di[flask]'``): ``pmp_di.integrations.fastapi``,
``.starlette``, ``.litestar``, ``.flask``, ``.django``. Each module's ``setup`` installs the
request scopes and, unless told otherwise, the ``pmp_errors`` problem-document handlers.
"""
