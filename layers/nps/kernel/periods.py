"""Reporting periods: day, ISO week, month and quarter keys for a UTC timestamp.

Keys sort chronologically as strings, so a range of periods is a DynamoDB ``BETWEEN`` on the sort key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


def period_key(granularity: Granularity, at: datetime) -> str:
    """``2026-11-23`` / ``2026-W48`` / ``2026-11`` / ``2026-Q4`` for ``at`` (converted to UTC)."""
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    granularity = Granularity(granularity)
    if granularity is Granularity.DAY:
        return at.strftime("%Y-%m-%d")
    if granularity is Granularity.WEEK:
        year, week, _ = at.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if granularity is Granularity.MONTH:
        return at.strftime("%Y-%m")
    return f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"


def period_keys(at: datetime) -> dict[Granularity, str]:
    """Every granularity's period key for one instant."""
    return {g: period_key(g, at) for g in Granularity}


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp as stored on items (``Z`` or offset); naive means UTC."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def iso_timestamp(at: datetime) -> str:
    """A UTC ISO-8601 timestamp with millisecond precision and a ``Z`` suffix (naive means UTC)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
