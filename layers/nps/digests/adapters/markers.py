"""Sent markers of digests in the surveys table: ``survey_id = <survey>``, ``sk = digest#<period>#<recipient key>``.

One item per survey, digest period and recipient, written with a condition before the message is sent
(``claimed``), then marked ``sent`` (with SES's message id) or ``unknown`` (the send may have left), or
deleted again when SES refused the message before accepting it (so a retried run tries again). A retried
or repeated run finds the item and sends nothing: a digest reaches each person at most once per period.
The recipient key is a keyed hash (HMAC under the stack's id key): the table never holds an address.
"""

from __future__ import annotations

from nps.kernel import aws

PREFIX = "digest#"


def marker_sort_key(period_key: str, recipient_key: str) -> str:
    return f"{PREFIX}{period_key}#{recipient_key}"


class DynamoDigestMarkers:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _key(self, survey_id: str, period_key: str, recipient_key: str) -> dict[str, dict[str, str]]:
        return {"survey_id": {"S": survey_id}, "sk": {"S": marker_sort_key(period_key, recipient_key)}}

    def claim(self, survey_id: str, period_key: str, recipient_key: str, now_iso: str) -> bool:
        """Write the marker as ``claimed``; False when one exists (claimed, sent or unknown)."""
        return aws.conditional_write(
            "put_item",
            TableName=self.table_name,
            Item={
                **self._key(survey_id, period_key, recipient_key),
                "status": {"S": "claimed"},
                "claimed_at": {"S": now_iso},
            },
            ConditionExpression="attribute_not_exists(sk)",
        )

    def settle(self, survey_id: str, period_key: str, recipient_key: str, status: str, message_id: str = "") -> None:
        """Mark a claimed marker ``sent`` (with SES's message id) or ``unknown``."""
        values = {":status": {"S": status}}
        expression = "SET #status = :status"
        if message_id:
            values[":message"] = {"S": message_id}
            expression += ", message_id = :message"
        aws.client("dynamodb").update_item(
            TableName=self.table_name,
            Key=self._key(survey_id, period_key, recipient_key),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def release(self, survey_id: str, period_key: str, recipient_key: str) -> None:
        """Delete a marker still ``claimed`` (SES refused the message: a later run may send it)."""
        aws.conditional_write(
            "delete_item",
            TableName=self.table_name,
            Key=self._key(survey_id, period_key, recipient_key),
            ConditionExpression="#status = :claimed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":claimed": {"S": "claimed"}},
        )
