"""Faults on the paths that carry a person's feedback, injected at the boto3 client the function uses:
a bounce or complaint, an unsubscribe, a detractor's comments. Each ends retried, parked with its
reason, or visible and counted; none is dropped."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from local import demo_sending as ds
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, http_event
from nps import aws
from nps.events import EventPublisher, EventPublishError
from nps.tokens import Purpose, sign
from tests.reliability.support import drain, route_events_to_queue

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CSV_HEADER = "contact_id,email,phone,time_zone,locale,plan,region\n"


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


def sent_invite(stack: LocalStack, clock: ds.Clock, contact_row: str) -> str:
    """Send a one-contact wave; the invite id."""
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(stack, CSV_HEADER + contact_row + "\n")
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(stack, clock)
    (item,) = ds.invite_items(stack)
    return str(item["invite_id"]["S"])


def failing(monkeypatch: pytest.MonkeyPatch, service: str, method: str, fails: Callable[[int], bool]) -> list[bool]:
    """Make call ``n`` (from 1) of ``service.method`` raise a throttling error when ``fails(n)``; the log
    records, per call, whether it failed."""
    client = aws.client(service)
    real = getattr(client, method)
    log: list[bool] = []

    def call(**kwargs: Any) -> Any:
        failed = fails(len(log) + 1)
        log.append(failed)
        if failed:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, method)
        return real(**kwargs)

    monkeypatch.setattr(client, method, call)
    return log


def dropping_entries(monkeypatch: pytest.MonkeyPatch, fails: Callable[[int], bool]) -> list[int]:
    """PutEvents call ``n`` answers ``FailedEntryCount`` > 0 (every entry throttled) when ``fails(n)``."""
    client = aws.client("events")
    real = client.put_events
    log: list[int] = []

    def put_events(Entries: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        if fails(len(log) + 1):
            log.append(len(Entries))
            failed = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
            return {"FailedEntryCount": len(Entries), "Entries": [failed] * len(Entries)}
        log.append(0)
        result: dict[str, Any] = real(Entries=Entries, **kwargs)
        return result

    monkeypatch.setattr(client, "put_events", put_events)
    return log


def event_ids(queue_url: str) -> Counter[str]:
    return Counter(str(e["detail"]["event_id"]) for e in drain(queue_url))


# -- SES bounces and complaints --------------------------------------------------------------------


def complaint(invite_id: str, address: str) -> dict[str, Any]:
    notification = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": address}]},
        "mail": {"tags": {"invite_id": [invite_id]}},
    }
    return {"Records": [{"Sns": {"Message": json.dumps(notification)}}]}


@pytest.mark.parametrize("fault", ["suppression write throttled", "bus drops the events"])
def test_a_complaint_that_fails_midway_raises_for_lambdas_retry_and_the_retry_loses_nothing(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    from functions.suppress import handler as suppress

    # Given a sent invite, and a subscriber of every event on the bus
    invite_id = sent_invite(platform, clock, "cleo,cleo@example.com,,UTC,en,pro,emea")
    everything = route_events_to_queue(platform, "all-events")
    publisher = suppress.service().publisher
    assert isinstance(publisher, EventPublisher)
    monkeypatch.setattr(publisher, "sleep", lambda _: None)
    if fault == "suppression write throttled":
        failing(monkeypatch, "dynamodb", "put_item", lambda n: n == 1)
        expected: type[Exception] = ClientError
    else:
        dropping_entries(monkeypatch, lambda n: n <= publisher.max_attempts)
        expected = EventPublishError
    # When SES reports a complaint and the first invocation meets the fault
    with pytest.raises(expected):
        suppress.lambda_handler(complaint(invite_id, "Cleo@example.com"), LambdaContext())
    # Then it raised (Lambda retries it, then parks it in the on-failure queue), and the retry completes
    assert suppress.lambda_handler(complaint(invite_id, "Cleo@example.com"), LambdaContext()) == {
        "handled": ["complaint"]
    }
    assert event_ids(everything) == Counter(
        {f"{invite_id}:bounced:complaint": 1, f"{invite_id}:unsubscribed:complaint": 1}
    )
    assert ds.invite_items(platform)[0]["status"]["S"] == "bounced"
    (suppression,) = aws.client("dynamodb").scan(TableName=platform.tables["suppressions"])["Items"]
    assert suppression["reason"]["S"] == "complained"


# -- unsubscribes ---------------------------------------------------------------------------------


def unsubscribe_post(stack: LocalStack, invite_id: str, one_click: bool = False) -> int:
    """The person's (or the mail client's one-click) POST of the invite's unsubscribe link; the status."""
    from functions.unsubscribe import handler as unsubscribe

    token = sign(stack.keyring, Purpose.UNSUBSCRIBE, invite_id, int(START.timestamp()) + 86400 * 365)
    body = "List-Unsubscribe=One-Click" if one_click else ""
    headers = {"content-type": "application/x-www-form-urlencoded"}
    status: int = unsubscribe.lambda_handler(
        http_event("POST", f"/u/{token}", body=body, headers=headers), LambdaContext()
    )["statusCode"]
    return status


def suppressions_stream(stack: LocalStack) -> list[dict[str, Any]]:
    """The suppressions stream's new records, as Lambda events."""
    return StreamReader(stack.stream_arns["suppressions"]).read_batches()


def publish_opt_outs(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Run stream events through the suppression events function; the records it reported as failed
    (every record of an invocation that raised: the stream retries the whole batch)."""
    from functions.suppression_events import handler

    failures: list[dict[str, str]] = []
    for event in events:
        try:
            failures += handler.lambda_handler(event, LambdaContext("suppression-events"))["batchItemFailures"]
        except BatchProcessingError:
            failures += [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]]
    return failures


def test_an_unsubscribe_while_the_bus_refuses_events_is_still_published_once_from_the_suppression(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sent invite to a contact with an email address and a phone number
    invite_id = sent_invite(platform, clock, "dana,dana@example.com,+14155550100,UTC,en,pro,emea")
    everything = route_events_to_queue(platform, "all-events")
    # When the person unsubscribes while the bus refuses every entry, then clicks again
    dropping = dropping_entries(monkeypatch, lambda _: True)
    statuses = [unsubscribe_post(platform, invite_id), unsubscribe_post(platform, invite_id)]
    monkeypatch.undo()
    # And the suppressions stream is processed once the bus is back
    assert publish_opt_outs(suppressions_stream(platform)) == []
    # Then the event was published exactly once, from the suppression the first click wrote
    assert event_ids(everything) == Counter({f"{invite_id}:unsubscribed:link": 1})
    # And the person was told both times that they are unsubscribed, and both addresses are suppressed
    assert statuses == [200, 200]
    assert len(aws.client("dynamodb").scan(TableName=platform.tables["suppressions"])["Items"]) == 2
    assert sum(dropping) == 0  # the unsubscribe itself no longer calls the bus


def test_an_opt_out_the_bus_reports_as_failed_entries_is_retried_by_the_stream_and_published_once(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.suppression_events import handler

    # Given an unsubscribe (one-click) whose suppression is on the stream
    invite_id = sent_invite(platform, clock, "eli,eli@example.com,,UTC,en,pro,emea")
    everything = route_events_to_queue(platform, "all-events")
    assert unsubscribe_post(platform, invite_id, one_click=True) == 200
    events = suppressions_stream(platform)
    # When the bus answers FailedEntryCount > 0 for every attempt of the first invocation
    handler.publisher.cache_clear()
    publisher = handler.publisher()
    monkeypatch.setattr(publisher, "sleep", lambda _: None)
    dropped = dropping_entries(monkeypatch, lambda n: n <= publisher.max_attempts)
    # Then the record is reported failed (the stream retries it), not taken as published
    (record,) = events[0]["Records"]
    assert publish_opt_outs(events) == [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]
    assert dropped == [1] * publisher.max_attempts
    assert event_ids(everything) == Counter()
    # And the stream's retry of the same record publishes the event once
    assert publish_opt_outs(events) == []
    (event,) = drain(everything)
    assert event["detail-type"] == "NPS Contact Unsubscribed"
    assert event["detail"] | {"unsubscribed_at": "-"} == {
        "schema_version": "1.0",
        "event_id": f"{invite_id}:unsubscribed:one_click",
        "contact_id": "eli",
        "survey_id": ds.SURVEY_ID,
        "wave_id": ds.invite_items(platform)[0]["wave_id"]["S"],
        "invite_id": invite_id,
        "channel": "email",
        "method": "one_click",
        "unsubscribed_at": "-",
    }


def test_a_suppression_whose_opt_out_is_broken_is_reported_for_the_on_failure_queue_and_others_pass(
    platform: LocalStack,
) -> None:
    # Given three suppressions: a bounce (no opt-out), an opt-out missing its ids, and a good opt-out
    def put(address_hash: str, **fields: str) -> None:
        item = {"address_hash": address_hash, "suppressed_at": "2026-11-23T10:00:00.000000Z", **fields}
        aws.client("dynamodb").put_item(
            TableName=platform.tables["suppressions"], Item={k: {"S": v} for k, v in item.items()}
        )

    everything = route_events_to_queue(platform, "all-events")
    put("h-bounced", reason="bounced", contact_id="c1")
    put("h-broken", reason="unsubscribed", method="link", channel="email")
    ids = {"contact_id": "c3", "invite_id": "inv-3", "survey_id": "s", "wave_id": "w", "channel": "email"}
    put("h-good", reason="unsubscribed", method="link", **ids)
    events = suppressions_stream(platform)
    records = [r for e in events for r in e["Records"]]
    # When the stream delivers them
    failures = publish_opt_outs(events)
    # Then the broken one alone is reported (after the retries, its position goes to the on-failure queue)
    assert failures == [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]
    assert event_ids(everything) == Counter({"inv-3:unsubscribed:link": 1})
