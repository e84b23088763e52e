"""nps.reporting.granularity: the trend's default step follows the range and the responses per period."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.periods import Granularity
from nps.reporting.granularity import MAX_CHART_PERIODS, MIN_PERIOD_N, candidates, choose, qualifies, trimmed
from nps.reporting.ranges import DateRange, periods

DAY, WEEK, MONTH, QUARTER = Granularity.DAY, Granularity.WEEK, Granularity.MONTH, Granularity.QUARTER


def test_the_demo_shape_one_wave_a_month_gets_months_not_weeks() -> None:
    # Given a wave a month answered within two days: weeks are mostly empty, months hold ~70 each
    weeks = [0, 72, 0, 0, 0, 75, 0, 0, 0, 0, 68, 0, 0, 221]
    months = [75, 78, 66, 221]
    # Then the weekly trend does not qualify (4 of 14 periods have 30 responses) and months do
    assert not qualifies(weeks)
    assert choose({WEEK: weeks, MONTH: months, QUARTER: [153, 287]}) is MONTH


def test_the_finest_step_with_enough_responses_per_period_wins() -> None:
    assert choose({DAY: [40] * 30, WEEK: [280] * 5, MONTH: [1200]}) is DAY
    assert choose({DAY: [12] * 30, WEEK: [84] * 5, MONTH: [360, 0]}) is WEEK


def test_leading_periods_before_the_first_response_are_not_counted() -> None:
    # Given a survey that started in week 9 of 12: three weeks with data out of 12
    weeks = [0] * 9 + [40, 35, 50]
    # Then the weeks it has are judged on their own
    assert trimmed(weeks) == [40, 35, 50]
    assert qualifies(weeks)
    assert choose({WEEK: weeks, MONTH: [0, 0, 125]}) is WEEK


def test_exactly_half_the_periods_is_not_most() -> None:
    assert not qualifies([MIN_PERIOD_N, MIN_PERIOD_N - 1])
    assert qualifies([MIN_PERIOD_N, MIN_PERIOD_N, MIN_PERIOD_N - 1])


def test_without_enough_responses_anywhere_the_coarsest_trend_is_kept() -> None:
    # Given 20 responses over a year
    choice = choose({WEEK: [1] * 20 + [0] * 32, MONTH: [2] * 10 + [0, 0], QUARTER: [5, 5, 5, 5]})
    # Then the quarters (the most responses per point, still four points)
    assert choice is QUARTER


def test_a_range_shorter_than_any_step_gets_the_finest() -> None:
    assert choose({DAY: [3, 4], WEEK: [7], MONTH: [7], QUARTER: [7]}) is DAY
    assert choose({WEEK: [7], MONTH: [7]}) is WEEK
    with pytest.raises(ValueError, match="no granularity"):
        choose({})


def test_candidates_keep_charts_short() -> None:
    assert candidates(DateRange(date(2026, 1, 1), date(2026, 1, 31))) == [DAY, WEEK, MONTH, QUARTER]
    assert candidates(DateRange(date(2026, 1, 1), date(2026, 12, 31))) == [WEEK, MONTH, QUARTER]
    assert candidates(DateRange(date(2022, 1, 1), date(2026, 12, 31))) == [MONTH, QUARTER]


SPANS = st.builds(
    lambda first, days: DateRange(first, date.fromordinal(first.toordinal() + days)),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)),
    st.integers(0, 1500),
)


@given(SPANS)
def test_every_candidate_has_at_most_the_chart_limit_of_periods(span: DateRange) -> None:
    for granularity in candidates(span):
        assert len(periods(granularity, span)) <= MAX_CHART_PERIODS
    assert QUARTER in candidates(span)


N_LISTS = st.lists(st.integers(0, 120), min_size=1, max_size=40)


@given(st.dictionaries(st.sampled_from([DAY, WEEK, MONTH, QUARTER]), N_LISTS, min_size=1))
def test_the_choice_is_the_finest_that_qualifies_when_any_does(n_per_period: dict[Granularity, list[int]]) -> None:
    choice = choose(n_per_period)
    assert choice in n_per_period
    finest_first = [g for g in (DAY, WEEK, MONTH, QUARTER) if g in n_per_period]
    qualifying = [g for g in finest_first if qualifies(n_per_period[g])]
    if qualifying:
        assert choice is qualifying[0]
    elif any(len(trimmed(n_per_period[g])) >= 2 for g in finest_first):
        # Otherwise the report still shows a trend (two points or more) when any step can
        assert len(trimmed(n_per_period[choice])) >= 2
