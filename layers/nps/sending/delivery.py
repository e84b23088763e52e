"""Delivering one invite or reminder: hold for local daytime, check suppression, send once, record it.

The deliver function calls :meth:`DeliveryService.deliver` per SQS message. Outcomes:

* ``sent``: the message left through SES/SNS and the invite is ``sent`` (counted in ``invites_sent``);
* ``duplicate``: another delivery of the same message already claimed it (nothing is sent twice);
* ``held``: too early (quiet hours or an event delay); the message is queued again with a delay;
* ``skipped``: suppressed, opted out, contact gone, or responded/unsubscribed (reminders);
* ``dead_lettered``: a permanent failure, or retries exhausted: parked in the DLQ with the reason;
* ``unknown``: the send call went out and no verdict came back (a timeout, a dropped connection), or it
  left and could not be recorded: the invite (or its reminder) is marked ``unknown``, never sent again
  by itself, counted and listed (``nps invites unknown``) until an operator resolves it.

Everything that can fail for an ordinary reason (the keyring read, rendering, the contact and survey
reads) runs before the invite is claimed; between the claim and the send call nothing runs, and a send
is not started without the time left to finish it. So a fault before the send leaves nothing claimed,
and a retryable failure below the attempt limit raises :class:`RetryLater`: the batch reports the
message as failed and SQS delivers it again after its visibility timeout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from nps.kernel.aws import error_code
from nps.kernel.periods import iso_timestamp
from nps.sending.adapters.channels import SendError
from nps.sending.adapters.invites import ContactGone, InviteRecord, send_after_of
from nps.sending.feedback import feedback_tags
from nps.sending.messages import invite_links, mime_message, render_email, render_sms
from nps.sending.quiet_hours import next_send_time
from nps.sending.suppression import SuppressionReason, address_hash, lookup_hashes

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.links.tokens import Keyring
    from nps.sending.contacts import Contact
    from nps.sending.lifting import SuppressionLifts
    from nps.sending.surveys import Survey

UNSUBSCRIBE_LINK_DAYS = 365


class Outcome(StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"
    HELD = "held"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"
    UNKNOWN = "unknown"


class RetryLater(Exception):
    """A retryable failure: report the message failed so SQS redelivers it."""


@dataclass(frozen=True, slots=True)
class SendMessage:
    invite_id: str
    kind: str = "invite"  # or "reminder"

    @classmethod
    def parse(cls, body: object) -> SendMessage:
        if not isinstance(body, dict):
            raise ValueError("a send message is a JSON object")
        invite_id, kind = body.get("invite_id"), body.get("kind", "invite")
        if not isinstance(invite_id, str) or not invite_id or kind not in ("invite", "reminder"):
            raise ValueError("a send message needs an invite_id and a kind of invite or reminder")
        return cls(invite_id, kind)

    def body(self) -> dict[str, str]:
        return {"invite_id": self.invite_id, "kind": self.kind}


class InviteTransitions(Protocol):
    """The invite and reminder state changes every party to a send makes (deliver, the sweep, the CLI)."""

    def get(self, invite_id: str) -> InviteRecord | None: ...
    def mark_failed(self, invite_id: str, reason: str, now: datetime, expected: str = "sending") -> bool: ...
    def mark_unknown(
        self,
        invite_id: str,
        reason: str,
        now: datetime,
        *,
        claimed_at: str | None = None,
        message_id: str | None = None,
    ) -> bool: ...
    def mark_sent(
        self,
        invite: InviteRecord,
        sent_at: datetime,
        expires_at: int,
        ttl: int,
        message_id: str,
        reminder: dict[str, object] | None,
        expected: str = "sending",
    ) -> None: ...
    def finish_reminder(self, invite_id: str, outcome: str, now: datetime, expected: str = "sending") -> bool: ...
    def release_reminder(self, invite_id: str, expected: str = "sending") -> bool: ...
    def mark_reminder_unknown(
        self, invite_id: str, reason: str, now: datetime, *, claimed_at: str | None = None
    ) -> bool: ...


class Lifecycle(InviteTransitions, Protocol):
    """What deliver adds: claiming a send, releasing or skipping it."""

    def claim(
        self, invite_id: str, now: datetime, expires_at: int, *, contact: tuple[str, str] | None = None
    ) -> bool: ...
    def discard_queued(self, invite_id: str) -> bool: ...
    def release(self, invite_id: str, reason: str) -> bool: ...
    def mark_skipped(self, invite_id: str, reason: str, now: datetime) -> bool: ...
    def claim_reminder(self, invite_id: str, now: datetime, *, contact: tuple[str, str] | None = None) -> bool: ...


class Surveys(Protocol):
    def get(self, survey_id: str) -> Survey | None: ...
    def reminder_item(self, survey_id: str, due_iso: str, invite_id: str) -> dict[str, object]: ...


class Contacts(Protocol):
    def get(self, audience: str, contact_id: str) -> Contact | None: ...


class Suppressions(Protocol):
    def is_suppressed(self, address_hash: str) -> bool: ...
    def suppress(
        self, address_hash: str, reason: SuppressionReason, now_iso: str, contact_id: str | None = None
    ) -> bool: ...


class Responses(Protocol):
    def get_score(self, invite_id: str) -> int | None: ...


class Mailer(Protocol):
    def send_email(
        self, *, source: str, destination: str, raw: bytes, configuration_set: str, tags: dict[str, str]
    ) -> str: ...


class Texter(Protocol):
    def opted_out(self, phone: str) -> bool: ...
    def send_sms(self, phone: str, text: str) -> str: ...


class SendQueue(Protocol):
    def enqueue(self, messages: Sequence[tuple[dict[str, str], int]]) -> None: ...
    def dead_letter(self, body: dict[str, str], reason: str, attempts: int) -> None: ...


class OptOutHandler(Protocol):
    def __call__(self, invite: InviteRecord, now: datetime) -> None: ...


class RateLimiter:
    """Spaces sends at least ``1/rate`` seconds apart in this process (never a burst above the rate)."""

    def __init__(
        self,
        rate_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("the send rate must be positive")
        self.interval = 1.0 / rate_per_second
        self.clock = clock
        self.sleep = sleep
        self._next = float("-inf")

    def acquire(self) -> None:
        now = self.clock()
        if self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    base_url: str
    configuration_set: str
    max_attempts: int
    retention_days: int
    #: Seconds a send call may take at most (its connect and read timeouts): a send is not started
    #: with less time than this left in the invocation.
    send_budget_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready to leave: everything that could fail before the send call has run."""

    channel: str
    address: str
    #: Raw MIME (email) or the text (SMS).
    content: bytes | str
    source: str = ""
    tags: dict[str, str] | None = None


def sent_ttl(now: datetime, survey: Survey, retention_days: int) -> int:
    """The TTL (epoch seconds) of an invite sent at ``now``: its links' and unsubscribe link's lifetime
    plus the retention."""
    ttl = int((now + timedelta(days=max(UNSUBSCRIBE_LINK_DAYS, survey.link_lifetime_days))).timestamp())
    return ttl + retention_days * 86400


def sent_reminder_item(surveys: Surveys, survey: Survey, invite_id: str, sent_at: datetime) -> dict[str, object] | None:
    """The reminder item an invite sent at ``sent_at`` schedules (None when the survey has no reminder)."""
    if not survey.reminder_days:
        return None
    due_iso = iso_timestamp(sent_at + timedelta(days=survey.reminder_days))
    return surveys.reminder_item(survey.survey_id, due_iso, invite_id)


class DeliveryService:
    def __init__(
        self,
        *,
        keyring: Callable[[], Keyring],
        id_key: Callable[[], IdKey],
        lifecycle: Lifecycle,
        surveys: Surveys,
        contacts: Contacts,
        suppressions: Suppressions,
        responses: Responses,
        mailer: Mailer,
        texter: Texter,
        queue: SendQueue,
        limiter: RateLimiter,
        settings: DeliverySettings,
        on_sms_opt_out: OptOutHandler | None = None,
        lifts: SuppressionLifts | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        time_left: Callable[[], float] = lambda: math.inf,
    ) -> None:
        self._keyring = keyring
        self._id_key = id_key
        self.lifecycle = lifecycle
        self.surveys = surveys
        self.contacts = contacts
        self.suppressions = suppressions
        self.responses = responses
        self.mailer = mailer
        self.texter = texter
        self.queue = queue
        self.limiter = limiter
        self.settings = settings
        self.on_sms_opt_out = on_sms_opt_out
        #: With it, a number suppressed because SNS had it opted out is sent to again once SNS says it
        #: is opted in (:func:`nps.sending.lifting.follow_sns`); without it, such a suppression stays.
        self.lifts = lifts
        self.clock = clock
        #: Seconds left in the current invocation (the deliver function sets it per invocation).
        self.time_left = time_left

    # ------------------------------------------------------------------------------------------------
    def deliver(self, message: SendMessage, attempt: int = 1) -> Outcome:
        """Deliver one send message (attempt ``attempt`` of it, from 1); its :class:`Outcome`.

        Raises :class:`RetryLater` for a retryable failure below the attempt limit (nothing is left
        claimed), and lets an unexpected error of a store escape (SQS retries the message; a claim is
        never taken before such an error can happen, except the write recording a send, see below).
        """
        now = self.clock()
        invite = self.lifecycle.get(message.invite_id)
        if invite is None:
            return Outcome.SKIPPED  # aged out of the table: nothing left to send
        if message.kind == "reminder":
            return self._remind(message, invite, now, attempt)
        if invite.status != "queued":
            return Outcome.DUPLICATE
        survey = self.surveys.get(invite.survey_id)
        contact = self.contacts.get(invite.audience, invite.contact_id)
        if contact is None:
            # Erased (docs/privacy.md): an invite planned for it must not linger with its id.
            self.lifecycle.discard_queued(invite.invite_id)
            return Outcome.SKIPPED
        if survey is None or not survey.active:
            self.lifecycle.mark_skipped(invite.invite_id, "survey_or_contact_gone", now)
            return Outcome.SKIPPED
        due = self._due(invite, contact, survey, now)
        if due > now:
            self._hold(message, due, now)
            return Outcome.HELD
        skip = self._unreachable(invite, contact, now)
        if skip:
            self.lifecycle.mark_skipped(invite.invite_id, skip, now)
            return Outcome.SKIPPED
        expires_at = int((now + timedelta(days=survey.link_lifetime_days)).timestamp())
        try:
            outgoing = self._prepare(invite, contact, survey, expires_at, reminder=False)
        except Exception as error:  # keyring, rendering...: nothing is claimed yet
            return self._not_prepared(message, error, attempt, now)
        self._ready_to_send()
        try:
            # The claim checks the contact item in the same transaction: an erasure that deleted it after
            # the read above leaves nothing to send to.
            if not self.lifecycle.claim(
                invite.invite_id, now, expires_at, contact=(invite.audience, invite.contact_id)
            ):
                return Outcome.DUPLICATE
        except ContactGone:
            self.lifecycle.discard_queued(invite.invite_id)
            return Outcome.SKIPPED
        # Nothing between the claim and the send call: every failure from here is classified.
        try:
            message_id = self._send(outgoing)
        except SendError as error:
            return self._failed(message, invite, error, attempt, now)
        except Exception as error:  # not from the send protocol: assume the worst, it may have left
            self.lifecycle.mark_unknown(invite.invite_id, f"send: {error_code(error)}", now)
            return Outcome.UNKNOWN
        try:
            ttl = sent_ttl(now, survey, self.settings.retention_days)
            reminder = sent_reminder_item(self.surveys, survey, invite.invite_id, now)
            self.lifecycle.mark_sent(invite, now, expires_at, ttl, message_id, reminder)
        except Exception as error:
            # It left; only the record failed. Say so (with the message id) rather than leave the claim.
            reason = f"not recorded: {error_code(error)}"
            if self.lifecycle.mark_unknown(invite.invite_id, reason, now, message_id=message_id):
                return Outcome.UNKNOWN
            raise
        return Outcome.SENT

    # ------------------------------------------------------------------------------------------------
    def _remind(self, message: SendMessage, invite: InviteRecord, now: datetime, attempt: int) -> Outcome:
        if invite.status != "sent" or invite.reminder_status is not None:
            return Outcome.DUPLICATE if invite.reminder_status else Outcome.SKIPPED
        survey = self.surveys.get(invite.survey_id)
        contact = self.contacts.get(invite.audience, invite.contact_id)
        if survey is None or contact is None or not survey.active:
            return Outcome.SKIPPED
        due = self._due(invite, contact, survey, now, reminder=True)
        if due > now:
            self._hold(message, due, now)
            return Outcome.HELD
        if invite.expires_at and invite.expires_at <= now.timestamp() + 3600:
            reason = "link_expired"
        elif self.responses.get_score(invite.invite_id) is not None:
            reason = "responded"
        else:
            reason = self._unreachable(invite, contact, now) or ""
        outgoing = None
        if not reason:
            try:
                outgoing = self._prepare(invite, contact, survey, invite.expires_at, reminder=True)
            except Exception as error:  # nothing is claimed yet
                return self._not_prepared(message, error, attempt, now, reminder=True)
            self._ready_to_send()
        try:
            if not self.lifecycle.claim_reminder(invite.invite_id, now, contact=(invite.audience, invite.contact_id)):
                return Outcome.DUPLICATE
        except ContactGone:
            return Outcome.SKIPPED
        if outgoing is None:
            self.lifecycle.finish_reminder(invite.invite_id, f"skipped_{reason}", now)
            return Outcome.SKIPPED
        try:
            self._send(outgoing)
        except SendError as error:
            if error.maybe_sent:
                self.lifecycle.mark_reminder_unknown(invite.invite_id, error.reason, now)
                return Outcome.UNKNOWN
            if error.retryable and attempt < self.settings.max_attempts:
                self.lifecycle.release_reminder(invite.invite_id)
                raise RetryLater(error.reason) from error
            self.lifecycle.finish_reminder(invite.invite_id, "failed", now)
            self.queue.dead_letter(message.body(), error.reason, attempt)
            return Outcome.DEAD_LETTERED
        except Exception as error:
            self.lifecycle.mark_reminder_unknown(invite.invite_id, f"send: {error_code(error)}", now)
            return Outcome.UNKNOWN
        try:
            self.lifecycle.finish_reminder(invite.invite_id, "sent", now)
        except Exception as error:
            if self.lifecycle.mark_reminder_unknown(invite.invite_id, f"not recorded: {error_code(error)}", now):
                return Outcome.UNKNOWN
            raise
        return Outcome.SENT

    def _hold(self, message: SendMessage, due: datetime, now: datetime) -> None:
        """Queue the message again, delayed (at most 15 minutes a hop) until ``due``."""
        body = message.body() | {"not_before": iso_timestamp(due)}
        self.queue.enqueue([(body, int((due - now).total_seconds()) + 1)])

    def _due(
        self, invite: InviteRecord, contact: Contact, survey: Survey, now: datetime, reminder: bool = False
    ) -> datetime:
        start = now
        send_after = None if reminder else send_after_of(invite)
        if send_after is not None and send_after > now:
            start = send_after
        return next_send_time(start, contact.time_zone, survey.quiet_hours)

    def _unreachable(self, invite: InviteRecord, contact: Contact, now: datetime) -> str | None:
        """Why this contact must not get a message on the invite's channel now (None: go ahead)."""
        address = contact.address(invite.channel)
        if not address:
            return "no_address"
        id_key = self._id_key()
        if invite.channel == "sms" and self.lifts is not None:
            if self._sms_suppressed(address, now, id_key):
                return "suppressed"
        elif any(self.suppressions.is_suppressed(h) for h in lookup_hashes(invite.channel, address, id_key)):
            return "suppressed"
        if invite.channel == "sms":
            try:
                opted_out = self.texter.opted_out(address)
            except SendError:
                opted_out = False  # the send itself will fail and be retried if SNS is unavailable
            if opted_out:
                self.suppressions.suppress(
                    address_hash("sms", address, id_key),
                    SuppressionReason.SMS_OPTED_OUT,
                    _iso(now),
                    contact.contact_id,
                )
                if self.on_sms_opt_out is not None:
                    self.on_sms_opt_out(invite, now)
                return "sms_opted_out"
        return None

    def _sms_suppressed(self, phone: str, now: datetime, id_key: IdKey) -> bool:
        """Whether our suppression of ``phone`` stands (under its keyed or its legacy key), following SNS
        for STOP-only suppressions."""
        lifts = self.lifts
        assert lifts is not None
        records = [r for r in (lifts.get(h) for h in lookup_hashes("sms", phone, id_key)) if r is not None]
        if not records:
            return False
        if any(r.reason != SuppressionReason.SMS_OPTED_OUT.value for r in records):
            return True
        try:
            opted_out = self.texter.opted_out(phone)
        except SendError:
            return True  # SNS cannot say now: the suppression stands until it can
        from nps.sending.lifting import Resolution, follow_sns  # SMS only, past a STOP-only suppression

        resolutions = [follow_sns(r, opted_out_at_sns=opted_out, now=now, lifts=lifts) for r in records]
        return Resolution.SUPPRESSED in resolutions

    def _prepare(
        self, invite: InviteRecord, contact: Contact, survey: Survey, expires_at: int, reminder: bool
    ) -> Outgoing:
        """The message ready to leave: signed links (the keyring read), rendered, encoded. Claims nothing."""
        base = self.settings.base_url
        unsubscribe_until = int(self.clock().timestamp()) + UNSUBSCRIBE_LINK_DAYS * 86400
        links = invite_links(self._keyring(), base, invite.invite_id, expires_at, unsubscribe_until)
        address = contact.address(invite.channel)
        if not address:
            raise ValueError(f"the contact has no {invite.channel} address")
        if invite.channel == "email":
            email = render_email(survey, invite.locale, links, reminder=reminder)
            return Outgoing(
                channel="email",
                address=address,
                content=mime_message(survey, address, email, links.unsubscribe),
                source=survey.sender,
                tags=feedback_tags(
                    invite_id=invite.invite_id, survey_id=invite.survey_id, contact_id=invite.contact_id
                ),
            )
        return Outgoing(
            channel="sms", address=address, content=render_sms(survey, invite.locale, links, reminder=reminder)
        )

    def _ready_to_send(self) -> None:
        """Wait for the send rate, then make sure the send can finish before the invocation ends."""
        self.limiter.acquire()
        if self.time_left() < self.settings.send_budget_seconds:
            # Claiming now could leave the claim behind when Lambda ends the invocation mid-send.
            raise RetryLater("not enough time left in this invocation for a send")

    def _send(self, outgoing: Outgoing) -> str:
        """The one SES/SNS call; raises :class:`SendError` (see its ``retryable`` and ``maybe_sent``)."""
        if outgoing.channel == "email":
            assert isinstance(outgoing.content, bytes)
            return self.mailer.send_email(
                source=outgoing.source,
                destination=outgoing.address,
                raw=outgoing.content,
                configuration_set=self.settings.configuration_set,
                tags=outgoing.tags or {},
            )
        assert isinstance(outgoing.content, str)
        return self.texter.send_sms(outgoing.address, outgoing.content)

    def _not_prepared(
        self, message: SendMessage, error: Exception, attempt: int, now: datetime, reminder: bool = False
    ) -> Outcome:
        """A failure before anything was claimed: retry, or past the attempt limit park it with the reason."""
        reason = f"prepare: {error_code(error)}"
        if attempt < self.settings.max_attempts:
            raise RetryLater(reason) from error
        if not reminder:
            self.lifecycle.mark_failed(message.invite_id, reason, now, expected="queued")
        self.queue.dead_letter(message.body(), reason, attempt)
        return Outcome.DEAD_LETTERED

    def _failed(
        self, message: SendMessage, invite: InviteRecord, error: SendError, attempt: int, now: datetime
    ) -> Outcome:
        if error.maybe_sent:
            self.lifecycle.mark_unknown(invite.invite_id, error.reason, now)
            return Outcome.UNKNOWN
        if error.retryable and attempt < self.settings.max_attempts:
            self.lifecycle.release(invite.invite_id, error.reason)
            raise RetryLater(error.reason) from error
        self.lifecycle.mark_failed(invite.invite_id, error.reason, now)
        self.queue.dead_letter(message.body(), error.reason, attempt)
        return Outcome.DEAD_LETTERED


def _iso(at: datetime) -> str:
    return iso_timestamp(at)
