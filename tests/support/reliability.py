"""Oracles and plumbing shared by the reliability tests.

The oracle for the aggregates is written here from the contract, not imported from the product:
a recount of the responses table into ``<survey>#<granularity>#<segment or *>#<channel or *>`` keys with
the period of ``first_answered_at`` (UTC) as sort key, compared with a scan of the aggregates table.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from functions.score import handler as score
from local.environment import LocalStack
from local.lambda_events import LambdaContext
from nps.kernel import aws

AggregateKey = tuple[str, str]  # (pk, period)
Counts = dict[AggregateKey, dict[str, int]]
COUNTERS = ("promoters", "passives", "detractors", *(f"score_{n}" for n in range(11)))


def scan(table: str) -> list[dict[str, Any]]:
    """Every item of a table (consistent reads, all pages)."""
    items: list[dict[str, Any]] = []
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    return items


def aggregate_counts(stack: LocalStack) -> Counts:
    """The aggregates table's counters per key, bookkeeping items (ledger, commit records) and zeros left out."""
    out: Counts = {}
    for item in scan(stack.tables["aggregates"]):
        pk = item["pk"]["S"]
        if pk.startswith(("ledger#", "commit#")):
            continue
        counters = {name: int(item[name]["N"]) for name in COUNTERS if name in item and int(item[name]["N"])}
        if counters:
            out[(pk, item["period"]["S"])] = counters
    return out


def periods(at: datetime) -> dict[str, str]:
    """The contract's period keys for an instant, in UTC."""
    at = at.astimezone(UTC)
    iso_year, iso_week, _ = at.isocalendar()
    return {
        "day": f"{at.year:04d}-{at.month:02d}-{at.day:02d}",
        "week": f"{iso_year:04d}-W{iso_week:02d}",
        "month": f"{at.year:04d}-{at.month:02d}",
        "quarter": f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}",
    }


def expected_counts(items: list[dict[str, Any]]) -> Counts:
    """What the aggregates must hold for these response items (DynamoDB JSON): every item with a score
    that is not ``counted = false``, under all four periods of its first answer, per segment value
    (one dimension at a time, plus ``*``) and per channel (plus ``*``)."""
    expected: dict[AggregateKey, Counter[str]] = {}
    for item in items:
        if "score" not in item or not item.get("counted", {}).get("BOOL", True):
            continue
        value = int(item["score"]["N"])
        category = "promoters" if value >= 9 else "passives" if value >= 7 else "detractors"
        first = datetime.fromisoformat(item["first_answered_at"]["S"].replace("Z", "+00:00"))
        segments = ["*"] + [f"{name}={v['S']}" for name, v in item.get("segments", {}).get("M", {}).items()]
        for granularity, period in periods(first).items():
            for segment in segments:
                for channel in ("*", item["channel"]["S"]):
                    pk = f"{item['survey_id']['S']}#{granularity}#{segment}#{channel}"
                    counts = expected.setdefault((pk, period), Counter())
                    counts[category] += 1
                    counts[f"score_{value}"] += 1
    return {key: dict(counts) for key, counts in expected.items()}


def recount(stack: LocalStack) -> Counts:
    """The aggregates recomputed from the responses table as it is now."""
    return expected_counts(scan(stack.tables["responses"]))


def clear_aggregates(stack: LocalStack) -> None:
    """Empty the aggregates table (counters and bookkeeping), as before the stream was ever scored."""
    client = aws.client("dynamodb")
    keys = [{"pk": item["pk"], "period": item["period"]} for item in scan(stack.tables["aggregates"])]
    for start in range(0, len(keys), 25):
        request = {stack.tables["aggregates"]: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def run_score(event: dict[str, Any]) -> dict[str, Any]:
    """The score function on one Lambda event."""
    result: dict[str, Any] = score.lambda_handler(event, LambdaContext("score"))
    return result


def route_events_to_queue(stack: LocalStack, name: str, detail_types: list[str] | None = None) -> str:
    """An SQS queue with an EventBridge rule on the platform's bus that sends it every ``nps`` event
    (of the given detail types); returns the queue URL."""
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName=f"{stack.prefix}-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern: dict[str, Any] = {"source": ["nps"]}
    if detail_types:
        pattern["detail-type"] = detail_types
    events = aws.client("events")
    events.put_rule(Name=f"{stack.prefix}-{name}", EventBusName=stack.bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"{stack.prefix}-{name}", EventBusName=stack.bus_name, Targets=[{"Id": name, "Arn": arn}])
    return url


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every event on the queue (received and deleted)."""
    sqs = aws.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
