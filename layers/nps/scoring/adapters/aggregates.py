"""Aggregates table: counters per key, plus the dedupe ledger that makes stream replays harmless.

A batch normally commits in one ``TransactWriteItems``: one conditional update per ledger bucket
(each invite's version must be newer than the one recorded) and one ``ADD`` update per aggregate
key. If a ledger condition fails, part of the batch was applied before (a retried or overlapping
batch): the ledger is read, the transitions already applied are dropped, and the rest is committed.
Ledger and counters land together or not at all, so a crash can never double count.

A batch with more keys than one transaction holds (100 items) commits through a *commit record*:
the first transaction claims the ledger (each entry naming the commit) and stores the batch's
deltas; each following transaction applies one chunk of keys and marks that chunk done on the
record. A retry that finds its transitions claimed by an unfinished commit finishes the remaining
chunks from the record. Every key is still written once per batch.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nps.kernel import aws
from nps.kernel.periods import Granularity, iso_timestamp
from nps.scoring.aggregation import AggregateKey, Counters, LedgerClaim, Transition, coalesce, ledger_claims

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
    commit_record_writes: int = 0
    transactions: int = 0
    resumed_commits: int = 0

    @property
    def writes(self) -> int:
        return self.aggregate_writes + self.ledger_writes + self.commit_record_writes


class CommitFailed(RuntimeError):
    """The batch could not be committed after retries; the stream will deliver it again."""


class _AlreadyClaimed(Exception):
    """A ledger condition failed: some transitions were applied by an earlier attempt."""


class _ChunkAlreadyDone(Exception):
    """A commit record says this chunk of keys was applied before."""


def _ledger_attr(invite_id: str) -> str:
    return f"v_{invite_id}"


def _commit_attr(invite_id: str) -> str:
    return f"c_{invite_id}"


_DESCRIPTOR_NAMES = {f"#{n}": n for n in ("survey_id", "granularity", "segment", "channel", "updated_at")}


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
        for _ in range(self.max_attempts):
            if not pending:
                return
            claims = ledger_claims(pending)
            crowded = len(claims) >= MAX_TRANSACTION_ITEMS or any(
                len(claim.min_versions) > MAX_INVITES_PER_LEDGER_UPDATE for claim in claims.values()
            )
            if crowded and len(pending) > 1:
                # Transitions spread over too many ledger items (or too many in one): commit in halves.
                middle = len(pending) // 2
                self._commit(pending[:middle], now, stats)
                self._commit(pending[middle:], now, stats)
                return
            sums = coalesce(pending)
            try:
                if len(claims) + len(sums) <= MAX_TRANSACTION_ITEMS:
                    now_iso = iso_timestamp(now)
                    actions = [self._ledger_update(b, c, now) for b, c in claims.items()]
                    actions += [self._aggregate_update(k, c, now_iso) for k, c in sums.items()]
                    self._transact(actions)
                    stats.transactions += 1
                    stats.ledger_writes += len(claims)
                    stats.aggregate_writes += len(sums)
                else:
                    self._commit_in_chunks(claims, sums, now, stats)
            except _AlreadyClaimed:
                pending = self._not_yet_applied(pending, now, stats)
                continue
            stats.applied += len(pending)
            return
        raise CommitFailed(f"could not commit {len(pending)} transitions after {self.max_attempts} attempts")

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        """One transaction, retried on throttling and conflicts; condition failures are raised typed."""
        for attempt in range(self.max_attempts):
            try:
                aws.client("dynamodb").transact_write_items(TransactItems=actions)
                return
            except Exception as error:
                reasons = _cancellation_codes(error)
                if reasons is None:
                    raise
                if "ConditionalCheckFailed" in reasons:
                    raise _AlreadyClaimed() from error
                if not reasons & _RETRYABLE and not _is_throttle(error):
                    raise
                self.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311
        raise CommitFailed(f"a transaction of {len(actions)} items failed {self.max_attempts} times")

    def _commit_in_chunks(
        self,
        claims: dict[str, LedgerClaim],
        sums: dict[AggregateKey, Counters],
        now: datetime,
        stats: CommitStats,
    ) -> None:
        commit_id = uuid.uuid4().hex
        entries = [[*_key_fields(key), counters] for key, counters in sums.items()]
        size = MAX_TRANSACTION_ITEMS - 1  # one slot for the commit record's progress mark
        chunks = [entries[start : start + size] for start in range(0, len(entries), size)]
        record = {
            "pk": {"S": f"commit#{commit_id}"},
            "period": {"S": LEDGER_SORT_KEY},
            "chunks": {"S": json.dumps(chunks, separators=(",", ":"))},
            "chunk_count": {"N": str(len(chunks))},
            "created_at": {"S": iso_timestamp(now)},
            "expires_at_ttl": {"N": str(int((now + LEDGER_RETENTION).timestamp()))},
        }
        actions = [self._ledger_update(b, c, now, commit_id) for b, c in claims.items()]
        actions.append(
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": record,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        self._transact(actions)
        stats.transactions += 1
        stats.ledger_writes += len(claims)
        stats.commit_record_writes += 1
        self._apply_chunks(commit_id, chunks, set(), now, stats)

    def _apply_chunks(
        self, commit_id: str, chunks: list[list[Any]], done: set[int], now: datetime, stats: CommitStats
    ) -> None:
        now_iso = iso_timestamp(now)
        for index, chunk in enumerate(chunks):
            if index in done:
                continue
            actions = [self._aggregate_update(_key_from_fields(e[:-1]), e[-1], now_iso) for e in chunk]
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": {"pk": {"S": f"commit#{commit_id}"}, "period": {"S": LEDGER_SORT_KEY}},
                        "UpdateExpression": "ADD done :chunk",
                        "ConditionExpression": "attribute_exists(pk) AND NOT contains(done, :index)",
                        "ExpressionAttributeValues": {
                            ":chunk": {"NS": [str(index)]},
                            ":index": {"N": str(index)},
                        },
                    }
                }
            )
            try:
                self._transact(actions)
            except _AlreadyClaimed:
                continue  # another attempt applied this chunk first
            stats.transactions += 1
            stats.aggregate_writes += len(chunk)
            stats.commit_record_writes += 1

    def _resume(self, commit_id: str, now: datetime, stats: CommitStats) -> None:
        """Finish the chunks an interrupted commit left undone (no-op when complete or expired)."""
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"commit#{commit_id}"}, "period": {"S": LEDGER_SORT_KEY}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return
        done = {int(n) for n in item.get("done", {}).get("NS", [])}
        if len(done) >= int(item["chunk_count"]["N"]):
            return
        stats.resumed_commits += 1
        self._apply_chunks(commit_id, json.loads(item["chunks"]["S"]), done, now, stats)

    def _ledger_update(
        self, bucket: str, claim: LedgerClaim, now: datetime, commit_id: str | None = None
    ) -> dict[str, Any]:
        names: dict[str, str] = {"#ttl": "expires_at_ttl"}
        values: dict[str, Any] = {":ttl": {"N": str(int((now + LEDGER_RETENTION).timestamp()))}}
        sets = ["#ttl = :ttl"]
        conditions = []
        for index, (invite_id, low) in enumerate(sorted(claim.min_versions.items())):
            names[f"#i{index}"] = _ledger_attr(invite_id)
            values[f":lo{index}"] = {"N": str(low)}
            values[f":hi{index}"] = {"N": str(claim.max_versions[invite_id])}
            sets.append(f"#i{index} = :hi{index}")
            if commit_id:
                names[f"#k{index}"] = _commit_attr(invite_id)
                sets.append(f"#k{index} = :commit")
            conditions.append(f"(attribute_not_exists(#i{index}) OR #i{index} < :lo{index})")
        if commit_id:
            values[":commit"] = {"S": commit_id}
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

    def _not_yet_applied(self, pending: list[Transition], now: datetime, stats: CommitStats) -> list[Transition]:
        """Drop the transitions the ledger already records, finishing any commit they belong to."""
        buckets = sorted({t.ledger_bucket for t in pending})
        versions: dict[str, dict[str, int]] = {}
        commits: dict[str, dict[str, str]] = {}
        client = aws.client("dynamodb")
        for start in range(0, len(buckets), 100):
            keys = [{"pk": {"S": b}, "period": {"S": LEDGER_SORT_KEY}} for b in buckets[start : start + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                result = client.batch_get_item(RequestItems=request)
                for item in result["Responses"].get(self.table_name, []):
                    bucket = item["pk"]["S"]
                    versions[bucket] = {n[2:]: int(v["N"]) for n, v in item.items() if n.startswith("v_")}
                    commits[bucket] = {n[2:]: v["S"] for n, v in item.items() if n.startswith("c_")}
                request = result.get("UnprocessedKeys") or {}
        remaining: list[Transition] = []
        to_resume: set[str] = set()
        for t in pending:
            if t.version > versions.get(t.ledger_bucket, {}).get(t.invite_id, 0):
                remaining.append(t)
            elif commit_id := commits.get(t.ledger_bucket, {}).get(t.invite_id):
                to_resume.add(commit_id)
        for commit_id in sorted(to_resume):
            self._resume(commit_id, now, stats)
        return remaining

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


def _key_fields(key: AggregateKey) -> list[str]:
    return [key.survey_id, key.granularity.value, key.period, key.segment, key.channel]


def _key_from_fields(fields: list[Any]) -> AggregateKey:
    survey_id, granularity, period, segment, channel = fields
    return AggregateKey(survey_id, Granularity(granularity), period, segment, channel)


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
