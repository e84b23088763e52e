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
from botocore.exceptions import ClientError

from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext
from nps import aws
from nps.events import EventPublisher, EventPublishError
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
