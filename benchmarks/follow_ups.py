"""Follow-up steps in-process on moto: time per follow-up vs the AWS calls it cannot avoid.

A promoter's workflow runs two Lambda steps: ``open`` (reads the survey, the response, the invite and
the contact; creates the follow-up) and ``email`` (checks suppression, claims the email, renders the
thank-you with its referral link, sends it through SES, records the outcome). Each follow-up here runs
both steps through the real follow-up function. Baseline, in the same run and on the same moto: the
very AWS calls those steps made (recorded by a botocore hook, by service and operation), replayed
directly with minimal arguments. The ratio is what the steps add (validation, rendering, MIME, logging).
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.report import Figure


@dataclass(frozen=True, slots=True)
class FollowUpResult:
    figure: Figure
    calls_per_follow_up: dict[str, float]


def run(follow_ups: int = 150) -> FollowUpResult:
    from local.environment import create_stack, prepare_process_environment

    prepare_process_environment()
    from moto import mock_aws

    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
        return _run(create_stack("nps-bench-fu"), follow_ups)


def _run(stack: Any, count: int) -> FollowUpResult:
    from functions.follow_up import handler
    from local.lambda_events import LambdaContext
    from nps.kernel import aws

    handler.logger.setLevel("WARNING")
    events = _seed(stack, count + 5)
    context = LambdaContext("follow-up")
    calls: Counter[str] = Counter()

    def record(event_name: str, **_: Any) -> None:
        calls[event_name.removeprefix("before-call.")] += 1

    # The send client (one attempt, no retries) is a client of its own: its calls are counted too.
    clients = [aws.client(s) for s in ("dynamodb", "ses", "sqs", "events", "secretsmanager")] + [aws.send_client("ses")]
    for client in clients:
        client.meta.events.register("before-call", record)
    times: list[float] = []
    for index, event in enumerate(events):
        if index == 5:
            calls.clear()  # the first five warm caches (keyring, survey, templates): not counted
        started = time.perf_counter()
        opened = handler.lambda_handler({"action": "open", "event": event, "execution": f"e{index}"}, context)
        result = handler.lambda_handler({"action": "email", "follow_up_id": opened["follow_up_id"]}, context)
        if index >= 5:
            times.append(time.perf_counter() - started)
        assert result["email_sent"], result
    for client in clients:
        client.meta.events.unregister("before-call", record)
    per_follow_up = {name: n / count for name, n in sorted(calls.items())}
    baseline = _replay(stack, per_follow_up, count)
    measured_ms = statistics.median(times) * 1e3
    figure = Figure(
        name="promoter follow-up (open + email steps) on moto",
        unit="ms",
        measured=measured_ms,
        baseline_name="its AWS calls made directly",
        baseline=baseline,
        direction="min",
        detail={"follow_ups": count, "calls_per_follow_up": per_follow_up},
    )
    return FollowUpResult(figure, per_follow_up)


def _seed(stack: Any, count: int) -> list[dict[str, Any]]:
    """A survey, contacts, sent invites and counted answers; returns one Scored event per answer."""
    from nps.events.models import ResponseScoredDetail
    from nps.kernel import aws
    from nps.kernel.categories import Category
    from nps.kernel.periods import iso_timestamp
    from nps.sending.adapters.contacts import DynamoContactRepository
    from nps.sending.adapters.invites import DynamoInviteLifecycle
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.sending.contacts import Contact
    from nps.sending.planning import PlannedInvite
    from nps.sending.surveys import Survey

    survey = Survey.model_validate(
        {
            "survey_id": "bench",
            "name": "Benchmark",
            "brand_name": "Acme Cloud",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "quiet_hours": {"start": "03:00", "end": "03:00:01"},
            "follow_ups": {"promoter": {"email_delay_minutes": 0, "referral_url": "https://acme.example/refer"}},
        }
    )
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    contacts = DynamoContactRepository(stack.tables["contacts"])
    invites = DynamoInviteLifecycle(stack.tables["invites"], stack.tables["aggregates"], stack.tables["contacts"])
    now = datetime.now(UTC)
    events = []
    for index in range(count):
        contact_id, invite_id = f"c-{index:05d}", f"inv-{index:05d}"
        contacts.upsert(Contact(contact_id=contact_id, email=f"{contact_id}@example.com"))
        planned = PlannedInvite(invite_id, "bench", "wave-1", contact_id, "default", "email", "en", {}, now)
        invites.record_planned([planned], 2_000_000_000, 2_100_000_000, now)
        answered = iso_timestamp(now - timedelta(minutes=5))
        aws.client("dynamodb").put_item(
            TableName=stack.tables["responses"],
            Item={
                "invite_id": {"S": invite_id},
                "score": {"N": "10"},
                "counted": {"BOOL": True},
                "version": {"N": "1"},
                "first_answered_at": {"S": answered},
            },
        )
        detail = ResponseScoredDetail(
            event_id=f"{invite_id}:1",
            survey_id="bench",
            wave_id="wave-1",
            invite_id=invite_id,
            contact_id=contact_id,
            channel="email",
            locale="en",
            segments={},
            score=10,
            category=Category.PROMOTER,
            category_changed=False,
            category_entered=True,
            version=1,
            first_answered_at=now,
            answered_at=now,
        )
        events.append({"source": "nps", "detail-type": "NPS Response Scored", "detail": detail.model_dump(mode="json")})
    return events


def _replay(stack: Any, per_follow_up: dict[str, float], count: int) -> float:
    """Median time of one follow-up's worth of the recorded calls, made directly (minimal arguments)."""
    from nps.kernel import aws

    dynamodb, table = aws.client("dynamodb"), stack.tables["followups"]
    raw = b"From: surveys@example.com\r\nTo: x@example.com\r\nSubject: x\r\n\r\nx\r\n"
    state = {"n": 0}

    def key() -> dict[str, Any]:
        return {"invite_id": {"S": "bench-baseline"}, "follow_up_id": {"S": f"bench-baseline-{state['n']}"}}

    def put() -> None:
        state["n"] += 1
        dynamodb.put_item(TableName=table, Item={**key(), "status": {"S": "opened"}})

    operations: dict[str, Callable[[], object]] = {
        "dynamodb.GetItem": lambda: dynamodb.get_item(TableName=table, Key=key(), ConsistentRead=True),
        "dynamodb.PutItem": put,
        "dynamodb.UpdateItem": lambda: dynamodb.update_item(
            TableName=table, Key=key(), UpdateExpression="SET x = :x", ExpressionAttributeValues={":x": {"N": "1"}}
        ),
        "dynamodb.Query": lambda: dynamodb.query(
            TableName=table,
            KeyConditionExpression="invite_id = :i",
            ExpressionAttributeValues={":i": {"S": "bench-baseline"}},
        ),
        "dynamodb.TransactWriteItems": lambda: dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": key(),
                        "UpdateExpression": "SET x = :x",
                        "ExpressionAttributeValues": {":x": {"N": "1"}},
                    }
                }
            ]
        ),
        "ses.SendRawEmail": lambda: aws.client("ses").send_raw_email(
            Source="surveys@example.com", Destinations=["x@example.com"], RawMessage={"Data": raw}
        ),
    }
    plan = [name for name, per in per_follow_up.items() for _ in range(round(per))]
    unknown = [name for name in plan if name not in operations]
    if unknown:
        raise RuntimeError(f"no baseline for {unknown}")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        for name in plan:
            operations[name]()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e3
