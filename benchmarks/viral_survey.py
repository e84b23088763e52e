"""Figure: a viral survey, 10,000 responses/s on one survey for 10 minutes, through the real commit code.

A simulated responses stream (first answers of one survey, two segment dimensions, both channels) is
split over stream shards by invite id, and each shard is batched the way Lambda's event source does it
(up to ``STREAM_BATCH_SIZE`` records or ``STREAM_BATCHING_WINDOW_SECONDS``, one batch at a time). Every
batch goes through :meth:`DynamoAggregateStore.commit` unchanged; the DynamoDB client is a stub that
applies each transaction's updates to an in-memory table and charges write units the way DynamoDB does:
an item write costs one unit per started KB of the larger of the item's sizes before and after, and a
transactional write costs twice that. Units are summed per partition key per second of the simulated
clock (a batch is charged at the second it closes).

Measured: the hottest partition key's write units in any second (target ≤ 1,000) and the largest item
(target < 400 KB). Baseline, on the same stream: the previous ledger (one item per minute and 8 invite
hashes, 64-character invite ids as entry names), sized analytically from the same batches.
"""

from __future__ import annotations

import math
import random
import re
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from benchmarks.report import Figure

SEGMENT_PLANS = ("free", "pro", "enterprise")
SEGMENT_REGIONS = ("emea", "amer", "apac")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """DynamoDB's size of an item: attribute names plus values (strings in UTF-8, numbers ~1 byte per 2 digits)."""
    size = 0
    for name, typed in item.items():
        size += len(name.encode())
        for kind, value in typed.items():
            if kind == "S":
                size += len(value.encode())
            elif kind == "N":
                size += len(value.lstrip("-").replace(".", "")) // 2 + 2
            elif kind == "SS":
                size += sum(len(v.encode()) for v in value)
            elif kind == "NS":
                size += sum(len(v) // 2 + 2 for v in value)
            else:
                size += 1
    return size


_CLAUSE = re.compile(r"\b(SET|ADD)\s+")


@dataclass(slots=True)
class WriteUnitMeter:
    """A DynamoDB client stub for ``transact_write_items``: applies updates, charges write units per key."""

    clock: float = 0.0
    items: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    units: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    largest_item: tuple[int, str] = (0, "")
    transactions: int = 0
    writes: int = 0
    #: Writes per key since :meth:`new_batch` (each aggregate key must be written once per batch).
    batch_writes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def new_batch(self, clock: float) -> int:
        """Start charging a new batch at ``clock``; return the most writes one aggregate key got in the last."""
        busiest = max(
            (n for pk, n in self.batch_writes.items() if not pk.startswith(("ledger#", "commit#"))), default=0
        )
        self.clock = clock
        self.batch_writes = defaultdict(int)
        return busiest

    def client(self, service: str) -> WriteUnitMeter:
        return self

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.transactions += 1
        for action in TransactItems:
            self._apply(action)
        return {}

    def _apply(self, action: dict[str, Any]) -> None:
        self.writes += 1
        if "Put" in action:
            request = action["Put"]
            key = (request["Item"]["pk"]["S"], request["Item"]["period"]["S"])
            before = self.items.get(key, {})
            after = dict(request["Item"])
        else:
            request = action["Update"]
            key = (request["Key"]["pk"]["S"], request["Key"]["period"]["S"])
            before = self.items.get(key, {})
            after = dict(before) | dict(request["Key"])
            _update(after, request)
        self.items[key] = after
        self.batch_writes[key[0] + "#" + key[1]] += 1
        size_before, size_after = item_size(before), item_size(after)
        self.units[(int(self.clock), key[0])] += 2 * max(1, math.ceil(max(size_before, size_after) / 1024))
        if size_after > self.largest_item[0]:
            self.largest_item = (size_after, key[0])


def _update(item: dict[str, dict[str, Any]], request: dict[str, Any]) -> None:
    names = request.get("ExpressionAttributeNames", {})
    values = request["ExpressionAttributeValues"]
    parts = _CLAUSE.split(request["UpdateExpression"])
    for verb, body in zip(parts[1::2], parts[2::2], strict=True):
        for clause in body.split(","):
            clause = clause.strip()
            if not clause:
                continue
            if verb == "SET":
                target, value = (p.strip() for p in clause.split("="))
                item[names.get(target, target)] = values[value]
            else:
                target, value = clause.split()
                name = names.get(target, target)
                added = values[value]
                current = item.get(name)
                if "N" in added:
                    total = int(current["N"]) + int(added["N"]) if current else int(added["N"])
                    item[name] = {"N": str(total)}
                else:
                    (kind,) = added
                    item[name] = {kind: sorted(set(current[kind] if current else []) | set(added[kind]))}


@dataclass(frozen=True, slots=True)
class Batch:
    closes_at: float
    shard: int
    records: list[tuple[float, int]]  # (creation time, response number)


def batches(rate: float, seconds: int, shards: int, batch_size: int, window: float, seed: int = 7) -> Iterator[Batch]:
    """Lambda's batches of a stream of ``rate`` records/s, per shard, in the order they close."""
    rng = random.Random(seed)
    per_shard: list[list[tuple[float, int]]] = [[] for _ in range(shards)]
    for number in range(int(rate * seconds)):
        at = number / rate
        per_shard[zlib.crc32(_invite(number).encode()) % shards].append((at, number))
    closed: list[Batch] = []
    for shard, records in enumerate(per_shard):
        start = 0
        while start < len(records):
            first = records[start][0]
            end = start
            while end < len(records) and end - start < batch_size and records[end][0] <= first + window:
                end += 1
            closes = records[end - 1][0] if end - start == batch_size else first + window
            closed.append(Batch(closes + rng.random() * 0.05, shard, records[start:end]))
            start = end
    closed.sort(key=lambda b: b.closes_at)
    yield from closed


def _invite(number: int) -> str:
    return f"{zlib.crc32(str(number).encode()):08x}{number:056x}"  # 64 characters, like an HMAC invite id


@dataclass(slots=True)
class ViralResult:
    figure: Figure
    size_figure: Figure
    detail: dict[str, Any]


def run(rate: float = 10_000, seconds: int = 600, shards: int = 16, batch_size: int | None = None) -> ViralResult:
    """Replay ``rate`` × ``seconds`` first answers of one survey through the commit code; see the module doc."""
    from nps.kernel import aws
    from nps.scoring.adapters.aggregates import DynamoAggregateStore
    from nps.scoring.aggregation import Transition
    from nps.scoring.capacity import (
        ITEM_SIZE_LIMIT_BYTES,
        PARTITION_WRITE_UNITS_PER_SECOND,
        STREAM_BATCH_SIZE,
        STREAM_BATCHING_WINDOW_SECONDS,
    )
    from nps.scoring.records import Response

    size = batch_size or STREAM_BATCH_SIZE
    meter = WriteUnitMeter()
    store = DynamoAggregateStore("nps-bench-aggregates")
    start = datetime(2026, 3, 10, 9, 0, 0, tzinfo=UTC)
    rng = random.Random(11)
    scores = [rng.choices(range(11), weights=(2, 1, 1, 2, 2, 4, 5, 10, 14, 22, 20))[0] for _ in range(1000)]
    count = 0
    batch_count = 0
    biggest_batch = 0
    per_key_writes_max = 0
    started = time.process_time()
    old_design: dict[tuple[int, str], int] = defaultdict(int)
    old_items: dict[str, int] = defaultdict(int)
    old_largest = 0
    with mock.patch.object(aws, "client", meter.client):
        for batch in batches(rate, seconds, shards, size, STREAM_BATCHING_WINDOW_SECONDS):
            per_key_writes_max = max(per_key_writes_max, meter.new_batch(batch.closes_at))
            transitions = []
            for at, number in batch.records:
                answered = start + timedelta(seconds=at)
                invite = _invite(number)
                response = Response(
                    invite_id=invite,
                    survey_id="viral",
                    wave_id="viral-w1",
                    contact_id=f"c{number}",
                    channel="email" if number % 3 else "sms",
                    segments={"plan": SEGMENT_PLANS[number % 3], "region": SEGMENT_REGIONS[number // 3 % 3]},
                    score=scores[number % 1000],
                    version=1,
                    first_answered_at=answered,
                    answered_at=answered,
                )
                record_time = start + timedelta(seconds=int(at))
                transitions.append(Transition(invite, 1, record_time, str(number), None, response))
            stats = store.commit(transitions, start + timedelta(seconds=batch.closes_at))
            assert stats.applied == len(transitions)
            count += len(transitions)
            batch_count += 1
            biggest_batch = max(biggest_batch, len(transitions))
            # The previous ledger on the same batch: per minute × 8 hashes, entries named by the invite id.
            touched: dict[str, int] = defaultdict(int)
            for at, number in batch.records:
                touched[f"ledger#{int(at) // 60}#{zlib.crc32(_invite(number).encode()) % 8}"] += 1
            for key, entries in touched.items():
                old_items[key] += entries * (66 + 3)
                old_design[(int(batch.closes_at), key)] += 2 * math.ceil(old_items[key] / 1024)
                old_largest = max(old_largest, old_items[key])
    per_key_writes_max = max(per_key_writes_max, meter.new_batch(meter.clock))
    cpu = time.process_time() - started
    (hot_second, hot_key), hot_units = max(meter.units.items(), key=lambda kv: kv[1])
    (_, old_hot_key), old_hot_units = max(old_design.items(), key=lambda kv: kv[1])
    largest, largest_key = meter.largest_item
    hottest_by_kind: dict[str, int] = defaultdict(int)
    for (_, pk), units in meter.units.items():
        kind = pk.split("#", 1)[0] if pk.startswith(("ledger#", "commit#")) else "aggregate"
        hottest_by_kind[kind] = max(hottest_by_kind[kind], units)
    detail = {
        "rate_per_second": rate,
        "seconds": seconds,
        "responses": count,
        "stream_shards": shards,
        "batch_size": size,
        "batching_window_seconds": STREAM_BATCHING_WINDOW_SECONDS,
        "batches": batch_count,
        "largest_batch": biggest_batch,
        "transactions": meter.transactions,
        "item_writes": meter.writes,
        "writes_per_response_excluding_the_response": meter.writes / count,
        "busiest_aggregate_key_writes_per_batch": per_key_writes_max,
        "hottest_key": hot_key,
        "hottest_key_second": hot_second,
        "hottest_key_write_units": hot_units,
        "hottest_write_units_by_kind": dict(hottest_by_kind),
        "largest_item_bytes": largest,
        "largest_item_key": largest_key,
        "previous_ledger_hottest_key": old_hot_key,
        "previous_ledger_hottest_write_units": old_hot_units,
        "previous_ledger_largest_item_bytes": old_largest,
        "commit_cpu_seconds": cpu,
    }
    figure = Figure(
        name=f"viral survey: hottest key ({rate:,.0f}/s, {seconds} s)",
        unit="WCU/s",
        measured=hot_units,
        baseline_name="previous ledger",
        baseline=old_hot_units,
        target=PARTITION_WRITE_UNITS_PER_SECOND,
        direction="max",
        detail=detail,
    )
    size_figure = Figure(
        name="viral survey: largest item",
        unit="bytes",
        measured=largest,
        baseline_name="previous ledger",
        baseline=old_largest,
        target=ITEM_SIZE_LIMIT_BYTES,
        direction="max",
    )
    return ViralResult(figure, size_figure, detail)


if __name__ == "__main__":
    import sys

    from benchmarks.report import format_figure

    result = run(seconds=int(sys.argv[1]) if len(sys.argv) > 1 else 60)
    print(format_figure(result.figure))
    print(format_figure(result.size_figure))
    for name, value in result.detail.items():
        print(f"    {name}: {value}")
