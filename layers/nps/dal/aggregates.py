"""Aggregates table: counters per key, plus the dedupe ledger that makes stream replays harmless.

A batch commits in one ``TransactWriteItems``: one conditional update per ledger bucket (each invite's
version must be newer than the one recorded) and one ``ADD`` update per aggregate key. If a ledger
condition fails, part of the batch was applied before (a retried or overlapping batch): the ledger is
read, the transitions already applied are dropped, and the rest is committed. Either everything in a
transaction lands or nothing does, so a crash between writes cannot double count.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nps import aws
from nps.aggregation import AggregateKey, LedgerClaim, Transition, coalesce, ledger_claims
from nps.periods import iso_timestamp

MAX_TRANSACTION_ITEMS = 100
# Keeps a ledger update's condition expression well under DynamoDB's 4 KB expression limit.
MAX_INVITES_PER_LEDGER_UPDATE = 60
LEDGER_SORT_KEY = "-"
LEDGER_RETENTION = timedelta(days=3)  # stream records live 24 h; keep the ledger well beyond that
_RETRYABLE = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}


@dataclass(slots=True)
class CommitStats:
    transitions: int = 0
    applied: int = 0
    skipped_as_replayed: int = 0
    aggregate_writes: int = 0
    ledger_writes: int = 0
    transactions: int = 0

    @property
    def writes(self) -> int:
        return self.aggregate_writes + self.ledger_writes


class CommitFailed(RuntimeError):
    """The batch could not be committed after retries; the stream will deliver it again."""


_DESCRIPTOR_NAMES = {f"#{n}": n for n in ("survey_id", "granularity", "segment", "channel", "updated_at")}


def _ledger_attr(invite_id: str) -> str:
    return f"v_{invite_id}"


class DynamoAggregateStore:
    def __init__(
        self,
        table_name: str,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table_name = table_name
        self.max_attempts = max_attempts
        self.sleep = sleep

    # -- commit ---------------------------------------------------------------------------------
    def commit(self, transitions: Sequence[Transition], now: datetime) -> CommitStats:
        """Apply every transition not applied before, exactly once."""
        stats = CommitStats(transitions=len(transitions))
        self._commit(list(transitions), now, stats)
        stats.skipped_as_replayed = stats.transitions - stats.applied
        return stats

    def _commit(self, pending: list[Transition], now: datetime, stats: CommitStats) -> None:
        for attempt in range(self.max_attempts):
            if not pending:
                return
            claims = ledger_claims(pending)
            sums = coalesce(pending)
            too_many = len(claims) + len(sums) > MAX_TRANSACTION_ITEMS or any(
                len(claim.min_versions) > MAX_INVITES_PER_LEDGER_UPDATE for claim in claims.values()
            )
            if too_many and len(pending) > 1:
                # Rare: too many distinct keys for one transaction. Commit in order, in halves.
                middle = len(pending) // 2
                self._commit(pending[:middle], now, stats)
                self._commit(pending[middle:], now, stats)
                return
            now_iso = iso_timestamp(now)
            actions = [self._ledger_update(bucket, claim, now) for bucket, claim in claims.items()]
            actions += [self._aggregate_update(key, counters, now_iso) for key, counters in sums.items()]
            try:
                aws.client("dynamodb").transact_write_items(TransactItems=actions)
            except Exception as error:
                reasons = _cancellation_codes(error)
                if reasons is None:
                    raise
                if "ConditionalCheckFailed" in reasons:
                    pending = self._not_yet_applied(pending)
                    continue
                if not reasons & _RETRYABLE and not _is_throttle(error):
                    raise
                self.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
                continue
            stats.applied += len(pending)
            stats.ledger_writes += len(claims)
            stats.aggregate_writes += len(sums)
            stats.transactions += 1
            return
        raise CommitFailed(f"could not commit {len(pending)} transitions after {self.max_attempts} attempts")

    def _ledger_update(self, bucket: str, claim: LedgerClaim, now: datetime) -> dict[str, Any]:
        names: dict[str, str] = {"#ttl": "expires_at_ttl"}
        values: dict[str, Any] = {":ttl": {"N": str(int((now + LEDGER_RETENTION).timestamp()))}}
        sets = ["#ttl = :ttl"]
        conditions = []
        for index, (invite_id, low) in enumerate(sorted(claim.min_versions.items())):
            names[f"#i{index}"] = _ledger_attr(invite_id)
            values[f":lo{index}"] = {"N": str(low)}
            values[f":hi{index}"] = {"N": str(claim.max_versions[invite_id])}
            sets.append(f"#i{index} = :hi{index}")
            conditions.append(f"(attribute_not_exists(#i{index}) OR #i{index} < :lo{index})")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": bucket}, "period": {"S": LEDGER_SORT_KEY}},
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _aggregate_update(self, key: AggregateKey, counters: dict[str, int], now_iso: str) -> dict[str, Any]:
        # Counter names (promoters, score_7, ...) are plain identifiers, not DynamoDB reserved words.
        names = dict(_DESCRIPTOR_NAMES)
        values: dict[str, Any] = {
            ":survey": {"S": key.survey_id},
            ":granularity": {"S": key.granularity.value},
            ":segment": {"S": key.segment},
            ":channel": {"S": key.channel},
            ":now": {"S": now_iso},
        }
        adds = []
        for name, value in counters.items():
            values[f":{name}"] = {"N": str(value)}
            adds.append(f"{name} :{name}")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": key.pk}, "period": {"S": key.period}},
                "UpdateExpression": (
                    f"ADD {', '.join(adds)} SET #survey_id = :survey, #granularity = :granularity, "
                    "#segment = :segment, #channel = :channel, #updated_at = :now"
                ),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _not_yet_applied(self, pending: list[Transition]) -> list[Transition]:
        """Drop the transitions the ledger already records (read with strong consistency)."""
        buckets = sorted({t.ledger_bucket for t in pending})
        applied: dict[str, dict[str, int]] = {}
        client = aws.client("dynamodb")
        for start in range(0, len(buckets), 100):
            keys = [{"pk": {"S": b}, "period": {"S": LEDGER_SORT_KEY}} for b in buckets[start : start + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                result = client.batch_get_item(RequestItems=request)
                for item in result["Responses"].get(self.table_name, []):
                    applied[item["pk"]["S"]] = {
                        name[2:]: int(value["N"]) for name, value in item.items() if name.startswith("v_")
                    }
                request = result.get("UnprocessedKeys") or {}
        return [t for t in pending if t.version > applied.get(t.ledger_bucket, {}).get(t.invite_id, 0)]

    # -- read -----------------------------------------------------------------------------------
    def get(self, key: AggregateKey) -> dict[str, int]:
        """The counters of one aggregate key (zeros when absent)."""
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"pk": {"S": key.pk}, "period": {"S": key.period}},
            ConsistentRead=True,
        )
        return {
            name: int(value["N"])
            for name, value in item.get("Item", {}).items()
            if "N" in value and not name.startswith("v_")
        }

    def query(self, pk: str, first_period: str, last_period: str) -> list[dict[str, Any]]:
        """Every aggregate item of one key prefix between two periods (inclusive)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND #period BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": "pk", "#period": "period"},
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":lo": {"S": first_period},
                ":hi": {"S": last_period},
            },
        }
        while True:
            page = aws.client("dynamodb").query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _cancellation_codes(error: Exception) -> set[str] | None:
    response = getattr(error, "response", None)
    if not response or response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None if not _is_throttle(error) else set()
    return {reason.get("Code", "") for reason in response.get("CancellationReasons", []) if reason}


def _is_throttle(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code") in {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
