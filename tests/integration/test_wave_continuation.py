"""A wave planned over several planner invocations on moto, through the real handler and adapters.

Each invocation here has 30 s left before its timeout, under the planner's 60 s reserve, so it plans one
page and hands the rest to a continuation on the planning queue; one invocation dies in the middle of a
page. Every call the planner makes on the way is checked against its role in the synthesized template.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.planner import handler as planner
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, sqs_record
from nps.cli import programs
from nps.cli.common import CliError
from nps.cli.target import Target
from nps.kernel import aws
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.planning import MAILBOX_CLAIM_PREFIX
from tests.permissions.session import RECORDER

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONTACTS = 120
PAGE = 25


class NearTimeout(LambdaContext):
    """An invocation with 30 s left: less than the planner's reserve, so one page per invocation."""

    def __init__(self) -> None:
        super().__init__("planner")

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return 30_000


class Crash(RuntimeError):
    """The invocation died in the middle of a page."""


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        planner.planner().page_size = PAGE
        yield clock


def continuations(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.sending is not None
    messages: list[dict[str, Any]] = (
        aws.client("sqs")
        .receive_message(QueueUrl=stack.sending.planning_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        .get("Messages", [])
    )
    return messages


def deliver(stack: LocalStack, message: dict[str, Any]) -> dict[str, Any]:
    """The planning queue's event source: invoke the planner with the message, delete it if that succeeded."""
    assert stack.sending is not None
    event = {"Records": [sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:planning")]}
    result: dict[str, Any] = planner.lambda_handler(event, NearTimeout())
    aws.client("sqs").delete_message(QueueUrl=stack.sending.planning_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return result


def test_a_wave_continues_across_invocations_and_a_crash_mid_page_invites_nobody_twice(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a survey whose audience is 120 contacts (two of them share one mailbox, on different pages)
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    header = "contact_id,email,phone,time_zone,locale,plan,region\n"
    rows = [f"contact-{i:04d},person{i}@example.com,,Europe/Berlin,en,pro,emea\n" for i in range(CONTACTS - 1)]
    ds.import_csv(platform, header + "".join(rows))
    # (a later file adds the last contact: one file may not repeat an address)
    last = f"contact-{CONTACTS - 1:04d},PERSON0@Example.com,,Europe/Berlin,en,pro,emea\n"
    assert ds.import_csv(platform, header + last, name="late.csv")["imported"] == 1
    with RECORDER.capture() as uses:
        # When the schedule fires in an invocation near its timeout
        started = planner.lambda_handler(
            {"action": "wave", "survey_id": ds.SURVEY_ID, "scheduled_time": START.isoformat()}, NearTimeout()
        )
        # Then it planned one page and queued a continuation of its run
        assert started["pages"] == 1
        assert not started["complete"]
        (message,) = continuations(platform)
        assert json.loads(message["Body"]) == {
            "action": "wave_continue",
            "survey_id": ds.SURVEY_ID,
            "wave_id": started["wave_id"],
            "run": 1,
        }
        # When the next invocation dies after writing 10 invites of its page
        original = DynamoInviteLifecycle.record_planned

        def dies_mid_page(self: DynamoInviteLifecycle, planned: Any, *args: Any) -> Any:
            original(self, planned[:10], *args)
            raise Crash("timed out mid-page")

        monkeypatch.setattr(DynamoInviteLifecycle, "record_planned", dies_mid_page)
        with pytest.raises(Crash):
            planner.lambda_handler(
                {"Records": [sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:planning")]}, NearTimeout()
            )
        monkeypatch.setattr(DynamoInviteLifecycle, "record_planned", original)
        # And SQS delivers that message again, and every continuation after it, until none is left
        reports = []
        for _ in range(20):
            pending = continuations(platform)
            if not pending:
                break
            reports.extend(deliver(platform, pending[0])["waves"])
    # Then the run finished after one page per invocation
    assert reports[-1]["complete"]
    assert [r["pages"] for r in reports] == [1] * len(reports)
    assert reports[-1]["run_pages"] == -(-CONTACTS // PAGE)
    # And every contact has at most one invite; the replayed page found the 10 the crash left behind
    invites = ds.invite_items(platform)
    per_contact = Counter(item["contact_id"]["S"] for item in invites)
    assert max(per_contact.values()) == 1
    assert reports[-1]["already_planned"] == 10
    assert reports[-1]["contacts"] == CONTACTS
    assert reports[-1]["invites"] == len(invites)
    # And the mailbox shared by the first and the last contact was invited once
    assert reports[-1]["skipped"].get("same_address") == 1
    assert "contact-0000" in per_contact
    assert f"contact-{CONTACTS - 1:04d}" not in per_contact
    # And the claims hold no address
    claims = [
        item
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=platform.tables["invites"])
        for item in page["Items"]
        if item["invite_id"]["S"].startswith(MAILBOX_CLAIM_PREFIX)
    ]
    assert claims
    assert all("@" not in json.dumps(item) for item in claims)
    # And the planner's role allows every call it made: progress, claims, invites and continuations
    planned = [(u.action, u.resource) for u in uses if u.principal == "function:planner"]
    assert any(a == "sqs:SendMessage" and "SendingPlanningQueue" in r for a, r in planned)
    assert any(a == "dynamodb:UpdateItem" and "StorageSurveys" in r for a, r in planned)
    assert RECORDER.violations(uses) == []


def test_a_schedule_redriven_from_the_dead_letter_queue_to_the_planning_queue_plans_its_wave(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a schedule's input parked in the planner's dead-letter queue, for a survey of 30 contacts
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    rows = "".join(f"contact-{i:04d},person{i}@example.com,,Europe/Berlin,en,pro,emea\n" for i in range(30))
    ds.import_csv(platform, "contact_id,email,phone,time_zone,locale,plan,region\n" + rows)
    parked = {"action": "wave", "survey_id": ds.SURVEY_ID, "scheduled_time": START.isoformat()}
    # When it is redriven to the planning queue and delivered to the planner, then its continuation
    assert platform.sending is not None
    aws.client("sqs").send_message(QueueUrl=platform.sending.planning_queue_url, MessageBody=json.dumps(parked))
    reports = []
    for _ in range(5):
        pending = continuations(platform)
        if not pending:
            break
        reports.extend(deliver(platform, pending[0])["waves"])
    # Then the wave was planned from there, one page per invocation, every contact once
    assert reports[-1]["complete"]
    assert reports[-1]["invites"] == 30
    assert len(reports) == 2
    assert len(ds.invite_items(platform)) == 30


def test_nps_wave_start_on_a_stack_hands_the_wave_to_the_planner_and_wave_show_follows_it(
    platform: LocalStack, clock: ds.Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a survey of 30 contacts on a stack target (not the local environment) with a planning queue
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    rows = "".join(f"contact-{i:04d},person{i}@example.com,,Europe/Berlin,en,pro,emea\n" for i in range(30))
    ds.import_csv(platform, "contact_id,email,phone,time_zone,locale,plan,region\n" + rows)
    assert platform.sending is not None
    stack = Target(
        "stack Nps-test",
        dict(platform.tables),
        outputs={
            "PlanningQueueUrl": platform.sending.planning_queue_url,
            "SendQueueUrl": platform.sending.send_queue_url,
        },
    )
    capsys.readouterr()
    # When the team starts a wave with the CLI
    assert programs._with(stack, lambda: programs.start_wave(ds.SURVEY_ID, stack)) == 0
    started = json.loads(capsys.readouterr().out)
    # Then nothing was planned in the CLI's process: the planner got the wave on its planning queue
    assert started["planning"] == "queued"
    assert ds.invite_items(platform) == []
    (message,) = continuations(platform)
    assert json.loads(message["Body"])["action"] == "wave"
    # And the planner plans it in checkpointed invocations, every contact once
    reports = []
    for _ in range(5):
        pending = continuations(platform)
        if not pending:
            break
        reports.extend(deliver(platform, pending[0])["waves"])
    assert reports[-1]["complete"]
    assert reports[-1]["wave_id"] == started["wave_id"]
    assert len(ds.invite_items(platform)) == 30
    # And `nps wave show` reports the finished run
    capsys.readouterr()
    assert programs._with(stack, lambda: programs.show_wave(ds.SURVEY_ID, started["wave_id"])) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["complete"] is True
    assert shown["invites"] == 30
    assert shown["run"] == 1
    # And an unknown survey or wave is one clear error, nothing queued
    with pytest.raises(CliError, match="no survey 'nope'"):
        programs._with(stack, lambda: programs.start_wave("nope", stack))
    with pytest.raises(CliError, match="no wave 'w-1'"):
        programs._with(stack, lambda: programs.show_wave(ds.SURVEY_ID, "w-1"))
    assert continuations(platform) == []
