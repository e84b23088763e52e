"""Quiet hours: when a message may go out in a contact's own time zone (pure; the clock is a parameter).

Both the wave planner (an invite's ``send_after``) and deliver (a message due in the quiet hours is held
until they end) apply the survey's quiet hours, so the rule lives apart from wave planning.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from nps.sending.surveys import QuietHours


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _in_quiet(local: time, quiet: QuietHours) -> bool:
    if quiet.start < quiet.end:  # e.g. 12:00–14:00
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end  # wraps midnight, e.g. 20:00–09:00


def next_send_time(at: datetime, time_zone: str, quiet: QuietHours) -> datetime:
    """``at`` itself if it is outside the quiet hours in ``time_zone``, else the next local end of them.

    Returned in the same time zone as ``at`` (UTC in practice). Across a DST change the wall-clock end
    time is kept (09:00 stays 09:00 local); a nonexistent local time moves forward with the change.
    """
    zone = _zone(time_zone)
    local = at.astimezone(zone)
    if not _in_quiet(local.timetz().replace(tzinfo=None), quiet):
        return at
    day = local.date()
    if local.time() >= quiet.end:
        day = day + timedelta(days=1)
    resume = datetime.combine(day, quiet.end, tzinfo=zone)
    # Round-trip through UTC normalises a wall time that a DST jump skipped.
    return resume.astimezone(at.tzinfo or zone)
