"""Mail feedback as real mail systems send it: RFC 5965 complaint types, the tags every email carries,
and RFC 8058 one-click POSTs in either form encoding."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3 import encode_multipart_formdata

from nps.events.models import CONTACT_UNSUBSCRIBED, INVITE_BOUNCED
from nps.events.publisher import Event, detail_json
from nps.sending.adapters.invites import InviteRecord
from nps.sending.feedback import InvalidMessageTag, feedback_tags
from nps.sending.suppression import SuppressionReason, address_hash
from nps.sending.unsubscribing import (
    Feedback,
    FeedbackService,
    MalformedNotification,
    OptOut,
    complaint_kind,
    parse_ses_notification,
    unsubscribe_method,
)
from tests.support.fakes import ID_KEY

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
INVITE = InviteRecord(
    invite_id="inv-0042",
    survey_id="svc-q4",
    wave_id="w-2026-11",
    contact_id="cleo",
    audience="default",
    channel="email",
    locale="en",
    status="responded",
    send_after="2026-11-20T09:00:00Z",
    expires_at=0,
)
IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@dataclass
class Invites:
    marked: list[str] = field(default_factory=list)

    def get(self, invite_id: str) -> InviteRecord | None:
        return INVITE if invite_id == INVITE.invite_id else None

    def mark_bounced(self, invite_id: str, bounce_type: str, now: datetime) -> bool:
        self.marked.append(f"{invite_id}:{bounce_type}")
        return True


@dataclass
class Suppressions:
    items: dict[str, SuppressionReason] = field(default_factory=dict)

    def suppress(
        self,
        address_hash: str,
        reason: SuppressionReason,
        now_iso: str,
        contact_id: str | None = None,
        opt_out: OptOut | None = None,
    ) -> bool:
        return self.items.setdefault(address_hash, reason) is reason

    def confirm_unsubscribed(self, address_hash: str, now_iso: str) -> bool:
        return False


@dataclass
class Publisher:
    events: list[Event] = field(default_factory=list)

    def publish(self, events: Any) -> int:
        self.events.extend(events)
        return len(events)


def complaint(feedback_type: str | None, tags: dict[str, str] | None = None) -> str:
    body: dict[str, Any] = {"complainedRecipients": [{"emailAddress": "Cleo@example.com"}]}
    if feedback_type is not None:
        body["complaintFeedbackType"] = feedback_type
    mail_tags = {name: [value] for name, value in (tags or {"invite_id": INVITE.invite_id}).items()}
    return json.dumps({"eventType": "Complaint", "complaint": body, "mail": {"tags": mail_tags}})


def handled(message: str) -> tuple[bool, Suppressions, Publisher, Invites]:
    invites, suppressions, publisher = Invites(), Suppressions(), Publisher()
    service = FeedbackService(
        invites=invites, suppressions=suppressions, publisher=publisher, clock=lambda: NOW, id_key=lambda: ID_KEY
    )
    feedback = parse_ses_notification(message)
    assert feedback is not None
    return service.handle(feedback), suppressions, publisher, invites


# -- RFC 5965 feedback types -----------------------------------------------------------------------


def test_a_not_spam_report_neither_suppresses_nor_publishes() -> None:
    # Given SES relays an ARF report of type not-spam (the person moved the mail out of spam)
    suppressed, suppressions, publisher, invites = handled(complaint("not-spam"))
    # Then nothing is suppressed, marked or published
    assert (suppressed, suppressions.items, publisher.events, invites.marked) == (False, {}, [], [])


@pytest.mark.parametrize("feedback_type", [None, "abuse", "fraud", "virus", "other", "", "auth-failure"])
def test_a_complaint_of_any_other_type_or_none_suppresses_and_unsubscribes(feedback_type: str | None) -> None:
    suppressed, suppressions, publisher, invites = handled(complaint(feedback_type))
    assert suppressed is True
    assert suppressions.items == {address_hash("email", "cleo@example.com", ID_KEY): SuppressionReason.COMPLAINED}
    assert [e.detail_type for e in publisher.events] == [INVITE_BOUNCED, CONTACT_UNSUBSCRIBED]
    assert invites.marked == ["inv-0042:complaint"]


@given(st.sampled_from(["not-spam", "NOT-SPAM", " Not-Spam ", "not-Spam\n"]))
def test_not_spam_is_recognised_whatever_its_case_and_surrounding_space(feedback_type: str) -> None:
    assert complaint_kind(feedback_type) == "not_spam"


@given(st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text())))
def test_every_feedback_type_but_not_spam_is_a_complaint(feedback_type: object) -> None:
    expected = (
        "not_spam" if isinstance(feedback_type, str) and feedback_type.strip().lower() == "not-spam" else "complaint"
    )
    assert complaint_kind(feedback_type) == expected


# -- the tags every email carries -----------------------------------------------------------------


def test_an_abuse_complaint_on_a_follow_up_email_suppresses_and_publishes_the_unsubscribe() -> None:
    # Given the tags a follow-up email is sent with (the answered invite's ids and the follow-up's id)
    tags = feedback_tags(
        invite_id=INVITE.invite_id, survey_id=INVITE.survey_id, contact_id="cleo", follow_up_id="inv-0042-3"
    )
    # When the person marks it as spam
    suppressed, suppressions, publisher, invites = handled(complaint("abuse", tags))
    # Then the address is suppressed and NPS Contact Unsubscribed names the invite; the answered invite
    # keeps its status and no bounce is claimed for it
    assert suppressed is True
    assert list(suppressions.items.values()) == [SuppressionReason.COMPLAINED]
    (event,) = publisher.events
    assert event.detail_type == CONTACT_UNSUBSCRIBED
    assert {k: v for k, v in detail_json(event.detail).items() if k in ("invite_id", "contact_id", "method")} == {
        "invite_id": "inv-0042",
        "contact_id": "cleo",
        "method": "complaint",
    }
    assert invites.marked == []


@given(invite_id=IDS, survey_id=IDS, contact_id=IDS, follow_up_id=st.none() | IDS)
def test_the_tags_of_any_email_come_back_in_its_feedback(
    invite_id: str, survey_id: str, contact_id: str, follow_up_id: str | None
) -> None:
    tags = feedback_tags(invite_id=invite_id, survey_id=survey_id, contact_id=contact_id, follow_up_id=follow_up_id)
    feedback = parse_ses_notification(complaint(None, tags))
    assert feedback == Feedback("complaint", invite_id, ("Cleo@example.com",), None, follow_up_id)


@pytest.mark.parametrize("bad", ["", "a.b", "cleo@example.com", "x" * 257, "é"])
def test_an_id_ses_cannot_carry_as_a_tag_is_refused(bad: str) -> None:
    with pytest.raises(InvalidMessageTag, match="contact_id"):
        feedback_tags(invite_id="inv-1", survey_id="s", contact_id=bad)


# -- RFC 8058 one-click ---------------------------------------------------------------------------


def test_a_multipart_one_click_post_is_recorded_as_one_click() -> None:
    body, content_type = encode_multipart_formdata({"List-Unsubscribe": "One-Click"})
    assert unsubscribe_method(content_type, body) == "one_click"


def test_a_urlencoded_one_click_post_is_recorded_as_one_click() -> None:
    assert unsubscribe_method("application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click") == "one_click"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b""),
        (None, b""),
        ("multipart/form-data", b"List-Unsubscribe=One-Click"),  # no boundary: not a form
        ("multipart/form-data; boundary=x", b"--x\r\nnot a part"),
        ("application/x-www-form-urlencoded", b"List-Unsubscribe=Two-Clicks"),
    ],
)
def test_a_post_without_the_one_click_field_is_a_link_unsubscribe(content_type: str | None, body: bytes) -> None:
    assert unsubscribe_method(content_type, body) == "link"


FIELD_NAMES = st.text(st.characters(codec="utf-8", exclude_characters='"\r\n\\'), min_size=1, max_size=20).filter(
    lambda name: name.strip().lower() != "list-unsubscribe"
)
FIELDS = st.lists(st.tuples(FIELD_NAMES, st.text(max_size=40)), max_size=4)


@given(others=FIELDS, one_click=st.booleans(), position=st.integers(0, 4), multipart=st.booleans())
def test_any_form_is_one_click_exactly_when_it_carries_the_field_in_either_encoding(
    others: list[tuple[str, str]], one_click: bool, position: int, multipart: bool
) -> None:
    fields = list(others)
    if one_click:
        fields.insert(min(position, len(fields)), ("List-Unsubscribe", "One-Click"))
    if multipart:
        body, content_type = encode_multipart_formdata(fields)
    else:
        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    assert unsubscribe_method(content_type, body) == ("one_click" if one_click else "link")


@pytest.mark.parametrize("bounce_type", ["Permanent", "permanent", " PERMANENT "])
def test_a_permanent_bounce_suppresses_whatever_the_case_of_its_type(bounce_type: str) -> None:
    message = json.dumps(
        {
            "eventType": "Bounce",
            "bounce": {"bounceType": bounce_type, "bouncedRecipients": [{"emailAddress": "cleo@example.com"}]},
            "mail": {"tags": {"invite_id": [INVITE.invite_id]}},
        }
    )
    suppressed, suppressions, _, _ = handled(message)
    assert suppressed is True
    assert suppressions.items == {address_hash("email", "cleo@example.com", ID_KEY): SuppressionReason.BOUNCED}


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "Complaint", "complaint": {}},
        {"eventType": "Complaint", "complaint": "x"},
        {"eventType": "Complaint", "complaint": {"complainedRecipients": None}},
        {"eventType": "Complaint", "complaint": {"complainedRecipients": ["cleo@example.com"]}},
        {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": 42}]}},
        {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": []}},
        {"eventType": "", "notificationType": ""},
        {"eventType": ["Bounce"]},
    ],
)
def test_a_notification_without_its_recipients_or_type_is_malformed_and_acts_on_nothing(body: dict[str, Any]) -> None:
    # Given a feedback notification with no one to suppress (or no type) for a tagged invite
    message = json.dumps(body | {"mail": {"tags": {"invite_id": [INVITE.invite_id]}}})
    # Then it is refused as malformed (the function fails it: retried, then dead-lettered), never acted on
    with pytest.raises(MalformedNotification):
        parse_ses_notification(message)
