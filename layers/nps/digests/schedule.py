"""When a survey's digest is due, and which days it covers (pure: the caller passes ``now``).

The digest function runs every hour. A digest is due in the first run at or after the survey's local
``hour`` (in its ``time_zone``) begins, every day for a daily digest, on ``weekday`` for a weekly one:
at that hour, half an hour into it in a half-hour zone, and at the first hour after it when a
daylight-saving change skips it; a repeated hour sends once. It covers whole UTC days, as the aggregates
are kept: the local date of sending minus one day (daily), or the seven days before that local date
(weekly), never a UTC day that has not ended yet. East of UTC an early local hour can still be the
previous UTC day; when it is at any offset the zone uses that year, the period ends a day earlier all
year, so a daylight-saving change never makes two digests cover the same days or leaves days out. The
previous period is the one just before, of equal length.

Each function takes a survey's validated :class:`~nps.sending.surveys.DigestSettings` or the same fields
read without pydantic (:class:`~nps.sending.digest_timing.DigestTiming`: how the hourly run decides, from
the stored definitions, which digests are due before it validates any survey in full).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from nps.sending.digest_timing import DigestFrequency, DigestTiming

if TYPE_CHECKING:
    from nps.sending.surveys import DigestSettings


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


def _first_run(starts: datetime) -> datetime:
    """The first hourly run (a whole UTC hour) at or after ``starts``."""
    whole = starts.replace(minute=0, second=0, microsecond=0)
    return whole if whole == starts else whole + timedelta(hours=1)


def _send_instant(settings: DigestSettings | DigestTiming, local_day: date) -> datetime:
    """The run that sends the digest of ``local_day`` (UTC): the first at or after its local hour begins (a
    local time skipped by daylight saving resolves to the instant after the gap)."""
    starts = datetime.combine(local_day, time(settings.hour), tzinfo=ZoneInfo(settings.time_zone))
    return _first_run(starts.astimezone(UTC))


def _ends_a_day_early(settings: DigestSettings | DigestTiming, local_day: date) -> bool:
    """Whether the digest's run can fall on the UTC day before its local day at any offset the zone uses
    in ``local_day``'s year (or on that day): east of UTC, an early local hour."""
    zone = ZoneInfo(settings.time_zone)
    offsets = {datetime(local_day.year, month, 1, 12, tzinfo=zone).utcoffset() for month in (1, 7)}
    offsets.add(datetime.combine(local_day, time(12), tzinfo=zone).utcoffset())
    local_start = datetime.combine(local_day, time(settings.hour), tzinfo=UTC)
    return any(_first_run(local_start - offset).date() < local_day for offset in offsets if offset is not None)


def period_for(settings: DigestSettings | DigestTiming, local_day: date) -> DigestPeriod:
    """The period a digest sent on ``local_day`` covers: the day before, or the seven days before, a day
    earlier all year when :func:`_ends_a_day_early` (the UTC day would not have ended at the run)."""
    days = 1 if settings.frequency is DigestFrequency.DAILY else 7
    end = local_day - timedelta(days=1) if _ends_a_day_early(settings, local_day) else local_day
    return DigestPeriod(settings.frequency, end - timedelta(days=days), end - timedelta(days=1))


def local_now(settings: DigestSettings | DigestTiming, now: datetime) -> datetime:
    """``now`` (aware) in the digest's time zone. Raises ``ValueError`` for a naive ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    return now.astimezone(ZoneInfo(settings.time_zone))


def due_period(settings: DigestSettings | DigestTiming, now: datetime) -> DigestPeriod | None:
    """The period whose digest is due in the hourly run at ``now`` (the run whose hour holds the first
    whole UTC hour at or after the local hour begins), or None (not this hour, not this day, or switched
    off). Raises ``ValueError`` for a naive ``now``."""
    if not settings.enabled:
        return None
    local = local_now(settings, now)
    for day in sorted({(local - timedelta(hours=1)).date(), local.date()}):
        if settings.frequency is DigestFrequency.WEEKLY and day.weekday() != settings.weekday.number:
            continue
        if now - timedelta(hours=1) < _send_instant(settings, day) <= now:
            return period_for(settings, day)
    return None


def latest_period(settings: DigestSettings | DigestTiming, now: datetime) -> DigestPeriod:
    """The period of the latest digest due at or before ``now`` (what ``nps digest preview`` shows)."""
    local = local_now(settings, now)
    day = local.date() if local.hour >= settings.hour else local.date() - timedelta(days=1)
    if settings.frequency is DigestFrequency.WEEKLY:
        day -= timedelta(days=(day.weekday() - settings.weekday.number) % 7)
    return period_for(settings, day)
