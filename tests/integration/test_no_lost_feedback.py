"""Faults on the paths that carry a person's feedback, injected at the boto3 client the function uses:
a bounce or complaint, an unsubscribe, a detractor's comments. Each ends retried, parked with its
reason, or visible and counted; none is dropped."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from local import demo_sending as ds
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, http_event, sqs_record
from local.principals import as_outside_world
from nps.events.publisher import EventPublisher, EventPublishError
from nps.follow_ups.adapters.store import DynamoFollowUpStore
from nps.follow_ups.steps import COMMENT_UPDATE_WINDOW_SECONDS
from nps.kernel import aws
from nps.kernel.categories import MAX_COMMENT_LENGTH
from nps.kernel.periods import parse_timestamp
from nps.links.tokens import Purpose, sign
from nps.responding.adapters.responses import MAX_COMMENTS_PER_RESPONSE
from tests.support.dynamodb_size import dynamodb_item_size
from tests.support.reliability import drain, route_events_to_queue

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


# -- a detractor's comments -----------------------------------------------------------------------

FOLLOW_UP_SURVEY: dict[str, Any] = {
    **ds.DEMO_SURVEY,
    "reminder_days": None,
    "fatigue_days": 0,
    # Never quiet: nothing here waits for a local morning.
    "quiet_hours": {"start": "03:00", "end": "03:00:01"},
    "follow_ups": {"detractor": {"email_delay_minutes": 0, "resolve_within_days": 3, "resurvey_after_days": 7}},
}
BROWSER = {"user-agent": "Mozilla/5.0 (iPhone) Mobile/15E148", "accept-language": "en"}
FORM = {**BROWSER, "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin"}


class Person:
    """A detractor with an open task, who keeps commenting through the thank-you page's form; the
    score function and the follow-up events function run after each comment, as they would deployed."""

    def __init__(self, stack: LocalStack, clock: ds.Clock, *, open_task: bool = True) -> None:
        from functions.respond import handler as respond
        from nps.follow_ups.wiring import follow_up_service

        self.stack = stack
        self.clock = clock
        self.responses = StreamReader(stack.stream_arns["responses"])
        self.held: list[dict[str, Any]] = []  # received messages whose SQS delay has not passed yet
        self.failures = 0
        respond.service().clock = clock
        follow_up_service().clock = clock
        ds.create_survey(stack, FOLLOW_UP_SURVEY)
        ds.import_csv(stack, CSV_HEADER + "fay,fay@example.com,,UTC,en,pro,emea\n")
        ds.fire_wave(ds.SURVEY_ID, clock.now)
        ds.drain_send_queue(stack, clock)
        (link,) = ds.sent_links(stack)
        self.path = urlsplit(link.score_page).path
        clock.advance(timedelta(hours=1))
        assert self._respond(http_event("GET", self.path, {"score": "2"}, headers=BROWSER)) == 200
        assert self._respond(http_event("POST", self.path, body="score=2", headers=FORM)) == 200
        self._score()
        (started,) = [json.loads(m["Body"]) for m in drain_raw(stack.workflow_queue_urls["detractor"])]
        opened = self._step({"action": "open", "event": started, "execution": "exec-1"})
        self.follow_up_id = str(opened["follow_up_id"])
        self._step({"action": "email", "follow_up_id": self.follow_up_id})
        if open_task:
            self.open_task()

    def open_task(self) -> None:
        self._step({"action": "open_task", "follow_up_id": self.follow_up_id, "task_token": "token-1"})

    @staticmethod
    def _respond(event: dict[str, Any]) -> int:
        from functions.respond import handler as respond

        status: int = respond.lambda_handler(event, LambdaContext())["statusCode"]
        return status

    @staticmethod
    def _step(payload: dict[str, Any]) -> dict[str, Any]:
        from functions.follow_up import handler

        result: dict[str, Any] = handler.lambda_handler(payload, LambdaContext("follow-up"))
        return result

    def _score(self) -> None:
        from functions.score import handler as score

        for event in self.responses.read_batches():
            assert not score.lambda_handler(event, LambdaContext()).get("batchItemFailures")

    def comment(self, text: str) -> int:
        """Post a comment, then run the stream and the follow-up events queue; the page's status."""
        status = self._respond(
            http_event("POST", f"{self.path}/comment", body=urlencode({"comment": text}), headers=FORM)
        )
        self._score()
        self.consume()
        return status

    def consume(self) -> None:
        """The follow-up events queue through its function; a message whose delay (``not_before``) has not
        passed on the simulated clock waits, as SQS's ``DelaySeconds`` makes it wait when deployed."""
        from functions.follow_up_events import handler

        arn = f"arn:aws:sqs:us-east-1:123456789012:{self.stack.follow_up_events_queue_url.rsplit('/', 1)[-1]}"
        while True:  # until handling the due messages queued nothing that is due too
            received = self.held + drain_raw(self.stack.follow_up_events_queue_url)
            due = [m for m in received if not_before(m) <= self.clock.now]
            self.held = [m for m in received if not_before(m) > self.clock.now]
            if not due:
                return
            for start in range(0, len(due), 10):
                records = [sqs_record(m, arn) for m in due[start : start + 10]]
                result = handler.lambda_handler({"Records": records}, LambdaContext("follow-up-events"))
                self.failures += len(result["batchItemFailures"])

    def follow_up_item(self) -> dict[str, Any]:
        invite_id = self.follow_up_id.rpartition("-")[0]
        key = {"invite_id": {"S": invite_id}, "follow_up_id": {"S": self.follow_up_id}}
        item: dict[str, Any] = aws.client("dynamodb").get_item(TableName=self.stack.tables["followups"], Key=key)[
            "Item"
        ]
        return item


def drain_raw(queue_url: str) -> list[dict[str, Any]]:
    """Every visible message on a queue, received and deleted (bodies as strings)."""
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def not_before(message: dict[str, Any]) -> datetime:
    body = json.loads(message["Body"])
    hold = body.get("not_before") if isinstance(body, dict) else None
    return parse_timestamp(hold) if isinstance(hold, str) else START


def test_a_detractor_who_keeps_commenting_gets_an_answer_each_time_a_bounded_follow_up_and_coalesced_tasks(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a detractor whose follow-up task is open for the team
    person = Person(platform, clock)
    drain_raw(platform.follow_up_task_queue_url)
    # When they send 150 comments of the longest length in 3-byte characters, one every 10 seconds
    statuses: Counter[int] = Counter()
    for n in range(150):
        clock.advance(timedelta(seconds=10))
        statuses[person.comment(f"{n:03d} " + "€" * (MAX_COMMENT_LENGTH - 4))] += 1
    clock.advance(timedelta(minutes=10))
    person.consume()
    # Then the comments one answer takes were saved, the rest politely refused (429), nothing failed
    saved = min(150, MAX_COMMENTS_PER_RESPONSE)
    assert statuses == Counter({200: saved, 429: 150 - saved})
    assert person.failures == 0
    assert drain_raw(platform.follow_up_events_dlq_url) == []
    # And the follow-up item stays far below DynamoDB's 400 KB, counting every saved comment
    item = person.follow_up_item()
    assert dynamodb_item_size(item) < 48 * 1024
    follow_up = DynamoFollowUpStore(platform.tables["followups"]).get(person.follow_up_id)
    assert follow_up is not None
    assert follow_up.comment_count == saved
    assert follow_up.comments[-1]["text"].startswith(f"{saved - 1:03d} ")
    # And the team got a handful of updates (at most one per five minutes), the last one with every count
    updates = [json.loads(m["Body"]) for m in drain_raw(platform.follow_up_task_queue_url)]
    assert {u["type"] for u in updates} == {"comment_added"}
    assert 1 <= len(updates) <= saved * 10 // COMMENT_UPDATE_WINDOW_SECONDS + 1
    last = updates[-1]
    assert (last["comment_count"], last["comments_omitted"]) == (saved, saved - len(last["comments"]))
    assert last["comment"]["text"].startswith(f"{saved - 1:03d} ")
    assert sum(u["new_comments"] for u in updates) == saved


COMMENTS = 300


def test_hundreds_of_comments_of_every_size_leave_the_stored_follow_up_far_below_the_item_limit(
    platform: LocalStack, clock: ds.Clock
) -> None:
    """The stored item as DynamoDB counts it (moto does not enforce the limit). The bound is reached
    after 20 comments; tests/unit/follow_ups/test_comments.py checks thousands on the same item shape."""
    from nps.follow_ups.wiring import follow_up_service

    # Given a detractor whose task is open
    person = Person(platform, clock)
    service = follow_up_service()
    responses = platform.tables["responses"]
    invite_id = person.follow_up_id.rpartition("-")[0]
    sizes = [1, 17, 400, 1999, MAX_COMMENT_LENGTH]
    # When 300 comments of every size and UTF-8 width arrive, each read from the response as deployed
    for n in range(COMMENTS):
        clock.advance(timedelta(seconds=1))
        text = f"{n:04d}" + ("a", "é", "€", "😀")[n % 4] * (
            sizes[n % len(sizes)] - 4 if sizes[n % len(sizes)] > 4 else 1
        )
        aws.client("dynamodb").update_item(
            TableName=responses,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET #c = :c, #v = #v + :one",
            ExpressionAttributeNames={"#c": "comment", "#v": "version"},
            ExpressionAttributeValues={":c": {"S": text}, ":one": {"N": "1"}},
        )
        event = {"source": "nps", "detail-type": "NPS Comment Received", "detail": comment_detail(invite_id, n)}
        assert service.on_comment(event) == "appended"
    # Then the item DynamoDB stores is a few tens of KB, and every comment is counted
    item = person.follow_up_item()
    size = dynamodb_item_size(item)
    assert size < 48 * 1024, size
    assert item["comment_count"] == {"N": str(COMMENTS)}
    assert item["comments"]["L"][-1]["M"]["text"]["S"].startswith(f"{COMMENTS - 1:04d}")


def comment_detail(invite_id: str, n: int) -> dict[str, Any]:
    return {
        "schema_version": "1.0",
        "event_id": f"{invite_id}:{n + 3}:comment",
        "survey_id": ds.SURVEY_ID,
        "wave_id": "w",
        "invite_id": invite_id,
        "contact_id": "fay",
        "channel": "email",
        "locale": "en",
        "segments": {},
        "score": 2,
        "category": "detractor",
        "comment_length": 1,
        "version": n + 3,
        "commented_at": START.isoformat(),
    }


def tasks_sent(stack: LocalStack) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in drain_raw(stack.follow_up_task_queue_url)]


def test_a_comment_update_delivered_twice_tells_the_team_once(platform: LocalStack, clock: ds.Clock) -> None:
    # Given a detractor with an open task who comments once
    person = Person(platform, clock)
    tasks_sent(platform)
    assert person.comment("Nobody called me back") == 200
    (due,) = person.held
    # When the update falls due, and SQS delivers it a second time
    clock.advance(timedelta(seconds=COMMENT_UPDATE_WINDOW_SECONDS))
    person.consume()
    person.held = [due]
    person.consume()
    # Then the team got one update, which a duplicate could name by its update_id
    (update,) = tasks_sent(platform)
    assert update["type"] == "comment_added"
    assert update["update_id"] == f"{person.follow_up_id}:comments:1"
    assert (update["new_comments"], update["comment_count"], update["comments_omitted"]) == (1, 1, 0)
    assert person.failures == 0


def test_a_comment_saved_while_an_update_is_being_sent_follows_in_the_next_update(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nps.follow_ups.wiring import follow_up_service

    # Given a detractor with an open task whose first comment's update is due
    person = Person(platform, clock)
    tasks_sent(platform)
    person.comment("The invoice was wrong")
    clock.advance(timedelta(seconds=COMMENT_UPDATE_WINDOW_SECONDS))
    # When a second comment is saved and handled while that update is being sent
    service = follow_up_service()
    send = service.tasks.send
    sent: list[dict[str, Any]] = []

    def send_while_commenting(body: dict[str, Any]) -> None:
        send(body)
        sent.append(body)
        if len(sent) == 1:
            with as_outside_world():  # the person and the stream, not the consumer that is running
                person.comment("And twice")

    monkeypatch.setattr(service.tasks, "send", send_while_commenting)
    person.consume()
    # Then the first update carried one comment, and the second comment goes out one window later
    assert [u["new_comments"] for u in sent] == [1]
    assert person.held, "the next update is scheduled"
    clock.advance(timedelta(seconds=COMMENT_UPDATE_WINDOW_SECONDS))
    person.consume()
    assert [(u["new_comments"], u["comment_count"], u["comment"]["text"]) for u in sent] == [
        (1, 1, "The invoice was wrong"),
        (1, 2, "And twice"),
    ]
    assert person.failures == 0


def test_comments_before_the_task_opens_travel_in_the_task_and_no_update_repeats_them(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a detractor whose apology went out but whose task has not opened yet
    person = Person(platform, clock, open_task=False)
    # When they comment, the task opens, and the comment's update falls due
    assert person.comment("Still broken") == 200
    person.open_task()
    clock.advance(timedelta(seconds=COMMENT_UPDATE_WINDOW_SECONDS))
    person.consume()
    # Then the task carried the comment, and no update repeated it
    (task,) = tasks_sent(platform)
    assert task["type"] == "follow_up_opened"
    assert [c["text"] for c in task["comments"]] == ["Still broken"]
    assert (task["comment_count"], task["comments_omitted"]) == (1, 0)
    assert person.held == []
    assert person.failures == 0


def test_a_comment_that_keeps_losing_the_write_race_is_retried_not_dropped(
    platform: LocalStack, clock: ds.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nps.follow_ups.wiring import follow_up_service

    # Given a detractor with an open task, and a follow-up whose comments another writer keeps changing
    person = Person(platform, clock)
    store = follow_up_service().follow_ups
    save = store.save_comments
    monkeypatch.setattr(store, "save_comments", lambda *args, **kwargs: False)
    # When they comment
    person.comment("Please call")
    # Then the event failed (SQS retries it, then dead-letters it with an alarm), and its retry keeps it
    assert person.failures == 1
    monkeypatch.setattr(store, "save_comments", save)
    assert (
        follow_up_service().on_comment(
            {
                "source": "nps",
                "detail-type": "NPS Comment Received",
                "detail": comment_detail(person.follow_up_id.rpartition("-")[0], 0),
            }
        )
        == "appended"
    )


def test_a_person_past_the_comments_an_answer_takes_is_told_politely_and_nothing_they_sent_before_is_lost(
    platform: LocalStack, clock: ds.Clock
) -> None:
    from functions.respond import handler as respond

    # Given a detractor who has sent as many comments as one answer takes
    person = Person(platform, clock)
    for n in range(MAX_COMMENTS_PER_RESPONSE):
        clock.advance(timedelta(seconds=30))
        assert person.comment(f"comment {n}") == 200
    # When they send one more
    form = urlencode({"comment": "one more"})
    page = respond.lambda_handler(
        http_event("POST", f"{person.path}/comment", body=form, headers=FORM),
        LambdaContext(),
    )
    person.consume()
    # Then a friendly page in the invite's language says so, with 429, and the comment is not saved
    assert page["statusCode"] == 429
    assert "Thank you for your comments" in page["body"]
    assert "this last one was not saved." in page["body"]
    assert page["headers"]["Content-Type"].startswith("text/html")
    stored = aws.client("dynamodb").get_item(
        TableName=platform.tables["responses"], Key={"invite_id": {"S": person.follow_up_id.rpartition("-")[0]}}
    )["Item"]
    assert stored["comment"]["S"] == f"comment {MAX_COMMENTS_PER_RESPONSE - 1}"
    # And every comment before it is counted on the follow-up, the latest kept
    follow_up = DynamoFollowUpStore(platform.tables["followups"]).get(person.follow_up_id)
    assert follow_up is not None
    assert follow_up.comment_count == MAX_COMMENTS_PER_RESPONSE
    assert follow_up.comments[-1]["text"] == f"comment {MAX_COMMENTS_PER_RESPONSE - 1}"
    assert person.failures == 0
