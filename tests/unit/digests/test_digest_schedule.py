"""When a digest is due: the local hour in its time zone, the weekday of a weekly one, and the days it covers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from nps.digests.schedule import due_period, latest_period
from nps.sending.surveys import DigestSettings


def settings(**values: object) -> DigestSettings:
    return DigestSettings.model_validate({"recipients": ["team@example.com"], **values})


def test_a_daily_digest_is_due_at_its_local_hour_and_covers_the_day_before() -> None:
    berlin = settings(frequency="daily", hour=9, time_zone="Europe/Berlin")
    # 08:00Z is 09:00 in Berlin in winter (CET) ...
    period = due_period(berlin, datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    assert period is not None
    assert (period.first, period.last) == (date(2026, 12, 2), date(2026, 12, 2))
    assert period.key == "daily:2026-12-02"
    assert period.previous.first == date(2026, 12, 1)
    # ... and 07:00Z in summer (CEST); 09:00Z is not its hour
    assert due_period(berlin, datetime(2026, 7, 3, 7, 0, tzinfo=UTC)) is not None
    assert due_period(berlin, datetime(2026, 12, 3, 9, 0, tzinfo=UTC)) is None


def test_a_weekly_digest_is_due_on_its_weekday_only_and_covers_the_seven_days_before() -> None:
    weekly = settings(frequency="weekly", weekday="monday", hour=8, time_zone="America/New_York")
    monday = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 08:00 in New York (EST)
    period = due_period(weekly, monday)
    assert period is not None
    assert (period.first, period.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert period.previous.last == date(2026, 11, 22)
    assert all(due_period(weekly, monday + timedelta(days=d)) is None for d in range(1, 7))


def test_a_switched_off_digest_is_never_due() -> None:
    off = settings(enabled=False, frequency="daily", hour=0)
    assert due_period(off, datetime(2026, 12, 3, 0, 0, tzinfo=UTC)) is None


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)), st.integers(0, 23))
def test_exactly_one_hour_a_day_is_due_and_the_preview_shows_the_latest(now: datetime, hour: int) -> None:
    daily = settings(frequency="daily", hour=hour, time_zone="Australia/Adelaide")
    start = now.replace(tzinfo=UTC, minute=0, second=0, microsecond=0)
    due = [start + timedelta(hours=h) for h in range(24) if due_period(daily, start + timedelta(hours=h))]
    assert len(due) == 1  # also on a day whose local hour is skipped by daylight saving time (the next run)
    for at in due:
        assert latest_period(daily, at) == due_period(daily, at)


@pytest.mark.parametrize(
    ("zone", "hour", "day", "sent_at"),
    [
        # Berlin springs forward at 02:00 on the last Sunday of March: 02:00 does not exist, 03:00 CEST does
        ("Europe/Berlin", 2, date(2026, 3, 29), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # New York skips 02:00 on the second Sunday of March
        ("America/New_York", 2, date(2026, 3, 8), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        # Lord Howe Island moves by half an hour: 02:00-02:30 is skipped, 02:30 exists but no run lands in it
        ("Australia/Lord_Howe", 2, date(2026, 10, 4), datetime(2026, 10, 3, 16, 0, tzinfo=UTC)),
    ],
)
def test_a_weekly_digest_whose_hour_is_skipped_by_daylight_saving_goes_out_at_the_next_run(
    zone: str, hour: int, day: date, sent_at: datetime
) -> None:
    # Given a weekly digest on the Sunday the clocks skip its local hour
    weekly = settings(frequency="weekly", weekday="sunday", hour=hour, time_zone=zone)
    runs = [datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=h) for h in range(-14, 38)]
    # When the hourly run fires around that day / Then exactly one run sends it: the first after the hour
    due = [(at, due_period(weekly, at)) for at in runs if due_period(weekly, at) is not None]
    assert [at for at, _ in due] == [sent_at]
    assert due[0][1] == latest_period(weekly, sent_at)


@pytest.mark.parametrize(
    "zone",
    ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu", "America/Santiago"],
)
@pytest.mark.parametrize("hour", [0, 1, 2, 3, 23])
def test_over_a_year_a_daily_digest_is_due_once_a_local_day(zone: str, hour: int) -> None:
    # Given a daily digest at an hour daylight saving may skip or repeat
    daily = settings(frequency="daily", hour=hour, time_zone=zone)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # When the hourly run fires every hour of 2026
    keys = [p.key for h in range(365 * 24) if (p := due_period(daily, start + timedelta(hours=h))) is not None]
    # Then every period is sent once, and none is missing between the first and the last
    assert len(keys) == len(set(keys))
    first, last = (date.fromisoformat(k.partition(":")[2]) for k in (keys[0], keys[-1]))
    assert len(keys) == (last - first).days + 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"recipients": []}, "at least 1"),
        ({"recipients": [f"p{i}@example.com" for i in range(21)]}, "at most 20"),
        ({"recipients": ["not an address"]}, "one email address"),
        ({"recipients": ["Ana <ana@example.com>"]}, "one email address"),
        ({"recipients": ["ana@example.com", "ANA@example.com"]}, "listed once"),
        ({"recipients": ["a@example.com"], "time_zone": "EST"}, "abbreviation"),
        ({"recipients": ["a@example.com"], "hour": 24}, "less than or equal to 23"),
        ({"recipients": ["a@example.com"], "hour": True}, "valid integer"),
        ({"recipients": ["a@example.com"], "hour": "8"}, "valid integer"),
        ({"recipients": ["a@example.com"], "hour": 8.0}, "valid integer"),
        ({"recipients": ["a@example.com"], "report_url": "http://x.example.com"}, "pattern"),
        ({"recipients": ["a@example.com"], "frequency": "hourly"}, "daily"),
    ],
)
def test_bad_digest_settings_are_refused_without_echoing_addresses(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        DigestSettings.model_validate(values)
    if values.get("recipients") == ["not an address"]:
        assert "not an address" not in str(refused.value).split("input_value")[0]
