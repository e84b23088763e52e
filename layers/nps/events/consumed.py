"""The ``Customer Churned`` contract checked by hand, without pydantic, for the function that consumes it.

:class:`nps.events.models.CustomerChurnedDetail` stays the contract (its JSON Schema, the docs). Loading
pydantic and building that model cost the churn function's cold start about 90 ms for a detail of six
fields, so :func:`parse_customer_churned` checks the same rules field by field: it accepts exactly the
details the model accepts, with the same values, and refuses the others naming the same fields
(``tests/unit/events/test_consumed.py`` proves both with hypothesis). The model's own validators for the
churn instant and the reason code are defined here, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from nps.events.names import ID_PATTERN

#: The sender's churn id: 1-128 letters, digits, ``_ . : -`` (the model's length limits and pattern).
CHURN_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
CHURN_ID_MAX_LENGTH = 128
#: A churn reason code once folded to lower case: a short code, never free text.
REASON_CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
CHURN_FIELDS = frozenset({"schema_version", "churn_id", "contact_id", "account_id", "churned_at", "reason"})

# fullmatch: ``$`` alone would let a trailing newline through (pydantic's regex engine does not).
_ID = re.compile(ID_PATTERN)
_CHURN_ID = re.compile(CHURN_ID_PATTERN)
_REASON = re.compile(REASON_CODE_PATTERN)


def churn_instant(value: object) -> datetime:
    """``2026-11-30`` → midnight UTC that day; a naive date-time is UTC; an aware one is converted to UTC.

    Takes an ISO 8601 date or date-time (text, or a ``date`` / ``datetime``); raises ``ValueError`` for
    anything else (a number, unparsable text, an instant UTC cannot hold), as the JSON Schema says.
    """
    if isinstance(value, str) and len(value) == 10:
        with suppress(ValueError):
            value = date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("churned_at is an ISO 8601 date or date-time") from None
    if not isinstance(value, datetime):
        raise ValueError("churned_at is an ISO 8601 date or date-time")
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("churned_at is out of range") from None


def fold_code(value: object) -> object:
    """A code as the contract compares it: text stripped and lower-cased; any other value unchanged."""
    return value.strip().lower() if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class CustomerChurned:
    """A valid ``Customer Churned`` detail: the values :class:`CustomerChurnedDetail` would hold."""

    churned_at: datetime
    churn_id: str | None = None
    contact_id: str | None = None
    account_id: str | None = None
    reason: str | None = None
    schema_version: str = "1.0"


class DetailRefused(ValueError):
    """A detail that breaks the contract. ``fields`` names the fields at fault (``detail`` for the whole
    detail), as the model's validation errors would; never a value."""

    def __init__(self, fields: set[str]) -> None:
        self.fields = tuple(sorted(fields))
        super().__init__(", ".join(self.fields))


def _text(value: object, pattern: re.Pattern[str], max_length: int | None = None) -> bool:
    return (
        isinstance(value, str) and (max_length is None or len(value) <= max_length) and bool(pattern.fullmatch(value))
    )


def parse_customer_churned(detail: object) -> CustomerChurned:
    """Check a ``Customer Churned`` detail (decoded JSON) against the contract. Raises :class:`DetailRefused`."""
    if not isinstance(detail, Mapping):
        raise DetailRefused({"detail"})
    # An unknown field is named as the model names it (the empty name as the whole detail).
    wrong = {str(name) or "detail" for name in detail if name not in CHURN_FIELDS}
    if detail.get("schema_version", "1.0") != "1.0":
        wrong.add("schema_version")
    values: dict[str, str | None] = {}
    for name, pattern, max_length in (
        ("churn_id", _CHURN_ID, CHURN_ID_MAX_LENGTH),
        ("contact_id", _ID, None),
        ("account_id", _ID, None),
        ("reason", _REASON, None),
    ):
        value = detail.get(name)
        if name == "reason":
            value = fold_code(value)
        if value is not None and not _text(value, pattern, max_length):
            wrong.add(name)
        values[name] = value if isinstance(value, str) else None
    churned_at: datetime | None = None
    try:
        churned_at = churn_instant(detail["churned_at"])
    except (KeyError, ValueError):
        wrong.add("churned_at")
    if wrong or churned_at is None:
        raise DetailRefused(wrong or {"churned_at"})
    if values["contact_id"] is None and values["account_id"] is None:
        raise DetailRefused({"detail"})
    return CustomerChurned(
        churned_at=churned_at,
        churn_id=values["churn_id"],
        contact_id=values["contact_id"],
        account_id=values["account_id"],
        reason=values["reason"],
    )
