"""nps.kernel.periods: day / ISO week / month / quarter keys (in UTC) and the stored timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from nps.kernel.periods import Granularity, iso_timestamp, parse_timestamp, period_key, period_keys

CET = timezone(timedelta(hours=1))
EST = timezone(timedelta(hours=-5))


def test_period_keys_for_an_ordinary_instant() -> None:
    # Given a Monday in late November 2026 / When keyed / Then one key per granularity
    assert period_keys(datetime(2026, 11, 23, 10, 30, tzinfo=UTC)) == {
        Granularity.DAY: "2026-11-23",
        Granularity.WEEK: "2026-W48",
        Granularity.MONTH: "2026-11",
        Granularity.QUARTER: "2026-Q4",
    }


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ((2026, 12, 31), "2026-W53"),  # 2026 starts on a Thursday, so it has 53 ISO weeks
        ((2027, 1, 3), "2026-W53"),  # the Sunday after still belongs to 2026-W53
        ((2027, 1, 4), "2027-W01"),
        ((2021, 1, 3), "2020-W53"),  # a January Sunday in the previous ISO year
        ((2021, 1, 4), "2021-W01"),
        ((2024, 12, 30), "2025-W01"),  # a December Monday in the next ISO year
        ((2025, 12, 29), "2026-W01"),
        ((2026, 1, 1), "2026-W01"),
        ((2026, 3, 2), "2026-W10"),
    ],
)
def test_week_keys_use_the_iso_week_year_at_year_boundaries(day: tuple[int, int, int], expected: str) -> None:
    assert period_key(Granularity.WEEK, datetime(*day, 12, tzinfo=UTC)) == expected


def test_week_numbers_are_zero_padded_so_keys_sort_chronologically() -> None:
    # Given every Monday of 2026 / When keyed by week / Then string order is chronological order
    mondays = [datetime(2025, 12, 29, tzinfo=UTC) + timedelta(weeks=w) for w in range(53)]
    keys = [period_key(Granularity.WEEK, m) for m in mondays]
    assert keys[0] == "2026-W01"
    assert keys[8] == "2026-W09"
    assert keys == sorted(keys)
    assert len(set(keys)) == 53


@pytest.mark.parametrize(
    ("month", "quarter"),
    [(1, "Q1"), (2, "Q1"), (3, "Q1"), (4, "Q2"), (6, "Q2"), (7, "Q3"), (9, "Q3"), (10, "Q4"), (12, "Q4")],
)
def test_quarter_keys(month: int, quarter: str) -> None:
    assert period_key(Granularity.QUARTER, datetime(2026, month, 15, tzinfo=UTC)) == f"2026-{quarter}"


def test_month_and_day_keys_are_zero_padded() -> None:
    at = datetime(2026, 3, 5, tzinfo=UTC)
    assert period_key(Granularity.MONTH, at) == "2026-03"
    assert period_key(Granularity.DAY, at) == "2026-03-05"


def test_aware_times_are_converted_to_utc_before_keying() -> None:
    # Given 00:30 on New Year's Day in Central Europe, which is still 23:30 on 31 December in UTC
    at = datetime(2026, 1, 1, 0, 30, tzinfo=CET)
    # When keyed / Then every key is the UTC one (2025-12-31 is a Wednesday in ISO week 2026-W01)
    assert period_keys(at) == {
        Granularity.DAY: "2025-12-31",
        Granularity.WEEK: "2026-W01",
        Granularity.MONTH: "2025-12",
        Granularity.QUARTER: "2025-Q4",
    }


def test_negative_offsets_can_move_an_instant_into_the_next_quarter() -> None:
    # Given 22:00 on 31 March in UTC−5, which is 03:00 on 1 April UTC
    at = datetime(2026, 3, 31, 22, 0, tzinfo=EST)
    assert period_key(Granularity.DAY, at) == "2026-04-01"
    assert period_key(Granularity.MONTH, at) == "2026-04"
    assert period_key(Granularity.QUARTER, at) == "2026-Q2"


def test_naive_times_are_taken_as_utc() -> None:
    naive = datetime(2025, 12, 31, 23, 30)
    assert period_keys(naive) == period_keys(naive.replace(tzinfo=UTC))


def test_period_keys_cover_every_granularity() -> None:
    assert set(period_keys(datetime(2026, 1, 1, tzinfo=UTC))) == set(Granularity)


# --------------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------------


def test_parse_timestamp_reads_a_z_suffix_as_utc() -> None:
    assert parse_timestamp("2026-11-23T10:30:15.123Z") == datetime(2026, 11, 23, 10, 30, 15, 123000, tzinfo=UTC)


def test_parse_timestamp_keeps_an_explicit_offset() -> None:
    at = parse_timestamp("2026-11-23T10:30:15+01:00")
    assert at.utcoffset() == timedelta(hours=1)
    assert at == datetime(2026, 11, 23, 9, 30, 15, tzinfo=UTC)


def test_parse_timestamp_treats_naive_text_as_utc() -> None:
    at = parse_timestamp("2026-11-23T10:30:15")
    assert at.tzinfo is not None
    assert at == datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z"])
def test_parse_timestamp_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (datetime's own messages)
        parse_timestamp(text)


def test_iso_timestamp_is_utc_with_milliseconds_and_z() -> None:
    # Given an aware time with microseconds in UTC+1
    at = datetime(2026, 11, 23, 11, 30, 15, 123456, tzinfo=CET)
    # When formatted / Then it is converted to UTC, truncated to milliseconds and suffixed with Z
    assert iso_timestamp(at) == "2026-11-23T10:30:15.123Z"


def test_iso_timestamp_always_has_three_fraction_digits() -> None:
    assert iso_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def test_timestamps_round_trip_at_millisecond_precision() -> None:
    at = datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=EST)
    text = iso_timestamp(at)
    assert parse_timestamp(text) == at.replace(microsecond=999000)
    assert iso_timestamp(parse_timestamp(text)) == text


def test_iso_timestamps_sort_chronologically_as_strings() -> None:
    base = datetime(2026, 11, 23, tzinfo=UTC)
    instants = [base + timedelta(milliseconds=ms) for ms in (0, 1, 999, 1000, 59_999, 86_400_000)]
    texts = [iso_timestamp(at) for at in instants]
    assert texts == sorted(texts)
