"""``Referral Joined``: the team's referral program says a promoter joined; record it once.

The event (``detail-type`` ``Referral Joined``, any ``source`` but ``nps``; docs/referrals.md)::

    {"schema_version": "1.0", "contact_id": "<the promoter who joined>",
     "joined_at": "<ISO-8601 with offset>", "referral_id": "<the sender's dedupe id, optional>"}

The join is matched to the contact's latest ask (:meth:`Ledger.latest_ask`) and recorded on that invite:
marker ``joined`` and ``referral_joined`` on the aggregates of the promoter's answer (its cohort, however
late the event). A second join of the same invite (a redelivery, a duplicate from the sender) is a
documented no-op. A join of a contact with no ask on record is marked ``joined_unasked`` and counted
apart, never in the participation rate. A detail that breaks the contract raises :class:`InvalidJoin`
(the consumer reports it as a failure, so it lands in the DLQ after retries).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from nps.events.names import EVENT_SOURCE, ID_PATTERN, REFERRAL_JOINED

if TYPE_CHECKING:
    from nps.accounts.adapters.referrals import Answer, Ask

_ID = re.compile(ID_PATTERN)
#: The sender's dedupe id: printable ASCII without spaces, at most 128 characters.
_REFERRAL_ID = re.compile(r"[!-~]{1,128}")


class InvalidJoin(ValueError):
    """The event breaks the ``Referral Joined`` contract (the message names the field, never a value)."""


class JoinOutcome(StrEnum):
    JOINED = "joined"  # recorded on the contact's latest ask
    DUPLICATE = "duplicate"  # that invite's join is on record already: nothing changed
    UNASKED = "unasked"  # no ask on record: counted apart
    UNASKED_DUPLICATE = "unasked_duplicate"


@dataclass(frozen=True, slots=True)
class Join:
    contact_id: str
    joined_at: datetime
    referral_id: str | None = None


def parse_join(event: Mapping[str, Any]) -> Join:
    """A ``Referral Joined`` EventBridge event (the whole envelope). Raises :class:`InvalidJoin`."""
    if event.get("detail-type") != REFERRAL_JOINED:
        raise InvalidJoin("detail-type is not Referral Joined")
    if event.get("source") == EVENT_SOURCE:
        raise InvalidJoin("source must be the referral program's, not nps")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidJoin("detail is not an object")
    if detail.get("schema_version") != "1.0":
        raise InvalidJoin("schema_version must be 1.0")
    unknown = set(detail) - {"schema_version", "contact_id", "joined_at", "referral_id"}
    if unknown:
        raise InvalidJoin("detail has fields the contract does not define")
    contact_id = detail.get("contact_id")
    if not isinstance(contact_id, str) or not _ID.fullmatch(contact_id):
        raise InvalidJoin("contact_id is 1-64 letters, digits, '-' or '_'")
    joined_text = detail.get("joined_at")
    try:
        joined_at = datetime.fromisoformat(joined_text.replace("Z", "+00:00")) if isinstance(joined_text, str) else None
        # In UTC, as it is stored; an offset that moves it out of years 1-9999 is no time at all.
        joined_at = joined_at.astimezone(UTC) if joined_at is not None and joined_at.tzinfo else None
    except (ValueError, OverflowError):
        joined_at = None
    if joined_at is None:
        raise InvalidJoin("joined_at is an ISO-8601 time with its offset")
    referral_id = detail.get("referral_id")
    if referral_id is not None and (not isinstance(referral_id, str) or not _REFERRAL_ID.fullmatch(referral_id)):
        raise InvalidJoin("referral_id is 1-128 printable characters without spaces")
    return Join(contact_id, joined_at, referral_id)


class Ledger(Protocol):
    def latest_ask(self, contact_id: str) -> Ask | None: ...
    def record_join(self, answer: Answer, joined_at: datetime, referral_id: str | None) -> bool: ...
    def record_unasked_join(self, contact_id: str, joined_at: datetime, referral_id: str | None) -> bool: ...


def record_join(ledger: Ledger, join: Join) -> JoinOutcome:
    """Record ``join`` on the contact's latest ask, once (see the module docstring)."""
    ask = ledger.latest_ask(join.contact_id)
    if ask is None:
        fresh = ledger.record_unasked_join(join.contact_id, join.joined_at, join.referral_id)
        return JoinOutcome.UNASKED if fresh else JoinOutcome.UNASKED_DUPLICATE
    fresh = ledger.record_join(ask.answer, join.joined_at, join.referral_id)
    return JoinOutcome.JOINED if fresh else JoinOutcome.DUPLICATE
