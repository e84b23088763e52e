"""Suppressions table: hashed addresses that must never be sent to again, with reason and time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from nps.kernel import aws
from nps.sending.suppression import SuppressionReason

if TYPE_CHECKING:
    from nps.sending.lifting import Lift, SuppressionRecord
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

    def confirm_unsubscribed(self, address_hash: str, now_iso: str) -> bool:
        """An unsubscribe reached a number suppressed only because SNS had it opted out: the suppression
        becomes ``unsubscribed`` (``previous_reason`` keeps ``sms_opted_out``), so SNS opting the number in
        again no longer lifts it. False when the suppression has another reason (or none)."""
        return aws.conditional_write(
            "update_item",
            TableName=self.table_name,
            Key={"address_hash": {"S": address_hash}},
            UpdateExpression="SET #reason = :unsubscribed, previous_reason = :stop, unsubscribed_at = :now",
            ConditionExpression="#reason = :stop",
            ExpressionAttributeNames={"#reason": "reason"},
            ExpressionAttributeValues={
                ":unsubscribed": {"S": SuppressionReason.UNSUBSCRIBED.value},
                ":stop": {"S": SuppressionReason.SMS_OPTED_OUT.value},
                ":now": {"S": now_iso},
            },
        )

    def is_suppressed(self, address_hash: str) -> bool:
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name, Key={"address_hash": {"S": address_hash}}, ConsistentRead=True
        )
        return "Item" in item

    def suppressed_among(self, hashes: Iterable[str]) -> set[str]:
        """The subset of ``hashes`` that is suppressed (BatchGetItem, unprocessed keys retried).

        A number suppressed only because SNS had it opted out (``sms_opted_out``) is not in it: SNS
        decides for those, at send time (:func:`nps.sending.lifting.follow_sns`), so a number opted in
        again at SNS is surveyed again, and one still opted out is skipped there.
        """
        wanted = sorted(set(hashes))
        found: set[str] = set()
        client = aws.client("dynamodb")
        for start in range(0, len(wanted), _BATCH):
            request = {
                self.table_name: {
                    "Keys": [{"address_hash": {"S": h}} for h in wanted[start : start + _BATCH]],
                    "ProjectionExpression": "address_hash, #reason",
                    "ExpressionAttributeNames": {"#reason": "reason"},
                }
            }
            while request:
                result = client.batch_get_item(RequestItems=request)
                found.update(
                    i["address_hash"]["S"]
                    for i in result["Responses"].get(self.table_name, [])
                    if i.get("reason", {}).get("S") != SuppressionReason.SMS_OPTED_OUT.value
                )
                request = result.get("UnprocessedKeys") or {}
        return found

    # -- the move from unkeyed to keyed suppression keys (nps.sending.rekeying) -----------------------
    def rekey(self, legacy_hash: str, keyed_hash: str, now_iso: str) -> bool:
        """Copy the legacy item to ``keyed_hash`` (minus ``method``, plus ``migrated_at``); False when the
        keyed item exists already or the legacy one is gone. Never overwrites."""
        client = aws.client("dynamodb")
        found = client.get_item(
            TableName=self.table_name, Key={"address_hash": {"S": legacy_hash}}, ConsistentRead=True
        )
        if "Item" not in found:
            return False
        item = {name: value for name, value in found["Item"].items() if name not in ("address_hash", "method")}
        item |= {"address_hash": {"S": keyed_hash}, "migrated_at": {"S": now_iso}}
        return aws.conditional_write(
            "put_item", TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(address_hash)"
        )

    def remove_legacy(self, legacy_hash: str, keyed_hash: str) -> bool:
        """Delete the legacy item in one transaction with a check that the keyed item exists; False when
        the check fails (nothing deleted) or the legacy item is gone already."""
        try:
            aws.client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": {"address_hash": {"S": keyed_hash}},
                            "ConditionExpression": "attribute_exists(address_hash)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": {"address_hash": {"S": legacy_hash}},
                            "ConditionExpression": "attribute_exists(address_hash)",
                        }
                    },
                ]
            )
        except Exception as error:
            if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise
        return True

    def get(self, address_hash: str) -> SuppressionRecord | None:
        """The suppression of ``address_hash`` (consistent read); None when it is not suppressed."""
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.table_name, Key={"address_hash": {"S": address_hash}}, ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return None
        from nps.sending.lifting import SuppressionRecord  # read only to lift one (an SMS opt-in, the CLI)

        return SuppressionRecord(
            address_hash=address_hash,
            reason=item.get("reason", {}).get("S", ""),
            suppressed_at=item.get("suppressed_at", {}).get("S", ""),
            contact_id=item.get("contact_id", {}).get("S"),
        )

    def lift(self, lift: Lift) -> bool:
        """Delete the suppression if it is still the one read (same reason and time) and store its audit
        item (key ``lifted#<address_hash>#<lifted_at>``: never matched by a lookup of an address), in one
        ``TransactWriteItems``. False when the suppression changed or is gone meanwhile."""
        lifted = lift.lifted
        audit: dict[str, Any] = {
            "address_hash": {"S": lift_audit_key(lifted.address_hash, lift.at)},
            "lifted_hash": {"S": lifted.address_hash},
            "channel": {"S": lift.channel},
            "lifted_at": {"S": lift.at},
            "lifted_by": {"S": lift.by},
            "lift_reason": {"S": lift.why},
            "previous_reason": {"S": lifted.reason},
            "previous_suppressed_at": {"S": lifted.suppressed_at},
        }
        if lifted.contact_id:
            audit["contact_id"] = {"S": lifted.contact_id}
        actions = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": {"address_hash": {"S": lifted.address_hash}},
                    "ConditionExpression": "#reason = :reason AND suppressed_at = :at",
                    "ExpressionAttributeNames": {"#reason": "reason"},
                    "ExpressionAttributeValues": {":reason": {"S": lifted.reason}, ":at": {"S": lifted.suppressed_at}},
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": audit,
                    "ConditionExpression": "attribute_not_exists(address_hash)",
                }
            },
        ]
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=actions)
        except Exception as error:
            reasons = (getattr(error, "response", None) or {}).get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return False
            raise
        return True


def lift_audit_key(address_hash: str, lifted_at: str) -> str:
    """The key of a lift's audit item in the suppressions table."""
    return f"lifted#{address_hash}#{lifted_at}"
