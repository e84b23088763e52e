"""Contacts' time zones: IANA place names only (``America/New_York``), never an abbreviation or an offset.

Quiet hours are local wall-clock hours, so a zone must follow its place through daylight saving time.
``EST``, ``Etc/GMT+5`` or ``UTC-05:00`` are fixed offsets: a send released at 00:30Z in July would land
at 19:30 "EST" while New York is at 20:30, inside the quiet hours. Such names are refused with a
suggestion of the place the person most likely meant. ``UTC`` itself stays valid (no local day to keep).
Sources: the IANA tz database's ``backward`` file and "Theory and pragmatics of the tz code and data".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

#: Abbreviations and POSIX-style names people write, mapped to the place they usually mean.
_ABBREVIATIONS = {
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "ET": "America/New_York",
    "EST5EDT": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CT": "America/Chicago",
    "CST6CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "MT": "America/Denver",
    "MST7MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PT": "America/Los_Angeles",
    "PST8PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "AST": "America/Halifax",
    "NST": "America/St_Johns",
    "GMT": "Europe/London",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
    "CET": "Europe/Paris",
    "CEST": "Europe/Paris",
    "MET": "Europe/Paris",
    "MEST": "Europe/Paris",
    "EET": "Europe/Athens",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "IST": "Asia/Kolkata",
    "PKT": "Asia/Karachi",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AWST": "Australia/Perth",
    "ACST": "Australia/Adelaide",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
#: Spellings of UTC itself; ``UTC`` is the one stored.
_UTC_ALIASES = frozenset(
    {"Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "Z"}
    | {"Etc/GMT", "Etc/GMT0", "Greenwich", "Etc/Greenwich"}
)
#: Places suggested for a fixed offset, by their offset in January or July.
_SUGGESTED_PLACES = (
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Phoenix", "America/Denver",
    "America/Chicago", "America/Mexico_City", "America/New_York", "America/Bogota", "America/Halifax",
    "America/Sao_Paulo", "America/Argentina/Buenos_Aires", "Atlantic/Azores", "Europe/London", "Europe/Lisbon",
    "Europe/Paris", "Europe/Berlin", "Africa/Lagos", "Europe/Athens", "Africa/Cairo", "Africa/Johannesburg",
    "Europe/Istanbul", "Europe/Moscow", "Asia/Dubai", "Asia/Tehran", "Asia/Karachi", "Asia/Kolkata",
    "Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Singapore", "Asia/Shanghai",
    "Australia/Perth", "Asia/Tokyo", "Asia/Seoul", "Australia/Adelaide", "Australia/Brisbane",
    "Australia/Sydney", "Pacific/Noumea", "Pacific/Auckland",
)  # fmt: skip
# UTC-05:00, GMT+5, +0530, Etc/GMT+5 (whose sign is inverted, POSIX style), UTC+5:30 ...
_OFFSET_RE = re.compile(
    r"^(?P<etc>Etc/)?(?:UTC|GMT|UT)?\s*(?P<sign>[+\-−])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$", re.IGNORECASE
)


class TimeZoneRefused(ValueError):
    """A time zone a contact may not have, with the reason and a suggestion people can act on."""


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str) -> str:
    """The IANA zone ``name`` names (``UTC`` for its aliases), else :class:`TimeZoneRefused`.

    Refused: unknown names, abbreviations (``EST`` → suggests ``America/New_York``), fixed offsets
    (``UTC-05:00``, ``Etc/GMT+5`` → places at that offset) and the tz database's backward-compatible
    names without a region (``Japan``, ``GB``), which stay only for old systems.
    """
    text = name.strip()
    if text == "UTC" or text in _UTC_ALIASES:
        return "UTC"
    upper = text.upper()
    if upper in _ABBREVIATIONS:
        raise TimeZoneRefused(
            f"time_zone {_quoted(text)} is an abbreviation, not a place: daylight saving time would be "
            f"missed; use an IANA zone such as {_ABBREVIATIONS[upper]}"
        )
    offset = _offset_of(text)
    if offset is not None:
        places = _places_at(offset)
        example = f"at that offset: {', '.join(places[:3])}; or UTC" if places else "e.g. America/New_York, or UTC"
        raise TimeZoneRefused(
            f"time_zone {_quoted(text)} is a fixed offset, not a place: daylight saving time would be missed; "
            f"use the IANA zone of the contact's place ({example})"
        )
    if text not in _zones() or not _loads(text):
        raise TimeZoneRefused("time_zone is not a known IANA time zone (e.g. Europe/Berlin, America/New_York)")
    if "/" not in text:
        raise TimeZoneRefused(
            f"time_zone {_quoted(text)} is an old alias; use an IANA zone with a region "
            "(e.g. Asia/Tokyo, Europe/London)"
        )
    return text


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _quoted(text: str) -> str:
    # Zone names are short ASCII words; anything else is not echoed (it may be a stray data cell).
    return f"'{text}'" if len(text) <= 32 and re.fullmatch(r"[A-Za-z0-9_/+:\-−. ]+", text) else "value"


def _offset_of(text: str) -> timedelta | None:
    match = _OFFSET_RE.fullmatch(text)
    if match is None:
        return None
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if hours > 14 or minutes >= 60:
        return None
    sign = -1 if match["sign"] in "-−" else 1
    if match["etc"]:
        sign = -sign  # Etc/GMT+5 is five hours *behind* UTC
    return sign * timedelta(hours=hours, minutes=minutes)


def _places_at(offset: timedelta) -> list[str]:
    """Places whose standard or daylight offset is ``offset``; standard-time matches first."""
    standard, daylight = [], []
    for place in _SUGGESTED_PLACES:
        zone = ZoneInfo(place)
        january, july = (datetime(2025, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7))
        if offset == min(january, july):  # type: ignore[type-var]
            standard.append(place)
        elif offset in (january, july):
            daylight.append(place)
    return standard + daylight
