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
from typing import TYPE_CHECKING, Any, Literal, Protocol

from nps.events.details import CHANNELS, UNSUBSCRIBE_METHODS, contact_unsubscribed, invite_bounced, is_id
from nps.events.names import CONTACT_UNSUBSCRIBED, INVITE_BOUNCED
from nps.events.publisher import Event, Publisher
from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.links.tokens import Keyring, Purpose, TokenStatus, verify
from nps.sending.feedback import FOLLOW_UP_TAG, INVITE_TAG
from nps.sending.suppression import SuppressionReason, address_hash

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.sending.adapters.invites import InviteRecord
    from nps.sending.contacts import Contact
    from nps.sending.lifting import SuppressionRecord

Method = Literal["link", "one_click", "sms_stop", "complaint"]


class UnsubscribeLinkInvalid(Exception):
    """The token is not one of ours (tampered, truncated, wrong purpose or unknown invite)."""


class InviteStore(Protocol):
    def get(self, invite_id: str) -> InviteRecord | None: ...
    def mark_bounced(self, invite_id: str, bounce_type: str, now: datetime) -> bool: ...


class Addressable(Protocol):
    """What an unsubscribe needs of a contact: its address on a channel (a :class:`Contact` has it)."""

    def address(self, channel: str) -> str | None: ...


class ContactStore(Protocol):
    def get(self, audience: str, contact_id: str) -> Contact | Addressable | None: ...


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
    def confirm_unsubscribed(self, address_hash: str, now_iso: str) -> bool: ...

    def get(self, address_hash: str) -> SuppressionRecord | None: ...


@dataclass(frozen=True, slots=True)
class UnsubscribeResult:
    invite: InviteRecord
    newly_suppressed: int
    #: Every address of the contact was suppressed before this request: nothing changed.
    already: bool = False


def unsubscribed_event(invite: InviteRecord, method: Method, at: datetime) -> Event:
    """``NPS Contact Unsubscribed`` for an invite read back from our table (its ids were checked when stored)."""
    detail = contact_unsubscribed(
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

    def _addresses(self, invite: InviteRecord) -> list[str]:
        """The suppression keys of the invite's contact's addresses (email and phone it has)."""
        contact = self.contacts.get(invite.audience, invite.contact_id)
        if contact is None:
            return []
        return [
            address_hash(channel, address, self._id_key())
            for channel in ("email", "sms")
            if (address := contact.address(channel))
        ]

    def already_unsubscribed(self, invite: InviteRecord) -> bool:
        """Whether an unsubscribe would change nothing: every address of the contact is suppressed, none
        only because SNS had the number opted out (an unsubscribe still makes that one last). Reads the
        contact and one suppression per address; writes nothing."""
        keys = self._addresses(invite)
        records = [self.suppressions.get(key) for key in keys]
        return bool(keys) and all(
            record is not None and record.reason != SuppressionReason.SMS_OPTED_OUT.value for record in records
        )

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
        newly = confirmed = 0
        for channel, address in addresses:
            if not address:
                continue
            key = address_hash(channel, address, self._id_key())
            if self.suppressions.suppress(
                key,
                SuppressionReason.UNSUBSCRIBED,
                iso_timestamp(now),
                invite.contact_id,
                opt_out if newly == 0 else None,
            ):
                newly += 1
            elif channel == "sms":
                # Suppressed already; if only because SNS had the number opted out, the unsubscribe must
                # outlast SNS opting it in again (nps.sending.lifting.follow_sns lifts only sms_opted_out).
                confirmed += self.suppressions.confirm_unsubscribed(key, iso_timestamp(now))
        present = any(address for _, address in addresses)
        return UnsubscribeResult(invite, newly, already=present and newly == 0 and confirmed == 0)


ONE_CLICK_FIELD = ("list-unsubscribe", "one-click")


def unsubscribe_method(content_type: str | None, body: bytes) -> Method:
    """How an unsubscribe POST was made: ``one_click`` when its form carries ``List-Unsubscribe=One-Click``
    (RFC 8058 section 3.2), ``link`` otherwise (the confirmation page's button).

    RFC 8058 lets the mail client send the form as ``application/x-www-form-urlencoded`` or as
    ``multipart/form-data`` (RFC 7578); both are parsed with the standard library (``urllib.parse`` and
    the ``email`` package), field name and value compared case-insensitively. A body that is neither
    (no or another content type) is read as URL-encoded. An unreadable body is a plain ``link`` POST:
    either way the contact is unsubscribed; only the recorded method differs.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "multipart/form-data":
        fields = _multipart_fields(content_type or "", body)
    else:
        from urllib.parse import parse_qsl

        fields = parse_qsl(body.decode("utf-8", errors="replace").strip(), keep_blank_values=True)
    wanted_name, wanted_value = ONE_CLICK_FIELD
    for name, value in fields:
        if name.strip().lower() == wanted_name and value.strip().lower() == wanted_value:
            return "one_click"
    return "link"


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The (name, text value) pairs of a ``multipart/form-data`` body; [] when it cannot be parsed."""
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesParser

    header = " ".join(content_type.splitlines())  # a header value never spans lines here
    try:
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"MIME-Version: 1.0\r\nContent-Type: " + header.encode("latin-1", errors="replace") + b"\r\n\r\n" + body
        )
    except (ValueError, TypeError, LookupError):
        return []
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return []
    fields: list[tuple[str, str]] = []
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue  # an unnamed part or a file: not a form field
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            charset = part.get_content_charset() or "utf-8"
            try:
                fields.append((name, payload.decode(charset, errors="replace")))
            except LookupError:
                fields.append((name, payload.decode("utf-8", errors="replace")))
    return fields


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
    # The unsubscribe wrote these values; a record that still fails the contract is refused, not fixed.
    wrong = [name for name in ("contact_id",) if not is_id(image.get(name))]
    wrong += [
        name for name in ("survey_id", "wave_id", "invite_id") if image.get(name) is not None and not is_id(image[name])
    ]
    if image.get("channel") not in CHANNELS:
        wrong.append("channel")
    if image.get("method") not in UNSUBSCRIBE_METHODS:
        wrong.append("method")
    try:
        unsubscribed_at = parse_timestamp(str(image.get("suppressed_at")))
    except ValueError:
        wrong.append("unsubscribed_at")
    if wrong:
        raise MalformedOptOut(f"the suppression's opt-out is incomplete or invalid: {', '.join(sorted(wrong))}")
    detail = contact_unsubscribed(
        event_id=f"{image.get('invite_id')}:unsubscribed:{image['method']}",
        contact_id=image["contact_id"],
        survey_id=image.get("survey_id"),
        wave_id=image.get("wave_id"),
        invite_id=image.get("invite_id"),
        channel=image["channel"],
        method=image["method"],
        unsubscribed_at=unsubscribed_at,
    )
    return Event(CONTACT_UNSUBSCRIBED, detail)


# --------------------------------------------------------------------------------------------------
# SES bounce and complaint notifications (configuration set event destination → SNS → suppress λ)
# --------------------------------------------------------------------------------------------------


#: RFC 5965 feedback types (``Feedback-Type``; SES ``complaintFeedbackType``) that are not complaints:
#: ``not-spam`` means the person moved the message out of their spam folder. Any other type, or none at
#: all (many mailbox providers send complaints without a report), is a complaint.
NOT_COMPLAINTS = frozenset({"not-spam"})


@dataclass(frozen=True, slots=True)
class Feedback:
    """One SES notification that needs action.

    ``kind``: ``permanent``/``transient`` (bounces), ``complaint``, or ``not_spam`` (an RFC 5965
    ``not-spam`` report: nothing to do). ``feedback_type`` is the complaint's type as SES gave it,
    lower-cased (None when the report had none). ``follow_up_id`` is set for a follow-up email.
    """

    kind: Literal["permanent", "transient", "complaint", "not_spam"]
    invite_id: str | None
    recipients: tuple[str, ...]
    feedback_type: str | None = None
    follow_up_id: str | None = None


class MalformedNotification(ValueError):
    """The SNS message is not an SES bounce or complaint notification."""


def _tag(tags: Mapping[str, Any], name: str) -> str | None:
    """A tag's value: SES event publishing gives ``{"name": ["value"]}``."""
    value = tags.get(name)
    if isinstance(value, list) and value and isinstance(value[0], str) and value[0]:
        return value[0]
    return None


def complaint_kind(feedback_type: object) -> Literal["complaint", "not_spam"]:
    """Whether a complaint's RFC 5965 feedback type (SES ``complaintFeedbackType``, which may be absent)
    makes it a complaint. Feedback types compare case-insensitively; only ``not-spam`` is not one."""
    if isinstance(feedback_type, str) and feedback_type.strip().lower() in NOT_COMPLAINTS:
        return "not_spam"
    return "complaint"


def parse_ses_notification(message: str) -> Feedback | None:
    """An SES event (``eventType``) or notification (``notificationType``); None for other types
    (deliveries, sends), which need no action. Raises :class:`MalformedNotification`.

    Source: SES developer guide, "Contents of event data that Amazon SES publishes to Amazon SNS".
    """
    try:
        body: Any = json.loads(message)
    except json.JSONDecodeError as error:
        raise MalformedNotification("the SNS message is not JSON") from error
    if not isinstance(body, dict):
        raise MalformedNotification("the SNS message is not a JSON object")
    kind = body.get("eventType") or body.get("notificationType")
    mail: dict[str, Any] = body["mail"] if isinstance(body.get("mail"), dict) else {}
    tags: dict[str, Any] = mail["tags"] if isinstance(mail.get("tags"), dict) else {}
    invite_id = _tag(tags, INVITE_TAG)
    follow_up_id = _tag(tags, FOLLOW_UP_TAG)
    if kind == "Bounce":
        bounce = _section(body, "bounce")
        recipients = _recipients(bounce, "bouncedRecipients")
        permanent = str(bounce.get("bounceType") or "").strip().lower() == "permanent"
        return Feedback(
            "permanent" if permanent else "transient",
            invite_id,
            recipients,
            follow_up_id=follow_up_id,
        )
    if kind == "Complaint":
        complaint = _section(body, "complaint")
        recipients = _recipients(complaint, "complainedRecipients")
        raw_type = complaint.get("complaintFeedbackType")
        feedback_type = raw_type.strip().lower() if isinstance(raw_type, str) and raw_type.strip() else None
        return Feedback(
            complaint_kind(raw_type),
            invite_id,
            recipients,
            feedback_type=feedback_type,
            follow_up_id=follow_up_id,
        )
    if kind is None or not isinstance(kind, str) or not kind.strip():
        raise MalformedNotification("no eventType or notificationType")
    return None


def _section(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``bounce`` or ``complaint`` object of a notification; :class:`MalformedNotification` otherwise."""
    section = body.get(name)
    if not isinstance(section, dict):
        raise MalformedNotification(f"a {name} notification without its {name} object")
    return section


def _recipients(section: dict[str, Any], field: str) -> tuple[str, ...]:
    """The addresses of a bounce or complaint: at least one, each a non-empty string; the notification is
    :class:`MalformedNotification` otherwise (acting on an invite with nobody to suppress is never right)."""
    listed = section.get(field)
    if not isinstance(listed, list) or not listed:
        raise MalformedNotification(f"no {field}")
    addresses = tuple(r.get("emailAddress") for r in listed if isinstance(r, dict))
    if len(addresses) != len(listed) or not all(isinstance(a, str) and a.strip() for a in addresses):
        raise MalformedNotification(f"{field} without an emailAddress")
    return tuple(a for a in addresses if isinstance(a, str))


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
        """Apply one notification; returns whether any address was suppressed.

        * a permanent bounce or a complaint suppresses each recipient (hashed);
        * a ``not_spam`` report and a transient bounce suppress nothing;
        * on an invite or reminder: a suppressing notification marks the invite bounced, every bounce or
          complaint publishes ``NPS Invite Bounced``, a complaint also ``NPS Contact Unsubscribed``;
        * on a follow-up email (``follow_up_id`` tag) the invite was answered and keeps its status: a
          complaint publishes ``NPS Contact Unsubscribed`` (method ``complaint``) for that invite's ids.
        """
        if feedback.kind == "not_spam":
            return False  # RFC 5965 not-spam: the person rescued the message; nothing was refused
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
        events: list[Event] = []
        if feedback.follow_up_id is None:
            if suppress:
                self.invites.mark_bounced(invite.invite_id, feedback.kind, now)
            events.append(
                Event(
                    INVITE_BOUNCED,
                    invite_bounced(
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
            )
        if feedback.kind == "complaint":
            events.append(unsubscribed_event(invite, "complaint", now))
        if events:
            self.publisher.publish(events)
        return suppressed
