"""The follow-up questions' scales and the names their answers take in the aggregates (no dependency).

Kept apart from the pydantic definition (:mod:`nps.reasons.definition`) so the respond path, the stream
and the event models can read the scales and counter names without loading pydantic.

Aggregation (a later step) treats the chosen driver and each theme as extra slices of the segment
machinery, ``driver=<id>`` and ``theme=<id>`` beside a survey's own ``dimension=value`` slices, so
:data:`RESERVED_DIMENSIONS` may not be a survey's segment dimension; CSAT and CES answers are counted
per value (:data:`CSAT_COUNTERS`, :data:`CES_COUNTERS`) beside the ``score_0`` … ``score_10`` counters.
"""

from __future__ import annotations

#: Customer satisfaction: 1 (very dissatisfied) … 5 (very satisfied); 4 and 5 are "satisfied".
CSAT_MIN = 1
CSAT_MAX = 5
CSAT_SATISFIED_FROM = 4
#: Customer effort (CES 2.0, agreement with "The company made it easy for me to …"): 1 (strongly
#: disagree) … 7 (strongly agree); 5, 6 and 7 "agree".
CES_MIN = 1
CES_MAX = 7
CES_AGREE_FROM = 5

#: The per-value counters of the aggregates, ``csat_1`` … ``csat_5`` and ``ces_1`` … ``ces_7``.
CSAT_COUNTERS: tuple[str, ...] = tuple(f"csat_{value}" for value in range(CSAT_MIN, CSAT_MAX + 1))
CES_COUNTERS: tuple[str, ...] = tuple(f"ces_{value}" for value in range(CES_MIN, CES_MAX + 1))

#: Theme ids one response may carry (a taxonomy has at most 50 themes: nps.reasons.definition.MAX_THEMES).
MAX_THEMES_PER_RESPONSE = 50

#: The segment dimension of the chosen driver (``driver=<driver id>``).
DRIVER_DIMENSION = "driver"
#: The segment dimension of each theme a comment was tagged with (``theme=<theme id>``).
THEME_DIMENSION = "theme"
#: Dimension names a survey's ``segment_dimensions`` may not use: their slices are the drivers' and themes'.
RESERVED_DIMENSIONS: frozenset[str] = frozenset({DRIVER_DIMENSION, THEME_DIMENSION})

#: Driver and theme ids: the pattern of every id of the events and stores (``nps.events.names.ID_PATTERN``,
#: repeated here because the reasons core sits below the event contract; a unit test keeps them equal).
#: It has neither ``#`` nor ``=``, so ``driver=<id>`` is a well-formed segment and aggregate key part.
REASON_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def csat_counter(value: int) -> str:
    """The aggregate counter of a CSAT answer (``csat_4``). Raises ``ValueError`` outside 1–5."""
    if isinstance(value, bool) or not isinstance(value, int) or not CSAT_MIN <= value <= CSAT_MAX:
        raise ValueError(f"CSAT must be an integer from {CSAT_MIN} to {CSAT_MAX}")
    return f"csat_{value}"


def ces_counter(value: int) -> str:
    """The aggregate counter of a CES answer (``ces_6``). Raises ``ValueError`` outside 1–7."""
    if isinstance(value, bool) or not isinstance(value, int) or not CES_MIN <= value <= CES_MAX:
        raise ValueError(f"CES must be an integer from {CES_MIN} to {CES_MAX}")
    return f"ces_{value}"
