"""Routing on moto's EventBridge: each rule delivers exactly the events it should to its (SQS) target."""

from __future__ import annotations

import json
from typing import Any

from local.environment import LocalStack
from nps.events.models import COMMENT_RECEIVED, CONTACT_UNSUBSCRIBED, RESPONSE_RETRACTED, RESPONSE_SCORED
from nps.kernel import aws
from tests.support.event_samples import SAMPLES, comment, retracted, scored


def put(stack: LocalStack, detail_type: str, detail: dict[str, Any]) -> None:
    result = aws.client("events").put_events(
        Entries=[
            {"Source": "nps", "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": stack.bus_name}
        ]
    )
    assert result["FailedEntryCount"] == 0


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs, out = aws.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return out


def received(stack: LocalStack) -> dict[str, list[str]]:
    """Event ids each target received, by target."""
    targets = {**stack.workflow_queue_urls, "events": stack.follow_up_events_queue_url}
    return {name: [e["detail"]["event_id"] for e in drain(url)] for name, url in targets.items()}


def test_each_category_rule_starts_only_its_own_workflow(platform: LocalStack) -> None:
    # Given first answers in each category, a change within a category, and a re-survey answer
    put(platform, RESPONSE_SCORED, scored(2, "detractor", invite_id="inv-d", event_id="d:1"))
    put(platform, RESPONSE_SCORED, scored(7, "passive", invite_id="inv-a", event_id="a:1"))
    put(platform, RESPONSE_SCORED, scored(10, "promoter", invite_id="inv-p", event_id="p:1"))
    put(platform, RESPONSE_SCORED, {**scored(4, "detractor", previous=(2, "detractor")), "event_id": "same:2"})
    put(platform, RESPONSE_SCORED, {**scored(9, "promoter", wave_id="fu-inv-d"), "event_id": "re:1"})
    # When the targets are read
    got = received(platform)
    # Then each workflow got its first answer only, and the re-survey answer went to the consumer
    assert got == {"detractor": ["d:1"], "passive": ["a:1"], "promoter": ["p:1"], "events": ["re:1"]}


def test_detractor_comments_and_retractions_reach_the_follow_up_consumer(platform: LocalStack) -> None:
    put(platform, COMMENT_RECEIVED, {**comment("detractor"), "event_id": "c-d"})
    put(platform, COMMENT_RECEIVED, {**comment("promoter", score=10), "event_id": "c-p"})
    put(platform, RESPONSE_RETRACTED, {**retracted("passive"), "event_id": "r-a"})
    put(platform, CONTACT_UNSUBSCRIBED, SAMPLES[CONTACT_UNSUBSCRIBED])
    got = received(platform)
    assert got == {"detractor": [], "passive": [], "promoter": [], "events": ["c-d", "r-a"]}
