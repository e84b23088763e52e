"""When a survey's digest is due, and which days it covers (pure: the caller passes ``now``).

The digest function runs every hour. A digest is due in the run whose instant falls in the survey's
local ``hour`` (in its ``time_zone``), every day for a daily digest, on ``weekday`` for a weekly one. It
covers whole UTC days, as the aggregates are kept: the local date of sending minus one day (daily), or
the seven days before that local date (weekly), never a UTC day that has not ended yet (east of UTC an
early local hour is still the previous UTC day: the period then ends a day earlier); the previous period
is the one just before, of equal length. A local hour skipped by a daylight-saving change sends nothing
that day; a repeated one sends once (the markers are per period, :mod:`nps.digests.adapters.markers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nps.sending.surveys import DigestFrequency, DigestSettings


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    """The UTC days a digest covers (``first``–``last`` inclusive) and the period before, of equal length."""

    frequency: DigestFrequency
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def key(self) -> str:
        """``daily:2026-12-02`` or ``weekly:2026-11-26``: the marker's name for this period (ASCII)."""
        return f"{self.frequency.value}:{self.first.isoformat()}"

    @property
    def previous(self) -> DigestPeriod:
        shift = timedelta(days=self.days)
        return DigestPeriod(self.frequency, self.first - shift, self.last - shift)

    def label(self) -> str:
        """``2026-12-02`` or ``2026-11-26 – 2026-12-02``."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def period_for(settings: DigestSettings, local_day: date, utc_day: date | None = None) -> DigestPeriod:
    """The period a digest sent on ``local_day`` covers: the day before, or the seven days before, ending
    no later than the last whole UTC day (``utc_day`` is the UTC date of the sending instant: east of UTC an
    early local hour is still the previous UTC day, whose figures are not complete yet)."""
    days = 1 if settings.frequency is DigestFrequency.DAILY else 7
    end = local_day if utc_day is None else min(local_day, utc_day)
    return DigestPeriod(settings.frequency, end - timedelta(days=days), end - timedelta(days=1))


def local_now(settings: DigestSettings, now: datetime) -> datetime:
    """``now`` (aware) in the digest's time zone. Raises ``ValueError`` for a naive ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    return now.astimezone(ZoneInfo(settings.time_zone))


def due_period(settings: DigestSettings, now: datetime) -> DigestPeriod | None:
    """The period whose digest is due in the hourly run at ``now``, or None (not this hour, not this
    day, or switched off)."""
    if not settings.enabled:
        return None
    local = local_now(settings, now)
    if local.hour != settings.hour:
        return None
    if settings.frequency is DigestFrequency.WEEKLY and local.weekday() != settings.weekday.number:
        return None
    return period_for(settings, local.date(), now.astimezone(UTC).date())


def latest_period(settings: DigestSettings, now: datetime) -> DigestPeriod:
    """The period of the latest digest due at or before ``now`` (what ``nps digest preview`` shows)."""
    local = local_now(settings, now)
    day = local.date() if local.hour >= settings.hour else local.date() - timedelta(days=1)
    if settings.frequency is DigestFrequency.WEEKLY:
        day -= timedelta(days=(day.weekday() - settings.weekday.number) % 7)
    # The hourly run of that local hour: the first whole UTC hour in it (30 minutes in, in Adelaide).
    starts = datetime.combine(day, time(settings.hour), tzinfo=local.tzinfo).astimezone(UTC)
    run_at = starts if starts.minute == 0 else starts.replace(minute=0) + timedelta(hours=1)
    return period_for(settings, day, run_at.date())
