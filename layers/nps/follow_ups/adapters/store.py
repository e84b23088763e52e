"""Follow-ups table, the follow-up task queue and Step Functions task tokens (behind nps.follow_ups.steps)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from nps.follow_ups.steps import COMMENT_UPDATE_DUE, FOLLOW_UP_SOURCE, FollowUp, Status, invite_id_of
from nps.kernel import aws
from nps.kernel.config import ConfigurationError
from nps.kernel.periods import iso_timestamp
from nps.sending.adapters import channels

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class DynamoFollowUpStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @staticmethod
    def _key(follow_up_id: str) -> dict[str, Any]:
        return {"invite_id": {"S": invite_id_of(follow_up_id)}, "follow_up_id": {"S": follow_up_id}}

    def create(self, follow_up: FollowUp, ttl: int) -> bool:
        """Write a new follow-up; False when one with this id exists (a redelivered answer)."""
        item = follow_up_item(follow_up, ttl)
        return aws.conditional_write(
            "put_item", TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(follow_up_id)"
        )

    def get(self, follow_up_id: str) -> FollowUp | None:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.table_name, Key=self._key(follow_up_id), ConsistentRead=True)
            .get("Item")
        )
        return _follow_up(item) if item else None

    def of_invite(self, invite_id: str) -> list[FollowUp]:
        result = aws.client("dynamodb").query(
            TableName=self.table_name,
            KeyConditionExpression="invite_id = :invite",
            ExpressionAttributeValues={":invite": {"S": invite_id}},
            ConsistentRead=True,
        )
        return [_follow_up(item) for item in result["Items"]]

    def transition(self, follow_up_id: str, expected: Sequence[Status], new: Status, values: dict[str, Any]) -> bool:
        """Move to ``new`` (setting ``values``; None removes an attribute) if the status is one of ``expected``."""
        names = {"#status": "status"}
        attribute_values: dict[str, Any] = {":new": {"S": new.value}}
        sets, removes = ["#status = :new"], []
        for index, (name, value) in enumerate(sorted(values.items())):
            names[f"#a{index}"] = name
            if value is None:
                removes.append(f"#a{index}")
            else:
                attribute_values[f":a{index}"] = _serialize(value)
                sets.append(f"#a{index} = :a{index}")
        allowed = []
        for index, status in enumerate(expected):
            attribute_values[f":e{index}"] = {"S": status.value}
            allowed.append(f":e{index}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return self._update(
            follow_up_id,
            expression,
            f"attribute_exists(follow_up_id) AND #status IN ({', '.join(allowed)})",
            names,
            attribute_values,
        )

    def claim_email(self, follow_up_id: str) -> bool:
        """Claim the one email of this follow-up (False: an earlier attempt claimed it)."""
        return self._update(
            follow_up_id,
            "SET #claim = :claimed",
            "attribute_exists(follow_up_id) AND attribute_not_exists(#claim)",
            {"#claim": "email_claim"},
            {":claimed": {"BOOL": True}},
        )

    def release_email(self, follow_up_id: str) -> None:
        """Give the claim back after a send that certainly did not leave (a retryable SES error)."""
        self._update(follow_up_id, "REMOVE #claim", "attribute_exists(follow_up_id)", {"#claim": "email_claim"}, None)

    def save_comments(
        self,
        follow_up_id: str,
        comments: list[dict[str, Any]],
        comment_count: int,
        *,
        expected_count: int | None,
        expected_status: Status,
        update_due: str | None = None,
    ) -> bool:
        """Replace the kept comments and the count, if the count and status are still what the caller
        read (``expected_count`` None: an item from before the count existed); sets the comment update's
        due time when given. False when another writer got there first, or the follow-up is gone."""
        names = {"#comments": "comments", "#count": "comment_count", "#status": "status"}
        values: dict[str, Any] = {
            ":comments": _serialize(comments),
            ":count": {"N": str(comment_count)},
            ":status": {"S": expected_status.value},
        }
        expression = "SET #comments = :comments, #count = :count"
        if update_due is not None:
            names["#due"] = "comment_update_due"
            values[":due"] = {"S": update_due}
            expression += ", #due = :due"
        if expected_count is None:
            counted = "attribute_not_exists(#count)"
        else:
            counted = "#count = :expected"
            values[":expected"] = {"N": str(expected_count)}
        condition = f"attribute_exists(follow_up_id) AND #status = :status AND {counted}"
        return self._update(follow_up_id, expression, condition, names, values)

    def finish_comment_update(self, follow_up_id: str, comments_sent: int) -> bool:
        """Record that the team has been told about ``comments_sent`` comments and end the pending update,
        unless more comments arrived meanwhile (False: the caller schedules the next update)."""
        return self._update(
            follow_up_id,
            "SET #sent = :sent REMOVE #due",
            "attribute_exists(follow_up_id) AND (#count = :sent OR attribute_not_exists(#count))",
            {"#sent": "comments_sent", "#due": "comment_update_due", "#count": "comment_count"},
            {":sent": {"N": str(comments_sent)}},
        )

    def continue_comment_update(self, follow_up_id: str, comments_sent: int, update_due: str) -> bool:
        """Record what the team has been told and when the next update is due (False: the follow-up is
        gone, or a concurrent update already recorded more)."""
        return self._update(
            follow_up_id,
            "SET #sent = :sent, #due = :due",
            "attribute_exists(follow_up_id) AND (attribute_not_exists(#sent) OR #sent <= :sent)",
            {"#sent": "comments_sent", "#due": "comment_update_due"},
            {":sent": {"N": str(comments_sent)}, ":due": {"S": update_due}},
        )

    def clear_comment_update(self, follow_up_id: str) -> None:
        """Forget a pending comment update (its follow-up no longer waits for the team)."""
        self._update(
            follow_up_id, "REMOVE #due", "attribute_exists(follow_up_id)", {"#due": "comment_update_due"}, None
        )

    def _update(
        self,
        follow_up_id: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any] | None,
    ) -> bool:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(follow_up_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        return aws.conditional_write("update_item", **kwargs)


def follow_up_item(follow_up: FollowUp, ttl: int) -> dict[str, Any]:
    """The follow-up as its DynamoDB item (DynamoDB JSON); ``ttl`` in epoch seconds."""
    data = follow_up.as_dict(exclude_none=True)
    return {name: _serialize(value) for name, value in data.items()} | {"expires_at_ttl": {"N": str(ttl)}}


def _follow_up(item: dict[str, Any]) -> FollowUp:
    return FollowUp.from_dict({name: _plain(_deserialize(value)) for name, value in item.items()})


def _plain(value: Any) -> Any:
    """DynamoDB numbers (Decimal) back to int, in nested comments too."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class SqsTaskQueue:
    """The follow-up task queue (a CRM or ticketing integration reads it; see docs/events.md)."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, body: dict[str, Any]) -> None:
        aws.client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=task_message_body(body),
            MessageAttributes={"type": {"DataType": "String", "StringValue": str(body.get("type", ""))}},
        )


def task_message_body(body: dict[str, Any]) -> str:
    """A task message as the queue carries it (compact JSON, non-ASCII escaped: at most 256 KB)."""
    return json.dumps(body, separators=(",", ":"), default=str)


class SqsCommentUpdates:
    """A follow-up's comment update: a message to the follow-up events queue, delayed until it is due
    (SQS delays at most 15 minutes; ``not_before`` carries the due time for local runs, which queue it
    without a delay)."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def schedule(self, follow_up_id: str, due: datetime, now: datetime) -> None:
        if not self.queue_url:
            raise ConfigurationError("missing configuration: follow_up_events_queue_url")
        body = {
            "source": FOLLOW_UP_SOURCE,
            "detail-type": COMMENT_UPDATE_DUE,
            "follow_up_id": follow_up_id,
            "not_before": iso_timestamp(due),
        }
        delay = int((due - now).total_seconds())
        aws.client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(body, separators=(",", ":")),
            DelaySeconds=max(0, min(channels.MAX_DELAY_SECONDS, delay)),
        )


class StepFunctionsTaskTokens:
    def succeed(self, token: str, output: dict[str, Any]) -> None:
        try:
            aws.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output))
        except Exception as error:
            code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
            if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
                return  # the wait already ended (timeout or an earlier resolution): nothing to end
            raise
