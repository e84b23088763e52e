"""Mail and SMS feedback through the real handlers on moto: not-spam reports, one-click forms, numbers
opted in again at SNS, and ``nps contacts unsuppress``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from urllib3 import encode_multipart_formdata

from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.cli.main import main as cli
from nps.kernel import aws
from nps.sending.suppression import address_hash
from tests.support.reliability import route_events_to_queue

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CSV_HEADER = "contact_id,email,phone,time_zone,locale,plan,region\n"
#: A number on moto's SNS opt-out list (moto's CheckIfPhoneNumberIsOptedOut is patched to read it).
STOPPED = "+447911123499"


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


@pytest.fixture
def sns_opt_outs(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers CheckIfPhoneNumberIsOptedOut from the number's last digits; make it read the same
    opt-out list OptInPhoneNumber changes, as SNS does, with :data:`STOPPED` on it (moto's own seeded
    numbers are in a range no phone has, which the contact import refuses)."""
    from moto.sns.models import SNSBackend

    seeded: set[int] = set()

    def opted_out(self: SNSBackend, number: str) -> bool:
        if id(self) not in seeded:  # once per backend: OptInPhoneNumber may take it off again
            self.opt_out_numbers.append(STOPPED)
            seeded.add(id(self))
        return number in self.opt_out_numbers

    monkeypatch.setattr(SNSBackend, "check_if_phone_number_is_opted_out", opted_out)


def suppressions(stack: LocalStack) -> list[dict[str, str]]:
    items = aws.client("dynamodb").scan(TableName=stack.tables["suppressions"])["Items"]
    return [{k: v.get("S", "") for k, v in item.items()} for item in items]


def drain(queue_url: str) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def sns_event(notification: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{"Sns": {"Message": json.dumps(notification)}}]}


# -- SES complaints --------------------------------------------------------------------------------


def test_a_not_spam_report_through_the_suppress_function_suppresses_and_publishes_nothing(
    platform: LocalStack, clock: ds.Clock
) -> None:
    from functions.suppress import handler as suppress

    # Given a sent invite, and a subscriber of every event on the bus
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + "cleo,cleo@example.com,,UTC,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    (invite,) = ds.invite_items(platform)
    everything = route_events_to_queue(platform, "all-events")
    # When the mailbox provider reports "not spam" for it
    notification = {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "cleo@example.com"}],
            "complaintFeedbackType": "not-spam",
        },
        "mail": {"tags": {"invite_id": [invite["invite_id"]["S"]]}},
    }
    assert suppress.lambda_handler(sns_event(notification), LambdaContext()) == {"handled": ["not_spam"]}
    # Then nothing is suppressed and the invite stays sent; a later wave surveys the contact again
    assert suppressions(platform) == []
    assert ds.invite_items(platform)[0]["status"]["S"] == "sent"
    assert drain(everything) == []


# -- RFC 8058 one-click ----------------------------------------------------------------------------


def test_a_multipart_one_click_post_through_the_unsubscribe_function_is_recorded_as_one_click(
    platform: LocalStack, clock: ds.Clock
) -> None:
    from functions.unsubscribe import handler as unsubscribe

    # Given a sent invite email
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + "lea,lea@example.com,,UTC,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    (email,) = ds.captured_emails()
    # When the mail client posts the one-click form as multipart/form-data (API Gateway base64-encodes it)
    body, content_type = encode_multipart_formdata({"List-Unsubscribe": "One-Click"})
    event = http_event(
        "POST", urlsplit(email.unsubscribe_link).path, body=body.decode(), headers={"content-type": content_type}
    )
    event |= {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    assert unsubscribe.lambda_handler(event, LambdaContext())["statusCode"] == 200
    # Then the suppression carries the method one_click (the opt-out event is published from it)
    (suppression,) = suppressions(platform)
    assert (suppression["reason"], suppression["method"]) == ("unsubscribed", "one_click")


# -- SMS: follow what SNS says ---------------------------------------------------------------------


def test_a_number_opted_in_again_at_sns_is_surveyed_again_and_the_lift_is_audited(
    platform: LocalStack, clock: ds.Clock, sns_opt_outs: None
) -> None:
    # Given an SMS contact who texted STOP: the first wave finds SNS has the number opted out
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "channels": ["sms"], "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + f"sam,,{STOPPED},Europe/London,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    assert ds.captured_sms() == []
    assert [s["reason"] for s in suppressions(platform)] == ["sms_opted_out"]
    # When the person opts in again at SNS, and a later wave runs
    aws.client("sns").opt_in_phone_number(phoneNumber=STOPPED)
    clock.advance(timedelta(days=90))
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then the number gets its invite, and the lifted suppression left an audit (ids and hash only)
    assert [sms.to for sms in ds.captured_sms()] == [STOPPED]
    (audit,) = suppressions(platform)
    assert audit["lifted_hash"] == address_hash("sms", STOPPED, platform.id_key)
    assert (audit["lifted_by"], audit["previous_reason"], audit["channel"]) == ("sns", "sms_opted_out", "sms")
    assert STOPPED not in json.dumps(audit)


def test_a_number_still_opted_out_at_sns_stays_suppressed_and_publishes_no_second_opt_out(
    platform: LocalStack, clock: ds.Clock, sns_opt_outs: None
) -> None:
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "channels": ["sms"], "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + f"sam,,{STOPPED},Europe/London,en,pro,emea\n")
    for _ in range(2):
        ds.fire_wave(ds.SURVEY_ID, clock.now)
        ds.drain_send_queue(platform, clock)
        clock.advance(timedelta(days=90))
    assert ds.captured_sms() == []
    assert [s["reason"] for s in suppressions(platform)] == ["sms_opted_out"]


def test_an_unsubscribe_after_stop_outlasts_sns_opting_the_number_in_again(
    platform: LocalStack, clock: ds.Clock, sns_opt_outs: None
) -> None:
    from functions.unsubscribe import handler as unsubscribe

    # Given a contact with email and a STOP'd number, surveyed by email, who then unsubscribes by link
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "channels": ["sms"], "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + f"sam,,{STOPPED},Europe/London,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "survey_id": "mail-only", "channels": ["email"]})
    ds.import_csv(platform, CSV_HEADER + f"sam,sam@example.com,{STOPPED},Europe/London,en,pro,emea\n")
    ds.fire_wave("mail-only", clock.now)
    ds.drain_send_queue(platform, clock)
    (email,) = ds.captured_emails()
    post = http_event("POST", urlsplit(email.unsubscribe_link).path, body="")
    assert unsubscribe.lambda_handler(post, LambdaContext())["statusCode"] == 200
    # When SNS opts the number in again and the SMS survey's next wave runs
    aws.client("sns").opt_in_phone_number(phoneNumber=STOPPED)
    clock.advance(timedelta(days=90))
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then no text goes out: the number's suppression is now an unsubscribe
    assert ds.captured_sms() == []
    by_hash = {s["address_hash"]: s for s in suppressions(platform)}
    stop = by_hash[address_hash("sms", STOPPED, platform.id_key)]
    assert (stop["reason"], stop["previous_reason"]) == ("unsubscribed", "sms_opted_out")


# -- nps contacts unsuppress ------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli(["--local", "--prefix", "test", "contacts", "unsuppress", *args], in_process=True)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_unsuppress_lifts_every_channel_with_an_audit_and_opts_the_number_in_at_sns(
    platform: LocalStack, clock: ds.Clock, sns_opt_outs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.suppress import handler as suppress

    # Given a contact whose email complained and whose number SNS has opted out
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "channels": ["sms"], "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + f"kim,kim@example.com,{STOPPED},UTC,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "kim@example.com"}]},
        "mail": {"tags": {}},
    }
    suppress.lambda_handler(sns_event(complaint), LambdaContext())
    assert sorted(s["reason"] for s in suppressions(platform)) == ["complained", "sms_opted_out"]
    # When an operator lifts both, with a reason
    status, out, err = run(capsys, "kim", "--reason", "asked to hear from us again (ticket 4711)", "--by", "alice")
    # Then both are lifted, the number is opted in at SNS, and each lift is audited
    assert status == 0, err
    assert json.loads(out.splitlines()[-1]) == {
        "contact_id": "kim",
        "channels": {
            "email": {"outcome": "lifted", "previous_reason": "complained"},
            "sms": {"outcome": "lifted", "previous_reason": "sms_opted_out"},
        },
    }
    assert not aws.client("sns").check_if_phone_number_is_opted_out(phoneNumber=STOPPED)["isOptedOut"]
    audits = sorted(suppressions(platform), key=lambda a: a["channel"])
    assert [(a["channel"], a["lifted_by"], a["lift_reason"]) for a in audits] == [
        ("email", "alice", "asked to hear from us again (ticket 4711)"),
        ("sms", "alice", "asked to hear from us again (ticket 4711)"),
    ]
    # And a second run finds nothing to lift
    status, out, _ = run(capsys, "kim", "--reason", "again", "--by", "alice")
    assert status == 0
    assert {c["outcome"] for c in json.loads(out.splitlines()[-1])["channels"].values()} == {"not_suppressed"}


def test_unsuppress_refuses_without_a_reason_or_for_an_unknown_contact_in_one_line(
    platform: LocalStack, clock: ds.Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + "kim,kim@example.com,,UTC,en,pro,emea\n")
    assert run(capsys, "kim", "--reason", "   ")[::2] == (1, "nps: a reason is required (--reason), e.g. "
                                                           "'asked to hear from us again, ticket 4711'\n")  # fmt: skip
    assert run(capsys, "nobody", "--reason", "x")[::2] == (1, "nps: no contact 'nobody' in audience 'default'\n")
    with pytest.raises(SystemExit) as usage:
        run(capsys, "kim")  # --reason is required
    assert usage.value.code == 2


def test_unsuppress_keeps_the_suppression_when_sns_refuses_to_opt_the_number_in(
    platform: LocalStack, clock: ds.Clock, sns_opt_outs: None, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from moto.sns.exceptions import SNSInvalidParameter
    from moto.sns.models import SNSBackend

    ds.create_survey(platform, {**ds.DEMO_SURVEY, "channels": ["sms"], "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + f"sam,,{STOPPED},UTC,en,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)

    def refuse(self: SNSBackend, number: str) -> None:  # SNS: at most once per 30 days per number
        raise SNSInvalidParameter("Phone number was opted in within the last 30 days")

    # Given SNS refuses to opt the number in again
    monkeypatch.setattr(SNSBackend, "opt_in_phone_number", refuse)
    # When an operator tries to lift the SMS suppression
    status, out, err = run(capsys, "sam", "--channel", "sms", "--reason", "asked again", "--by", "alice")
    # Then it says why in one line, exits 1, and the suppression stays
    assert status == 1
    assert json.loads(out.splitlines()[-1])["channels"] == {
        "sms": {"outcome": "refused", "previous_reason": "sms_opted_out"}
    }
    assert err == (
        "nps: sms stays suppressed: SNS keeps the number opted out (InvalidParameter); "
        "SNS opts a number in at most once every 30 days\n"
    )
    assert [s["reason"] for s in suppressions(platform)] == ["sms_opted_out"]


# -- opening the unsubscribe link again ------------------------------------------------------------


def test_opening_the_unsubscribe_link_again_says_already_unsubscribed_and_writes_nothing(
    platform: LocalStack, clock: ds.Clock
) -> None:
    from functions.unsubscribe import handler as unsubscribe

    # Given a contact who unsubscribed through an invite email
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(platform, CSV_HEADER + "ana,ana@example.com,,UTC,es,pro,emea\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    (email,) = ds.captured_emails()
    path = urlsplit(email.unsubscribe_link).path
    first = unsubscribe.lambda_handler(http_event("GET", path), LambdaContext())
    assert "<form" in first["body"]
    assert unsubscribe.lambda_handler(http_event("POST", path), LambdaContext())["statusCode"] == 200
    before = suppressions(platform)
    # When the link is opened again / Then the page says so in the invite's language, with no button
    again = unsubscribe.lambda_handler(http_event("GET", path), LambdaContext())
    assert again["statusCode"] == 200
    assert "Ya te has dado de baja" in again["body"]
    assert "<form" not in again["body"]
    # When the (one-click) POST comes again / Then it says "already", and nothing is written
    repeat = unsubscribe.lambda_handler(http_event("POST", path), LambdaContext())
    assert "Ya te has dado de baja" in repeat["body"]
    assert suppressions(platform) == before
