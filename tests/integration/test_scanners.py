"""Mail security scanners open every link; only a person's answer may count, once.

Each test plays what the scanners do (HEAD, GET of all 11 links and the hidden preview link within
two seconds, a headless browser that runs the page script) and then what a person does.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.respond import handler as respond
from functions.score import handler as score
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, http_event
from nps.kernel import aws
from tests.support.taps import IssuedInvite, call, issue_invite

SAFE_LINKS = {
    # Defender for Office 365 fetches with an ordinary-looking desktop Chrome user agent.
    "user-agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    ),
    "accept-language": "en-US",
}
PROOFPOINT = {"user-agent": "Proofpoint URL Defense/2.0", "accept": "*/*"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(platform: LocalStack) -> Clock:
    clock = Clock()
    respond.service().clock = clock
    return clock


def response_item(stack: LocalStack, invite_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        aws.client("dynamodb")
        .get_item(TableName=stack.tables["responses"], Key={"invite_id": {"S": invite_id}})
        .get("Item")
    )
    return item


def score_stream(stack: LocalStack, reader: StreamReader) -> None:
    for event in reader.read_batches():
        assert score.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}


def todays_counts(stack: LocalStack) -> dict[str, int]:
    """The survey's daily counters summed over every day (a clock moved past midnight stays counted)."""
    items = aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"]
    totals: dict[str, int] = {}
    for item in items:
        if item["pk"]["S"] != "survey-1#day#*#*":
            continue
        for name, value in item.items():
            if "N" in value and name != "expires_at_ttl":
                totals[name] = totals.get(name, 0) + int(value["N"])
    return {k: v for k, v in totals.items() if v}


def scanner_opens_everything(invite: IssuedInvite, clock: Clock, headers: dict[str, str]) -> None:
    """All 11 score links and the preview link within two seconds."""
    for value in range(11):
        assert invite.open(value, **headers)["statusCode"] == 200
        clock.advance(0.15)
    invite.preview(**headers)


def bus_queue(stack: LocalStack, detail_types: list[str]) -> str:
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName="observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    pattern = {"source": ["nps"], "detail-type": detail_types}
    events.put_rule(Name="observer", EventBusName=stack.bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="observer", EventBusName=stack.bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def received(url: str) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_head_requests_on_every_link_record_nothing(platform: LocalStack, clock: Clock) -> None:
    invite = issue_invite(platform, "inv-head")
    for value in range(11):
        event = http_event("HEAD", f"/r/{invite.token}", {"score": str(value)}, headers=PROOFPOINT)
        assert call(event)["statusCode"] == 200
    assert response_item(platform, "inv-head") is None


def test_a_plain_fetcher_opening_every_link_records_nothing(platform: LocalStack, clock: Clock) -> None:
    invite = issue_invite(platform, "inv-get")
    scanner_opens_everything(invite, clock, PROOFPOINT)
    assert response_item(platform, "inv-get") is None


def test_prefetches_are_not_even_logged(platform: LocalStack, clock: Clock) -> None:
    invite = issue_invite(platform, "inv-prefetch")
    invite.open(10, **{"sec-purpose": "prefetch"})
    invite.open(10, purpose="prefetch")
    item = aws.client("dynamodb").get_item(
        TableName=platform.tables["invites"], Key={"invite_id": {"S": "inv-prefetch"}}
    )
    assert "clicks" not in item["Item"]


def test_a_headless_browser_that_runs_the_page_script_is_not_counted_and_the_person_is(
    platform: LocalStack, clock: Clock
) -> None:
    reader = StreamReader(platform.stream_arns["responses"])
    invite = issue_invite(platform, "inv-safelinks")
    # Given a scanner that opens all 11 links and the preview link, runs each page's script and waits
    scanner_opens_everything(invite, clock, SAFE_LINKS)
    clock.advance(2.5)
    for value in range(11):
        invite.confirm(value, **SAFE_LINKS)
        clock.advance(0.05)
    # Then nothing counts
    score_stream(platform, reader)
    assert todays_counts(platform) == {}
    item = response_item(platform, "inv-safelinks")
    assert item is not None
    assert item["counted"] == {"BOOL": False}
    # When the person taps 8 twenty minutes later
    clock.advance(1200)
    assert invite.tap(8)["statusCode"] == 200
    score_stream(platform, reader)
    # Then exactly their answer counts, once
    assert todays_counts(platform) == {"passives": 1, "score_8": 1}


def test_a_burst_arriving_just_after_a_recorded_answer_retracts_it(platform: LocalStack, clock: Clock) -> None:
    reader = StreamReader(platform.stream_arns["responses"])
    observer = bus_queue(platform, ["NPS Response Scored", "NPS Response Retracted"])
    invite = issue_invite(platform, "inv-race")
    # Given a scanner whose first page confirmed before its other fetches arrived
    invite.open(0, **SAFE_LINKS)
    invite.confirm(0, **SAFE_LINKS)
    score_stream(platform, reader)
    assert todays_counts(platform) == {"detractors": 1, "score_0": 1}
    # When the rest of its burst arrives seconds later
    clock.advance(1)
    scanner_opens_everything(invite, clock, SAFE_LINKS)
    score_stream(platform, reader)
    # Then the answer no longer counts and subscribers are told to undo what they started
    assert todays_counts(platform) == {}
    detail_types = [e["detail-type"] for e in received(observer)]
    assert detail_types == ["NPS Response Scored", "NPS Response Retracted"]


def test_a_person_who_taps_6_then_9_is_counted_as_9_with_one_change_event(platform: LocalStack, clock: Clock) -> None:
    reader = StreamReader(platform.stream_arns["responses"])
    observer = bus_queue(platform, ["NPS Response Scored"])
    invite = issue_invite(platform, "inv-change")
    invite.tap(6)
    score_stream(platform, reader)
    received(observer)  # the first answer's event
    clock.advance(8)
    invite.tap(9)  # from the thank-you page's "choose again" links
    score_stream(platform, reader)
    assert todays_counts(platform) == {"promoters": 1, "score_9": 1}
    (change,) = received(observer)
    detail = change["detail"]
    assert (detail["previous_score"], detail["score"], detail["category_changed"]) == (6, 9, True)


def test_the_latest_answer_stands_only_within_the_edit_window(platform: LocalStack, clock: Clock) -> None:
    invite = issue_invite(platform, "inv-window", lifetime_seconds=30 * 86400)
    invite.tap(3)
    clock.advance(8 * 86400)
    invite.tap(10)
    item = response_item(platform, "inv-window")
    assert item is not None
    assert item["score"] == {"N": "3"}


def test_concurrent_taps_on_one_invite_leave_one_response(platform: LocalStack, clock: Clock) -> None:
    invite = issue_invite(platform, "inv-race2")
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda v: invite.tap(v)["statusCode"], [9, 9, 10, 9, 10, 9]))
    assert statuses == [200] * 6
    items = aws.client("dynamodb").scan(TableName=platform.tables["responses"])["Items"]
    assert len(items) == 1
    assert items[0]["score"]["N"] in {"9", "10"}


def test_scanner_user_agents_and_early_clicks_are_held_back(platform: LocalStack, clock: Clock) -> None:
    early = issue_invite(platform, "inv-early", sent_seconds_ago=1)
    early.tap(10)
    scanner = issue_invite(platform, "inv-ua")
    scanner.tap(10, **{"user-agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"})
    for invite_id in ("inv-early", "inv-ua"):
        item = response_item(platform, invite_id)
        assert item is not None
        assert item["counted"] == {"BOOL": False}


def test_a_comment_counts_an_answer_that_was_held_back(platform: LocalStack, clock: Clock) -> None:
    reader = StreamReader(platform.stream_arns["responses"])
    invite = issue_invite(platform, "inv-held", sent_seconds_ago=2)
    invite.tap(4)  # held back: seconds after sending
    clock.advance(30)
    assert invite.comment("Too slow to reply to tickets")["statusCode"] == 200
    score_stream(platform, reader)
    assert todays_counts(platform) == {"detractors": 1, "score_4": 1}
