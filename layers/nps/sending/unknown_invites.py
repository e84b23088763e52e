"""Invites whose send may or may not have happened: the sweep that finds them, the list, the resolution.

An invite (or its reminder) is ``unknown`` when its SES/SNS call went out and no verdict came back, when
it left and could not be recorded, or when its claim was left behind (the deliver function died mid-send).
Nothing re-sends it by itself: sending twice is worse than once late. Instead

* :meth:`UnknownInvites.sweep` (the ``sweep_invites`` function, on a schedule) marks claims older than
  the threshold ``unknown`` and counts the invites that are unknown, so the alarm stays on until each is
  resolved. A claim cannot be proved unsent (SES and SNS offer no lookup by request), so it is never
  released, only marked;
* :meth:`UnknownInvites.list` is what ``nps invites unknown SURVEY`` prints;
* :meth:`UnknownInvites.resolve` is the operator's decision (``nps invites resolve``): it left
  (``sent``: counted and reminded like any sent invite), it did not (``resend``: queued again), or give it
  up (``failed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.sending.adapters.invites import IN_FLIGHT, UNKNOWN, InFlightInvite, InviteRecord
from nps.sending.delivery import InviteTransitions, SendQueue, Surveys, sent_reminder_item, sent_ttl

#: A claim older than this is not in flight any more: the deliver function's timeout is a minute.
STUCK_AFTER = timedelta(minutes=15)
#: Why the sweep marked an invite unknown.
CLAIM_EXPIRED = "claim expired"
#: The most stuck claims one sweep marks (the rest wait for the next run, minutes later).
SWEEP_LIMIT = 1000

T = TypeVar("T")


class Resolution(StrEnum):
    """What an operator established about an unknown send."""

    SENT = "sent"
    RESEND = "resend"
    FAILED = "failed"


class NotUnknown(LookupError):
    """The invite does not exist, or neither it nor its reminder is in the unknown state."""


class InFlightStore(InviteTransitions, Protocol):
    """What the sweep and the operator's resolution add: finding sends in flight and putting one back."""

    def in_flight(self, state: str, *, since_before: str | None = None, limit: int = 1000) -> list[InFlightInvite]: ...
    def leave_in_flight(self, invite_id: str, state: str) -> bool: ...
    def requeue(self, invite_id: str, reason: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SweepReport:
    #: Claims older than the threshold found in flight.
    stuck: int
    #: Of those, how many this run marked unknown (the others moved on meanwhile).
    marked_unknown: int
    #: Invites (or reminders) in the unknown state after this run: the alarm's metric.
    outstanding_unknown: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class UnknownInvites:
    def __init__(
        self,
        lifecycle: InFlightStore,
        *,
        surveys: Surveys | None = None,
        queue: SendQueue | None = None,
        retention_days: int = 400,
        stuck_after: timedelta = STUCK_AFTER,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.lifecycle = lifecycle
        self.surveys = surveys
        self.queue = queue
        self.retention_days = retention_days
        self.stuck_after = stuck_after
        self.clock = clock

    # -- the sweep --------------------------------------------------------------------------------
    def sweep(self) -> SweepReport:
        """Mark claims older than ``stuck_after`` unknown; count what is unknown now.

        Each mark is conditional on the claim it read (``claimed_at``), so a claim taken again meanwhile is
        left alone. Index entries whose invite moved on (a bounce) are cleaned up, not counted.
        """
        now = self.clock()
        cutoff = iso_timestamp(now - self.stuck_after)
        stuck = self.lifecycle.in_flight(IN_FLIGHT, since_before=cutoff, limit=SWEEP_LIMIT)
        marked = 0
        for found in stuck:
            if not found.current:
                self.lifecycle.leave_in_flight(found.invite_id, IN_FLIGHT)
                continue
            mark = self.lifecycle.mark_reminder_unknown if found.kind == "reminder" else self.lifecycle.mark_unknown
            marked += mark(found.invite_id, CLAIM_EXPIRED, now, claimed_at=found.since)
        outstanding = 0
        for found in self.lifecycle.in_flight(UNKNOWN, limit=1_000_000):
            if found.current:
                outstanding += 1
            else:
                self.lifecycle.leave_in_flight(found.invite_id, UNKNOWN)
        return SweepReport(stuck=len(stuck), marked_unknown=marked, outstanding_unknown=outstanding)

    # -- the list ---------------------------------------------------------------------------------
    def list(self, survey_id: str) -> list[InFlightInvite]:
        """The survey's invites (and reminders) in the unknown state, oldest first."""
        return [
            found
            for found in self.lifecycle.in_flight(UNKNOWN, limit=1_000_000)
            if found.survey_id == survey_id and found.current
        ]

    # -- the operator's decision ------------------------------------------------------------------
    def resolve(self, invite_id: str, resolution: Resolution) -> dict[str, str]:
        """Move an unknown invite (or its unknown reminder) on as the operator established.

        ``sent``: recorded as sent at its claim time (counted in ``invites_sent``, its reminder
        scheduled); ``resend``: queued again and a send message queued; ``failed``: given up. Returns
        ``{"invite_id", "kind", "resolution"}``. Raises :class:`NotUnknown` when there is nothing
        unknown to resolve (also when another resolution got there first).
        """
        invite = self.lifecycle.get(invite_id)
        if invite is None:
            raise NotUnknown(invite_id)
        now = self.clock()
        if invite.status == UNKNOWN:
            done = self._resolve_invite(invite, resolution, now)
            kind = "invite"
        elif invite.reminder_status == UNKNOWN:
            done = self._resolve_reminder(invite, resolution, now)
            kind = "reminder"
        else:
            raise NotUnknown(invite_id)
        if not done:
            raise NotUnknown(invite_id)
        if resolution is Resolution.RESEND:
            self._require(self.queue).enqueue([({"invite_id": invite_id, "kind": kind}, 0)])
        return {"invite_id": invite_id, "kind": kind, "resolution": resolution.value}

    def _resolve_invite(self, invite: InviteRecord, resolution: Resolution, now: datetime) -> bool:
        if resolution is Resolution.RESEND:
            return self.lifecycle.requeue(invite.invite_id, f"resent after: {invite.unknown_reason or UNKNOWN}")
        if resolution is Resolution.FAILED:
            reason = f"given up after: {invite.unknown_reason or UNKNOWN}"
            return self.lifecycle.mark_failed(invite.invite_id, reason, now, expected=UNKNOWN)
        survey = self._require(self.surveys).get(invite.survey_id)
        sent_at = parse_timestamp(invite.claimed_at) if invite.claimed_at else now
        if survey is not None:
            ttl = sent_ttl(sent_at, survey, self.retention_days)
            reminder = sent_reminder_item(self._require(self.surveys), survey, invite.invite_id, sent_at)
        else:  # the survey was deleted: keep the invite as long as its links live, no reminder
            ttl, reminder = invite.expires_at + self.retention_days * 86400, None
        message_id = invite.message_id or UNKNOWN
        try:
            self.lifecycle.mark_sent(invite, sent_at, invite.expires_at, ttl, message_id, reminder, expected=UNKNOWN)
        except Exception as error:
            reasons = (getattr(error, "response", None) or {}).get("CancellationReasons") or []
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                return False  # no longer unknown: another resolution got there first
            raise
        return True

    def _resolve_reminder(self, invite: InviteRecord, resolution: Resolution, now: datetime) -> bool:
        if resolution is Resolution.RESEND:
            return self.lifecycle.release_reminder(invite.invite_id, expected=UNKNOWN)
        outcome = "sent" if resolution is Resolution.SENT else "failed"
        return self.lifecycle.finish_reminder(invite.invite_id, outcome, now, expected=UNKNOWN)

    @staticmethod
    def _require(dependency: T | None) -> T:
        if dependency is None:
            raise RuntimeError("this operation needs the surveys table and the send queue")
        return dependency


def describe(found: InFlightInvite) -> str:
    """One line for ``nps invites unknown``: ids, channel, which send, since when, why (no PII)."""
    fields: Sequence[str] = (
        found.invite_id,
        found.wave_id,
        found.channel,
        found.kind,
        found.since,
        found.unknown_reason or "",
    )
    return "\t".join(fields)
