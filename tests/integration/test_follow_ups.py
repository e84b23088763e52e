"""The follow-up workflows' steps on moto, through the real handlers: a wave is sent, people tap, the
stream is scored, the start rules route the answers, and the steps run in the state machines' order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from functions.follow_up import handler as follow_up_handler
from functions.follow_up_events import handler as events_handler
from local.demo_sending import Clock, captured_emails, create_survey, drain_send_queue, fire_wave, handlers, sent_links
from local.environment import REGION, LocalStack
from local.lambda_events import LambdaContext, http_event, sqs_record
from local.workflows import LocalFollowUps, receive_all
from nps import aws
from nps.contacts import Contact
from nps.dal.channels import SendError
from nps.dal.contacts import DynamoContactRepository
from nps.dal.follow_ups import DynamoFollowUpStore
from nps.dal.suppressions import DynamoSuppressionRepository
from nps.follow_up_wiring import follow_up_service
from nps.follow_ups import FollowUp, FollowUpClosed, InvalidFollowUpEvent
from nps.models import FOLLOW_UP_OPENED, FOLLOW_UP_RESOLVED
from nps.suppression import SuppressionReason, address_hash

SURVEY_ID = "relationship"
REFERRAL = "https://acme.example/refer?src=nps"
REVIEW = "https://reviews.example/acme"
SURVEY: dict[str, Any] = {
    "survey_id": SURVEY_ID,
    "name": "Relationship NPS",
    "brand_name": "Acme Cloud",
    "sender": "surveys@example.com",
    "channels": ["email", "sms"],
    "locales": ["en", "de"],
    "fatigue_days": 0,
    "reminder_days": None,
    # Never quiet: nothing in these tests waits for a local morning.
    "quiet_hours": {"start": "03:00", "end": "03:00:01"},
    "segment_dimensions": ["plan"],
    "follow_ups": {
        "detractor": {"email_delay_minutes": 0, "resolve_within_days": 3, "resurvey_after_days": 7},
        "promoter": {"referral_url": REFERRAL, "review_url": REVIEW},
        "passive": {"subject": {"en": "Tell us what is missing"}},
    },
}


class Loop:
    """A sent wave on moto, the people who got it, and the follow-up workflows behind it."""

    def __init__(self, stack: LocalStack, survey: dict[str, Any]) -> None:
        self.stack = stack
        self.clock = Clock(datetime.now(UTC))
        self.survey = survey

    def send_wave(self, contacts: list[Contact]) -> None:
        create_survey(self.stack, self.survey)
        repository = DynamoContactRepository(self.stack.tables["contacts"])
        for contact in contacts:
            repository.upsert(contact)
        fire_wave(self.survey["survey_id"], self.clock.now)
        drain_send_queue(self.stack, self.clock)

    def link(self, contact_id: str, wave_prefix: str = "") -> str:
        """The score-page path a contact received (in the newest wave whose id starts with the prefix)."""
        from nps.dal.invites import DynamoInviteRepository

        invites = DynamoInviteRepository(self.stack.tables["invites"])
        for link in reversed(sent_links(self.stack)):
            invite = invites.get(link.invite_id)
            if invite and invite.contact_id == contact_id and invite.wave_id.startswith(wave_prefix):
                return urlsplit(link.score_page).path
        raise AssertionError(f"no link sent to {contact_id}")

    def tap(self, path: str, score: int, comment: str | None = None) -> None:
        """A person's tap an hour after the send (GET, then the page's POST), and maybe a comment."""
        from functions.respond import handler as respond

        respond.service().clock = lambda: self.clock.now + timedelta(hours=1)
        headers = {"user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148", "accept-language": "en"}
        form = {**headers, "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin"}
        context = LambdaContext()
        assert (
            respond.lambda_handler(http_event("GET", path, {"score": str(score)}, headers=headers), context)[
                "statusCode"
            ]
            == 200
        )
        body = urlencode({"score": str(score)})
        assert respond.lambda_handler(http_event("POST", path, body=body, headers=form), context)["statusCode"] == 200
        if comment is not None:
            event = http_event("POST", f"{path}/comment", body=urlencode({"comment": comment}), headers=form)
            assert respond.lambda_handler(event, context)["statusCode"] in (200, 303)

    def score(self) -> None:
        from functions.score import handler as score
        from local.environment import StreamReader

        reader = getattr(self, "_reader", None) or StreamReader(self.stack.stream_arns["responses"])
        self._reader = reader
        for event in reader.read_batches():
            assert not score.lambda_handler(event, LambdaContext()).get("batchItemFailures")

    def follow_up(self, contact_id: str) -> FollowUp:
        store = DynamoFollowUpStore(self.stack.tables["followups"])
        items = aws.client("dynamodb").scan(TableName=self.stack.tables["followups"])["Items"]
        found = [store.get(i["follow_up_id"]["S"]) for i in items if i["contact_id"]["S"] == contact_id]
        assert len(found) == 1, found
        assert found[0] is not None
        return found[0]


def contact(contact_id: str, **fields: Any) -> Contact:
    values: dict[str, Any] = {"email": f"{contact_id}@example.com", "attributes": {"plan": "pro"}, **fields}
    return Contact(contact_id=contact_id, **values)


@pytest.fixture
def loop(platform: LocalStack) -> Iterator[tuple[Loop, LocalFollowUps]]:
    state = Loop(platform, SURVEY)
    with handlers(state.clock):
        follow_up_service().clock = state.clock
        yield state, LocalFollowUps(platform)


def emails_to(address: str) -> list[Any]:
    return [e for e in captured_emails() if e.to == address]


def lifecycle_events(stack: LocalStack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in receive_all(stack.follow_up_subscriber_queue_url)]


def tasks(stack: LocalStack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in receive_all(stack.follow_up_task_queue_url)]


# -- detractors -------------------------------------------------------------------------------------


def test_a_detractor_gets_an_alert_an_apology_and_a_task_that_waits_for_the_team(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, workflows = loop
    alerts = _subscribe_queue(state.stack.alerts_topic_arn)
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 3)
    state.score()

    assert workflows.start_all() == 1

    follow_up = state.follow_up("c-det")
    assert (follow_up.category, follow_up.status, follow_up.score) == ("detractor", "awaiting_resolution", 3)
    (apology,) = [e for e in emails_to("c-det@example.com") if not e.score_links]
    assert apology.subject == "Acme Cloud: we are sorry, and we will be in touch"
    assert apology.unsubscribe_link.startswith("https://nps.example.test/u/")
    assert "List-Unsubscribe-Post" in apology.message
    (task,) = tasks(state.stack)
    assert task["type"] == "follow_up_opened"
    assert task["follow_up_id"] == follow_up.follow_up_id
    assert task["task_token"] in workflows.waiting
    assert (task["score"], task["contact_id"], task["segments"]) == (3, "c-det", {"plan": "pro"})
    (alert,) = receive_all(alerts)
    for message in (json.dumps(task), alert["Body"]):
        assert "c-det@example.com" not in message  # ids only: the CRM looks the contact up
    (opened,) = lifecycle_events(state.stack)
    assert opened["detail-type"] == FOLLOW_UP_OPENED
    assert opened["detail"]["email_sent"] is True


def test_a_resolved_detractor_is_resurveyed_and_the_answer_says_whether_they_moved(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 2)
    state.score()
    workflows.start_all()
    aggregates_before = _responses_counted(state.stack)
    assert aggregates_before > 0

    # The team resolves the task (as a CRM would: SendTaskSuccess with the token), the wait passes
    follow_up_id = state.follow_up("c-det").follow_up_id
    assert follow_up_service().resolve(follow_up_id, note="called, refunded")
    state.clock.advance(timedelta(days=7))
    assert workflows.run_resurveys() == 1
    drain_send_queue(state.stack, state.clock)
    state.tap(state.link("c-det", wave_prefix="fu-"), 9)
    state.score()
    consumed = workflows.consume_events()

    assert consumed["NPS Response Scored"] == 1
    resolved = state.follow_up("c-det")
    assert (resolved.status, resolved.outcome, resolved.resolution) == ("resolved", "re_surveyed", "resolved")
    assert (resolved.new_score, resolved.new_category) == (9, "promoter")
    events = [e for e in lifecycle_events(state.stack) if e["detail-type"] == FOLLOW_UP_RESOLVED]
    (event,) = events
    assert event["detail"]["moved_category"] is True
    assert event["detail"]["resurvey_invite_id"] == resolved.resurvey_invite_id
    # The re-survey answer resolves the follow-up but is not counted again in the NPS aggregates.
    assert _responses_counted(state.stack) == aggregates_before
    # A closing step after the answer changes nothing.
    assert workflows.expire_resurveys() == 0


def test_a_timed_out_follow_up_is_resurveyed_and_closed_when_nobody_answers(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 5)
    state.score()
    workflows.start_all()

    assert workflows.time_out_waits() == 1
    assert workflows.run_resurveys() == 1
    assert workflows.expire_resurveys() == 1

    follow_up = state.follow_up("c-det")
    assert (follow_up.outcome, follow_up.resolution, follow_up.new_score) == ("closed", "timed_out", None)
    (event,) = [e for e in lifecycle_events(state.stack) if e["detail-type"] == FOLLOW_UP_RESOLVED]
    assert event["detail"]["moved_category"] is False


def test_a_suppressed_detractor_gets_no_apology_and_no_resurvey_but_the_team_still_gets_the_task(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 1)
    state.score()
    DynamoSuppressionRepository(state.stack.tables["suppressions"]).suppress(
        address_hash("email", "c-det@example.com"), SuppressionReason.UNSUBSCRIBED, "2026-11-24T00:00:00Z"
    )

    workflows.start_all()
    workflows.time_out_waits()
    workflows.run_resurveys()

    follow_up = state.follow_up("c-det")
    assert (follow_up.email_sent, follow_up.email_reason) == (False, "suppressed")
    assert len(emails_to("c-det@example.com")) == 1  # the invite only
    assert [t["type"] for t in tasks(state.stack)] == ["follow_up_opened"]
    assert follow_up.outcome == "suppressed"


def test_a_retracted_answer_closes_its_follow_up_and_ends_the_wait(loop: tuple[Loop, LocalFollowUps]) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 0)
    state.score()
    workflows.start_all()
    follow_up = state.follow_up("c-det")
    tasks(state.stack)

    # Late evidence: the answer was a mail scanner's (the score function publishes the retraction)
    retraction = {
        "source": "nps",
        "detail-type": "NPS Response Retracted",
        "detail": _retracted(follow_up),
    }
    _consume(state.stack, [retraction])

    closed = state.follow_up("c-det")
    assert (closed.status, closed.outcome) == ("resolved", "retracted")
    assert workflows.resolved == {follow_up.follow_up_id: {"resolution": "retracted"}}
    assert [t["type"] for t in tasks(state.stack)] == ["follow_up_cancelled"]
    assert workflows.run_resurveys() == 0  # nothing to re-survey


def test_a_comment_after_the_task_opened_is_appended_and_sent_to_the_team(loop: tuple[Loop, LocalFollowUps]) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    path = state.link("c-det")
    state.tap(path, 4)
    state.score()
    workflows.start_all()
    tasks(state.stack)

    state.tap(path, 4, comment="Support <b>never</b> called back")
    state.score()
    consumed = workflows.consume_events()

    assert consumed["NPS Comment Received"] == 1
    # The update goes out when due (locally at once: the next run of the consumer), with the counts.
    assert workflows.consume_events()["Follow-up Comment Update Due"] == 1
    (update,) = tasks(state.stack)
    assert update["type"] == "comment_added"
    assert update["comment"]["text"] == "Support <b>never</b> called back"
    assert (update["comment_count"], update["new_comments"], update["comments_omitted"]) == (1, 1, 0)
    assert [c["text"] for c in state.follow_up("c-det").comments] == ["Support <b>never</b> called back"]
    # The same comment event delivered again is not appended twice.
    workflows.consume_events()
    assert len(state.follow_up("c-det").comments) == 1


def test_a_retraction_between_the_email_and_the_task_ends_the_workflow_without_a_task(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, _ = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 1)
    state.score()
    (message,) = receive_all(state.stack.workflow_queue_urls["detractor"])
    opened = _step({"action": "open", "event": json.loads(message["Body"]), "execution": "exec-1"})
    _step({"action": "email", "follow_up_id": opened["follow_up_id"]})
    follow_up = state.follow_up("c-det")
    _consume(state.stack, [{"source": "nps", "detail-type": "NPS Response Retracted", "detail": _retracted(follow_up)}])

    with pytest.raises(FollowUpClosed):  # the state machine catches it and ends
        _step({"action": "open_task", "follow_up_id": follow_up.follow_up_id, "task_token": "token-1"})

    assert tasks(state.stack) == []
    assert state.follow_up("c-det").outcome == "retracted"


# -- promoters and passives ---------------------------------------------------------------------------


def test_promoters_get_a_thank_you_with_the_surveys_referral_and_review_links(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pro", locale="de")])
    state.tap(state.link("c-pro"), 10)
    state.score()

    workflows.start_all()

    (thanks,) = [e for e in emails_to("c-pro@example.com") if not e.score_links]
    assert thanks.subject == "Vielen Dank von Acme Cloud"
    assert REFERRAL in thanks.text
    assert REVIEW in thanks.text
    assert f'href="{REFERRAL.replace("&", "&amp;")}"' in thanks.html
    assert state.follow_up("c-pro").status == "done"
    assert tasks(state.stack) == []


def test_passives_are_asked_what_would_make_it_a_10_with_the_surveys_own_subject(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pas")])
    state.tap(state.link("c-pas"), 8)
    state.score()

    workflows.start_all()

    (ask,) = [e for e in emails_to("c-pas@example.com") if not e.score_links]
    assert ask.subject == "Tell us what is missing"
    assert "What one thing would make Acme Cloud a 10 for you?" in ask.text
    assert tasks(state.stack) == []


def test_a_redelivered_start_event_sends_nothing_twice(loop: tuple[Loop, LocalFollowUps]) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pro")])
    state.tap(state.link("c-pro"), 9)
    state.score()
    (message,) = receive_all(state.stack.workflow_queue_urls["promoter"])
    event = json.loads(message["Body"])

    assert workflows.start("promoter", event) == 1
    assert workflows.start("promoter", event) == 0  # EventBridge delivered it twice: a second execution

    assert workflows.counts["promoter duplicate"] == 1
    assert len([e for e in emails_to("c-pro@example.com") if not e.score_links]) == 1


def test_a_survey_can_switch_a_category_off(platform: LocalStack) -> None:
    survey = {**SURVEY, "follow_ups": {"promoter": {"enabled": False}, "detractor": {"email": False}}}
    state = Loop(platform, survey)
    with handlers(state.clock):
        follow_up_service().clock = state.clock
        workflows = LocalFollowUps(platform)
        state.send_wave([contact("c-pro"), contact("c-det")])
        state.tap(state.link("c-pro"), 10)
        state.tap(state.link("c-det"), 2)
        state.score()
        workflows.start_all()

    assert workflows.counts["promoter disabled"] == 1
    follow_up = state.follow_up("c-det")
    assert (follow_up.email_sent, follow_up.email_reason) == (False, "switched_off")
    assert [t["type"] for t in tasks(platform)] == ["follow_up_opened"]  # the team still follows up
    assert [e for e in captured_emails() if not e.score_links] == []


# -- failures -----------------------------------------------------------------------------------------


def test_a_transient_ses_failure_raises_for_a_retry_and_the_retry_sends_once(
    loop: tuple[Loop, LocalFollowUps], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = loop
    state.send_wave([contact("c-pas")])
    state.tap(state.link("c-pas"), 7)
    state.score()
    (message,) = receive_all(state.stack.workflow_queue_urls["passive"])
    opened = _step({"action": "open", "event": json.loads(message["Body"]), "execution": "exec-1"})
    service = follow_up_service()
    real = service.mailer

    class Throttled:
        def send_email(self, **kwargs: Any) -> str:
            raise SendError("ses: Throttling", retryable=True)

    monkeypatch.setattr(service, "mailer", Throttled())
    with pytest.raises(SendError):
        _step({"action": "email", "follow_up_id": opened["follow_up_id"]})
    monkeypatch.setattr(service, "mailer", real)
    first = _step({"action": "email", "follow_up_id": opened["follow_up_id"]})  # Step Functions' retry
    again = _step({"action": "email", "follow_up_id": opened["follow_up_id"]})

    assert first["email_sent"] is True
    assert again["email_sent"] is True
    assert len([e for e in emails_to("c-pas@example.com") if not e.score_links]) == 1


def test_a_permanent_ses_failure_is_recorded_and_the_workflow_goes_on(
    loop: tuple[Loop, LocalFollowUps], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 6)
    state.score()
    (message,) = receive_all(state.stack.workflow_queue_urls["detractor"])
    opened = _step({"action": "open", "event": json.loads(message["Body"]), "execution": "exec-1"})

    class Rejected:
        def send_email(self, **kwargs: Any) -> str:
            raise SendError("ses: MessageRejected", retryable=False)

    monkeypatch.setattr(follow_up_service(), "mailer", Rejected())
    result = _step({"action": "email", "follow_up_id": opened["follow_up_id"]})

    assert (result["email_sent"], result["reason"]) == (False, "ses: MessageRejected")
    assert result["opened"]["email_sent"] is False


@pytest.mark.parametrize(
    "payload",
    [
        {"action": "open", "event": {"detail": {"score": 3}}},
        {"action": "open", "event": {"detail": "not json"}},
        {"action": "open"},
        {"action": "email"},
        {"action": "drop_tables"},
    ],
)
def test_a_step_with_a_contract_breaking_input_raises_the_error_the_state_machine_does_not_retry(
    platform: LocalStack, payload: dict[str, Any]
) -> None:
    with pytest.raises(InvalidFollowUpEvent):
        _step(payload)


def test_the_consumer_parks_contract_breaking_events_in_its_dlq_and_handles_the_rest(
    loop: tuple[Loop, LocalFollowUps],
) -> None:
    state, _ = loop
    bad = [
        "not json at all",
        json.dumps({"source": "nps", "detail-type": "NPS Comment Received", "detail": {"invite_id": "x"}}),
        json.dumps({"source": "shop", "detail-type": "Order Delivered", "detail": {}}),
    ]
    good = json.dumps({"source": "nps", "detail-type": "NPS Response Retracted", "detail": _retracted(None)})
    messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body} for i, body in enumerate([*bad, good])]
    arn = f"arn:aws:sqs:{REGION}:123456789012:follow-up-events"

    result = events_handler.lambda_handler(
        {"Records": [sqs_record(m, arn) for m in messages]}, LambdaContext("follow-up-events")
    )

    assert result == {"batchItemFailures": []}
    parked = receive_all(state.stack.follow_up_events_dlq_url)
    assert sorted(m["Body"] for m in parked) == sorted(bad)


# -- helpers ------------------------------------------------------------------------------------------


def _step(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = follow_up_handler.lambda_handler(payload, LambdaContext("follow-up"))
    return result


def _consume(stack: LocalStack, events: list[dict[str, Any]]) -> None:
    arn = f"arn:aws:sqs:{REGION}:123456789012:follow-up-events"
    messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": json.dumps(e)} for i, e in enumerate(events)]
    result = events_handler.lambda_handler({"Records": [sqs_record(m, arn) for m in messages]}, LambdaContext())
    assert result == {"batchItemFailures": []}
    assert receive_all(stack.follow_up_events_dlq_url) == []


def _retracted(follow_up: FollowUp | None) -> dict[str, Any]:
    ids = (
        {"survey_id": follow_up.survey_id, "wave_id": follow_up.wave_id, "invite_id": follow_up.invite_id,
         "contact_id": follow_up.contact_id}
        if follow_up else
        {"survey_id": "s", "wave_id": "w", "invite_id": "inv-unknown", "contact_id": "c"}
    )  # fmt: skip
    return {
        **ids,
        "schema_version": "1.0",
        "event_id": f"{ids['invite_id']}:9",
        "channel": "email",
        "locale": "en",
        "segments": {},
        "previous_score": 0,
        "previous_category": "detractor",
        "reason": "automated",
        "version": 9,
        "retracted_at": "2026-11-24T00:00:00Z",
    }


def _subscribe_queue(topic_arn: str) -> str:
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def _responses_counted(stack: LocalStack) -> int:
    items = aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"]
    categories = ("promoters", "passives", "detractors")
    return sum(int(i.get(name, {}).get("N", "0")) for i in items for name in categories)


def test_the_cli_shows_a_follow_up_without_its_token_and_resolves_its_task(
    loop: tuple[Loop, LocalFollowUps], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli import programs
    from nps.cli.main import main as cli

    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 3)
    state.score()
    workflows.start_all()
    follow_up_id = state.follow_up("c-det").follow_up_id
    monkeypatch.setattr(programs, "StepFunctionsTaskTokens", lambda: workflows)  # the local SendTaskSuccess

    def run(*argv: str) -> int:
        return cli(["--local", "--prefix", "test", "follow-up", *argv], in_process=True)

    assert run("show", follow_up_id) == 0
    out = capsys.readouterr().out  # the functions' JSON logs come first (Lambda's stdout)
    shown = json.loads(out[out.index('{\n  "follow_up_id"') :])
    assert (shown["status"], shown["score"]) == ("awaiting_resolution", 3)
    assert "task_token" not in shown
    assert run("resolve", follow_up_id, "--note", "called back") == 0
    assert workflows.resolved == {follow_up_id: {"resolution": "resolved", "note": "called back"}}
    assert run("show", "inv-nothing-1") == 1
    assert run("resolve", "not-a-follow-up") == 1
