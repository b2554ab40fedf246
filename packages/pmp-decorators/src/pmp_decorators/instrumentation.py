"""Observe retries, timed calls and measured blocks: one hook for the whole package.

>>> from pmp_decorators.instrumentation import Instrument, set_instrumentation
>>> with set_instrumentation(Instrument()):
...     pass  # every retry, timed call and measure_block reports to it here

Ready instruments: ``pmp_decorators.integrations.opentelemetry``, ``.prometheus`` and
``.logging``.
"""

from __future__ import annotations

from pmp_decorators._instrument import Instrument, set_instrumentation

__all__ = ["Instrument", "set_instrumentation"]
