"""Observe failed resolutions: one hook for every container.

>>> from pmp_di.instrumentation import Instrument, set_instrumentation
>>> with set_instrumentation(Instrument()):
...     pass  # every failed resolve is reported to it here

Ready instruments: ``pmp_di.integrations.opentelemetry``, ``.prometheus`` and ``.logging``.
"""

from __future__ import annotations

from pmp_di._instrument import Instrument, Restorer, set_instrumentation

__all__ = ["Instrument", "Restorer", "set_instrumentation"]
