"""Customer Churned events on the local stack: emit them on the bus as another service would, and run the
churn function over its queue (the demo and the integration tests use both).

``emit_churn_events`` puts each detail on the NPS bus (source ``com.example.billing`` by default, never
``nps``), 10 per ``PutEvents``; the local rule delivers them to the churn queue. ``run_churn_queue`` hands
what is waiting to the real handler, 10 messages a batch as the event source would, deletes the messages it
recorded, and returns the failed message ids (left on the queue, as SQS would redeliver them); given a time,
the function receives them then.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from local.environment import LocalStack
from local.lambda_events import LambdaContext, sqs_record
from nps.events.names import CUSTOMER_CHURNED
from nps.kernel import aws

#: The source local churn events are sent from (any source but ``nps`` is accepted).
BILLING_SOURCE = "com.example.billing"


def emit_churn_events(
    stack: LocalStack, details: Sequence[Mapping[str, Any]], *, source: str = BILLING_SOURCE
) -> list[str]:
    """Put one ``Customer Churned`` event per detail on the stack's bus; the EventBridge event ids."""
    events = aws.client("events")
    ids: list[str] = []
    for start in range(0, len(details), 10):
        entries = [
            {
                "Source": source,
                "DetailType": CUSTOMER_CHURNED,
                "Detail": json.dumps(dict(detail), default=str),
                "EventBusName": stack.bus_name,
            }
            for detail in details[start : start + 10]
        ]
        result = events.put_events(Entries=entries)
        if result.get("FailedEntryCount"):
            raise RuntimeError(f"{result['FailedEntryCount']} churn events were not accepted by the bus")
        ids.extend(entry["EventId"] for entry in result["Entries"])
    return ids


def run_churn_queue(stack: LocalStack, batch_size: int = 10, now: datetime | None = None) -> list[str]:
    """Run the churn function over every message on its queue (received at ``now``, default the current
    UTC time); the message ids it reported failed."""
    from functions.churn import handler

    saved = handler.clock
    if now is not None:
        handler.clock = lambda: now
    try:
        return _run_churn_queue(stack, batch_size)
    finally:
        handler.clock = saved


def _run_churn_queue(stack: LocalStack, batch_size: int) -> list[str]:
    from functions.churn import handler

    sqs = aws.client("sqs")
    url = stack.churn_queue_url
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    failed: list[str] = []
    seen: set[str] = set()
    while True:
        messages = [
            m
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch_size, VisibilityTimeout=30).get(
                "Messages", []
            )
            if m["MessageId"] not in seen
        ]
        if not messages:
            return failed
        seen.update(m["MessageId"] for m in messages)
        result = handler.lambda_handler({"Records": [sqs_record(m, arn) for m in messages]}, LambdaContext())
        refused = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        failed.extend(sorted(refused))
        for message in messages:
            if message["MessageId"] not in refused:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
