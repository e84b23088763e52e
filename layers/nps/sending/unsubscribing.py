"""Opt-outs: unsubscribe links (GET confirm, POST suppress, RFC 8058 one-click), SMS STOP, and SES
bounce/complaint notifications. Every path suppresses hashed addresses and publishes an event with ids only.

An unsubscribe token whose signature is good but whose expiry has passed still unsubscribes: it was
issued by us for this invite, and honouring a late opt-out is always right.

An unsubscribe publishes ``NPS Contact Unsubscribed`` from the suppression it writes, not from the
request: the first address it newly suppresses carries the :class:`OptOut` (ids and method), and the
suppressions stream turns that record into the event (:func:`opt_out_event`), retried until the bus
takes it. A bus outage during the click can then neither lose the event (the suppression is durable)
nor fail the person's request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from nps.events.models import CONTACT_UNSUBSCRIBED, INVITE_BOUNCED, ContactUnsubscribedDetail, InviteBouncedDetail
from nps.events.publisher import Event, Publisher
from nps.kernel.periods import iso_timestamp
from nps.links.pseudonyms import IdKey
from nps.links.tokens import Keyring, Purpose, TokenStatus, verify
from nps.sending.adapters.invites import InviteRecord
from nps.sending.contacts import Contact
from nps.sending.suppression import SuppressionReason, address_hash

Method = Literal["link", "one_click", "sms_stop", "complaint"]


class UnsubscribeLinkInvalid(Exception):
    """The token is not one of ours (tampered, truncated, wrong purpose or unknown invite)."""


class InviteStore(Protocol):
    def get(self, invite_id: str) -> InviteRecord | None: ...
    def mark_bounced(self, invite_id: str, bounce_type: str, now: datetime) -> bool: ...


class ContactStore(Protocol):
    def get(self, audience: str, contact_id: str) -> Contact | None: ...


@dataclass(frozen=True, slots=True)
class OptOut:
    """Who opted out through which invite, and how: stored on the suppression an unsubscribe writes first,
    so the suppressions stream can publish ``NPS Contact Unsubscribed`` from it. Ids only, no address."""

    invite_id: str
    contact_id: str
    survey_id: str
    wave_id: str
    channel: Literal["email", "sms"]
    method: Method

    def attributes(self) -> dict[str, str]:
        """The suppression item's attributes that carry the opt-out (all strings)."""
        return {
            "invite_id": self.invite_id,
            "survey_id": self.survey_id,
            "wave_id": self.wave_id,
            "channel": self.channel,
            "method": self.method,
        }


class SuppressionStore(Protocol):
    def suppress(
        self,
        address_hash: str,
        reason: SuppressionReason,
        now_iso: str,
        contact_id: str | None = None,
        opt_out: OptOut | None = None,
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class UnsubscribeResult:
    invite: InviteRecord
    newly_suppressed: int


def unsubscribed_event(invite: InviteRecord, method: Method, at: datetime) -> Event:
    detail = ContactUnsubscribedDetail(
        event_id=f"{invite.invite_id}:unsubscribed:{method}",
        contact_id=invite.contact_id,
        survey_id=invite.survey_id,
        wave_id=invite.wave_id,
        invite_id=invite.invite_id,
        channel="sms" if invite.channel == "sms" else "email",
        method=method,
        unsubscribed_at=at,
    )
    return Event(CONTACT_UNSUBSCRIBED, detail)


class UnsubscribeService:
    def __init__(
        self,
        *,
        keyring: Callable[[], Keyring],
        id_key: Callable[[], IdKey],
        invites: InviteStore,
        contacts: ContactStore,
        suppressions: SuppressionStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keyring = keyring
        self._id_key = id_key
        self.invites = invites
        self.contacts = contacts
        self.suppressions = suppressions
        self.clock = clock

    def invite_for(self, token: str) -> InviteRecord:
        """The invite an authentic unsubscribe token names; raise :class:`UnsubscribeLinkInvalid`."""
        check = verify(self._keyring(), token, Purpose.UNSUBSCRIBE, self.clock().timestamp())
        if check.claims is None or check.status is TokenStatus.INVALID:
            raise UnsubscribeLinkInvalid()
        invite = self.invites.get(check.claims.invite_id)
        if invite is None:
            raise UnsubscribeLinkInvalid()
        return invite

    def unsubscribe(self, token: str, method: Method) -> UnsubscribeResult:
        """Suppress every address of the invite's contact (email and phone); raise
        :class:`UnsubscribeLinkInvalid` for a token that is not ours.

        The first address newly suppressed carries the :class:`OptOut`, from which the suppressions
        stream publishes ``NPS Contact Unsubscribed`` once (:func:`opt_out_event`). A repeated click
        finds everything suppressed already and writes, so publishes, nothing new.
        """
        invite = self.invite_for(token)
        now = self.clock()
        contact = self.contacts.get(invite.audience, invite.contact_id)
        addresses = [(ch, contact.address(ch)) for ch in ("email", "sms")] if contact else []
        opt_out = OptOut(
            invite_id=invite.invite_id,
            contact_id=invite.contact_id,
            survey_id=invite.survey_id,
            wave_id=invite.wave_id,
            channel="sms" if invite.channel == "sms" else "email",
            method=method,
        )
        newly = 0
        for channel, address in addresses:
            if address and self.suppressions.suppress(
                address_hash(channel, address, self._id_key()),
                SuppressionReason.UNSUBSCRIBED,
                iso_timestamp(now),
                invite.contact_id,
                opt_out if newly == 0 else None,
            ):
                newly += 1
        return UnsubscribeResult(invite, newly)


class MalformedOptOut(ValueError):
    """A suppression record that names an opt-out but cannot become an event (never fixed by retrying)."""


def opt_out_event(image: Mapping[str, Any]) -> Event | None:
    """``NPS Contact Unsubscribed`` from a suppression item (plain values, as the stream's new image
    holds it); None for a suppression that carries no opt-out (bounces, complaints, STOP, older items).

    ``unsubscribed_at`` is the suppression's time and ``event_id`` ``<invite_id>:unsubscribed:<method>``,
    so a redelivered record publishes the same event. Raises :class:`MalformedOptOut`.
    """
    if image.get("reason") != SuppressionReason.UNSUBSCRIBED.value or "method" not in image:
        return None
    fields = ("contact_id", "survey_id", "wave_id", "invite_id", "channel", "method")
    try:
        detail = ContactUnsubscribedDetail.model_validate(
            {name: image.get(name) for name in fields}
            | {
                "event_id": f"{image.get('invite_id')}:unsubscribed:{image.get('method')}",
                "unsubscribed_at": image.get("suppressed_at"),
            }
        )
    except ValidationError as error:
        wrong = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()}))
        raise MalformedOptOut(f"the suppression's opt-out is incomplete or invalid: {wrong}") from None
    return Event(CONTACT_UNSUBSCRIBED, detail)


# --------------------------------------------------------------------------------------------------
# SES bounce and complaint notifications (configuration set event destination → SNS → suppress λ)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Feedback:
    kind: Literal["permanent", "transient", "complaint"]
    invite_id: str | None
    recipients: tuple[str, ...]


class MalformedNotification(ValueError):
    """The SNS message is not an SES bounce or complaint notification."""


def parse_ses_notification(message: str) -> Feedback | None:
    """An SES event (``eventType``) or notification (``notificationType``); None for other types
    (deliveries, sends), which need no action."""
    try:
        body: Any = json.loads(message)
    except json.JSONDecodeError as error:
        raise MalformedNotification("the SNS message is not JSON") from error
    if not isinstance(body, dict):
        raise MalformedNotification("the SNS message is not a JSON object")
    kind = body.get("eventType") or body.get("notificationType")
    mail: dict[str, Any] = body["mail"] if isinstance(body.get("mail"), dict) else {}
    tags: dict[str, Any] = mail["tags"] if isinstance(mail.get("tags"), dict) else {}
    invite_tag = tags.get("invite_id")
    invite_id = invite_tag[0] if isinstance(invite_tag, list) and invite_tag else None
    if kind == "Bounce":
        bounce = body.get("bounce") or {}
        recipients = tuple(r.get("emailAddress", "") for r in bounce.get("bouncedRecipients", []))
        permanent = bounce.get("bounceType") == "Permanent"
        return Feedback("permanent" if permanent else "transient", invite_id, tuple(r for r in recipients if r))
    if kind == "Complaint":
        complaint = body.get("complaint") or {}
        recipients = tuple(r.get("emailAddress", "") for r in complaint.get("complainedRecipients", []))
        return Feedback("complaint", invite_id, tuple(r for r in recipients if r))
    if kind is None:
        raise MalformedNotification("no eventType or notificationType")
    return None


class FeedbackService:
    """Suppresses bounced/complaining addresses, marks the invite and publishes the events."""

    def __init__(
        self,
        *,
        invites: InviteStore,
        suppressions: SuppressionStore,
        publisher: Publisher,
        id_key: Callable[[], IdKey],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._id_key = id_key
        self.invites = invites
        self.suppressions = suppressions
        self.publisher = publisher
        self.clock = clock

    def handle(self, feedback: Feedback) -> bool:
        """Apply one notification; returns whether any address was suppressed."""
        now = self.clock()
        invite = self.invites.get(feedback.invite_id) if feedback.invite_id else None
        suppress = feedback.kind in ("permanent", "complaint")
        reason = SuppressionReason.COMPLAINED if feedback.kind == "complaint" else SuppressionReason.BOUNCED
        suppressed = False
        if suppress:
            for recipient in feedback.recipients:
                contact_id = invite.contact_id if invite else None
                self.suppressions.suppress(
                    address_hash("email", recipient, self._id_key()), reason, iso_timestamp(now), contact_id
                )
                suppressed = True
        if invite is None:
            return suppressed  # no invite tag: the address is suppressed, but there is nothing to publish
        if suppress:
            self.invites.mark_bounced(invite.invite_id, feedback.kind, now)
        events = [
            Event(
                INVITE_BOUNCED,
                InviteBouncedDetail(
                    event_id=f"{invite.invite_id}:bounced:{feedback.kind}",
                    contact_id=invite.contact_id,
                    survey_id=invite.survey_id,
                    wave_id=invite.wave_id,
                    invite_id=invite.invite_id,
                    bounce_type=feedback.kind,
                    suppressed=suppressed,
                    bounced_at=now,
                ),
            )
        ]
        if feedback.kind == "complaint":
            events.append(unsubscribed_event(invite, "complaint", now))
        self.publisher.publish(events)
        return suppressed
