"""Faults: throttled DynamoDB, EventBridge dropping entries, poisoned stream records, throttled SES.

Each fault is injected at the boto3 client the function really uses (``nps.kernel.aws.client(...)``), on
moto. Whatever happens, an answer is retried or parked with its reason, never lost, never counted twice.
The deployment settings that make the retries happen (bisecting, partial batch responses, the
on-failure destination) are read from the CDK app.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from functions.respond import handler as respond
from functions.score import handler as score
from local import demo_sending as ds
from local.environment import LocalStack, StreamReader
from nps.events.publisher import EventPublishError
from nps.kernel import aws
from nps.scoring.adapters.aggregates import CommitFailed, DynamoAggregateStore
from tests.support.reliability import (
    aggregate_counts,
    drain,
    expected_counts,
    recount,
    route_events_to_queue,
    run_score,
)
from tests.support.taps import issue_invite

pytestmark = pytest.mark.reliability


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def answer(stack: LocalStack, count: int, *, days_apart: int = 0) -> list[dict[str, Any]]:
    """``count`` invites answered once each (``days_apart`` days between answers); their stream records."""
    start = datetime.now(UTC) - timedelta(days=days_apart * count)
    for n in range(count):
        invite = issue_invite(
            stack,
            f"inv-{n:02d}",
            channel="sms" if n % 3 == 0 else "email",
            segments={"plan": ("pro", "free")[n % 2], "region": ("emea", "amer")[n % 4 // 2]},
            sent_seconds_ago=days_apart * count * 86_400 + 600,
            lifetime_seconds=86_400,
        )
        at(start + timedelta(days=days_apart * n))
        assert invite.tap((n * 7) % 11)["statusCode"] == 200
    at(None)
    return StreamReader(stack.stream_arns["responses"]).read_records()


def at(moment: datetime | None) -> None:
    """Set the respond function's clock (``None``: the real time again)."""
    respond.service().clock = (lambda: moment) if moment else (lambda: datetime.now(UTC))


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@pytest.fixture
def sleeps(platform: LocalStack, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff pauses of the score function's aggregate store and event publisher, recorded not slept."""
    recorded: list[float] = []
    monkeypatch.setattr(score.service().store, "sleep", recorded.append)
    monkeypatch.setattr(score.service().publisher, "sleep", recorded.append)
    return recorded


def throttling(client: Any, kind: str, items: int) -> Exception:
    """The exception DynamoDB raises for a throttled ``TransactWriteItems`` of ``items`` items."""
    if kind == "ThrottlingError":
        reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table"}]
        reasons += [{"Code": "None"}] * (items - 1)
        error: Exception = client.exceptions.TransactionCanceledException(
            {
                "Error": {
                    "Code": "TransactionCanceledException",
                    "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                },
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )
        return error
    error = client.exceptions.ProvisionedThroughputExceededException(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds"}},
        "TransactWriteItems",
    )
    return error


class Fault:
    """An injected fault: ``log`` records what each call did; ``heal()`` gives the client back its method."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: Any, method: str) -> None:
        self.monkeypatch = monkeypatch
        self.client = client
        self.method = method
        self.real: Any = getattr(client, method)
        self.log: list[Any] = []

    def install(self, replacement: Callable[..., Any]) -> Fault:
        self.monkeypatch.setattr(self.client, self.method, replacement)
        return self

    def heal(self) -> None:
        self.monkeypatch.setattr(self.client, self.method, self.real)


def failing_transactions(monkeypatch: pytest.MonkeyPatch, fails: Callable[[int], str | None]) -> Fault:
    """Patch the DynamoDB client's ``transact_write_items``: call ``n`` (from 1) raises the throttling
    error ``fails(n)`` names, or goes to moto when it names none."""
    client = aws.client("dynamodb")
    fault = Fault(monkeypatch, client, "transact_write_items")
    calls: list[str] = fault.log

    def transact_write_items(**kwargs: Any) -> Any:
        kind = fails(len(calls) + 1)
        calls.append(kind or "ok")
        if kind:
            raise throttling(client, kind, len(kwargs["TransactItems"]))
        return fault.real(**kwargs)

    return fault.install(transact_write_items)


# --------------------------------------------------------------------------------------------------
# DynamoDB throttling during the aggregate commit
# --------------------------------------------------------------------------------------------------


def test_a_throttled_commit_is_retried_with_backoff_and_counts_once(
    platform: LocalStack, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of answers, and DynamoDB throttling the commit three times (both ways it does)
    records = answer(platform, 4)
    faults = {1: "ThrottlingError", 2: "ProvisionedThroughputExceededException", 3: "ThrottlingError"}
    fault = failing_transactions(monkeypatch, faults.get)
    # When the batch is scored
    result = run_score({"Records": records})
    # Then the commit was retried after pauses and succeeded, and every answer counts once
    assert result == {"batchItemFailures": []}
    assert fault.log == ["ThrottlingError", "ProvisionedThroughputExceededException", "ThrottlingError", "ok"]
    assert len(sleeps) == 3
    assert aggregate_counts(platform) == recount(platform)
    assert recount(platform)


@pytest.mark.parametrize(
    ("answers", "days_apart", "healthy_transactions"),
    [
        pytest.param(4, 0, 0, id="one-transaction-commit-throttled-from-the-start"),
        pytest.param(10, 5, 2, id="chunked-commit-throttled-after-its-first-chunk"),
    ],
)
def test_a_commit_that_stays_throttled_fails_the_batch_and_its_retry_counts_once(
    platform: LocalStack,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
    answers: int,
    days_apart: int,
    healthy_transactions: int,
) -> None:
    # Given a batch of answers (spread over weeks, so its keys need several transactions), and
    # DynamoDB throttling every transaction after the first ``healthy_transactions``
    records = answer(platform, answers, days_apart=days_apart)
    fault = failing_transactions(monkeypatch, lambda n: "ThrottlingError" if n > healthy_transactions else None)
    # When the batch is scored
    with pytest.raises(CommitFailed):
        run_score({"Records": records})
    # Then the invocation fails (Lambda retries the batch) after the store's retries
    store = score.service().store
    assert isinstance(store, DynamoAggregateStore)
    assert fault.log.count("ThrottlingError") == store.max_attempts
    partial = aggregate_counts(platform)
    assert partial != recount(platform)
    # When DynamoDB recovers and Lambda retries the batch, then replays it once more
    fault.heal()
    assert run_score({"Records": records}) == {"batchItemFailures": []}
    assert run_score({"Records": records}) == {"batchItemFailures": []}
    # Then every answer counts exactly once: what an earlier attempt applied is not applied again
    assert aggregate_counts(platform) == recount(platform)
    if healthy_transactions:
        assert partial, "the first attempt should have committed its first chunk"


# --------------------------------------------------------------------------------------------------
# EventBridge FailedEntryCount > 0
# --------------------------------------------------------------------------------------------------


def failing_entries(monkeypatch: pytest.MonkeyPatch, fails: Callable[[int, int], bool]) -> Fault:
    """Patch the EventBridge client's ``put_events``: entry ``i`` of call ``n`` (from 1) fails when
    ``fails(n, i)``; the others really go to the bus. The log holds how many entries failed per call."""
    client = aws.client("events")
    fault = Fault(monkeypatch, client, "put_events")
    failed_per_call: list[int] = fault.log

    def put_events(Entries: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        call = len(failed_per_call) + 1
        failing = {i for i in range(len(Entries)) if fails(call, i)}
        passed = [e for i, e in enumerate(Entries) if i not in failing]
        sent = iter(fault.real(Entries=passed, **kwargs)["Entries"] if passed else [])
        results = [
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"} if i in failing else next(sent)
            for i in range(len(Entries))
        ]
        failed_per_call.append(len(failing))
        return {"FailedEntryCount": len(failing), "Entries": results}

    return fault.install(put_events)


def event_ids(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(e["detail"]["event_id"]) for e in events)


def test_events_that_eventbridge_drops_are_retried_and_none_is_lost_or_doubled(
    platform: LocalStack, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given twelve first answers (two put_events calls of up to ten) and a bus that drops every other
    # entry of the first call
    everything = route_events_to_queue(platform, "all-events")
    records = answer(platform, 12)
    fault = failing_entries(monkeypatch, lambda call, i: call == 1 and i % 2 == 0)
    # When the batch is scored
    assert run_score({"Records": records}) == {"batchItemFailures": []}
    # Then the dropped entries were sent again: each answer's event arrived exactly once
    assert fault.log == [5, 0, 0]
    assert event_ids(drain(everything)) == Counter({f"inv-{n:02d}:1": 1 for n in range(12)})
    assert len(sleeps) == 1
    assert aggregate_counts(platform) == recount(platform)


def test_a_bus_that_keeps_dropping_fails_the_batch_and_its_retry_delivers_without_double_counting(
    platform: LocalStack, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given twelve first answers and a bus that drops the first entry of every call
    everything = route_events_to_queue(platform, "all-events")
    records = answer(platform, 12)
    fault = failing_entries(monkeypatch, lambda call, i: i == 0)
    # When the batch is scored
    with pytest.raises(EventPublishError) as raised:
        run_score({"Records": records})
    # Then the invocation fails with the entries' error (Lambda retries the batch); the aggregates,
    # committed before publishing, already hold every answer once
    assert "ThrottlingException" in str(raised.value)
    assert aggregate_counts(platform) == recount(platform)
    delivered = event_ids(drain(everything))
    assert len(delivered) < 12
    # When the bus recovers and Lambda retries the batch
    fault.heal()
    assert run_score({"Records": records}) == {"batchItemFailures": []}
    # Then every event has arrived (some twice: subscribers dedupe on event_id), and nothing is counted twice
    delivered += event_ids(drain(everything))
    assert set(delivered) == {f"inv-{n:02d}:1" for n in range(12)}
    assert aggregate_counts(platform) == recount(platform)


# --------------------------------------------------------------------------------------------------
# A poisoned stream record
# --------------------------------------------------------------------------------------------------

Poison = Callable[[dict[str, Any]], None]


def _image(record: dict[str, Any]) -> dict[str, Any]:
    image: dict[str, Any] = record["dynamodb"]["NewImage"]
    return image


POISONS: dict[str, Poison] = {
    "score out of range": lambda r: _image(r).update(score={"N": "11"}),
    "score not a number": lambda r: _image(r).update(score={"S": "nine"}),
    "fractional score": lambda r: _image(r).update(score={"N": "9.5"}),
    "category contradicts score": lambda r: _image(r).update(score={"N": "10"}, category={"S": "detractor"}),
    "attribute with two types": lambda r: _image(r).update(score={"N": "9", "S": "9"}),
    "unknown channel": lambda r: _image(r).update(channel={"S": "carrier-pigeon"}),
    "keys contradict the image": lambda r: r["dynamodb"].update(Keys={"invite_id": {"S": "someone-else"}}),
    "no images at all": lambda r: r["dynamodb"].pop("NewImage"),
    "unknown event name": lambda r: r.update(eventName="UPSERT"),
    "no creation time": lambda r: r["dynamodb"].pop("ApproximateCreationDateTime"),
}


def poisoned(record: dict[str, Any], poison: Poison, sequence_number: str) -> dict[str, Any]:
    """A copy of a real INSERT record, for an invite no one answered, made malformed by ``poison``."""
    out = copy.deepcopy(record)
    out["dynamodb"]["SequenceNumber"] = sequence_number
    out["dynamodb"]["Keys"] = {"invite_id": {"S": "inv-poison"}}
    out["dynamodb"]["NewImage"]["invite_id"] = {"S": "inv-poison"}
    poison(out)
    return out


def scored_inserts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["eventName"] == "INSERT" and "score" in r["dynamodb"].get("NewImage", {})]


@pytest.mark.parametrize("kind", sorted(POISONS))
def test_a_poisoned_record_is_reported_alone_and_nothing_after_it_commits(platform: LocalStack, kind: str) -> None:
    # Given a batch that starts with a malformed record, followed by good ones
    records = answer(platform, 2)
    poison = poisoned(scored_inserts(records)[0], POISONS[kind], "1")
    # When the batch is scored
    result = run_score({"Records": [poison, *records]})
    # Then exactly that record is reported (Lambda retries from it) and nothing after it was committed
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert aggregate_counts(platform) == {}


def test_a_poisoned_record_mid_batch_commits_what_precedes_it_and_loses_nothing_after_the_retries(
    platform: LocalStack,
) -> None:
    # Given a batch with a record whose image is malformed in the middle of real answers
    records = answer(platform, 6)
    middle = len(records) // 2
    # (written between two real records: the ones after it move one sequence number on)
    poison_id = str(int(sequence(records[middle - 1])) + 1)
    poison = poisoned(scored_inserts(records)[0], POISONS["score not a number"], poison_id)
    before, after = records[:middle], [renumbered(r, 1) for r in records[middle:]]
    # When the batch is scored
    result = run_score({"Records": [*before, poison, *after]})
    # Then the poisoned record is reported with its sequence number ...
    assert result == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    # ... what precedes it is committed, and nothing after it
    committed_before = expected_counts(latest_images(before))
    assert aggregate_counts(platform) == committed_before
    assert committed_before != recount(platform)
    # When Lambda retries from the failed record, bisecting the batch down to the poisoned record alone
    for retry in ([poison, *after], [poison, *after[:2]]):
        assert run_score({"Records": retry}) == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
        # Then it is reported each time and still nothing after it is committed
        assert aggregate_counts(platform) == committed_before
    # (alone, it fails the whole invocation, which Lambda retries the same way)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        run_score({"Records": [poison]})
    assert aggregate_counts(platform) == committed_before
    # When the retries are exhausted (the record goes to the on-failure destination) and the shard moves on
    assert run_score({"Records": after}) == {"batchItemFailures": []}
    # Then every real answer is counted exactly once
    assert aggregate_counts(platform) == recount(platform)


def renumbered(record: dict[str, Any], step: int) -> dict[str, Any]:
    """A copy of a stream record with its sequence number moved ``step`` on."""
    out = copy.deepcopy(record)
    out["dynamodb"]["SequenceNumber"] = str(int(sequence(record)) + step)
    return out


def latest_images(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items as the stream records say they are after these records (DynamoDB JSON)."""
    items: dict[str, dict[str, Any]] = {}
    for record in records:
        key = record["dynamodb"]["Keys"]["invite_id"]["S"]
        if record["eventName"] == "REMOVE":
            items.pop(key, None)
        else:
            items[key] = record["dynamodb"]["NewImage"]
    return list(items.values())


# --------------------------------------------------------------------------------------------------
# SES throttling while a wave is delivered
# --------------------------------------------------------------------------------------------------

CSV_HEADER = "contact_id,email,phone,time_zone,locale,plan,region\n"


@pytest.fixture
def send_clock(platform: LocalStack) -> Iterator[ds.Clock]:
    """The sending functions on a simulated clock, at midday UTC (outside every contact's quiet hours)."""
    clock = ds.Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    with ds.handlers(clock):
        yield clock


def ses_throttling(monkeypatch: pytest.MonkeyPatch, throttled: Callable[[int], bool]) -> Fault:
    """Patch the SES client's ``send_raw_email``: call ``n`` (from 1) is throttled when ``throttled(n)``."""
    client = aws.send_client("ses")
    fault = Fault(monkeypatch, client, "send_raw_email")

    def send_raw_email(**kwargs: Any) -> Any:
        fault.log.append(throttled(len(fault.log) + 1))
        if fault.log[-1]:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "SendRawEmail"
            )
        return fault.real(**kwargs)

    return fault.install(send_raw_email)


def start_wave(stack: LocalStack, clock: ds.Clock, contacts: int) -> list[str]:
    """A survey without reminders, ``contacts`` email contacts, and its wave planned; their addresses."""
    addresses = [f"reliability{n}@example.com" for n in range(contacts)]
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(stack, CSV_HEADER + "".join(f"c{n},{a},,UTC,en,pro,emea\n" for n, a in enumerate(addresses)))
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    return addresses


def dead_letters(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.sending is not None
    return drain(stack.sending.dead_letter_queue_url)


def test_throttled_sends_are_retried_through_the_queue_and_each_invite_is_sent_once(
    platform: LocalStack, send_clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wave to six contacts and SES throttling its first four sends
    addresses = start_wave(platform, send_clock, 6)
    fault = ses_throttling(monkeypatch, lambda n: n <= 4)
    # When the send queue is delivered (failed messages come back after their visibility timeout)
    run = ds.drain_send_queue(platform, send_clock)
    # Then the throttled messages were reported failed and retried, and every contact got exactly one email
    assert run.failures == 4
    assert fault.log.count(True) == 4
    assert Counter(email.to for email in ds.captured_emails()) == Counter(addresses)
    assert {item["status"]["S"] for item in ds.invite_items(platform)} == {"sent"}
    assert dead_letters(platform) == []


def test_sends_throttled_past_the_attempt_limit_are_parked_with_the_reason_and_never_sent(
    platform: LocalStack, send_clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wave to two contacts and SES throttling every send
    start_wave(platform, send_clock, 2)
    ses_throttling(monkeypatch, lambda n: True)
    # When the send queue is delivered
    ds.drain_send_queue(platform, send_clock)
    # Then after the attempt limit each message is in the DLQ with the reason (ids only), the invites
    # are marked failed with it, and nothing was sent
    items = ds.invite_items(platform)
    assert {item["status"]["S"] for item in items} == {"failed"}
    assert {item["failure_reason"]["S"] for item in items} == {"ses: Throttling"}
    parked = dead_letters(platform)
    assert sorted(p["invite_id"] for p in parked) == sorted(item["invite_id"]["S"] for item in items)
    assert {p["reason"] for p in parked} == {"ses: Throttling"}
    assert not any("@" in json.dumps(p) for p in parked)
    assert ds.captured_emails() == []


# --------------------------------------------------------------------------------------------------
# What makes Lambda retry, bisect and park: the deployed event source mapping
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_mapping() -> dict[str, Any]:
    """The responses stream's event source mapping, as the CDK app declares it (built once per module).

    Read from the app's construct tree, resolved to the CloudFormation values the template carries;
    the full synth with its cdk-nag pass is tests/infra's job and costs several times longer.
    """
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sqs as sqs

    from infra.app import build_app

    _, stack = build_app()
    mappings = [
        {
            "EventSourceArn": stack.resolve(m.event_source_arn),
            "BisectBatchOnFunctionError": stack.resolve(m.bisect_batch_on_function_error),
            "FunctionResponseTypes": stack.resolve(m.function_response_types),
            "MaximumRetryAttempts": stack.resolve(m.maximum_retry_attempts),
            "MaximumRecordAgeInSeconds": stack.resolve(m.maximum_record_age_in_seconds),
            "DestinationConfig": stack.resolve(m.destination_config),
        }
        for m in stack.node.find_all()
        if isinstance(m, lambda_.CfnEventSourceMapping)
        and "StreamArn" in str(stack.resolve(m.event_source_arn))
        and "StorageResponses" in str(stack.resolve(m.event_source_arn))
    ]
    assert len(mappings) == 1, mappings
    queues = {stack.get_logical_id(q) for q in stack.node.find_all() if isinstance(q, sqs.CfnQueue)}
    return {"mapping": mappings[0], "queues": queues}


@pytest.mark.infra
def test_the_stream_mapping_bisects_reports_partial_failures_and_parks_poison_in_a_queue(
    stream_mapping: dict[str, Any],
) -> None:
    # Given the CDK app's event source mapping on the responses stream
    mapping = stream_mapping["mapping"]
    # Then a failing batch is bisected, partial failures are honoured, retries are bounded, and a
    # record that still fails goes to an SQS on-failure destination rather than being dropped
    assert mapping["EventSourceArn"]["Fn::GetAtt"][0].startswith("StorageResponses")
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["MaximumRetryAttempts"] <= 10_000
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 7 * 86_400
    (queue_id, attribute) = mapping["DestinationConfig"]["onFailure"]["destination"]["Fn::GetAtt"]
    assert attribute == "Arn"
    assert queue_id in stream_mapping["queues"]
