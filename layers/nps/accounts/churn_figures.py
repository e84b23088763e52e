"""Churn figures of one survey: churn rate by the last NPS category, churn over time, and whether detractors
churn more than promoters. Pure: records and counters in, figures out (no AWS, no clocks).

Inputs are the survey's contact churn records (:class:`nps.accounts.churn.ChurnRecord`, ``kind = contact``)
and the survey's responses per period by category (the ``promoters`` / ``passives`` / ``detractors``
counters of its ``*`` / ``*`` aggregate slice, one item per period). A churn's **cohort period** is the
period (month or quarter, UTC) of the response it was recorded against, by that response's *first* answer:
the period the aggregates count the response in, so numerator and denominator are the same responses.

- **Churn rate of category C in period P** = contacts whose last answer before churning was C and falls in
  P ÷ responses in category C in P. A response's category is its current one in the aggregates; a score
  changed after the churn is rare and would move a churned contact between denominators only.
- **Over the range**: the same ratio with numerator and denominator summed over the range's periods.
- **Churn over time**: churned contacts of a cohort period ÷ all responses of that period; and churn
  *events* per calendar month of ``churned_at`` (counts, no rate: the population at risk is not known).
- Each rate carries a **95% Wilson score interval** (Wilson 1927, *JASA* 22(158):209–212;
  :func:`nps.kernel.statistics.wilson`). When a numerator exceeds its denominator (a response counted at
  churn time and retracted since), the denominator is raised to the numerator (rate 100%) rather than
  failing the report; ``inconsistent`` counts such cells.
- **Detractors vs promoters**: the difference of the two range rates, p_D − p_P, with Newcombe's hybrid
  score interval (Newcombe 1998, *Statistics in Medicine* 17:873–890, method 10) built from the two Wilson
  intervals (l, u): low = d − √((p_D − l_D)² + (u_P − p_P)²), high = d + √((u_D − p_D)² + (p_P − l_P)²).
  "Detractors churn significantly more" when the interval lies above 0.
- Accounts are counted apart (by their quarter's category, no rate: accounts are not responses), and so
  are churns without an answer (never in a rate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from nps.accounts.churn import ChurnRecord, Kind
from nps.kernel.categories import Category
from nps.kernel.periods import Granularity, period_key
from nps.kernel.statistics import CategoryCounts, Proportion, wilson

#: The categories in report order.
CATEGORIES: tuple[Category, ...] = (Category.DETRACTOR, Category.PASSIVE, Category.PROMOTER)
CHURN_GRANULARITIES: tuple[Granularity, ...] = (Granularity.MONTH, Granularity.QUARTER)


def _count(counts: CategoryCounts, category: Category) -> int:
    if category is Category.PROMOTER:
        return counts.promoters
    if category is Category.PASSIVE:
        return counts.passives
    return counts.detractors


@dataclass(frozen=True, slots=True)
class CategoryRate:
    """Churned contacts whose last category was ``category`` of the responses in it: ``rate`` (percent,
    Wilson 95%); ``churned`` and ``responses`` as counted (``responses`` may be below ``churned``, see the
    module docstring)."""

    category: Category
    churned: int
    responses: int
    rate: Proportion


@dataclass(frozen=True, slots=True)
class PeriodChurn:
    """One cohort period: the rate per category, and all churned ÷ all responses."""

    period: str
    by_category: tuple[CategoryRate, ...]
    overall: Proportion


@dataclass(frozen=True, slots=True)
class Difference:
    """p_D − p_P in percentage points with its 95% Newcombe interval; None fields when a rate has n = 0."""

    difference: float | None
    low: float | None
    high: float | None

    @property
    def significant(self) -> bool:
        """Detractors churn significantly more than promoters (the interval lies above 0)."""
        return self.low is not None and self.low > 0


@dataclass(frozen=True, slots=True)
class ChurnFigures:
    """A survey's churn over a range of cohort periods (see the module docstring for every formula)."""

    granularity: Granularity
    periods: tuple[PeriodChurn, ...]
    total: tuple[CategoryRate, ...]
    overall: Proportion
    detractors_vs_promoters: Difference
    #: Churn events per calendar month of ``churned_at`` (contacts, in the range's days), in order.
    events_by_month: tuple[tuple[str, int], ...]
    #: Accounts churned by their last quarter's category (cohort in the range).
    accounts: Mapping[Category, int]
    #: Churns without an answer in the range (``churned_at``), never in a rate.
    unmatched: int
    #: Cells whose churned count exceeded their responses (the denominator was raised to it).
    inconsistent: int

    def rate_of(self, category: Category) -> CategoryRate:
        return next(rate for rate in self.total if rate.category is category)


def _rate(category: Category, churned: int, responses: int) -> tuple[CategoryRate, bool]:
    raised = churned > responses
    n = max(churned, responses)
    return CategoryRate(category, churned, responses, wilson(churned, n)), raised


def _bounds(proportion: Proportion) -> tuple[float, float, float]:
    """(percent, low, high) of a proportion with n > 0."""
    if proportion.percent is None or proportion.low is None or proportion.high is None:
        raise ValueError("a proportion of n = 0 has no interval")
    return proportion.percent, proportion.low, proportion.high


def newcombe(churned_a: int, n_a: int, churned_b: int, n_b: int) -> Difference:
    """p_a − p_b (percentage points) with Newcombe's hybrid score 95% interval (method 10)."""
    if n_a == 0 or n_b == 0:
        return Difference(None, None, None)
    a, b = _bounds(wilson(churned_a, n_a)), _bounds(wilson(churned_b, n_b))
    d = a[0] - b[0]
    low = d - math.sqrt((a[0] - a[1]) ** 2 + (b[2] - b[0]) ** 2)
    high = d + math.sqrt((a[2] - a[0]) ** 2 + (b[0] - b[1]) ** 2)
    return Difference(d, low, high)


def churn_figures(
    granularity: Granularity,
    periods: Sequence[str],
    responses: Mapping[str, CategoryCounts],
    records: Iterable[ChurnRecord],
    *,
    first_day: date,
    last_day: date,
    unmatched: int = 0,
) -> ChurnFigures:
    """The figures of ``records`` over the cohort ``periods`` (keys of ``granularity``, in order), with
    ``responses`` the survey's counts per period key (missing: none). ``first_day``/``last_day`` bound the
    churn events counted per month. Records of other periods are ignored. Raises ``ValueError`` for a
    granularity other than month or quarter."""
    granularity = Granularity(granularity)
    if granularity not in CHURN_GRANULARITIES:
        raise ValueError("churn is reported by month or by quarter")
    wanted = set(periods)
    churned: dict[tuple[str, Category], int] = {}
    accounts = dict.fromkeys(CATEGORIES, 0)
    months: dict[str, int] = {}
    for record in records:
        cohort = period_key(granularity, record.cohort_at)
        if record.kind is Kind.ACCOUNT:
            if cohort in wanted:
                accounts[record.last_category] += 1
            continue
        if cohort in wanted:
            churned[cohort, record.last_category] = churned.get((cohort, record.last_category), 0) + 1
        if first_day <= record.churned_at.date() <= last_day:
            month = period_key(Granularity.MONTH, record.churned_at)
            months[month] = months.get(month, 0) + 1
    inconsistent = 0
    rows = []
    for period in periods:
        counts = responses.get(period, CategoryCounts())
        rates = []
        for category in CATEGORIES:
            rate, raised = _rate(category, churned.get((period, category), 0), _count(counts, category))
            inconsistent += raised
            rates.append(rate)
        all_churned = sum(r.churned for r in rates)
        rows.append(PeriodChurn(period, tuple(rates), wilson(all_churned, max(all_churned, counts.n))))
    total = []
    for category in CATEGORIES:
        rate, _ = _rate(
            category,
            sum(churned.get((p, category), 0) for p in periods),
            sum(_count(responses.get(p, CategoryCounts()), category) for p in periods),
        )
        total.append(rate)
    all_churned = sum(r.churned for r in total)
    all_responses = sum(responses.get(p, CategoryCounts()).n for p in periods)
    detractors = next(r for r in total if r.category is Category.DETRACTOR)
    promoters = next(r for r in total if r.category is Category.PROMOTER)
    return ChurnFigures(
        granularity=granularity,
        periods=tuple(rows),
        total=tuple(total),
        overall=wilson(all_churned, max(all_churned, all_responses)),
        detractors_vs_promoters=newcombe(detractors.churned, detractors.rate.n, promoters.churned, promoters.rate.n),
        events_by_month=tuple(sorted(months.items())),
        accounts=accounts,
        unmatched=unmatched,
        inconsistent=inconsistent,
    )
