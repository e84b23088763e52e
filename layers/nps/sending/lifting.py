"""Lifting suppressions: an operator's ``nps contacts unsuppress`` and a number SNS opted back in.

A suppression is lifted only with an audit record: who (an operator's identity, or ``sns`` when SNS
says the number is no longer opted out), when, why (required), and what was lifted (the hashed key,
its reason and time). The suppression and its audit record are written in one transaction
(:class:`SuppressionLifts`), so a lift is never half-done.

SMS opt-outs have two lists: ours (reason ``sms_opted_out``, written when SNS first refused the number)
and SNS's own (``CheckIfPhoneNumberIsOptedOut``). SNS is the authority:

* at send time, a number suppressed only because SNS had it opted out is lifted as soon as SNS says it
  is opted in again (the person texted START/UNSTOP, or someone called ``OptInPhoneNumber``), and sent to;
* ``nps contacts unsuppress --channel sms`` opts the number back in at SNS first (``OptInPhoneNumber``,
  which SNS allows once per 30 days per number); if SNS refuses, our suppression stays and the operator
  is told why. Other suppressions of a number (an unsubscribe link) are lifted only by an operator.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol

from nps.kernel.periods import iso_timestamp
from nps.sending.suppression import SuppressionReason, lookup_hashes

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.sending.contacts import Contact

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
MAX_REASON_CHARS = 500
#: Room for an STS assumed-role ARN (role and session names of up to 64 characters each) or a name.
MAX_BY_CHARS = 300
#: Who lifts a suppression because SNS says the number is opted in again.
SNS_ACTOR = "sns"
SNS_OPT_IN_REASON = "SNS reports the number opted in again"


class InvalidLift(ValueError):
    """The request to lift cannot be served as given (no reason, no such channel)."""


class OptInRefused(Exception):
    """SNS keeps the number opted out (``OptInPhoneNumber`` refused: at most once per 30 days)."""


@dataclass(frozen=True, slots=True)
class SuppressionRecord:
    """One stored suppression: its hashed key, reason and time (ISO-8601 UTC), and contact (if known)."""

    address_hash: str
    reason: str
    suppressed_at: str
    contact_id: str | None = None


@dataclass(frozen=True, slots=True)
class Lift:
    """The audit of one lifted suppression: ``by`` (identity), ``why`` (free text, no personal data),
    ``at`` (ISO-8601 UTC), ``channel``, and the suppression lifted."""

    lifted: SuppressionRecord
    channel: Channel
    by: str
    why: str
    at: str


class SuppressionLifts(Protocol):
    def get(self, address_hash: str) -> SuppressionRecord | None: ...
    def lift(self, lift: Lift) -> bool:
        """Delete the suppression (only if still as read) and store the audit, in one transaction;
        False when the suppression changed or is gone meanwhile."""
        ...


class SmsOptOuts(Protocol):
    def opted_out(self, phone: str) -> bool: ...
    def opt_in(self, phone: str) -> None:
        """Opt the number in again at SNS; raises :class:`OptInRefused`."""
        ...


Outcome = Literal["lifted", "not_suppressed", "no_address", "refused"]


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """What ``unsuppress`` did on one channel; ``detail`` says why it refused (no address or number)."""

    channel: Channel
    outcome: Outcome
    previous_reason: str | None = None
    detail: str = ""


def _one_line(text: str) -> str:
    """``text`` on one line: control and format characters dropped, runs of white space folded."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf") or c.isspace())
    return " ".join(kept.split())


def checked_reason(why: str) -> str:
    """The operator's reason, stripped: 1–500 characters on one line, no control or format characters
    (an escape sequence in the audit would replay on whoever reads it); raises :class:`InvalidLift`."""
    text = _one_line(why)
    if not text:
        raise InvalidLift("a reason is required (--reason), e.g. 'asked to hear from us again, ticket 4711'")
    if len(text) > MAX_REASON_CHARS:
        raise InvalidLift(f"the reason is {len(text)} characters long; at most {MAX_REASON_CHARS}")
    return text


def checked_by(by: str) -> str:
    """Who lifts the suppression, as :func:`checked_reason` cleans it: 1–300 characters on one line."""
    text = _one_line(by)
    if not text:
        raise InvalidLift("who lifts the suppression is unknown (--by)")
    if len(text) > MAX_BY_CHARS:
        raise InvalidLift(f"--by is {len(text)} characters long; at most {MAX_BY_CHARS}")
    return text


def unsuppress(
    contact: Contact,
    channels: Iterable[Channel],
    *,
    by: str,
    why: str,
    now: datetime,
    lifts: SuppressionLifts,
    sms: SmsOptOuts,
    id_key: IdKey,
) -> list[ChannelResult]:
    """Lift the contact's suppressions on ``channels`` (audited as ``by``/``why``/``now``), under the
    address's keyed key and, until ``nps suppressions migrate --remove-legacy`` ran, its legacy key.

    SMS: when SNS has the number opted out, it is opted in there first; if SNS refuses, the channel is
    ``refused`` and our suppression stays. Raises :class:`InvalidLift` for a missing reason or by.
    """
    reason = checked_reason(why)
    by = checked_by(by)
    results: list[ChannelResult] = []
    for channel in dict.fromkeys(channels):
        address = contact.address(channel)
        if not address:
            results.append(ChannelResult(channel, "no_address"))
            continue
        records = [r for r in (lifts.get(h) for h in lookup_hashes(channel, address, id_key)) if r is not None]
        if channel == "sms" and sms.opted_out(address):
            try:
                sms.opt_in(address)
            except OptInRefused as error:
                previous = records[0].reason if records else None
                results.append(ChannelResult(channel, "refused", previous, str(error)))
                continue
        if not records:
            results.append(ChannelResult(channel, "not_suppressed"))
            continue
        lifted = [lifts.lift(Lift(r, channel, by.strip(), reason, iso_timestamp(now))) for r in records]
        results.append(ChannelResult(channel, "lifted" if any(lifted) else "not_suppressed", records[0].reason))
    return results


class Resolution(StrEnum):
    SEND = "send"
    SUPPRESSED = "suppressed"


def follow_sns(
    record: SuppressionRecord | None, *, opted_out_at_sns: bool, now: datetime, lifts: SuppressionLifts
) -> Resolution:
    """At send time, for a number whose suppression is ``record``: ``send`` when nothing (any longer)
    suppresses it, ``suppressed`` otherwise. A suppression whose cause was SNS's opt-out
    (``sms_opted_out``) is lifted, audited as ``sns``, once SNS says the number is opted in again; any
    other reason stays. A suppression that changed meanwhile (the lift's condition failed) stays."""
    if record is None:
        return Resolution.SEND
    if record.reason != SuppressionReason.SMS_OPTED_OUT.value or opted_out_at_sns:
        return Resolution.SUPPRESSED
    lifted = lifts.lift(Lift(record, "sms", SNS_ACTOR, SNS_OPT_IN_REASON, iso_timestamp(now)))
    return Resolution.SEND if lifted else Resolution.SUPPRESSED
