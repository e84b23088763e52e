"""nps.reporting.ranges: report ranges, the periods they touch, and their aligned covers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.periods import Granularity
from nps.reporting.ranges import MAX_RANGE_DAYS, DateRange, RangeError, cover, period_end, periods


def first_day(granularity: Granularity, key: str) -> date:
    """The first day of a month, quarter or day period key (parsed independently of the code under test)."""
    if granularity is Granularity.QUARTER:
        year, quarter = key.split("-Q")
        return date(int(year), 3 * int(quarter) - 2, 1)
    if granularity is Granularity.MONTH:
        return date.fromisoformat(f"{key}-01")
    return date.fromisoformat(key)


def test_an_inverted_range_is_refused_with_both_dates_in_the_message() -> None:
    with pytest.raises(RangeError, match=r"2026-05-01 is after 2026-04-30"):
        DateRange(date(2026, 5, 1), date(2026, 4, 30))


def test_a_range_wider_than_the_limit_is_refused() -> None:
    DateRange(date(2020, 1, 1), date(2020, 1, 1) + timedelta(MAX_RANGE_DAYS - 1))
    with pytest.raises(RangeError, match="at most"):
        DateRange(date(2020, 1, 1), date(2020, 1, 1) + timedelta(MAX_RANGE_DAYS))


def test_a_daily_trend_over_two_years_has_too_many_points() -> None:
    with pytest.raises(RangeError, match="coarser granularity"):
        periods(Granularity.DAY, DateRange(date(2025, 1, 1), date(2026, 12, 31)))


def test_weekly_periods_are_iso_weeks_and_edges_are_partial() -> None:
    # Given a range from a Wednesday to a Tuesday across a year end
    span = DateRange(date(2025, 12, 31), date(2026, 1, 6))
    steps = periods(Granularity.WEEK, span)
    # Then the ISO weeks 2026-W01 (Mon 29 Dec – Sun 4 Jan) and W02 are the steps, both partial
    assert [s.key for s in steps] == ["2026-W01", "2026-W02"]
    assert steps[0].first == date(2025, 12, 29)
    assert not steps[0].within(span)
    assert not steps[1].within(span)


def test_a_calendar_year_is_covered_by_four_quarters() -> None:
    runs = cover(DateRange(date(2026, 1, 1), date(2026, 12, 31)))
    assert [(r.granularity, r.first_key, r.last_key, r.count) for r in runs] == [
        (Granularity.QUARTER, "2026-Q1", "2026-Q4", 4)
    ]


def test_a_ragged_range_is_covered_by_days_months_quarters_months_days() -> None:
    runs = cover(DateRange(date(2026, 1, 30), date(2026, 8, 2)))
    assert [(r.granularity.value, r.first_key, r.last_key) for r in runs] == [
        ("day", "2026-01-30", "2026-01-31"),
        ("month", "2026-02", "2026-03"),
        ("quarter", "2026-Q2", "2026-Q2"),
        ("month", "2026-07", "2026-07"),
        ("day", "2026-08-01", "2026-08-02"),
    ]


@given(
    first=st.dates(min_value=date(2024, 6, 1), max_value=date(2027, 6, 1)),
    length=st.integers(min_value=1, max_value=500),
)
def test_a_cover_is_exactly_the_days_of_the_range(first: date, length: int) -> None:
    # Given any range / When it is covered / Then the covered days are exactly the range, without overlap
    span = DateRange(first, first + timedelta(length - 1))
    covered: list[date] = []
    for run in cover(span):
        day = first_day(run.granularity, run.first_key)
        for _ in range(run.count):
            end = period_end(run.granularity, day)
            covered += [day + timedelta(d) for d in range((end - day).days + 1)]
            day = end + timedelta(1)
    assert covered == [span.first + timedelta(d) for d in range(span.days)]
    assert len(cover(span)) <= 5


def test_timestamps_bound_every_answer_of_the_range() -> None:
    span = DateRange(date(2026, 3, 1), date(2026, 3, 31))
    assert span.start_timestamp() <= "2026-03-01T00:00:00.000Z"
    assert "2026-03-31T23:59:59.999Z" <= span.end_timestamp() < "2026-04-01T00:00:00.000Z"
