"""The sending path on moto, through the real handlers: schedule fires → planner → SQS → deliver → SES/SNS."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions.deliver import handler as deliver
from functions.unsubscribe import handler as unsubscribe
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.kernel import aws
from nps.links.tokens import Purpose, TokenStatus, verify
from nps.scoring.aggregation import ALL
from tests.permissions.session import RECORDER

# Monday 23 November 2026, 09:00 UTC: daytime in Europe, night in the Americas and evening in Tokyo.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CSV_HEADER = "contact_id,email,phone,time_zone,locale,plan,region\n"


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


def survey(**overrides: Any) -> dict[str, Any]:
    return {**ds.DEMO_SURVEY, **overrides}


def statuses(stack: LocalStack) -> dict[str, str]:
    return {i["contact_id"]["S"]: i["status"]["S"] for i in ds.invite_items(stack)}


def test_a_scheduled_wave_sends_one_multipart_email_with_11_verifiable_links_and_rfc8058_headers(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a survey and one contact in Berlin (10:00 local: daytime)
    ds.create_survey(platform, survey(reminder_days=None))
    ds.import_csv(platform, CSV_HEADER + "c-1,ana@example.com,,Europe/Berlin,de,pro,emea\n")
    # When the survey's schedule fires and the send queue is delivered
    report = ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then one German email left through SES with a text and an HTML part
    assert report["invites"] == 1
    assert report["held"] == 0
    (email,) = ds.captured_emails()
    assert email.to == "ana@example.com"
    assert email.subject == "Acme Cloud: Würden Sie uns weiterempfehlen?"
    assert email.message.get_content_type() == "multipart/alternative"
    assert "Wie wahrscheinlich" in email.text
    assert "Wie wahrscheinlich" in email.html
    # And the RFC 8058 headers point at a signed unsubscribe link
    assert email.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_token = urlsplit(email.unsubscribe_link).path.removeprefix("/u/")
    assert verify(platform.keyring, unsubscribe_token, Purpose.UNSUBSCRIBE, clock.now.timestamp()).valid
    # And the 11 score links (0..10) in both parts carry one respond token that verifies
    assert [urlsplit(link).query for link in email.score_links] == [f"score={n}" for n in range(11)]
    html_links = [link.replace("&amp;", "&") for link in ds.LINK_RE.findall(email.html) if "/r/" in link]
    # (plus the hidden preview link only scanners follow, after them)
    assert html_links == [*email.score_links, email.score_links[0].split("?")[0] + "/p"]
    assert 'style="display:none' in email.html
    (token,) = {urlsplit(link).path.removeprefix("/r/") for link in email.score_links}
    check = verify(platform.keyring, token, Purpose.RESPOND, clock.now.timestamp())
    assert check.status is TokenStatus.VALID
    assert check.claims is not None
    # And no address appears in any link
    assert all("ana" not in link for link in (*email.score_links, email.unsubscribe_link))
    # And the invite is sent and counted once in invites_sent for the day, all segments and channels
    (item,) = ds.invite_items(platform)
    assert item["status"]["S"] == "sent"
    assert item["invite_id"]["S"] == check.claims.invite_id
    day = aws.client("dynamodb").get_item(
        TableName=platform.tables["aggregates"],
        Key={"pk": {"S": f"{ds.SURVEY_ID}#day#{ALL}#{ALL}"}, "period": {"S": "2026-11-23"}},
    )["Item"]
    assert day["invites_sent"] == {"N": "1"}


def test_sms_contacts_get_one_short_signed_link_and_sns_opt_outs_are_respected(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given two SMS-only contacts, one of whom replied STOP earlier (moto: numbers ending in 99 are opted out)
    ds.create_survey(platform, survey(reminder_days=None))
    ds.import_csv(
        platform,
        CSV_HEADER
        + "c-sms,,+14155550101,Europe/Madrid,es,pro,emea\n"
        + "c-stop,,+447400123499,Europe/London,en,pro,emea\n",
    )
    # When a wave runs
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then only the first gets one Spanish text with one respond link
    (sms,) = ds.captured_sms()
    assert sms.to == "+14155550101"
    assert "STOP" in sms.text
    assert sms.text.count("https://") == 1
    token = urlsplit(sms.link).path.removeprefix("/r/")
    assert verify(platform.keyring, token, Purpose.RESPOND, clock.now.timestamp()).valid
    # And the opted-out contact is suppressed and skipped
    assert statuses(platform) == {"c-sms": "sent", "c-stop": "skipped"}


def test_duplicate_sqs_delivery_sends_each_invite_once_and_counts_it_once(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given 12 contacts
    ds.create_survey(platform, survey(reminder_days=None))
    ds.import_csv(platform, ds.synthetic_contacts_csv(12, random.Random(3)))
    # When the wave is planned twice (a retried schedule) and every batch is delivered twice
    ds.fire_wave(ds.SURVEY_ID, START)
    replay = ds.fire_wave(ds.SURVEY_ID, START)
    ds.drain_send_queue(platform, clock, duplicate=True)
    # Then each contact got exactly one message and invites_sent counts 12 for the quarter
    assert replay["already_planned"] == 12
    recipients = [e.to for e in ds.captured_emails()] + [s.to for s in ds.captured_sms()]
    assert len(recipients) == len(set(recipients)) == 12
    quarter = aws.client("dynamodb").get_item(
        TableName=platform.tables["aggregates"],
        Key={"pk": {"S": f"{ds.SURVEY_ID}#quarter#{ALL}#{ALL}"}, "period": {"S": "2026-Q4"}},
    )["Item"]
    assert quarter["invites_sent"] == {"N": "12"}


def test_quiet_hours_hold_each_send_until_the_contacts_local_morning(platform: LocalStack, clock: ds.Clock) -> None:
    # Given contacts in Berlin (10:00), New York (04:00) and Tokyo (18:00 → quiet from 20:00, so not held)
    ds.create_survey(platform, survey(reminder_days=None, quiet_hours={"start": "17:00", "end": "09:00"}))
    ds.import_csv(
        platform,
        CSV_HEADER
        + "berlin,b@example.com,,Europe/Berlin,de,pro,emea\n"
        + "newyork,n@example.com,,America/New_York,en,pro,amer\n"
        + "tokyo,t@example.com,,Asia/Tokyo,en,pro,apac\n",
    )
    sent_at: dict[str, datetime] = {}

    def note_clock(batch: list[dict[str, Any]]) -> None:
        for message in batch:
            sent_at.setdefault(json.loads(message["Body"])["invite_id"], clock.now)

    # When the wave fires at 09:00 UTC and delivery runs in simulated time
    report = ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock, before_batch=note_clock)
    # Then two sends were held (New York until 09:00 EST = 14:00 UTC; Tokyo until 09:00 JST = 00:00 UTC)
    assert report["held"] == 2
    by_contact = {i["contact_id"]["S"]: i["sent_at"]["S"] for i in ds.invite_items(platform)}
    assert by_contact["berlin"].startswith("2026-11-23T09:00")
    assert by_contact["newyork"].startswith("2026-11-23T14:")
    assert by_contact["tokyo"].startswith("2026-11-24T00:")


def test_fatigue_and_suppression_skip_contacts_in_later_waves(platform: LocalStack, clock: ds.Clock) -> None:
    # Given a wave already sent to two contacts
    ds.create_survey(platform, survey(reminder_days=None, fatigue_days=30))
    ds.import_csv(
        platform,
        CSV_HEADER + "a,a@example.com,,UTC,en,pro,emea\n" + "b,b@example.com,,UTC,en,pro,emea\n",
    )
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    (first, _) = sorted(ds.captured_emails(), key=lambda e: e.to)
    # When "a" unsubscribes, 10 days pass (inside the fatigue window) and another wave fires
    token = urlsplit(first.unsubscribe_link).path
    assert unsubscribe.lambda_handler(http_event("POST", token), LambdaContext())["statusCode"] == 200
    clock.advance(timedelta(days=10))
    inside = ds.fire_wave(ds.SURVEY_ID, clock.now)
    # Then "a" is skipped as suppressed and "b" for fatigue
    assert inside["invites"] == 0
    assert inside["skipped"] == {"suppressed": 1, "fatigue": 1}
    # And after the window only "b" is invited again
    clock.advance(timedelta(days=30))
    later = ds.fire_wave(ds.SURVEY_ID, clock.now)
    assert later["invites"] == 1
    assert later["skipped"] == {"suppressed": 1}


def test_one_reminder_goes_to_non_responders_only(platform: LocalStack, clock: ds.Clock) -> None:
    # Given three sent invites with a 3-day reminder delay
    ds.create_survey(platform, survey(reminder_days=3))
    ds.import_csv(
        platform,
        CSV_HEADER
        + "quiet,q@example.com,,UTC,en,pro,emea\n"
        + "answered,a@example.com,,UTC,en,pro,emea\n"
        + "leaver,l@example.com,,UTC,en,pro,emea\n",
    )
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    emails = {e.to: e for e in ds.captured_emails()}
    # And one contact answered and one unsubscribed (one-click)
    answered_id = _invite_id_of(emails["a@example.com"])
    aws.client("dynamodb").put_item(
        TableName=platform.tables["responses"],
        Item={"invite_id": {"S": answered_id}, "score": {"N": "9"}},
    )
    one_click = http_event(
        "POST",
        urlsplit(emails["l@example.com"].unsubscribe_link).path,
        body="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert unsubscribe.lambda_handler(one_click, LambdaContext())["statusCode"] == 200
    # When the reminder run happens before and after the delay (and twice after)
    assert ds.fire_reminders()["reminders"] == {}
    clock.advance(timedelta(days=3, hours=1))
    assert ds.fire_reminders()["reminders"] == {ds.SURVEY_ID: 3}
    ds.drain_send_queue(platform, clock, duplicate=True)
    assert ds.fire_reminders()["reminders"] == {}
    # Then exactly one reminder went, to the contact who neither answered nor left
    reminders = [e for e in ds.captured_emails() if e.subject.startswith("Reminder")]
    assert [e.to for e in reminders] == ["q@example.com"]
    assert _invite_id_of(reminders[0]) == _invite_id_of(emails["q@example.com"])


def test_ses_rejection_is_dead_lettered_with_the_reason_and_the_invite_marked_failed(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a survey whose sender is not verified in SES (SES rejects every message)
    ds.create_survey(platform, survey(sender="unverified@example.org", reminder_days=None))
    ds.import_csv(platform, CSV_HEADER + "x,x@example.com,,UTC,en,pro,emea\n")
    # When the wave is delivered (the deliver role may send only through the stack's identity, so in AWS
    # this sender is refused by IAM before SES: either way the send fails)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    with RECORDER.denial_expected("ses:SendRawEmail", "identity/unverified@example.org") as refused:
        ds.drain_send_queue(platform, clock)
    assert refused
    assert all(RECORDER.violations([use]) for use in refused)
    # Then nothing was sent, the invite is failed with the reason, and the DLQ holds the message + reason
    assert ds.captured_emails() == []
    (item,) = ds.invite_items(platform)
    assert item["status"]["S"] == "failed"
    assert item["failure_reason"]["S"] == "ses: MessageRejected"
    assert platform.sending is not None
    (parked,) = aws.client("sqs").receive_message(
        QueueUrl=platform.sending.dead_letter_queue_url, MessageAttributeNames=["All"]
    )["Messages"]
    body = json.loads(parked["Body"])
    assert body["invite_id"] == item["invite_id"]["S"]
    assert body["reason"] == "ses: MessageRejected"


def test_throttled_sends_are_retried_then_dead_lettered_and_never_sent_twice(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES throttles the first two attempts
    from nps.sending.adapters.channels import SendError

    ds.create_survey(platform, survey(reminder_days=None))
    ds.import_csv(platform, CSV_HEADER + "t,t@example.com,,UTC,en,pro,emea\n")
    mailer = deliver.service().mailer
    real_send = mailer.send_email
    attempts: list[int] = []

    def flaky(**kwargs: Any) -> str:
        attempts.append(1)
        if len(attempts) <= 2:
            raise SendError("ses: Throttling", retryable=True)
        return real_send(**kwargs)

    monkeypatch.setattr(mailer, "send_email", flaky)
    # When the wave is delivered
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    run = ds.drain_send_queue(platform, clock)
    # Then the message failed twice, was redelivered, and the third attempt sent exactly one email
    assert run.failures == 2
    assert len(ds.captured_emails()) == 1
    assert statuses(platform) == {"t": "sent"}


def test_csv_import_reports_every_bad_row_and_imports_the_rest_idempotently(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a CSV with four good rows and six bad ones
    text = ds.synthetic_contacts_csv(4, random.Random(5), bad_rows=6)
    # When it is imported twice
    first = ds.import_csv(platform, text)
    second = ds.import_csv(platform, text)
    # Then the good rows are stored once, and the report names each bad line with its reason
    assert (first["imported"], first["rejected"]) == (4, 6)
    assert (second["imported"], second["rejected"]) == (4, 6)
    stored = aws.client("dynamodb").scan(TableName=platform.tables["contacts"])["Items"]
    assert len(stored) == 4
    rows = ds.import_report(platform, first["report"])
    reasons = {row["contact_id"] or f"line {row['line']}": row["errors"] for row in rows}
    assert "email" in reasons["bad-email"]
    assert "international format" in reasons["bad-phone"]
    assert "time zone" in reasons["bad-zone"]
    assert "locale" in reasons["bad-locale"]
    assert any("expected 7 columns" in r for r in reasons.values())
    # And the report holds no address
    assert "@example.com" not in json.dumps(rows)


def test_a_business_event_starts_a_delayed_transactional_invite(platform: LocalStack, clock: ds.Clock) -> None:
    # Given a survey triggered by "Ticket Closed" from the helpdesk, one hour later
    from functions.planner import handler as planner

    ds.create_survey(platform, survey(reminder_days=None))
    ds.import_csv(platform, CSV_HEADER + "c-77,c77@example.com,,UTC,en,pro,emea\n")
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "helpdesk",
                "DetailType": "Ticket Closed",
                "Detail": json.dumps({"contact_id": "c-77", "ticket": "T-1"}),
                "EventBusName": platform.bus_name,
            }
        ]
    )
    # When the rule's delivery reaches the planner (an SQS target locally: moto cannot invoke Lambda)
    assert platform.sending is not None
    (message,) = aws.client("sqs").receive_message(QueueUrl=platform.sending.trigger_queue_url)["Messages"]
    event = json.loads(message["Body"])
    event["time"] = clock.now.isoformat()
    result = planner.lambda_handler(event, LambdaContext("planner"))
    ds.drain_send_queue(platform, clock)
    # Then one invite was planned and sent an hour after the event
    (wave,) = result["waves"]
    assert wave["invites"] == 1
    assert wave["held"] == 1
    (item,) = ds.invite_items(platform)
    assert item["sent_at"]["S"].startswith("2026-11-23T10:00")
    assert len(ds.captured_emails()) == 1


def test_a_ses_bounce_suppresses_the_address_marks_the_invite_and_publishes_the_event(
    platform: LocalStack, clock: ds.Clock
) -> None:
    from functions.suppress import handler as suppress

    # Given a sent invite
    ds.create_survey(platform, survey(reminder_days=None))
    ds.import_csv(platform, CSV_HEADER + "bouncy,bouncy@example.com,,UTC,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    (item,) = ds.invite_items(platform)
    invite_id = item["invite_id"]["S"]
    # When SES reports a permanent bounce through the configuration set's SNS topic
    notification = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "Bouncy@example.com"}]},
        "mail": {"tags": {"invite_id": [invite_id]}},
    }
    suppress.lambda_handler({"Records": [{"Sns": {"Message": json.dumps(notification)}}]}, LambdaContext())
    # Then the invite is bounced, and a later wave skips the address as suppressed
    assert statuses(platform) == {"bouncy": "bounced"}
    clock.advance(timedelta(days=365))
    assert ds.fire_wave(ds.SURVEY_ID, clock.now)["skipped"] == {"suppressed": 1}


def _invite_id_of(email: ds.CapturedEmail) -> str:
    """The invite id inside an email's respond token (read from the signed payload, signature checked)."""
    from nps.links.adapters.keyring import load_keyring

    token = urlsplit(email.score_links[0]).path.removeprefix("/r/")
    claims = verify(load_keyring("test/link-signing"), token, Purpose.RESPOND, 0).claims
    assert claims is not None
    return claims.invite_id
