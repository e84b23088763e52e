"""The reporting API's query strings in their canonical form, read without pydantic.

The contract of each query is its pydantic model in :mod:`nps.reporting.models` (validated by the
Powertools resolver, documented in ``docs/openapi/report.json``). Building those validators costs a
cold start about 100 ms, yet almost every request spells its query the one way the API documents:
``from=YYYY-MM-DD&to=YYYY-MM-DD`` and, per route, a segment, a channel, a granularity... written as the
models' own values. :func:`read_query` reads exactly those spellings and gives ``None`` for anything
else (a missing or repeated parameter, another date format, a value out of range or not matching its
pattern): the caller then lets the models decide, so they accept or refuse it with the API's 422.

What this module accepts, the models accept with the same values (a property test compares them on
generated queries); it may only be stricter, never looser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from nps.kernel.periods import Granularity

RouteName = Literal[
    "summary", "trend", "segments", "channels", "comments", "export", "drivers", "accounts", "churn", "referrals"
]
#: The query parameters each route reads (the fields of its model, by their names in the query string).
ROUTE_PARAMETERS: dict[RouteName, tuple[str, ...]] = {
    "summary": ("from", "to", "segment", "channel"),
    "trend": ("from", "to", "segment", "channel", "granularity"),
    "segments": ("from", "to", "dimension", "channel"),
    "channels": ("from", "to", "segment"),
    "comments": ("from", "to", "category", "segment", "limit", "cursor"),
    "export": ("from", "to", "limit", "cursor"),
    "drivers": ("from", "to", "channel", "granularity"),
    "accounts": ("from", "to", "granularity"),
    "churn": ("from", "to", "granularity"),
    "referrals": ("from", "to", "granularity"),
}
#: The granularity of a route's query when it names none.
DEFAULT_GRANULARITY: dict[RouteName, str] = {"accounts": "quarter"}
#: Routes whose granularity is month or quarter only (their model's ``Literal``).
COARSE_ROUTES: frozenset[RouteName] = frozenset({"accounts", "churn"})
#: Page sizes: (default, largest) per route that pages.
LIMITS: dict[RouteName, tuple[int, int]] = {"comments": (20, 100), "export": (5_000, 10_000)}
MAX_CURSOR = 512
CHANNELS = frozenset({"*", "email", "sms", "web", "link", "link_anonymous"})
CATEGORIES = frozenset({"promoter", "passive", "detractor"})
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SEGMENT = re.compile(r"\*|[A-Za-z0-9_.-]{1,64}=[^\x00-\x1f\x7f]{1,128}")
_DIMENSION = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SURVEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COUNT = re.compile(r"[1-9][0-9]{0,4}")
_GRANULARITIES = {g.value: g for g in Granularity}


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A report's query, with the attributes of the route's pydantic model (defaults where it has none)."""

    start: date
    end: date
    segment: str = "*"
    channel: str = "*"
    granularity: Granularity = Granularity.MONTH
    dimension: str = ""
    category: str | None = None
    limit: int = 0
    cursor: str | None = None


def canonical_survey_id(survey_id: str) -> bool:
    """Whether ``survey_id`` is a survey id as the path's pattern allows it."""
    return _SURVEY_ID.fullmatch(survey_id) is not None


def read_query(route: RouteName, parameters: Mapping[str, str] | None) -> ReportQuery | None:
    """``route``'s query from the request's parameters (one value each), or ``None`` when any value the
    route reads is not in its canonical form. Parameters the route does not read are ignored, as the
    resolver ignores them."""
    given = parameters or {}
    start, end = _day(given.get("from")), _day(given.get("to"))
    if start is None or end is None:
        return None
    read = ROUTE_PARAMETERS[route]
    segment = given.get("segment", "*") if "segment" in read else "*"
    channel = given.get("channel", "*") if "channel" in read else "*"
    if not _text(segment) or _SEGMENT.fullmatch(segment) is None or channel not in CHANNELS:
        return None
    usual = DEFAULT_GRANULARITY.get(route, "month")
    granularity = _GRANULARITIES.get(given.get("granularity", usual)) if "granularity" in read else Granularity.MONTH
    if granularity is None or (route in COARSE_ROUTES and granularity not in (Granularity.MONTH, Granularity.QUARTER)):
        return None
    dimension = given.get("dimension", "") if "dimension" in read else ""
    if "dimension" in read and _DIMENSION.fullmatch(dimension) is None:
        return None
    category = given.get("category") if "category" in read else None
    if category is not None and category not in CATEGORIES:
        return None
    limit = 0
    if route in LIMITS:
        default, largest = LIMITS[route]
        text = given.get("limit")
        if text is not None and _COUNT.fullmatch(text) is None:
            return None
        limit = default if text is None else int(text)
        if limit > largest:
            return None
    cursor = given.get("cursor") if "cursor" in read else None
    if cursor is not None and (not cursor.isascii() or len(cursor) > MAX_CURSOR):
        return None
    return ReportQuery(start, end, segment, channel, granularity, dimension, category, limit, cursor)


def _day(text: str | None) -> date | None:
    if text is None or _DAY.fullmatch(text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _text(value: str) -> bool:
    """Whether ``value`` is text the validator reads as it is (no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
