"""Date ranges for reports: validation, the periods a range touches, and an aligned cover of it.

Pure: no clients, no clocks. Aggregates are keyed by the UTC day of a response's first answer and
rolled up to ISO week, month and quarter, so any range of whole days is exactly the sum of a few
aligned periods: whole quarters inside it, then whole months, then the remaining days. That keeps
the read cost of a total at a handful of items whatever the number of responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from nps.kernel.periods import Granularity, period_key

#: The widest range a report accepts (five years of days).
MAX_RANGE_DAYS = 5 * 366
#: The most points a trend series may have (a year of days, plus a margin).
MAX_TREND_POINTS = 400


class RangeError(ValueError):
    """A report range that cannot be served: inverted, too wide, or a trend with too many points."""


@dataclass(frozen=True, slots=True)
class DateRange:
    """An inclusive range of UTC days."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise RangeError(f"the range is inverted: {self.first.isoformat()} is after {self.last.isoformat()}")
        if self.days > MAX_RANGE_DAYS:
            raise RangeError(f"the range spans {self.days} days; at most {MAX_RANGE_DAYS} are allowed")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def start_timestamp(self) -> str:
        """The first instant of the range as stored on responses (ISO-8601, UTC, ``Z``)."""
        return _iso(datetime.combine(self.first, time.min, tzinfo=UTC))

    def end_timestamp(self) -> str:
        """An upper bound above every timestamp of the range's last day (string order)."""
        return _iso(datetime.combine(self.last, time.max, tzinfo=UTC))

    def label(self) -> str:
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def period_start(granularity: Granularity, day: date) -> date:
    """The first day of the period of ``granularity`` that contains ``day``."""
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_end(granularity: Granularity, day: date) -> date:
    """The last day of the period of ``granularity`` that contains ``day``."""
    start = period_start(granularity, day)
    if granularity is Granularity.DAY:
        return start
    if granularity is Granularity.WEEK:
        return start + timedelta(days=6)
    months = 1 if granularity is Granularity.MONTH else 3
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1) - timedelta(days=1)


def key_of(granularity: Granularity, day: date) -> str:
    return period_key(granularity, datetime.combine(day, time(12), tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a trend: its key and the days it spans (which may reach outside the range)."""

    key: str
    first: date
    last: date

    def within(self, span: DateRange) -> bool:
        """Whether the whole period lies inside ``span`` (a trend's first and last may not)."""
        return span.first <= self.first and self.last <= span.last


def periods(granularity: Granularity, span: DateRange) -> list[Period]:
    """Every period of ``granularity`` that overlaps ``span``, in order."""
    granularity = Granularity(granularity)
    out: list[Period] = []
    day = period_start(granularity, span.first)
    while day <= span.last:
        end = period_end(granularity, day)
        out.append(Period(key_of(granularity, day), day, end))
        day = end + timedelta(days=1)
        if len(out) > MAX_TREND_POINTS:
            raise RangeError(
                f"a {granularity.value} trend over {span.label()} has more than {MAX_TREND_POINTS} points;"
                " choose a coarser granularity or a shorter range"
            )
    return out


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive periods of one granularity: read with one ``BETWEEN`` query on the sort key."""

    granularity: Granularity
    first_key: str
    last_key: str
    count: int


def cover(span: DateRange) -> list[Run]:
    """Aligned periods whose union is exactly ``span``: whole quarters, then whole months, then days."""
    runs: list[Run] = []
    _cover(span.first, span.last, Granularity.QUARTER, runs)
    return runs


_FINER = {Granularity.QUARTER: Granularity.MONTH, Granularity.MONTH: Granularity.DAY}


def _cover(first: date, last: date, granularity: Granularity, runs: list[Run]) -> None:
    if first > last:
        return
    if granularity is Granularity.DAY:
        runs.append(Run(granularity, key_of(granularity, first), key_of(granularity, last), (last - first).days + 1))
        return
    # The whole periods of this granularity inside [first, last]; the edges go to the finer one.
    inner_first = first if period_start(granularity, first) == first else period_end(granularity, first) + timedelta(1)
    inner_last = last if period_end(granularity, last) == last else period_start(granularity, last) - timedelta(1)
    finer = _FINER[granularity]
    if inner_first > inner_last:
        _cover(first, last, finer, runs)
        return
    _cover(first, inner_first - timedelta(days=1), finer, runs)
    count = 0
    day = inner_first
    while day <= inner_last:
        count += 1
        day = period_end(granularity, day) + timedelta(days=1)
    runs.append(Run(granularity, key_of(granularity, inner_first), key_of(granularity, inner_last), count))
    _cover(inner_last + timedelta(days=1), last, finer, runs)
