"""Suppressions table: hashed addresses that must never be sent to again, with reason and time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nps.kernel import aws
from nps.sending.suppression import SuppressionReason

if TYPE_CHECKING:
    from nps.sending.unsubscribing import OptOut

_BATCH = 100


class DynamoSuppressionRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def suppress(
        self,
        address_hash: str,
        reason: SuppressionReason,
        now_iso: str,
        contact_id: str | None = None,
        opt_out: OptOut | None = None,
    ) -> bool:
        """Record a suppression; returns False when the address was already suppressed (kept as first).

        ``opt_out`` (ids and method of an unsubscribe) goes on the item: the suppressions stream
        publishes ``NPS Contact Unsubscribed`` from it.
        """
        item = {
            "address_hash": {"S": address_hash},
            "reason": {"S": reason.value},
            "suppressed_at": {"S": now_iso},
        }
        if contact_id:
            item["contact_id"] = {"S": contact_id}
        if opt_out is not None:
            item |= {name: {"S": value} for name, value in opt_out.attributes().items()}
        return aws.conditional_write(
            "put_item", TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(address_hash)"
        )

    def is_suppressed(self, address_hash: str) -> bool:
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name, Key={"address_hash": {"S": address_hash}}, ConsistentRead=True
        )
        return "Item" in item

    def suppressed_among(self, hashes: Iterable[str]) -> set[str]:
        """The subset of ``hashes`` that is suppressed (BatchGetItem, unprocessed keys retried)."""
        wanted = sorted(set(hashes))
        found: set[str] = set()
        client = aws.client("dynamodb")
        for start in range(0, len(wanted), _BATCH):
            request = {
                self.table_name: {
                    "Keys": [{"address_hash": {"S": h}} for h in wanted[start : start + _BATCH]],
                    "ProjectionExpression": "address_hash",
                }
            }
            while request:
                result = client.batch_get_item(RequestItems=request)
                found.update(i["address_hash"]["S"] for i in result["Responses"].get(self.table_name, []))
                request = result.get("UnprocessedKeys") or {}
        return found
