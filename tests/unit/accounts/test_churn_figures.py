"""Churn figures: rates by last category with Wilson intervals, over time, and detractors vs promoters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.accounts.churn import ChurnRecord, Kind
from nps.accounts.churn_figures import CATEGORIES, churn_figures, newcombe
from nps.kernel.categories import Category
from nps.kernel.periods import Granularity, period_key
from nps.kernel.statistics import CategoryCounts, wilson

MONTHS = ("2026-01", "2026-02", "2026-03")


def record(
    category: Category, cohort: datetime, churned: datetime, kind: Kind = Kind.CONTACT, n: int = 0
) -> ChurnRecord:
    return ChurnRecord("s", kind, f"c{n}", category, 9.0, cohort, cohort, churned, f"ch{n}")


def test_rates_per_period_and_over_the_range_with_wilson_intervals() -> None:
    jan, feb = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
    records = [
        record(Category.DETRACTOR, jan, datetime(2026, 3, 1, tzinfo=UTC), n=1),
        record(Category.DETRACTOR, jan, datetime(2026, 4, 1, tzinfo=UTC), n=2),
        record(Category.PROMOTER, feb, datetime(2026, 3, 5, tzinfo=UTC), n=3),
        record(Category.PASSIVE, datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC), n=4),  # out
        record(Category.PROMOTER, feb, datetime(2026, 3, 5, tzinfo=UTC), Kind.ACCOUNT, n=5),
    ]
    responses = {"2026-01": CategoryCounts(10, 5, 4), "2026-02": CategoryCounts(20, 5, 6)}
    figures = churn_figures(
        Granularity.MONTH,
        MONTHS,
        responses,
        records,
        first_day=date(2026, 1, 1),
        last_day=date(2026, 3, 31),
        unmatched=2,
    )
    jan_rates = {r.category: r for r in figures.periods[0].by_category}
    assert jan_rates[Category.DETRACTOR].rate == wilson(2, 4)
    assert figures.rate_of(Category.DETRACTOR).rate == wilson(2, 10)
    assert figures.rate_of(Category.PROMOTER).rate == wilson(1, 30)
    assert figures.overall == wilson(3, 50)
    assert figures.periods[2].overall == wilson(0, 0)
    # churn events by month of churned_at, inside the range's days (April's is outside)
    assert figures.events_by_month == (("2026-03", 3),)
    assert figures.accounts[Category.PROMOTER] == 1
    assert (figures.unmatched, figures.inconsistent) == (2, 0)


def test_more_churned_than_responses_raises_the_denominator_and_is_counted() -> None:
    at = datetime(2026, 1, 10, tzinfo=UTC)
    figures = churn_figures(
        Granularity.MONTH,
        MONTHS[:1],
        {},
        [record(Category.PASSIVE, at, at)],
        first_day=date(2026, 1, 1),
        last_day=date(2026, 1, 31),
    )
    assert figures.rate_of(Category.PASSIVE).rate.percent == 100.0
    assert figures.inconsistent == 1


def test_only_month_and_quarter() -> None:
    with pytest.raises(ValueError, match="month or by quarter"):
        churn_figures(Granularity.DAY, (), {}, [], first_day=date(2026, 1, 1), last_day=date(2026, 1, 1))


def test_detractors_vs_promoters_newcombe_interval() -> None:
    # Newcombe 1998 table II example (56/70 vs 48/80): difference 0.2 with 95% interval 0.0524 to 0.3339
    difference = newcombe(56, 70, 48, 80)
    assert difference.difference == pytest.approx(20.0)
    assert difference.low == pytest.approx(5.24, abs=0.01)
    assert difference.high == pytest.approx(33.39, abs=0.01)
    assert difference.significant
    assert not newcombe(5, 100, 5, 100).significant
    assert newcombe(1, 0, 1, 10).difference is None


CATEGORY = st.sampled_from(CATEGORIES)
INSTANT = st.datetimes(min_value=datetime(2025, 11, 1), max_value=datetime(2026, 5, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=60, deadline=None)
@given(
    churns=st.lists(st.tuples(CATEGORY, INSTANT, st.integers(0, 200)), max_size=60),
    counts=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)), min_size=6, max_size=6),
    granularity=st.sampled_from([Granularity.MONTH, Granularity.QUARTER]),
)
def test_a_recount_of_the_records_equals_the_figures(
    churns: list[tuple[Category, datetime, int]], counts: list[tuple[int, int, int]], granularity: Granularity
) -> None:
    periods = sorted({period_key(granularity, datetime(2026, m, 15, tzinfo=UTC)) for m in range(1, 4)})
    responses = {p: CategoryCounts(*counts[i]) for i, p in enumerate(periods)}
    records = [record(c, at, at + timedelta(days=d), n=i) for i, (c, at, d) in enumerate(churns)]
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    figures = churn_figures(granularity, periods, responses, records, first_day=first, last_day=last)
    for row in figures.periods:
        for rate in row.by_category:
            churned = sum(
                1
                for r in records
                if period_key(granularity, r.cohort_at) == row.period and r.last_category is rate.category
            )
            assert rate.churned == churned
            assert rate.rate == wilson(churned, max(churned, rate.responses))
    for rate in figures.total:
        assert rate.churned == sum(
            r.churned for row in figures.periods for r in row.by_category if r.category is rate.category
        )
    months: dict[str, int] = {}
    for r in records:
        if first <= r.churned_at.date() <= last:
            months[period_key(Granularity.MONTH, r.churned_at)] = (
                months.get(period_key(Granularity.MONTH, r.churned_at), 0) + 1
            )
    assert dict(figures.events_by_month) == months
    assert figures.overall.count == sum(r.churned for r in figures.total)
