"""Aggregates table: counters per key, plus the sharded dedupe ledger that makes stream replays harmless.

**Ledger.** Each stream record claims an entry in one ledger item, ``ledger#<second>#<shard>`` (the
second the record was created, a hash of its invite id; :func:`nps.scoring.aggregation.ledger_bucket`).
The entry (a 72-bit hash of the invite id) holds the highest response version applied for that
invite in that item; each claim is conditional on its versions being new. Items are small and cool
by construction: one second of one shard of the stream, and they expire three days after their last
write (stream records live 24 hours).

**One transaction** when the batch's ledger items and aggregate keys fit in 100 items: the claims and
the ``ADD`` updates land together or not at all.

**A commit record** otherwise (many keys, many ledger items, or any batch size up to the stream's
maximum): the claims are spread over as many transactions as needed, each one also writing the
running total of the claimed deltas to ``commit#<id>`` (conditional on the claim count, so the total
always matches the claims). The commit is then sealed and applied in chunks of 99 keys, each chunk
marked done on the record in the same transaction, every aggregate key once per commit. Each claimed
ledger item lists the commit in ``commits``; a retry whose claims were made by an unfinished commit
(a crash between transactions) seals and finishes that commit from its record before going on.

If a claim's condition fails, part of the batch was applied before (a retried, bisected or overlapping
batch): the ledger is read, the transitions already applied are dropped, and the rest is committed.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

from nps.kernel import aws
from nps.kernel.periods import Granularity, iso_timestamp
from nps.scoring.aggregation import COUNTERS, AggregateKey, Counters, Transition, coalesce

MAX_TRANSACTION_ITEMS = 100
# Keeps a ledger update's condition expression well under DynamoDB's 4 KB expression limit.
MAX_INVITES_PER_LEDGER_UPDATE = 60
LEDGER_SORT_KEY = "-"
LEDGER_RETENTION = timedelta(days=3)  # stream records live 24 h; keep the ledger well beyond that
CLAIMING, SEALED = "claiming", "sealed"
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


_URLSAFE = bytes.maketrans(b"+/", b"-_")


class CommitFailed(RuntimeError):
    """The batch could not be committed after retries; the stream will deliver it again."""


class _AlreadyClaimed(Exception):
    """A condition failed: some transitions were applied by an earlier attempt (or a commit moved on)."""


def ledger_entry(invite_id: str) -> str:
    """An invite's attribute name in a ledger item: ``v`` + 72 bits of BLAKE2b, base64url (13 characters).

    Shorter than the invite id (64 characters), which keeps ledger items, and so their write units,
    small. Two invites of one ledger item (one second, one shard) sharing a name is a 2^-72 event per pair.
    """
    hasher = _ENTRY_HASHER.copy()  # a copy of a prepared hasher: no parameters parsed per record
    hasher.update(invite_id.encode())
    # base64.urlsafe_b64encode, without its two Python-level wrappers (one call per record).
    return "v" + binascii.b2a_base64(hasher.digest(), newline=False).translate(_URLSAFE).decode()


#: BLAKE2b with a 9-byte (72-bit) digest, nothing hashed yet: :func:`ledger_entry` hashes into copies of it.
_ENTRY_HASHER = hashlib.blake2b(digest_size=9)


def _record_key(commit_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"commit#{commit_id}"}, "period": {"S": LEDGER_SORT_KEY}}


_DESCRIPTOR_NAMES = {f"#{n}": n for n in ("survey_id", "granularity", "segment", "channel", "updated_at")}
_DESCRIPTOR_SET = (
    "SET #survey_id = :survey, #granularity = :granularity, #segment = :segment, #channel = :channel,"
    " #updated_at = :now"
)


@lru_cache(maxsize=8192)
def _key_parts(key: AggregateKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """An aggregate item's key and descriptor values (shared, never mutated: hot keys recur every batch)."""
    item_key = {"pk": {"S": key.pk}, "period": {"S": key.period}}
    values = {
        ":survey": {"S": key.survey_id},
        ":granularity": {"S": key.granularity.value},
        ":segment": {"S": key.segment},
        ":channel": {"S": key.channel},
    }
    return item_key, values


@lru_cache(maxsize=1024)
def _update_expression(counter_names: tuple[str, ...]) -> str:
    """``ADD promoters :promoters, score_9 :score_9 SET ...`` for an update of these counters."""
    return f"ADD {', '.join(f'{name} :{name}' for name in counter_names)} {_DESCRIPTOR_SET}"


#: ``id()`` of a counters dict → its update expression and its counters' attribute values.
_SharedCounters = dict[int, tuple[str, dict[str, Any]]]


class _Placeholders(dict[str, str]):
    """``name`` → ``:name``, prepared for the counters every update writes."""

    def __missing__(self, name: str) -> str:
        return f":{name}"


_COUNTER_PLACEHOLDERS = _Placeholders({name: f":{name}" for name in COUNTERS})
#: Per invite of a ledger update (by position): its attribute name's and versions' placeholders, its
#: assignment and its condition.
_LEDGER_PLACEHOLDERS = tuple(
    (f"#i{i}", f":lo{i}", f":hi{i}", f"#i{i} = :hi{i}", f"(attribute_not_exists(#i{i}) OR #i{i} < :lo{i})")
    for i in range(MAX_INVITES_PER_LEDGER_UPDATE)
)


class _Numbers(dict[int, dict[str, str]]):
    """``n`` → ``{"N": "n"}``: the attribute values of counter deltas and versions, each built once per process.

    Shared between requests and never mutated (the SDK only reads request parameters); an entry is
    added per distinct number, and a batch has few (deltas of at most the batch size, small versions).
    """

    def __missing__(self, number: int) -> dict[str, str]:
        value = {"N": str(number)}
        if -_NUMBERS_KEPT <= number <= _NUMBERS_KEPT:
            self[number] = value
        return value


#: Numbers outside ±this are built per use (the cache stays bounded whatever the deltas or versions).
_NUMBERS_KEPT = 10_000
_NUMBER = _Numbers()


@lru_cache(maxsize=2 * MAX_INVITES_PER_LEDGER_UPDATE)
def _ledger_expressions(invites: int, with_commit: bool) -> tuple[str, str]:
    """A ledger update's update and condition expressions for its first ``invites`` placeholders."""
    placeholders = _LEDGER_PLACEHOLDERS[:invites]
    expression = "SET " + ", ".join(["#ttl = :ttl", *(assignment for _, _, _, assignment, _ in placeholders)])
    if with_commit:
        expression += " ADD #commits :commit"
    return expression, " AND ".join(condition for *_, condition in placeholders)


@lru_cache(maxsize=16)
@lru_cache(maxsize=4)
def _expiry(now: datetime) -> str:
    """The ledger's TTL attribute (epoch seconds) for items written at ``now`` (one ``now`` per batch)."""
    return str(int((now + LEDGER_RETENTION).timestamp()))


#: One ledger update: the item and, per invite, the lowest and highest version this batch applies.
ClaimUnit = tuple[str, dict[str, tuple[int, int]]]


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
        pending = list(transitions)
        for _ in range(self.max_attempts):
            if not pending:
                break
            try:
                pending = self._commit_once(pending, now, stats)
            except _AlreadyClaimed:
                pending = self._not_yet_applied(pending, now, stats)
                continue
            if pending:  # a later claim of a commit found transitions applied meanwhile
                pending = self._not_yet_applied(pending, now, stats)
        if pending:
            raise CommitFailed(f"could not commit {len(pending)} transitions after {self.max_attempts} attempts")
        stats.skipped_as_replayed = stats.transitions - stats.applied
        return stats

    def _commit_once(self, pending: list[Transition], now: datetime, stats: CommitStats) -> list[Transition]:
        """Commit ``pending``; return the transitions left unclaimed (raise ``_AlreadyClaimed`` if none was)."""
        units = _claim_units(pending)
        sums = coalesce(pending)
        single = len({bucket for bucket, _ in units}) == len(units)
        if single and len(units) + len(sums) <= MAX_TRANSACTION_ITEMS:
            actions = [self._ledger_update(unit, now) for unit in units]
            now_value = {"S": iso_timestamp(now)}
            shared: _SharedCounters = {}
            actions += [self._aggregate_update(k, c, now_value, shared) for k, c in sums.items()]
            self._transact(actions)
            stats.transactions += 1
            stats.ledger_writes += len(units)
            stats.aggregate_writes += len(sums)
            stats.applied += len(pending)
            return []
        return self._commit_through_record(pending, units, sums, now, stats)

    def _commit_through_record(
        self,
        pending: list[Transition],
        units: list[ClaimUnit],
        sums: dict[AggregateKey, Counters],
        now: datetime,
        stats: CommitStats,
    ) -> list[Transition]:
        commit_id = uuid.uuid4().hex
        groups = _claim_groups(units, MAX_TRANSACTION_ITEMS - 1)  # one slot for the commit record
        claimed_total: dict[AggregateKey, Counters] = {}
        claimed = 0
        leftover: list[Transition] = []
        if len(groups) == 1:
            grouped = [pending]
        else:
            group_of = {member: index for index, group in enumerate(groups) for member in _members(group)}
            grouped = [[] for _ in groups]
            for t in pending:
                grouped[group_of[(t.ledger_bucket, t.invite_id)]].append(t)
        for index, (group, members) in enumerate(zip(groups, grouped, strict=True)):
            # The running total once this group is claimed (the batch's sums once every group is).
            total = sums if index == len(groups) - 1 else _merged(claimed_total, coalesce(members))
            actions = [self._ledger_update(unit, now, commit_id) for unit in group]
            actions.append(self._record_claim(commit_id, index, total, now))
            try:
                self._transact(actions)
            except _AlreadyClaimed:
                if index == 0:
                    raise
                leftover = [t for rest in grouped[index:] for t in rest]
                break
            claimed_total = total
            claimed = index + 1
            stats.transactions += 1
            stats.ledger_writes += len(group)
            stats.commit_record_writes += 1
            stats.applied += len(members)
        self._finish(commit_id, claimed, claimed_total, now, stats)
        return leftover

    def _record_claim(
        self, commit_id: str, index: int, total: dict[AggregateKey, Counters], now: datetime
    ) -> dict[str, Any]:
        """The commit record's part of claim transaction ``index``: the running total of claimed deltas."""
        encoded = {"S": encode_total(total)}
        if index == 0:
            return {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _record_key(commit_id)
                    | {
                        "state": {"S": CLAIMING},
                        "claims": {"N": "1"},
                        "total": encoded,
                        "created_at": {"S": iso_timestamp(now)},
                        "expires_at_ttl": {"N": str(int((now + LEDGER_RETENTION).timestamp()))},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _record_key(commit_id),
                "UpdateExpression": "SET #total = :total, #claims = :next",
                "ConditionExpression": "#state = :claiming AND #claims = :claims",
                "ExpressionAttributeNames": {"#total": "total", "#claims": "claims", "#state": "state"},
                "ExpressionAttributeValues": {
                    ":total": encoded,
                    ":claims": {"N": str(index)},
                    ":next": {"N": str(index + 1)},
                    ":claiming": {"S": CLAIMING},
                },
            }
        }

    def _finish(
        self,
        commit_id: str,
        claims: int,
        total: dict[AggregateKey, Counters],
        now: datetime,
        stats: CommitStats,
        done: frozenset[int] = frozenset(),
    ) -> None:
        """Seal the commit at ``claims`` claim transactions and apply its total, chunk by chunk, once.

        Every chunk's transaction is conditional on the claim count, so two finishers (the original
        and a retry) always apply the same chunks; a chunk marked done is never applied again.
        """
        now_value = {"S": iso_timestamp(now)}
        entries = sorted(total.items(), key=_entry_key)  # by key: its fields in turn, compared in C
        size = MAX_TRANSACTION_ITEMS - 1  # one slot for the commit record's progress mark
        for index, start in enumerate(range(0, len(entries), size)):
            if index in done:
                continue
            chunk = entries[start : start + size]
            shared: _SharedCounters = {}
            actions = [self._aggregate_update(key, counters, now_value, shared) for key, counters in chunk]
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _record_key(commit_id),
                        "UpdateExpression": "SET #state = :sealed ADD #done :chunk",
                        "ConditionExpression": "#claims = :claims AND NOT contains(#done, :index)",
                        "ExpressionAttributeNames": {"#state": "state", "#done": "done", "#claims": "claims"},
                        "ExpressionAttributeValues": {
                            ":sealed": {"S": SEALED},
                            ":chunk": {"NS": [str(index)]},
                            ":index": {"N": str(index)},
                            ":claims": {"N": str(claims)},
                        },
                    }
                }
            )
            try:
                self._transact(actions)
            except _AlreadyClaimed:
                continue  # another finisher applied this chunk first
            stats.transactions += 1
            stats.aggregate_writes += len(chunk)
            stats.commit_record_writes += 1

    def _resume(self, records: list[dict[str, Any]], now: datetime, stats: CommitStats) -> None:
        """Finish commits that claimed transitions and stopped before applying all their chunks."""
        for record in records:
            commit_id = record["pk"]["S"].removeprefix("commit#")
            claims = int(record["claims"]["N"])
            total = {_key_from_fields(e[:-1]): e[-1] for e in json.loads(record["total"]["S"])}
            done = frozenset(int(n) for n in record.get("done", {}).get("NS", []))
            chunks = -(-len(total) // (MAX_TRANSACTION_ITEMS - 1))
            if len(done) >= chunks:
                continue
            stats.resumed_commits += 1
            self._finish(commit_id, claims, total, now, stats, done)

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

    def _ledger_update(self, unit: ClaimUnit, now: datetime, commit_id: str | None = None) -> dict[str, Any]:
        bucket, versions = unit
        names: dict[str, str] = {"#ttl": "expires_at_ttl"}
        values: dict[str, Any] = {":ttl": {"N": _expiry(now)}}
        number = _NUMBER
        # At most MAX_INVITES_PER_LEDGER_UPDATE invites (zip raises on more, never drops a claim).
        for (invite_id, (low, high)), (name, lo, hi, _, _) in zip(
            sorted(versions.items()), _LEDGER_PLACEHOLDERS[: len(versions)], strict=True
        ):
            names[name] = ledger_entry(invite_id)
            values[lo] = number[low]
            values[hi] = number[high]
        expression, condition = _ledger_expressions(len(versions), bool(commit_id))
        if commit_id:
            names["#commits"] = "commits"
            values[":commit"] = {"SS": [commit_id]}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": bucket}, "period": {"S": LEDGER_SORT_KEY}},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _aggregate_update(
        self, key: AggregateKey, counters: dict[str, int], now: dict[str, str], shared: _SharedCounters
    ) -> dict[str, Any]:
        """One aggregate key's ``Update``: ``ADD`` its counters' deltas, ``SET`` its descriptors and ``now``
        (the batch's time as an attribute value, ``{"S": iso}``, one shared by the batch's updates).

        ``shared`` remembers, by ``id()``, the expression and values of each counters dict met while the
        caller builds one transaction's updates (it holds every dict meanwhile, so an id stays its dict's):
        :func:`~nps.scoring.aggregation.coalesce` gives the period keys of one slice one dict.
        """
        # Counter names (promoters, score_7, ...) are plain identifiers, not DynamoDB reserved words.
        item_key, descriptor_values = _key_parts(key)
        known = shared.get(id(counters))
        if known is None:
            placeholders, number = _COUNTER_PLACEHOLDERS, _NUMBER
            known = shared[id(counters)] = (
                _update_expression(tuple(counters)),
                {placeholders[name]: number[value] for name, value in counters.items()},
            )
        expression, counter_values = known
        values = descriptor_values | counter_values  # a new dict: the shared two are never changed
        values[":now"] = now
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": item_key,
                "UpdateExpression": expression,
                "ExpressionAttributeNames": _DESCRIPTOR_NAMES,
                "ExpressionAttributeValues": values,
            }
        }

    def _not_yet_applied(self, pending: list[Transition], now: datetime, stats: CommitStats) -> list[Transition]:
        """Drop the transitions the ledger already records, finishing any commit that claimed them."""
        items = self._batch_get(sorted({t.ledger_bucket for t in pending}))
        remaining: list[Transition] = []
        commits: set[str] = set()
        for t in pending:
            item = items.get(t.ledger_bucket, {})
            applied = item.get(ledger_entry(t.invite_id))
            if applied is None or t.version > int(applied["N"]):
                remaining.append(t)
            else:
                commits.update(item.get("commits", {}).get("SS", []))
        if commits:
            records = self._batch_get([f"commit#{c}" for c in sorted(commits)])
            self._resume([records[k] for k in sorted(records)], now, stats)
        return remaining

    def _batch_get(self, pks: list[str]) -> dict[str, dict[str, Any]]:
        """Ledger or commit items by partition key (strongly consistent), keyed by it; absent ones left out."""
        found: dict[str, dict[str, Any]] = {}
        client = aws.client("dynamodb")
        for start in range(0, len(pks), 100):
            keys = [{"pk": {"S": pk}, "period": {"S": LEDGER_SORT_KEY}} for pk in pks[start : start + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                result = client.batch_get_item(RequestItems=request)
                for item in result["Responses"].get(self.table_name, []):
                    found[item["pk"]["S"]] = item
                request = result.get("UnprocessedKeys") or {}
        return found

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


def _claim_units(transitions: list[Transition]) -> list[ClaimUnit]:
    """The ledger updates a batch needs: per ledger item, its invites in groups of at most 60.

    What :func:`~nps.scoring.aggregation.ledger_claims` gives, gathered straight into each invite's
    ``(lowest, highest)`` version (a test compares them).
    """
    by_bucket: dict[str, dict[str, tuple[int, int]]] = {}
    for transition in transitions:
        bucket = transition.ledger_bucket
        versions = by_bucket.get(bucket)
        if versions is None:
            versions = by_bucket[bucket] = {}
        invite_id, version = transition.invite_id, transition.version
        seen = versions.get(invite_id)
        versions[invite_id] = (version, version) if seen is None else (min(seen[0], version), max(seen[1], version))
    units: list[ClaimUnit] = []
    for bucket in sorted(by_bucket):
        versions = by_bucket[bucket]
        invites = sorted(versions)
        for start in range(0, len(invites), MAX_INVITES_PER_LEDGER_UPDATE):
            units.append(
                (
                    bucket,
                    {invite: versions[invite] for invite in invites[start : start + MAX_INVITES_PER_LEDGER_UPDATE]},
                )
            )
    return units


def _claim_groups(units: list[ClaimUnit], size: int) -> list[list[ClaimUnit]]:
    """Units in transactions of at most ``size``, never one ledger item twice in a transaction."""
    groups: list[list[ClaimUnit]] = []
    buckets: list[set[str]] = []
    for unit in units:
        for group, seen in zip(groups, buckets, strict=True):
            if len(group) < size and unit[0] not in seen:
                group.append(unit)
                seen.add(unit[0])
                break
        else:
            groups.append([unit])
            buckets.append({unit[0]})
    return groups


def _members(group: list[ClaimUnit]) -> set[tuple[str, str]]:
    return {(bucket, invite) for bucket, versions in group for invite in versions}


def _merged(total: dict[AggregateKey, Counters], deltas: dict[AggregateKey, Counters]) -> dict[AggregateKey, Counters]:
    """``total`` plus ``deltas`` (a new dict; keys whose counters all cancel out are dropped)."""
    merged = {key: dict(counters) for key, counters in total.items()}
    for key, counters in deltas.items():
        bucket = merged.setdefault(key, {})
        for name, value in counters.items():
            bucket[name] = bucket.get(name, 0) + value
    return {k: nonzero for k, c in merged.items() if (nonzero := {n: v for n, v in c.items() if v})}


def _key_fields(key: AggregateKey) -> list[str]:
    return [key.survey_id, key.granularity.value, key.period, key.segment, key.channel]


def encode_total(total: dict[AggregateKey, Counters]) -> str:
    """A commit record's total as JSON: ``[[survey, granularity, period, segment, channel, {counter: n}], ...]``.

    The text of ``json.dumps`` with compact separators (a test compares them), written from each key's
    cached opening and its counters' JSON, encoded once per counters dict (:func:`~nps.scoring.aggregation.coalesce`
    gives the periods of one slice one dict), since the record carries every key of the batch, batch after batch.
    """
    texts: dict[int, str] = {}  # by id() of a counters dict (``total`` holds each while this runs)
    entries = []
    for key, counters in total.items():
        text = texts.get(id(counters))
        if text is None:
            text = texts[id(counters)] = _encode_compact(counters)
        entries.append(f"{_key_json(key)}{text}]")
    return f"[{','.join(entries)}]"


_encode_compact = json.JSONEncoder(separators=(",", ":")).encode


@lru_cache(maxsize=8192)
def _key_json(key: AggregateKey) -> str:
    """``["srv","day","2026-03-10","*","*",``: a key's fields as the opening of its total entry."""
    return json.dumps(_key_fields(key), separators=(",", ":"))[:-1] + ","


#: The key of a ``(key, counters)`` entry (keys are named tuples, so they sort by their fields in C).
_entry_key = itemgetter(0)


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
