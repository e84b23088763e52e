"""Where churn records are kept, apart from the churn figures: a contact's erasure finds its churn records
without loading :mod:`nps.accounts.churn`."""

from __future__ import annotations

#: The ``churn#<survey>`` partition of churns without an answer to any survey (``*`` is never a survey id).
UNMATCHED_SURVEY = "*"
