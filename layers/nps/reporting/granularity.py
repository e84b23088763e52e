"""The trend's default step, chosen from the range and the number of responses per period.

Rule (pure; :func:`choose`):

1. Candidates are the granularities whose trend over the range has at most
   :data:`MAX_CHART_PERIODS` periods (a day trend only for ranges up to 60 days), finest first
   (:func:`candidates`).
2. Leading periods without responses are left out (before the survey's first answer there is
   nothing to show); a candidate *qualifies* when what remains has at least two periods and more than
   half of them have at least :data:`MIN_PERIOD_N` responses.
3. The finest qualifying candidate wins. When none qualifies, the coarsest candidate with at least two
   periods (the most responses per period, still a trend); when no candidate has two periods, the
   finest (the range is shorter than any step).

Why n and not significance: 30 responses per period give an interval of about ±30 points, the widest
with which a period-to-period change of the size that matters (20–30 points) can reach significance.
A finer step spreads the same responses over more periods, each too small to show any change; a coarser
one hides when the change happened. Choosing the step that *produces* a significant change would be
testing until something shows, so the rule looks at n only. An explicit ``--granularity`` wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from nps.kernel.periods import Granularity
from nps.reporting.ranges import DateRange, period_end, period_start

#: Responses a period needs for its NPS to be worth a point on the chart (as for ``small_n``).
MIN_PERIOD_N = 30
#: The most periods a default trend has: beyond that, labels and points crowd a phone-sized chart.
MAX_CHART_PERIODS = 60

FINEST_FIRST = (Granularity.DAY, Granularity.WEEK, Granularity.MONTH, Granularity.QUARTER)


def period_count(granularity: Granularity, span: DateRange) -> int:
    """How many periods of ``granularity`` overlap ``span`` (without listing them)."""
    count = 0
    day = period_start(granularity, span.first)
    while day <= span.last and count <= MAX_CHART_PERIODS:
        count += 1
        day = period_end(granularity, day) + timedelta(days=1)
    return count


def candidates(span: DateRange) -> list[Granularity]:
    """Granularities whose trend over ``span`` has at most :data:`MAX_CHART_PERIODS` points, finest first."""
    return [g for g in FINEST_FIRST if period_count(g, span) <= MAX_CHART_PERIODS]


def trimmed(counts: Sequence[int]) -> Sequence[int]:
    """``counts`` without its leading zeros (periods before the first response)."""
    for index, n in enumerate(counts):
        if n > 0:
            return counts[index:]
    return counts[len(counts) :]


def qualifies(counts: Sequence[int], min_n: int = MIN_PERIOD_N) -> bool:
    """At least two periods after the leading empty ones, more than half with ``min_n`` responses or more."""
    kept = trimmed(counts)
    return len(kept) >= 2 and 2 * sum(1 for n in kept if n >= min_n) > len(kept)


def choose(n_per_period: Mapping[Granularity, Sequence[int]], min_n: int = MIN_PERIOD_N) -> Granularity:
    """The default step: the finest granularity whose periods mostly hold ``min_n`` responses.

    ``n_per_period`` maps each candidate granularity to the responses of each of its periods over the
    range, in order (see the module's rule). Raises ``ValueError`` when it is empty.
    """
    ordered = [g for g in FINEST_FIRST if g in n_per_period]
    if not ordered:
        raise ValueError("no granularity to choose from")
    for granularity in ordered:
        if qualifies(n_per_period[granularity], min_n):
            return granularity
    with_trend = [g for g in ordered if len(trimmed(n_per_period[g])) >= 2]
    return with_trend[-1] if with_trend else ordered[0]
