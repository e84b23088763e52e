"""Figure 3: DynamoDB write requests per response at stream batch size 100, dedupe included.

Measured: every ``Update`` in every ``TransactWriteItems`` the score function sends (aggregate keys and
ledger buckets), plus one write per response for the response item itself, per response. Also the
busiest aggregate key's writes per batch (one: a batch's deltas are coalesced per key).

Baseline, computed on the same records: the naive design that writes every aggregate key a response
touches once per response, plus one dedupe write and the response write.

An optional cross-check replays the first batch(es) of the same stream against moto's DynamoDB and
EventBridge: the transactions must be accepted and the day totals must match the stream (this checks
the counted writes are real, valid ones; it only covers responses first answered within the replay).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from benchmarks.report import Figure
from benchmarks.synthetic import (
    Discard,
    FakeLambdaContext,
    StubAwsClient,
    Workload,
    category,
    scoring_function,
)

# Dedupe bookkeeping: ledger buckets and, for batches wider than one transaction, commit records.
LEDGER_PREFIX = ("ledger#", "commit#")


@dataclass(slots=True)
class WriteResult:
    figure: Figure
    busiest_key_writes_per_batch: int
    busiest_ledger_writes_per_batch: int
    naive_busiest_key_writes_per_batch: int
    cross_check: dict[str, Any] | None = None
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)


def _items(workload: Workload) -> Iterator[tuple[Any, Any]]:
    """(old, new) ``ResponseItem`` of every record (``None`` where an image is absent)."""
    from nps.events.models import ResponseItem

    deserializer = TypeDeserializer()

    def item(image: Mapping[str, Any] | None) -> ResponseItem | None:
        if not image:
            return None
        return ResponseItem.model_validate({k: deserializer.deserialize(v) for k, v in image.items()})

    for record in workload.all_records():
        stream = record["dynamodb"]
        yield item(stream.get("OldImage")), item(stream.get("NewImage"))


def naive_writes(workload: Workload) -> tuple[float, int]:
    """Writes per response and busiest key's writes per batch if every response wrote its own keys."""
    from nps.scoring.aggregation import AggregateKey, aggregate_keys

    total = 0
    busiest = 0
    records = iter(_items(workload))
    for event in workload.events:
        per_key: Counter[AggregateKey] = Counter()
        for _ in event["Records"]:
            old, new = next(records)
            keys = set(aggregate_keys(new))
            if old is not None and old.is_counted:
                keys |= set(aggregate_keys(old))
            per_key.update(keys)
            total += len(keys) + 1 + 1  # every aggregate key, the dedupe marker, the response itself
        busiest = max(busiest, max(per_key.values(), default=0))
    return total / workload.records, busiest


@dataclass(frozen=True, slots=True)
class WriteCounts:
    responses: int
    batches: int
    transactions: int
    aggregate_updates: int
    ledger_updates: int
    busiest_key_writes_per_batch: int
    busiest_ledger_writes_per_batch: int

    @property
    def writes_per_response(self) -> float:
        """Transaction items plus the response write itself, per response."""
        return (self.aggregate_updates + self.ledger_updates + self.responses) / self.responses

    def as_json(self) -> dict[str, Any]:
        return {
            "responses": self.responses,
            "batches": self.batches,
            "transactions": self.transactions,
            "transactions_per_batch": self.transactions / self.batches,
            "aggregate_updates": self.aggregate_updates,
            "ledger_updates": self.ledger_updates,
            "response_writes": self.responses,
            "aggregate_updates_per_batch": self.aggregate_updates / self.batches,
            "ledger_updates_per_batch": self.ledger_updates / self.batches,
            "writes_per_response": self.writes_per_response,
            "busiest_aggregate_key_writes_per_batch": self.busiest_key_writes_per_batch,
            "busiest_ledger_bucket_writes_per_batch": self.busiest_ledger_writes_per_batch,
        }


def count_writes(workload: Workload) -> WriteCounts:
    """Run the score function on every batch with a recording stub and count what it writes."""
    stub = StubAwsClient(record_keys=True)
    context: Any = FakeLambdaContext()
    busiest_key = 0
    busiest_ledger = 0
    with scoring_function(stub) as lambda_handler:
        for event in workload.events:
            before = len(stub.transaction_keys)
            lambda_handler(event, context)
            written = Counter(key for call in stub.transaction_keys[before:] for key in call)
            aggregates = [n for (pk, _), n in written.items() if not pk.startswith(LEDGER_PREFIX)]
            ledgers = [n for (pk, _), n in written.items() if pk.startswith(LEDGER_PREFIX)]
            busiest_key = max(busiest_key, max(aggregates, default=0))
            busiest_ledger = max(busiest_ledger, max(ledgers, default=0))
    ledger_items = sum(1 for call in stub.transaction_keys for pk, _ in call if pk.startswith(LEDGER_PREFIX))
    return WriteCounts(
        responses=workload.records,
        batches=len(workload.events),
        transactions=stub.transactions,
        aggregate_updates=stub.transaction_items - ledger_items,
        ledger_updates=ledger_items,
        busiest_key_writes_per_batch=busiest_key,
        busiest_ledger_writes_per_batch=busiest_ledger,
    )


def run(
    workload: Workload,
    cross_check_records: int = 100,
    scenarios: Mapping[str, Workload] | None = None,
    counts: WriteCounts | None = None,
) -> WriteResult:
    """Figure 3; ``counts`` may come from an earlier :func:`count_writes` on the same workload."""
    counts = counts or count_writes(workload)
    naive, naive_busiest = naive_writes(workload)
    figure = Figure(
        name="DynamoDB writes per response (batch 100)",
        unit="writes",
        measured=counts.writes_per_response,
        baseline_name="naive per-response writes",
        baseline=naive,
        target=2.5,
        target_of="measured",
        direction="max",
        detail=counts.as_json() | {"naive_busiest_key_writes_per_batch": naive_busiest, "segment_dimensions": 2},
    )
    result = WriteResult(
        figure, counts.busiest_key_writes_per_batch, counts.busiest_ledger_writes_per_batch, naive_busiest
    )
    for name, scenario in (scenarios or {}).items():
        scenario_naive, scenario_naive_busiest = naive_writes(scenario)
        result.scenarios[name] = count_writes(scenario).as_json() | {
            "naive_writes_per_response": scenario_naive,
            "naive_busiest_key_writes_per_batch": scenario_naive_busiest,
        }
    if cross_check_records:
        result.cross_check = moto_cross_check(workload, cross_check_records)
    return result


def moto_cross_check(workload: Workload, records: int) -> dict[str, Any]:
    """Replay the first ``records`` records against moto: transactions accepted, day totals right."""
    from moto import mock_aws

    from local.environment import create_stack, prepare_process_environment
    from nps.kernel import aws
    from nps.kernel.config import reset_settings
    from nps.kernel.periods import Granularity
    from nps.scoring.adapters.aggregates import DynamoAggregateStore
    from nps.scoring.aggregation import ALL, AggregateKey

    saved = dict(os.environ)
    events = workload.events[: -(-records // workload.spec.batch_size)]
    sent = sum(len(e["Records"]) for e in events)
    # Latest category of every invite, by (survey, day of the first answer).
    latest: dict[str, tuple[str, str, str]] = {}
    for record in (r for e in events for r in e["Records"]):
        image = record["dynamodb"]["NewImage"]
        first_day = image["first_answered_at"]["S"][:10]
        latest[image["invite_id"]["S"]] = (
            image["survey_id"]["S"],
            first_day,
            category(int(image["score"]["N"])),
        )
    expected: dict[tuple[str, str], Counter[str]] = {}
    for survey, first_day, answer in latest.values():
        expected.setdefault((survey, first_day), Counter())[answer] += 1
    transact_items = 0

    def count_items(params: dict[str, Any], **_: Any) -> None:
        nonlocal transact_items
        transact_items += len(params["TransactItems"])

    prepare_process_environment()
    aws.reset_clients()
    try:
        with mock_aws(), contextlib.redirect_stdout(Discard()):
            stack = create_stack("nps-bench")
            os.environ.update({"LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING"})
            client = aws.client("dynamodb")
            client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", count_items)
            context: Any = FakeLambdaContext()
            failures = 0
            # scoring_function patches nps.kernel.aws.client; here the real (mocked) clients are wanted.
            from functions.score import handler

            handler.service.cache_clear()
            reset_settings()
            error = None
            try:
                for event in events:
                    failures += len(handler.lambda_handler(event, context).get("batchItemFailures", []))
            except Exception as raised:  # a rejected transaction is the finding, not a crash
                error = f"{type(raised).__name__}: {raised}"
            store = DynamoAggregateStore(stack.tables["aggregates"])
            mismatches = 0
            for (survey, day), want in sorted(expected.items()):
                counts = store.get(AggregateKey(survey, Granularity.DAY, day, ALL, ALL))
                for name in ("promoter", "passive", "detractor"):
                    if counts.get(f"{name}s", 0) != want[name]:
                        mismatches += 1
            handler.service.cache_clear()
    finally:
        aws.reset_clients()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
    return {
        "records": sent,
        "batches": len(events),
        "failed_records": failures,
        "error": error,
        "transaction_items": transact_items,
        "writes_per_response": (transact_items + sent) / sent if sent else float("nan"),
        "day_totals_match": mismatches == 0,
    }
