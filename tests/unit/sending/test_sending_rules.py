"""Pure sending rules: surveys, contacts CSV, planning (fatigue, suppression, quiet hours), rate, messages."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from pydantic import ValidationError

from nps.links.tokens import Keyring, Purpose, verify
from nps.sending.adapters.invites import invites_sent_keys
from nps.sending.contacts import Contact, parse_contacts_csv
from nps.sending.delivery import RateLimiter, SendMessage
from nps.sending.messages import invite_links, mime_message, render_email, render_sms
from nps.sending.planning import Skip, invite_id_for, plan_contacts
from nps.sending.quiet_hours import next_send_time
from nps.sending.surveys import QuietHours, Survey
from nps.sending.unsubscribing import MalformedNotification, parse_ses_notification
from tests.support.fakes import ID_KEY

BASE: dict[str, Any] = {
    "survey_id": "srv_1",
    "name": "Relationship NPS",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email", "sms"],
    "locales": ["en", "de", "es"],
    "segment_dimensions": ["plan"],
}
NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_survey(**overrides: Any) -> Survey:
    return Survey.model_validate({**BASE, **overrides})


def contact(contact_id: str = "c1", **fields: Any) -> Contact:
    return Contact(contact_id=contact_id, **{"email": "a@example.com", **fields})


# -- surveys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"channels": []}, "at least 1 item"),
        ({"channels": ["email", "email"]}, "each channel may be listed once"),
        ({"channels": ["fax"]}, "'email' or 'sms'"),
        ({"locales": ["en", "xx"]}, "unsupported locale"),
        ({"default_locale": "de", "locales": ["en"]}, "default_locale must be one of locales"),
        ({"sender": "not an address"}, "must be an email address"),
        ({"brand_colour": "red"}, "should match pattern"),
        ({"quiet_hours": {"start": "09:00", "end": "09:00"}}, "different times"),
    ],
)
def test_an_invalid_survey_is_refused_with_a_clear_reason(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_survey(**overrides)


def test_cadence_maps_to_a_scheduler_expression_and_events_only_has_none() -> None:
    assert make_survey(cadence="quarterly").schedule_expression == "cron(0 9 1 1,4,7,10 ? *)"
    assert make_survey(cadence="none").schedule_expression is None


def test_the_contacts_locale_is_used_when_offered_else_the_survey_default() -> None:
    survey = make_survey(locales=["en", "de"])
    assert survey.locale_for("de-AT") == "de"
    assert survey.locale_for("es") == "en"
    assert survey.locale_for(None) == "en"


# -- contacts CSV -------------------------------------------------------------------------------------


def test_a_csv_without_a_contact_id_column_is_a_file_error_and_imports_nothing() -> None:
    report = parse_contacts_csv("email\na@example.com\n")
    assert report.file_error == (
        "the header row has no contact_id column (columns may be separated by ',', ';' or a tab)"
    )
    assert report.contacts == []


def test_rows_are_reported_with_their_line_and_every_reason_and_good_rows_are_kept() -> None:
    text = (
        "contact_id,email,phone,time_zone,locale,plan\n"
        "ok-1,a@example.com,,Europe/Berlin,de,pro\n"
        "bad,nope,+12,Nowhere/City,xx,pro\n"
        "ok-1,b@example.com,,UTC,en,pro\n"
        "none,,,UTC,en,pro\n"
    )
    report = parse_contacts_csv(text)
    assert [c.contact_id for c in report.contacts] == ["ok-1"]
    errors = {e.line: e.errors for e in report.errors}
    assert sorted(errors) == [3, 4, 5]
    assert len(errors[3]) == 4  # email, phone, time zone and locale, all at once
    assert errors[4] == ("contact_id: appears more than once in this file",)
    assert errors[5] == ("row: an email or a phone number is required",)


def test_phone_numbers_are_normalised_to_e164() -> None:
    assert contact(phone="+1 (415) 555-0123").phone == "+14155550123"


# -- planning ---------------------------------------------------------------------------------------


def test_planning_skips_suppressed_fatigued_and_unreachable_contacts() -> None:
    # Given four contacts: reachable, suppressed, surveyed 10 days ago, and with no address
    survey = make_survey(fatigue_days=30, channels=["email"])
    contacts = [
        contact("ok"),
        contact("gone"),
        contact("tired", last_surveyed_at=(NOON_UTC - timedelta(days=10)).isoformat()),
        Contact(contact_id="sms-only", phone="+14155550123"),
    ]
    # When a wave is planned
    plan = plan_contacts(survey, "w1", contacts, lambda c, ch: c.contact_id == "gone", NOON_UTC, ID_KEY)
    # Then one invite, and each skip is counted under its reason
    assert [i.contact_id for i in plan.invites] == ["ok"]
    assert plan.skipped == {Skip.SUPPRESSED: 1, Skip.FATIGUE: 1, Skip.NO_CHANNEL: 1}


def test_the_invite_id_is_the_same_for_the_same_contact_and_wave_only() -> None:
    assert invite_id_for("w1", "c1", "default", ID_KEY) == invite_id_for("w1", "c1", "default", ID_KEY)
    assert invite_id_for("w1", "c1", "default", ID_KEY) != invite_id_for("w2", "c1", "default", ID_KEY)


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        (
            "Europe/Berlin",
            datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        ),
        # 21:00 in Berlin → 09:00 next morning local (08:00 UTC)
        (
            "Europe/Berlin",
            datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        ),
        # 02:00 in New York → 09:00 the same morning (14:00 UTC)
        (
            "America/New_York",
            datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        ),
        # Across the spring DST change in Berlin: 09:00 local is 07:00 UTC the next day
        ("Europe/Berlin", datetime(2026, 3, 28, 22, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
def test_sends_are_held_until_the_end_of_the_recipients_quiet_hours(
    zone: str, at: datetime, expected: datetime
) -> None:
    assert next_send_time(at, zone, QuietHours()) == expected


def test_quiet_hours_inside_one_day_are_honoured_too() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(14, 0))
    assert next_send_time(NOON_UTC, "UTC", lunch) == NOON_UTC.replace(hour=14)


# -- invites_sent keys ------------------------------------------------------------------------------


def test_invites_sent_uses_the_aggregate_key_scheme_of_responses() -> None:
    keys = [(k.pk, k.period) for k in invites_sent_keys("srv_1", NOON_UTC, {"plan": "pro", "region": "emea"}, "email")]
    # 4 granularities × (all + 2 segments) × (all + channel)
    assert len(keys) == 4 * 3 * 2
    assert ("srv_1#day#*#*", "2026-11-23") in keys
    assert ("srv_1#quarter#plan=pro#email", "2026-Q4") in keys
    assert ("srv_1#week#region=emea#*", "2026-W48") in keys


# -- rate -------------------------------------------------------------------------------------------


def test_the_rate_limiter_never_lets_two_sends_closer_than_the_interval() -> None:
    now = [100.0]
    sends: list[float] = []
    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(9):
        limiter.acquire()
        sends.append(now[0])
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 0.25 - 1e-9
    assert sends[-1] - sends[0] == pytest.approx(2.0)


# -- messages ---------------------------------------------------------------------------------------


def test_the_email_escapes_the_brand_and_carries_11_links_and_the_unsubscribe_headers(
    keyring: Keyring,
) -> None:
    survey = make_survey(brand_name="Acme <script>")
    links = invite_links(keyring, "https://nps.example", "inv_1", 2_000_000_000, 2_100_000_000)
    email = render_email(survey, "es", links)
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert email.html.count("?score=") == 11
    message = message_from_bytes(mime_message(survey, "p@example.com", email, links.unsubscribe), policy=policy.default)
    assert str(message["List-Unsubscribe"]) == f"<{links.unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    token = links.unsubscribe.rsplit("/", 1)[-1]
    assert verify(keyring, token, Purpose.UNSUBSCRIBE, 0).valid


@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_the_sms_is_short_localised_and_has_one_link(keyring: Keyring, locale: str) -> None:
    links = invite_links(keyring, "https://nps.example", "inv_1", 2_000_000_000, 2_100_000_000)
    text = render_sms(make_survey(), locale, links)
    assert text.count("https://") == 1
    assert len(text) <= 300
    assert "STOP" in text


# -- bad messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], {"kind": "invite"}, {"invite_id": "x", "kind": "poke"}])
def test_a_malformed_send_message_is_refused(body: object) -> None:
    with pytest.raises(ValueError, match="send message"):
        SendMessage.parse(body)


def test_ses_notifications_are_parsed_and_unrelated_ones_ignored() -> None:
    bounce = parse_ses_notification(
        '{"eventType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": '
        '[{"emailAddress": "a@example.com"}]}, "mail": {"tags": {"invite_id": ["inv_1"]}}}'
    )
    assert bounce is not None
    assert (bounce.kind, bounce.invite_id, bounce.recipients) == ("transient", "inv_1", ("a@example.com",))
    assert parse_ses_notification('{"eventType": "Delivery"}') is None
    with pytest.raises(MalformedNotification):
        parse_ses_notification("not json")
