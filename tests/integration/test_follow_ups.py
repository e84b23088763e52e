"""The follow-up workflows on moto, through the real handlers: a wave is sent, people tap, the stream is
scored, the start rules route the answers, and the synthesized state machines execute (moto's ASL
interpreter; Lambda tasks answered by the follow-up function in-process, waits on the simulated clock)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from functions.follow_up import handler as follow_up_handler
from functions.follow_up_events import handler as events_handler
from functions.referral import handler as referral_handler
from local import referrals as people
from local.demo_sending import Clock, captured_emails, create_survey, drain_send_queue, fire_wave, handlers, sent_links
from local.environment import REGION, LocalStack
from local.lambda_events import LambdaContext, http_event, sqs_record
from local.principals import as_outside_world
from local.workflows import LocalWorkflows, follow_up_workflows, receive_all
from nps.accounts.adapters.referrals import DynamoReferralLedger, InviteMarkers
from nps.events.models import FOLLOW_UP_OPENED, FOLLOW_UP_RESOLVED
from nps.follow_ups.adapters.store import DynamoFollowUpStore
from nps.follow_ups.steps import FollowUp, InvalidFollowUpEvent
from nps.follow_ups.wiring import follow_up_service
from nps.kernel import aws
from nps.sending.adapters.channels import SendError
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.contacts import Contact
from nps.sending.suppression import SuppressionReason, address_hash

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
        from nps.responding.adapters.invites import DynamoInviteRepository

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
def loop(platform: LocalStack) -> Iterator[tuple[Loop, LocalWorkflows]]:
    state = Loop(platform, SURVEY)
    with handlers(state.clock), follow_up_workflows(platform, state.clock) as workflows:
        follow_up_service().clock = state.clock
        yield state, workflows


def emails_to(address: str) -> list[Any]:
    return [e for e in captured_emails() if e.to == address]


def lifecycle_events(stack: LocalStack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in receive_all(stack.follow_up_subscriber_queue_url)]


def tasks(stack: LocalStack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in receive_all(stack.follow_up_task_queue_url)]


# -- detractors -------------------------------------------------------------------------------------

Workflows = tuple[Loop, LocalWorkflows]
DAY = timedelta(days=1)


def test_a_detractor_gets_an_alert_an_apology_and_a_task_that_waits_for_the_team(loop: Workflows) -> None:
    state, workflows = loop
    alerts = _subscribe_queue(state.stack.alerts_topic_arn)
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 3)
    state.score()

    assert workflows.start_all() == 1

    (execution,) = workflows.executions("detractor")
    assert workflows.describe(execution)["status"] == "RUNNING"
    assert workflows.states_entered(execution) == [
        "Open", "Opened", "Alert", "AlertTeam", "PublishAlert", "WaitToEmail", "Email", "StillOpen",
        "PublishOpened", "OpenTaskAndWait",
    ]  # fmt: skip
    follow_up = state.follow_up("c-det")
    assert (follow_up.category, follow_up.status, follow_up.score) == ("detractor", "awaiting_resolution", 3)
    assert follow_up.execution == execution  # the Open step got $$.Execution.Id
    (apology,) = [e for e in emails_to("c-det@example.com") if not e.score_links]
    assert apology.subject == "Acme Cloud: we are sorry, and we will be in touch"
    assert apology.unsubscribe_link.startswith("https://nps.example.test/u/")
    assert "List-Unsubscribe-Post" in apology.message
    (task,) = tasks(state.stack)
    assert task["type"] == "follow_up_opened"
    assert task["follow_up_id"] == follow_up.follow_up_id
    assert task["task_token"] == follow_up.task_token  # $$.Task.Token reached the step
    assert (task["score"], task["contact_id"], task["segments"]) == (3, "c-det", {"plan": "pro"})
    (alert,) = receive_all(alerts)
    assert json.loads(alert["Body"])["Subject"] == "NPS detractor follow-up: 3/10 on Relationship NPS"
    for message in (json.dumps(task), alert["Body"]):
        assert "c-det@example.com" not in message  # ids only: the CRM looks the contact up
    (opened,) = lifecycle_events(state.stack)
    assert opened["detail-type"] == FOLLOW_UP_OPENED
    assert opened["detail"]["email_sent"] is True


def test_the_executed_definition_passes_each_steps_result_where_the_next_state_reads_it(loop: Workflows) -> None:
    state, workflows = loop
    bus = _bus_queue(state.stack, ["NPS Follow-up Alert", "NPS Follow-up Opened"])
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 2)
    state.score()
    workflows.start_all()
    (execution,) = workflows.executions("detractor")
    follow_up_id = state.follow_up("c-det").follow_up_id

    # The team resolves, the re-survey goes out, nobody answers: the execution ends.
    assert follow_up_service().resolve(follow_up_id, note="called back")
    workflows.settle()
    workflows.advance(7 * DAY)
    workflows.advance(31 * DAY)

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    output = workflows.output(execution)
    # Each step's result sits at its ResultPath, next to the event that started the execution.
    assert output["detail"]["invite_id"] == follow_up_id.rsplit("-", 1)[0]
    assert output["follow_up"]["follow_up_id"] == follow_up_id
    assert output["follow_up"]["settings"] == {
        "email_wait_seconds": 0, "alert": True, "resolve_timeout_seconds": 3 * 86400,
        "resurvey_wait_seconds": 7 * 86400,
    }  # fmt: skip
    assert (output["email"]["status"], output["email"]["email_sent"]) == ("notified", True)
    assert output["resolution"] == {"resolution": "resolved", "note": "called back"}  # SendTaskSuccess's output
    assert output["resurvey"]["status"] == "re_surveying"
    assert output["closed"] == {"status": "resolved", "outcome": "closed"}
    # The SDK tasks sent what the paths select: the alert and the Opened detail from the steps' results.
    scheduled = {
        e["id"]: e["taskScheduledEventDetails"] for e in workflows.history(execution) if e["type"] == "TaskScheduled"
    }
    sns = json.loads(next(d["parameters"] for d in scheduled.values() if d["resourceType"] == "sns"))
    assert (sns["Subject"], sns["Message"]) == (
        output["follow_up"]["alert"]["subject"],
        output["follow_up"]["alert"]["message"],
    )
    published = {m["detail-type"]: m["detail"] for m in (json.loads(b["Body"]) for b in receive_all(bus))}
    assert published["NPS Follow-up Alert"] == output["follow_up"]["alert"]["event"]
    assert published["NPS Follow-up Opened"] == output["email"]["opened"]
    # The waits read their seconds from the steps' results (a wrong path would fail the execution).
    waits = [e for e in workflows.history(execution) if e["type"] == "WaitStateEntered"]
    assert [e["stateEnteredEventDetails"]["name"] for e in waits] == ["WaitToEmail", "WaitToResurvey", "WaitForAnswer"]


@pytest.mark.parametrize(
    ("path", "wrong"),
    [
        ("$.follow_up.follow_up_id", "$.follow_up.id"),  # a task's Parameters
        ("$.follow_up.settings.email_wait_seconds", "$.follow_up.settings.email_wait"),  # a Wait's SecondsPath
    ],
)
def test_a_definition_reading_a_path_no_step_writes_fails_its_execution(loop: Workflows, path: str, wrong: str) -> None:
    from local.workflows import local_definition, state_machine_ids, synthesized_template

    state, workflows = loop
    template = synthesized_template()
    definition = local_definition(template, state_machine_ids(template)["passive"], workflows._stand_in)
    text = json.dumps(definition)
    assert path in text
    broken = workflows.create_state_machine("passive", json.loads(text.replace(path, wrong)), name="broken-passive")
    state.send_wave([contact("c-pas")])
    state.tap(state.link("c-pas"), 7)
    state.score()
    (message,) = receive_all(state.stack.workflow_queue_urls["passive"])

    execution = workflows.start("passive", json.loads(message["Body"]), machine_arn=broken)
    workflows.advance(DAY)

    assert workflows.describe(execution)["status"] == "FAILED"


def test_a_resolved_detractor_is_resurveyed_and_the_answer_says_whether_they_moved(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 2)
    state.score()
    workflows.start_all()
    (execution,) = workflows.executions("detractor")
    aggregates_before = _responses_counted(state.stack)
    assert aggregates_before > 0

    # The team resolves the task (as a CRM would: SendTaskSuccess with the token); the wait before the
    # re-survey (resurvey_after_days) passes on the clock.
    follow_up_id = state.follow_up("c-det").follow_up_id
    assert follow_up_service().resolve(follow_up_id, note="called, refunded")
    workflows.settle()
    assert workflows.states_entered(execution)[-1] == "WaitToResurvey"
    workflows.advance(7 * DAY - timedelta(minutes=1))
    assert state.follow_up("c-det").status == "awaiting_resolution"
    workflows.advance(timedelta(minutes=1))
    assert state.follow_up("c-det").status == "re_surveying"
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
    # The answer wait ends (the link's lifetime): closing an answered follow-up changes nothing.
    workflows.advance(31 * DAY)
    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert workflows.output(execution)["closed"] == {"status": "resolved", "outcome": "re_surveyed"}
    assert state.follow_up("c-det").outcome == "re_surveyed"


def test_a_task_nobody_resolves_times_out_then_the_contact_is_resurveyed_and_closed_unanswered(
    loop: Workflows,
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 5)
    state.score()
    workflows.start_all()
    (execution,) = workflows.executions("detractor")

    workflows.advance(3 * DAY - timedelta(minutes=1))  # resolve_within_days is 3
    assert workflows.states_entered(execution)[-1] == "OpenTaskAndWait"
    workflows.advance(timedelta(minutes=1))

    history = workflows.history(execution)
    assert [e["taskTimedOutEventDetails"]["error"] for e in history if e["type"] == "TaskTimedOut"] == [
        "States.Timeout"
    ]
    assert workflows.states_entered(execution)[-2:] == ["TimedOut", "WaitToResurvey"]
    workflows.advance(7 * DAY)
    assert state.follow_up("c-det").status == "re_surveying"
    workflows.advance(31 * DAY)  # the re-survey link's lifetime, and a day

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert workflows.output(execution)["resolution"] == {"resolution": "timed_out"}
    follow_up = state.follow_up("c-det")
    assert (follow_up.outcome, follow_up.resolution, follow_up.new_score) == ("closed", "timed_out", None)
    (event,) = [e for e in lifecycle_events(state.stack) if e["detail-type"] == FOLLOW_UP_RESOLVED]
    assert event["detail"]["moved_category"] is False
    # The team resolving after the timeout changes nothing (the token's wait is over).
    assert not follow_up_service().resolve(follow_up.follow_up_id)


def test_a_suppressed_detractor_gets_no_apology_and_no_resurvey_but_the_team_still_gets_the_task(
    loop: Workflows,
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 1)
    state.score()
    DynamoSuppressionRepository(state.stack.tables["suppressions"]).suppress(
        address_hash("email", "c-det@example.com", state.stack.id_key),
        SuppressionReason.UNSUBSCRIBED,
        "2026-11-24T00:00:00Z",
    )

    workflows.start_all()
    workflows.advance(10 * DAY)

    follow_up = state.follow_up("c-det")
    assert (follow_up.email_sent, follow_up.email_reason) == (False, "suppressed")
    assert len(emails_to("c-det@example.com")) == 1  # the invite only
    assert [t["type"] for t in tasks(state.stack)] == ["follow_up_opened"]
    assert follow_up.outcome == "suppressed"
    (execution,) = workflows.executions("detractor")
    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert "WaitForAnswer" not in workflows.states_entered(execution)


def test_a_retracted_answer_closes_its_follow_up_and_ends_the_wait(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 0)
    state.score()
    workflows.start_all()
    (execution,) = workflows.executions("detractor")
    follow_up = state.follow_up("c-det")
    tasks(state.stack)

    # Late evidence: the answer was a mail scanner's (the score function publishes the retraction)
    retraction = {
        "source": "nps",
        "detail-type": "NPS Response Retracted",
        "detail": _retracted(follow_up),
    }
    _consume(state.stack, [retraction])
    workflows.settle()

    closed = state.follow_up("c-det")
    assert (closed.status, closed.outcome) == ("resolved", "retracted")
    assert [t["type"] for t in tasks(state.stack)] == ["follow_up_cancelled"]
    assert workflows.states_entered(execution)[-1] == "WaitToResurvey"
    workflows.advance(7 * DAY)
    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    output = workflows.output(execution)
    assert output["resolution"] == {"resolution": "retracted"}
    assert output["resurvey"] == {"status": "resolved", "outcome": "retracted"}  # nothing to re-survey
    assert [link for link in sent_links(state.stack) if "fu-" in link.invite_id] == []


def test_a_comment_after_the_task_opened_is_appended_and_sent_to_the_team(loop: Workflows) -> None:
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


def test_a_retraction_between_the_email_and_the_task_ends_the_workflow_without_a_task(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 1)
    state.score()
    workflows.use_step_handler(_retracted_before(state, "open_task"))

    workflows.start_all()

    (execution,) = workflows.executions("detractor")
    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    # The step raised FollowUpClosed: not retried, caught, the workflow ends at Done.
    failures = [e for e in workflows.history(execution) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["FollowUpClosed"]
    assert workflows.states_entered(execution)[-2:] == ["OpenTaskAndWait", "Done"]
    assert workflows.output(execution)["closed"]["Error"] == "FollowUpClosed"
    assert tasks(state.stack) == []
    assert state.follow_up("c-det").outcome == "retracted"


def test_a_retraction_before_the_email_ends_the_workflow_without_an_email(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 1)
    state.score()
    workflows.use_step_handler(_retracted_before(state, "email"))

    workflows.start_all()

    (execution,) = workflows.executions("detractor")
    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert workflows.states_entered(execution)[-3:] == ["Email", "StillOpen", "Done"]
    assert workflows.output(execution)["email"]["status"] == "resolved"
    assert [e for e in emails_to("c-det@example.com") if not e.score_links] == []
    assert tasks(state.stack) == []
    assert [e["detail-type"] for e in lifecycle_events(state.stack)] == [FOLLOW_UP_RESOLVED]


def _retracted_before(state: Loop, action: str) -> Any:
    """The follow-up function, with the answer's retraction (a scanner's, found late) landing just before
    the step named ``action``."""

    def step(event: dict[str, Any], context: Any) -> Any:
        if event.get("action") == action:
            with as_outside_world():  # the test reads the follow-up and delivers the event, not the workflow
                follow_up = state.follow_up("c-det")
                _consume(state.stack, [{"source": "nps", "detail-type": "NPS Response Retracted",
                                        "detail": _retracted(follow_up)}])  # fmt: skip
        return follow_up_handler.lambda_handler(event, context)

    return step


# -- promoters and passives ---------------------------------------------------------------------------
def ledger_markers(stack: LocalStack, invite_id: str) -> InviteMarkers:
    return DynamoReferralLedger(stack.tables["accounts"], stack.tables["aggregates"]).markers(invite_id)


def test_promoters_get_a_thank_you_with_the_surveys_referral_and_review_links(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pro", locale="de")])
    state.tap(state.link("c-pro"), 10)
    state.score()

    workflows.start_all()
    assert [e for e in emails_to("c-pro@example.com") if not e.score_links] == []  # email_delay_minutes: 60
    workflows.advance(timedelta(hours=1))

    (thanks,) = [e for e in emails_to("c-pro@example.com") if not e.score_links]
    assert thanks.subject == "Vielen Dank von Acme Cloud"
    # The links are signed redirects (/g/<token>): the addresses stay in the survey definition
    referral_token, review_token = re.findall(r"/g/([A-Za-z0-9_.~-]+)", thanks.text)
    assert REFERRAL not in thanks.text
    assert REVIEW not in thanks.text
    assert f"/g/{referral_token}" in thanks.html
    assert f"/g/{review_token}" in thanks.html
    # The ask was recorded once on the promoter's cohort, and the referral link leads to the survey's address
    assert ledger_markers(state.stack, state.follow_up("c-pro").invite_id).asked_at is not None
    referral_handler.service.cache_clear()
    with as_outside_world():
        followed = people.click(referral_token, {"user-agent": people.BROWSER["user-agent"]})
    assert followed["statusCode"] == 303
    assert followed["headers"]["Location"] == REFERRAL
    markers = ledger_markers(state.stack, state.follow_up("c-pro").invite_id)
    assert markers.clicked == {"referral"}
    assert state.follow_up("c-pro").status == "done"
    assert tasks(state.stack) == []
    (execution,) = workflows.executions("promoter")
    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert workflows.states_entered(execution) == [
        "Open", "Opened", "WaitToEmail", "Email", "StillOpen", "PublishOpened", "Done"
    ]  # fmt: skip


def test_passives_are_asked_what_would_make_it_a_10_with_the_surveys_own_subject(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pas")])
    state.tap(state.link("c-pas"), 8)
    state.score()

    workflows.start_all()
    workflows.advance(timedelta(hours=1))

    (ask,) = [e for e in emails_to("c-pas@example.com") if not e.score_links]
    assert ask.subject == "Tell us what is missing"
    assert "What one thing would make Acme Cloud a 10 for you?" in ask.text
    assert tasks(state.stack) == []
    assert workflows.statuses() == {"SUCCEEDED": 1}


def test_a_redelivered_start_event_sends_nothing_twice(loop: Workflows) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pro")])
    state.tap(state.link("c-pro"), 9)
    state.score()
    (message,) = receive_all(state.stack.workflow_queue_urls["promoter"])
    event = json.loads(message["Body"])

    first = workflows.start("promoter", event)
    again = workflows.start("promoter", event)  # EventBridge delivered it twice: a second execution
    workflows.advance(timedelta(hours=1))

    assert workflows.output(again)["follow_up"]["status"] == "duplicate"
    assert workflows.states_entered(again)[-1] == "NothingToFollowUp"
    assert workflows.states_entered(first)[-1] == "Done"
    assert len([e for e in emails_to("c-pro@example.com") if not e.score_links]) == 1


def test_a_survey_can_switch_a_category_off(platform: LocalStack) -> None:
    survey = {**SURVEY, "follow_ups": {"promoter": {"enabled": False}, "detractor": {"email": False}}}
    state = Loop(platform, survey)
    with handlers(state.clock), follow_up_workflows(platform, state.clock) as workflows:
        follow_up_service().clock = state.clock
        state.send_wave([contact("c-pro"), contact("c-det")])
        state.tap(state.link("c-pro"), 10)
        state.tap(state.link("c-det"), 2)
        state.score()
        workflows.start_all()
        (promoter,) = workflows.executions("promoter")
        assert workflows.output(promoter)["follow_up"]["status"] == "disabled"

    follow_up = state.follow_up("c-det")
    assert (follow_up.email_sent, follow_up.email_reason) == (False, "switched_off")
    assert [t["type"] for t in tasks(platform)] == ["follow_up_opened"]  # the team still follows up
    assert [e for e in captured_emails() if not e.score_links] == []


# -- failures -----------------------------------------------------------------------------------------


def test_a_transient_ses_failure_is_retried_by_the_workflow_and_the_retry_sends_once(
    loop: Workflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-pas")])
    state.tap(state.link("c-pas"), 7)
    state.score()
    service = follow_up_service()
    real = service.mailer

    class ThrottledOnce:
        calls = 0

        def send_email(self, **kwargs: Any) -> str:
            self.calls += 1
            if self.calls == 1:
                raise SendError("ses: Throttling", retryable=True)
            return str(real.send_email(**kwargs))

    monkeypatch.setattr(service, "mailer", ThrottledOnce())
    workflows.start_all()
    workflows.advance(timedelta(hours=1))  # email_delay_minutes; the step fails, the retry waits its back-off
    (execution,) = workflows.executions("passive")
    assert workflows.states_entered(execution)[-1] == "Email"
    assert [e for e in emails_to("c-pas@example.com") if not e.score_links] == []
    workflows.advance(timedelta(seconds=2))  # IntervalSeconds 2, full jitter

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    history = workflows.history(execution)
    outcomes = [e["type"] for e in history if e["type"] in ("LambdaFunctionSucceeded", "LambdaFunctionFailed")]
    assert outcomes == ["LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionSucceeded"]
    (failed,) = [e["lambdaFunctionFailedEventDetails"] for e in history if e["type"] == "LambdaFunctionFailed"]
    assert failed["error"] == "SendError"  # the handler's exception type, matched by the States.TaskFailed retrier
    assert workflows.output(execution)["email"]["email_sent"] is True
    assert len([e for e in emails_to("c-pas@example.com") if not e.score_links]) == 1


def test_a_permanent_ses_failure_is_recorded_and_the_workflow_goes_on(
    loop: Workflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 6)
    state.score()

    class Rejected:
        def send_email(self, **kwargs: Any) -> str:
            raise SendError("ses: MessageRejected", retryable=False)

    monkeypatch.setattr(follow_up_service(), "mailer", Rejected())
    workflows.start_all()

    (execution,) = workflows.executions("detractor")
    assert workflows.states_entered(execution)[-1] == "OpenTaskAndWait"
    follow_up = state.follow_up("c-det")
    assert (follow_up.email_sent, follow_up.email_reason) == (False, "ses: MessageRejected")
    (opened,) = lifecycle_events(state.stack)
    assert opened["detail"]["email_sent"] is False
    assert [t["type"] for t in tasks(state.stack)] == ["follow_up_opened"]


def test_a_contract_breaking_start_event_is_not_retried_but_parked_with_its_input_and_the_execution_fails(
    loop: Workflows,
) -> None:
    state, workflows = loop
    event = {"source": "nps", "detail-type": "NPS Response Scored", "detail": {"score": 3}}

    execution = workflows.start("detractor", event)

    assert workflows.describe(execution)["status"] == "FAILED"
    history = workflows.history(execution)
    failures = [e["lambdaFunctionFailedEventDetails"]["error"] for e in history if e["type"] == "LambdaFunctionFailed"]
    assert failures == ["InvalidFollowUpEvent"]  # MaxAttempts 0: no retry
    assert workflows.states_entered(execution) == ["Open", "ParkInDeadLetterQueue", "Failed"]
    (failed,) = [e["executionFailedEventDetails"] for e in history if e["type"] == "ExecutionFailed"]
    assert failed["error"] == "FollowUpFailed"
    (parked,) = receive_all(state.stack.workflow_dead_letters_url)
    body = json.loads(parked["Body"])
    assert body["execution"] == execution
    assert body["state_machine"] == f"{state.stack.prefix}-detractor-follow-up"
    assert body["input"] == event
    assert body["error"]["Error"] == "InvalidFollowUpEvent"
    assert "ResponseScoredDetail" in body["error"]["Cause"]


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


def test_the_consumer_parks_contract_breaking_events_in_its_dlq_and_handles_the_rest(loop: Workflows) -> None:
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


# -- whose calls they are ---------------------------------------------------------------------------


def test_the_state_machines_sdk_calls_are_its_own_and_its_steps_calls_the_functions(loop: Workflows) -> None:
    import boto3

    from local.principals import current_principal

    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 3)
    state.score()
    calls: list[tuple[str | None, str]] = []

    def record(event_name: str, **_: Any) -> None:
        calls.append((current_principal(), event_name.removeprefix("before-call.")))

    # The interpreter creates its clients from the default session; the handlers' cached clients are
    # created again after the hook is registered.
    boto3._get_default_session().events.register("before-call", record)
    aws.reset_clients()
    try:
        workflows.start_all()
    finally:
        boto3._get_default_session().events.unregister("before-call", record)
        aws.reset_clients()

    by_principal: dict[str | None, set[str]] = {}
    for principal, call in calls:
        by_principal.setdefault(principal, set()).add(call)
    assert {"sns.Publish", "eventbridge.PutEvents", "lambda.Invoke"} <= by_principal["state-machine:detractor"]
    assert {"sfn.StartExecution"} == by_principal["rule:detractor"]
    assert {"dynamodb.PutItem", "ses.SendRawEmail", "sqs.SendMessage"} <= by_principal["function:follow_up"]
    assert not {"sns.Publish", "lambda.Invoke"} & by_principal.get("function:follow_up", set())


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
    loop: tuple[Loop, LocalWorkflows], capsys: pytest.CaptureFixture[str]
) -> None:
    from nps.cli.main import main as cli

    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 3)
    state.score()
    workflows.start_all()
    (execution,) = workflows.executions("detractor")
    follow_up_id = state.follow_up("c-det").follow_up_id

    def run(*argv: str) -> int:
        return cli(["--local", "--prefix", "test", "follow-up", *argv], in_process=True)

    assert run("show", follow_up_id) == 0
    out = capsys.readouterr().out  # the functions' JSON logs come first (Lambda's stdout)
    shown = json.loads(out[out.index('{\n  "follow_up_id"') :])
    assert (shown["status"], shown["score"]) == ("awaiting_resolution", 3)
    assert "task_token" not in shown
    assert run("resolve", follow_up_id, "--note", "called back") == 0  # SendTaskSuccess with the task token
    workflows.settle()
    (succeeded,) = [e["taskSucceededEventDetails"] for e in workflows.history(execution) if e["type"] == "TaskSucceeded"
                    and e["taskSucceededEventDetails"]["resource"] == "invoke.waitForTaskToken"]  # fmt: skip
    assert json.loads(succeeded["output"]) == {"resolution": "resolved", "note": "called back"}
    assert workflows.states_entered(execution)[-1] == "WaitToResurvey"
    assert run("show", "inv-nothing-1") == 1
    assert run("resolve", "not-a-follow-up") == 1


def _bus_queue(stack: LocalStack, detail_types: list[str]) -> str:
    """A subscriber's queue for these detail types on the platform's bus."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url: str = sqs.create_queue(QueueName="bus-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["nps"], "detail-type": detail_types}
    events.put_rule(Name="bus-subscriber", EventBusName=stack.bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="bus-subscriber", EventBusName=stack.bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def test_a_spam_complaint_about_a_follow_up_email_suppresses_and_publishes_the_contacts_unsubscribe(
    loop: Workflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.suppress import handler as suppress
    from tests.support.reliability import route_events_to_queue

    # Given a passive's follow-up email, sent with the tags SES will copy into its feedback
    state, workflows = loop
    state.send_wave([contact("c-spam")])
    state.tap(state.link("c-spam"), 7)
    state.score()
    service = follow_up_service()
    real, sent_tags = service.mailer, []

    class Recording:
        def send_email(self, **kwargs: Any) -> str:
            sent_tags.append(kwargs["tags"])
            return str(real.send_email(**kwargs))

    monkeypatch.setattr(service, "mailer", Recording())
    workflows.start_all()
    workflows.advance(timedelta(hours=1))
    (tags,) = sent_tags
    follow_up = state.follow_up("c-spam")
    assert tags == {
        "invite_id": follow_up.invite_id,
        "survey_id": follow_up.survey_id,
        "contact_id": "c-spam",
        "follow_up_id": follow_up.follow_up_id,
        "follow_up": "passive",
    }
    unsubscribed = route_events_to_queue(state.stack, "unsubscribed", ["NPS Contact Unsubscribed"])
    # When the person marks it as spam (an abuse report)
    notification = {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "c-spam@example.com"}],
            "complaintFeedbackType": "abuse",
        },
        "mail": {"tags": {name: [value] for name, value in tags.items()}},
    }
    assert suppress.lambda_handler({"Records": [{"Sns": {"Message": json.dumps(notification)}}]}, LambdaContext()) == {
        "handled": ["complaint"]
    }
    # Then the address is suppressed and NPS Contact Unsubscribed names the contact and the answered invite
    assert DynamoSuppressionRepository(state.stack.tables["suppressions"]).is_suppressed(
        address_hash("email", "c-spam@example.com", state.stack.id_key)
    )
    (event,) = [json.loads(m["Body"]) for m in receive_all(unsubscribed)]
    assert {k: event["detail"][k] for k in ("contact_id", "invite_id", "method")} == {
        "contact_id": "c-spam",
        "invite_id": follow_up.invite_id,
        "method": "complaint",
    }


@pytest.mark.parametrize("retracted_first", [False, True])
def test_erasing_a_detractor_stops_its_waiting_workflow_which_then_neither_fails_nor_resurveys(
    loop: Workflows, retracted_first: bool
) -> None:
    from functions.erase_contact import handler as erase_handler

    # Given a detractor whose workflow waits for the team's resolution ...
    state, workflows = loop
    state.send_wave([contact("c-det")])
    state.tap(state.link("c-det"), 2)
    state.score()
    workflows.start_all()
    (execution,) = workflows.executions("detractor")
    assert state.follow_up("c-det").status == "awaiting_resolution"
    if retracted_first:
        # ... or, its answer retracted, waits to re-survey with its follow-up resolved
        follow_up = state.follow_up("c-det")
        _consume(
            state.stack, [{"source": "nps", "detail-type": "NPS Response Retracted", "detail": _retracted(follow_up)}]
        )
        workflows.settle()
        assert workflows.states_entered(execution)[-1] == "WaitToResurvey"
        assert state.follow_up("c-det").status == "resolved"
    sent_before = len(captured_emails())
    # When the contact is erased through the API
    erase_handler.service.cache_clear()
    erase_handler.service().sleep = lambda seconds: None
    event = http_event("POST", "/contacts/c-det/erasure")
    event["pathParameters"] = {"contact_id": "c-det"}
    try:
        result = erase_handler.lambda_handler(event, LambdaContext("erase_contact"))
    finally:
        erase_handler.service.cache_clear()
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["counts"]["follow_ups"] == 1
    # Then the workflow is stopped (aborted, not failed: no alarm), and stays so past every wait
    workflows.settle()
    assert workflows.describe(execution)["status"] == "ABORTED"
    workflows.advance(30 * DAY)
    assert workflows.describe(execution)["status"] == "ABORTED"
    # And nothing was parked in the workflow DLQ, nor any re-survey sent
    assert receive_all(state.stack.workflow_dead_letters_url) == []
    assert len(captured_emails()) == sent_before
