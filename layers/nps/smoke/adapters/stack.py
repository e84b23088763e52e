"""What ``nps smoke`` needs from AWS beyond the platform's own repositories (see :mod:`nps.smoke.checks`).

* :class:`LambdaPlanner` starts the smoke wave by invoking the deployed planner function, exactly as its
  Scheduler schedule does, so the planner's code *and role* are exercised;
* :class:`ScoredEventTap` is a temporary EventBridge rule on the platform's bus with a temporary SQS queue
  as its only target: the CLI's window onto the ``NPS Response Scored`` events of the smoke survey;
* :class:`SmokeData` removes what a smoke run wrote (responses, aggregate items, invites, contacts, the
  survey definition and the simulator bounce's suppression), and nothing else.

Every call runs with the operator's credentials (``docs/deploy.md`` lists the permissions).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from nps.kernel import aws
from nps.kernel.periods import Granularity
from nps.kernel.tables import RESPONSES_BY_SURVEY_SHARD, survey_shards
from nps.scoring.aggregation import ALL, AggregateKey
from nps.sending.adapters.contacts import contact_key

#: A synchronous invocation can outlast the shared clients' 5 s read timeout (a cold start, a full wave);
#: and it must not be retried by the SDK: a timed-out invocation may still be running.
_INVOKE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=300)
#: SQS long polls stay below the shared clients' read timeout.
MAX_POLL_SECONDS = 4


class PlannerFailed(RuntimeError):
    """The planner function ran and raised (``FunctionError``); the message names its error type."""


@dataclass(frozen=True, slots=True)
class LambdaPlanner:
    """The deployed planner function, invoked synchronously with a Scheduler-shaped payload."""

    function_arn: str

    def start_wave(self, survey_id: str, scheduled_time: datetime) -> dict[str, Any]:
        """Plan a wave of ``survey_id`` now; returns the planner's wave report (``invites``, ``skipped`` …).

        Raises :class:`PlannerFailed` when the function raised, botocore errors when it cannot be invoked.
        """
        factory: Any = boto3.client
        client = factory("lambda", region_name=os.environ.get("AWS_REGION"), config=_INVOKE_CONFIG)
        payload = {"action": "wave", "survey_id": survey_id, "scheduled_time": scheduled_time.isoformat()}
        result = client.invoke(FunctionName=self.function_arn, Payload=json.dumps(payload).encode())
        body = json.loads(result["Payload"].read() or b"null")
        if result.get("FunctionError"):
            error = body.get("errorType", "error") if isinstance(body, dict) else "error"
            raise PlannerFailed(f"the planner function failed ({error})")
        if not isinstance(body, dict):
            raise PlannerFailed("the planner function returned no wave report")
        return body


class ScoredEventTap:
    """A temporary rule on the platform's bus that copies matching events to a temporary queue.

    ``open`` creates the queue (SQS-managed encryption, one hour retention), a queue policy that lets
    only this rule send to it, the rule and its target; ``close`` removes all four. Nothing else on the
    bus changes, and the rule only matches the smoke survey's events.
    """

    def __init__(self, bus_name: str, name: str, pattern: dict[str, Any]) -> None:
        self.bus_name = bus_name
        self.name = name
        self.pattern = pattern
        self.queue_url: str | None = None
        self.rule_created = False
        self.target_added = False

    def open(self) -> None:
        sqs, events = aws.client("sqs"), aws.client("events")
        self.queue_url = sqs.create_queue(
            QueueName=self.name,
            Attributes={"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "3600"},
            tags={"app": "nps-platform", "purpose": "nps-smoke"},
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule_arn = events.put_rule(
            Name=self.name,
            EventBusName=self.bus_name,
            EventPattern=json.dumps(self.pattern),
            State="ENABLED",
            Description="nps smoke: copies the smoke survey's events to a temporary queue (deleted after the run)",
        )["RuleArn"]
        self.rule_created = True
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyTheSmokeRule",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)})
        result = events.put_targets(
            Rule=self.name, EventBusName=self.bus_name, Targets=[{"Id": "smoke-queue", "Arn": queue_arn}]
        )
        if result.get("FailedEntryCount"):
            entry = (result.get("FailedEntries") or [{}])[0]
            raise RuntimeError(f"the rule's target was refused ({entry.get('ErrorCode', 'unknown error')})")
        self.target_added = True

    def receive(self, wait_seconds: float) -> list[dict[str, Any]]:
        """Events delivered so far (each received once, then deleted), waiting up to ``wait_seconds``."""
        if self.queue_url is None:
            return []
        sqs = aws.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(0, min(MAX_POLL_SECONDS, int(wait_seconds))),
        ).get("Messages", [])
        events = []
        for message in messages:
            try:
                body = json.loads(message["Body"])
            except json.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                events.append(body)
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def close(self) -> list[str]:
        """Remove the target, the rule and the queue; returns what could not be removed (with why)."""
        problems: list[str] = []
        events = aws.client("events")
        if self.target_added:
            try:
                events.remove_targets(Rule=self.name, EventBusName=self.bus_name, Ids=["smoke-queue"])
                self.target_added = False
            except Exception as error:
                problems.append(f"rule target ({error_code(error)})")
        if self.rule_created:
            try:
                events.delete_rule(Name=self.name, EventBusName=self.bus_name)
                self.rule_created = False
            except Exception as error:
                problems.append(f"rule {self.name} ({error_code(error)})")
        if self.queue_url is not None:
            try:
                aws.client("sqs").delete_queue(QueueUrl=self.queue_url)
                self.queue_url = None
            except Exception as error:
                problems.append(f"queue {self.name} ({error_code(error)})")
        return problems


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    reason: str
    contact_id: str | None


class SmokeData:
    """Reads and deletes of the smoke survey's own items (ids only: it never reads an address)."""

    def __init__(self, tables: dict[str, str]) -> None:
        self.tables = tables

    def _delete(self, table: str, key: dict[str, Any], condition: dict[str, Any] | None = None) -> bool:
        """Delete one item; True when an item was there (and the condition, if any, held)."""
        request: dict[str, Any] = {"TableName": self.tables[table], "Key": key, "ReturnValues": "ALL_OLD"}
        if condition:
            request |= condition
        try:
            result = aws.client("dynamodb").delete_item(**request)
        except Exception as error:
            if aws.conditional_check_failed(error):
                return False
            raise
        return "Attributes" in result

    def _query(self, table: str, **request: Any) -> Iterator[dict[str, Any]]:
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(TableName=self.tables[table], **request):
            yield from page["Items"]

    # -- responses and aggregates ---------------------------------------------------------------------
    def answered_invites(self, survey_id: str) -> list[str]:
        """Invite ids of the survey's answered responses (every shard of the ``by_survey_shard`` index; the
        smoke survey's answers are written by this release, so all have a shard)."""
        return [
            item["invite_id"]["S"]
            for shard in survey_shards(survey_id)
            for item in self._query(
                "responses",
                IndexName=RESPONSES_BY_SURVEY_SHARD.name,
                KeyConditionExpression="survey_shard = :shard",
                ExpressionAttributeValues={":shard": {"S": shard}},
            )
        ]

    def delete_responses(self, invite_ids: Iterable[str]) -> int:
        return sum(self._delete("responses", {"invite_id": {"S": i}}) for i in sorted(set(invite_ids)))

    def aggregate_keys(self, survey_id: str, channels: Iterable[str]) -> list[tuple[str, str]]:
        """``(pk, period)`` of every aggregate item of a survey without segment dimensions, on ``channels``.

        Read from the table (one query per granularity and channel), so items of any period are found.
        """
        keys = []
        for granularity in Granularity:
            for channel in (ALL, *channels):
                pk = AggregateKey(survey_id, granularity, "", ALL, channel).pk
                for item in self._query(
                    "aggregates",
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": pk}},
                    ProjectionExpression="pk, #period",
                    ExpressionAttributeNames={"#period": "period"},
                    ConsistentRead=True,
                ):
                    keys.append((pk, item["period"]["S"]))
        return keys

    def delete_aggregates(self, keys: Iterable[tuple[str, str]]) -> int:
        return sum(self._delete("aggregates", {"pk": {"S": pk}, "period": {"S": period}}) for pk, period in keys)

    # -- invites, contacts, survey --------------------------------------------------------------------
    def delete_invites(self, invite_ids: Iterable[str]) -> int:
        return sum(self._delete("invites", {"invite_id": {"S": i}}) for i in sorted(set(invite_ids)))

    def delete_audience(self, audience: str) -> int:
        """Delete every contact of an audience (the smoke survey's own audience)."""
        items = list(
            self._query(
                "contacts",
                KeyConditionExpression="audience = :audience",
                ExpressionAttributeValues={":audience": {"S": audience}},
                ProjectionExpression="audience, contact_id",
            )
        )
        return sum(self._delete("contacts", contact_key(audience, item["contact_id"]["S"])) for item in items)

    def delete_survey(self, survey_id: str) -> int:
        """Delete the survey's definition and any reminder items under it."""
        items = list(
            self._query(
                "surveys",
                KeyConditionExpression="survey_id = :survey",
                ExpressionAttributeValues={":survey": {"S": survey_id}},
                ProjectionExpression="survey_id, sk",
            )
        )
        return sum(self._delete("surveys", {"survey_id": item["survey_id"], "sk": item["sk"]}) for item in items)

    # -- suppressions ----------------------------------------------------------------------------------
    def suppression(self, address_hash: str) -> SuppressionEntry | None:
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.tables["suppressions"],
                Key={"address_hash": {"S": address_hash}},
                ProjectionExpression="reason, contact_id",
                ConsistentRead=True,
            )
            .get("Item")
        )
        if item is None:
            return None
        return SuppressionEntry(item.get("reason", {}).get("S", ""), item.get("contact_id", {}).get("S"))

    def delete_suppression(self, address_hash: str, contact_id: str) -> bool:
        """Delete a suppression of a simulator address only if it names ``contact_id`` (a smoke contact) or
        no contact at all: never someone else's. A bounce with no contact comes from a smoke run interrupted
        after its send left and before the bounce arrived (cleanup had removed the invite and contact);
        the SES mailbox simulator's addresses belong to no person, so nobody's opt-out is lost."""
        return self._delete(
            "suppressions",
            {"address_hash": {"S": address_hash}},
            {
                "ConditionExpression": "contact_id = :contact OR attribute_not_exists(contact_id)",
                "ExpressionAttributeValues": {":contact": {"S": contact_id}},
            },
        )


def error_code(error: Exception) -> str:
    """An AWS error's code (``AccessDeniedException``…) or the exception's class name."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(error).__name__)
