"""Delivering one invite or reminder: hold for local daytime, check suppression, send once, record it.

The deliver function calls :meth:`DeliveryService.deliver` per SQS message. Outcomes:

* ``sent``: the message left through SES/SNS and the invite is ``sent`` (counted in ``invites_sent``);
* ``duplicate``: another delivery of the same message already claimed it (nothing is sent twice);
* ``held``: too early (quiet hours or an event delay); the message is queued again with a delay;
* ``skipped``: suppressed, opted out, contact gone, or responded/unsubscribed (reminders);
* ``dead_lettered``: a permanent failure, or retries exhausted: parked in the DLQ with the reason.

A retryable failure below the attempt limit raises :class:`RetryLater`, so the batch reports the
message as failed and SQS delivers it again after its visibility timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from nps.contacts import Contact
from nps.dal.channels import SendError
from nps.dal.invite_lifecycle import InviteRecord, send_after_of
from nps.messages import invite_links, mime_message, render_email, render_sms
from nps.periods import iso_timestamp
from nps.planning import next_send_time
from nps.suppression import SuppressionReason, address_hash
from nps.surveys import Survey
from nps.tokens import Keyring

UNSUBSCRIBE_LINK_DAYS = 365


class Outcome(StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"
    HELD = "held"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"


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


class Lifecycle(Protocol):
    def get(self, invite_id: str) -> InviteRecord | None: ...
    def claim(self, invite_id: str, now: datetime) -> bool: ...
    def release(self, invite_id: str, reason: str) -> bool: ...
    def mark_failed(self, invite_id: str, reason: str, now: datetime, expected: str = "sending") -> bool: ...
    def mark_skipped(self, invite_id: str, reason: str, now: datetime) -> bool: ...
    def mark_sent(
        self,
        invite: InviteRecord,
        sent_at: datetime,
        expires_at: int,
        ttl: int,
        message_id: str,
        reminder: dict[str, object] | None,
    ) -> None: ...
    def claim_reminder(self, invite_id: str, now: datetime) -> bool: ...
    def finish_reminder(self, invite_id: str, outcome: str, now: datetime) -> None: ...
    def release_reminder(self, invite_id: str) -> None: ...


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


class DeliveryService:
    def __init__(
        self,
        *,
        keyring: Callable[[], Keyring],
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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keyring = keyring
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
        self.clock = clock

    # ------------------------------------------------------------------------------------------------
    def deliver(self, message: SendMessage, attempt: int = 1) -> Outcome:
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
        if survey is None or contact is None or not survey.active:
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
        if not self.lifecycle.claim(invite.invite_id, now):
            return Outcome.DUPLICATE
        expires_at = int((now + timedelta(days=survey.link_lifetime_days)).timestamp())
        try:
            message_id = self._send(invite, contact, survey, expires_at, reminder=False)
        except SendError as error:
            return self._failed(message, invite, error, attempt, now)
        ttl = int((now + timedelta(days=max(UNSUBSCRIBE_LINK_DAYS, survey.link_lifetime_days))).timestamp())
        ttl += self.settings.retention_days * 86400
        reminder = None
        if survey.reminder_days:
            due_iso = _iso(now + timedelta(days=survey.reminder_days))
            reminder = self.surveys.reminder_item(survey.survey_id, due_iso, invite.invite_id)
        self.lifecycle.mark_sent(invite, now, expires_at, ttl, message_id, reminder)
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
        if not self.lifecycle.claim_reminder(invite.invite_id, now):
            return Outcome.DUPLICATE
        if reason:
            self.lifecycle.finish_reminder(invite.invite_id, f"skipped_{reason}", now)
            return Outcome.SKIPPED
        try:
            self._send(invite, contact, survey, invite.expires_at, reminder=True)
        except SendError as error:
            if error.retryable and attempt < self.settings.max_attempts:
                self.lifecycle.release_reminder(invite.invite_id)
                raise RetryLater(error.reason) from error
            self.lifecycle.finish_reminder(invite.invite_id, "failed", now)
            self.queue.dead_letter(message.body(), error.reason, attempt)
            return Outcome.DEAD_LETTERED
        self.lifecycle.finish_reminder(invite.invite_id, "sent", now)
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
        if self.suppressions.is_suppressed(address_hash(invite.channel, address)):
            return "suppressed"
        if invite.channel == "sms":
            try:
                opted_out = self.texter.opted_out(address)
            except SendError:
                opted_out = False  # the send itself will fail and be retried if SNS is unavailable
            if opted_out:
                self.suppressions.suppress(
                    address_hash("sms", address),
                    SuppressionReason.SMS_OPTED_OUT,
                    _iso(now),
                    contact.contact_id,
                )
                if self.on_sms_opt_out is not None:
                    self.on_sms_opt_out(invite, now)
                return "sms_opted_out"
        return None

    def _send(self, invite: InviteRecord, contact: Contact, survey: Survey, expires_at: int, reminder: bool) -> str:
        base = self.settings.base_url
        unsubscribe_until = int(self.clock().timestamp()) + UNSUBSCRIBE_LINK_DAYS * 86400
        links = invite_links(self._keyring(), base, invite.invite_id, expires_at, unsubscribe_until)
        self.limiter.acquire()
        if invite.channel == "email":
            assert contact.email is not None
            email = render_email(survey, invite.locale, links, reminder=reminder)
            return self.mailer.send_email(
                source=survey.sender,
                destination=contact.email,
                raw=mime_message(survey, contact.email, email, links.unsubscribe),
                configuration_set=self.settings.configuration_set,
                tags={"invite_id": invite.invite_id, "survey_id": invite.survey_id},
            )
        assert contact.phone is not None
        return self.texter.send_sms(contact.phone, render_sms(survey, invite.locale, links, reminder=reminder))

    def _failed(
        self, message: SendMessage, invite: InviteRecord, error: SendError, attempt: int, now: datetime
    ) -> Outcome:
        if error.retryable and attempt < self.settings.max_attempts:
            self.lifecycle.release(invite.invite_id, error.reason)
            raise RetryLater(error.reason) from error
        self.lifecycle.mark_failed(invite.invite_id, error.reason, now)
        self.queue.dead_letter(message.body(), error.reason, attempt)
        return Outcome.DEAD_LETTERED


def _iso(at: datetime) -> str:
    return iso_timestamp(at)
