"""Reporting: NPS figures read from the aggregates, never the responses, and every way people read them.

Owns the figures (:mod:`~nps.reporting.figures`), date ranges (:mod:`~nps.reporting.ranges`), the report
API's models (:mod:`~nps.reporting.models`), the terminal and HTML reports (:mod:`~nps.reporting.text`,
:mod:`~nps.reporting.html`), the CSV export (:mod:`~nps.reporting.export`) and the reads
(:mod:`~nps.reporting.adapters.reads`).

Interface for other capabilities: none (used by the report function and the CLI). May import: scoring's
``aggregation``, the kernel.
"""
