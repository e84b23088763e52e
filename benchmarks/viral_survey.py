"""Figure: a viral survey, 10,000 responses/s on one survey for 10 minutes, through the real code.

Two paths write for every answer, and both run unchanged on :class:`benchmarks.dynamo_meter.DynamoMeter`,
a DynamoDB stub that applies each write and charges write units per partition key per second to the
table **and to each global secondary index** the write touches (the rules are in its module doc):

* **Respond.** Each tap goes through :class:`nps.responding.service.ResponseService` with a signed link:
  the GET logs the open on the invite, the page's POST logs the confirmation and records the answer on
  the response item. A share of the people (``comment_share``) send a comment 3 s later (the comment
  form carries the score shown: a repeat of the answer writes nothing, the comment one update). Invites
  are seeded as sent. The respond load of a second does not depend on the survey's age (each tap writes
  its own invite and response, nothing grows), so by default ``respond_seconds`` (8) of the stream run
  through it, 5 of them in the steady state of taps and comments; pass ``respond_seconds=seconds`` to
  replay all of it (about 1 ms of CPU per tap here).
* **Score.** A simulated responses stream (first answers of one survey, two segment dimensions, both
  channels) is split over stream shards by invite id and batched the way Lambda's event source does it
  (up to ``STREAM_BATCH_SIZE`` records or ``STREAM_BATCHING_WINDOW_SECONDS``, one batch at a time per
  shard). Every batch goes through :meth:`DynamoAggregateStore.commit` unchanged (a batch is charged at
  the second it closes).

The stub holds the tables with the indexes of the **default deployment** (a fresh stack, and an
upgraded one after its second deploy: ``TableSpec.deployed()``). With ``keep_retiring_indexes`` it also
meters the previous release's indexes that the upgrade deploy keeps for one deploy
(``-c keepRetiringIndexes=true``: ``responses/by_survey``, one partition per survey, and
``aggregates/by_survey``); each index is charged independently of the others, so the default
deployment's figures are the same in both runs, and the run prints both.

Measured: for each table and index, the hottest partition key's write units in any second (target
≤ 1,000) and the largest item or index entry (target < 400 KB). Baseline, on the same stream: the
previous ledger (one item per minute and 8 invite hashes, 64-character invite ids as entry names),
sized analytically from the same batches; with ``keep_retiring_indexes``, ``upgrade_figure`` compares
the upgrade deploy's hottest partition with the default deployment's.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from benchmarks.dynamo_meter import DynamoMeter
from benchmarks.report import Figure

SEGMENT_PLANS = ("free", "pro", "enterprise")
SEGMENT_REGIONS = ("emea", "amer", "apac")
TABLE_NAMES = {"invites": "nps-bench-invites", "responses": "nps-bench-responses", "aggregates": "nps-bench-aggregates"}
#: Seconds between a tap and its comment (the thank-you page's form). People take longer to type; the
#: delay only shifts comments in time, and a short one lets a short replay reach the steady state in which
#: every second carries both ``rate`` taps and ``rate × comment_share`` comments.
COMMENT_DELAY_SECONDS = 3
#: How :func:`format_partitions` marks an index only the upgrade deploy has (``keepRetiringIndexes``).
UPGRADE_ONLY = " (upgrade deploy only)"
COMMENT_WORDS = ("the", "support", "team", "was", "quick", "but", "pricing", "is", "confusing", "great", "app")


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


def _comment(number: int) -> str:
    """A comment of 40 to 1,200 characters (most short), deterministic per respondent."""
    rng = random.Random(number)
    length = min(1200, int(rng.expovariate(1 / 180)) + 40)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(COMMENT_WORDS))
    return " ".join(words)[:length]


@dataclass(slots=True)
class RespondStats:
    taps: int = 0
    recorded: int = 0
    comments: int = 0
    cpu_seconds: float = 0.0


def replay_taps(
    meter: DynamoMeter, rate: float, seconds: int, start: datetime, scores: list[int], comment_share: float
) -> RespondStats:
    """``rate`` taps a second for ``seconds`` through the real respond service on ``meter``."""
    from nps.kernel import aws
    from nps.links.tokens import Keyring, Purpose, sign
    from nps.responding.adapters.invites import DynamoInviteRepository, Invite, _to_item
    from nps.responding.adapters.responses import DynamoResponseRepository, RecordOutcome
    from nps.responding.service import ResponseService

    keyring = Keyring(keys={"k1": b"viral-survey-benchmark-signing-key-0123456789"}, active_kid="k1")
    now = [start]
    service = ResponseService(
        lambda: keyring,
        DynamoInviteRepository(TABLE_NAMES["invites"]),
        DynamoResponseRepository(TABLE_NAMES["responses"]),
        clock=lambda: now[0],
    )
    expires_at = int((start + timedelta(days=30)).timestamp())
    sent_at = (start - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    every = max(1, round(1 / comment_share)) if comment_share > 0 else 0
    pending: list[tuple[float, int, str]] = []  # (when, number, token), in time order
    stats = RespondStats()
    started = time.process_time()

    def forget(number: int) -> None:
        meter.forget(TABLE_NAMES["invites"], {"invite_id": {"S": _invite(number)}})
        meter.forget(TABLE_NAMES["responses"], {"invite_id": {"S": _invite(number)}})

    def comment_due(until: float) -> None:
        while pending and pending[0][0] <= until:
            at, number, token = pending.pop(0)
            meter.clock = at
            now[0] = start + timedelta(seconds=at)
            service.comment(token, _comment(number), str(scores[number % 1000]))
            stats.comments += 1
            forget(number)

    with mock.patch.object(aws, "client", meter.client):
        for number in range(int(rate * seconds)):
            at = number / rate
            comment_due(at)
            invite = Invite(
                invite_id=_invite(number),
                survey_id="viral",
                wave_id="viral-w1",
                contact_id=f"c{number}",
                channel="email" if number % 3 else "sms",
                locale="en",
                expires_at=expires_at,
                sent_at=sent_at,
                segments={"plan": SEGMENT_PLANS[number % 3], "region": SEGMENT_REGIONS[number // 3 % 3]},
            )
            meter.seed(TABLE_NAMES["invites"], _to_item(invite))
            token = sign(keyring, Purpose.RESPOND, invite.invite_id, expires_at)
            meter.clock = at
            now[0] = start + timedelta(seconds=at)
            result = service.tap(token, str(scores[number % 1000]))
            stats.taps += 1
            stats.recorded += result.recorded is not None and result.recorded.outcome is RecordOutcome.RECORDED
            if every and number % every == 0:
                pending.append((at + COMMENT_DELAY_SECONDS, number, token))
            else:
                forget(number)
        comment_due(float("inf"))
    stats.cpu_seconds = time.process_time() - started
    return stats


@dataclass(slots=True)
class ViralResult:
    figure: Figure
    size_figure: Figure
    detail: dict[str, Any]
    #: (table or table/index, hottest partition, its write units in its busiest second, largest entry bytes).
    partitions: list[tuple[str, str, int, int]]
    #: With ``keep_retiring_indexes``: the hottest partition of the upgrade deploy (retiring indexes included)
    #: against the default deployment's.
    upgrade_figure: Figure | None = None


def run(
    rate: float = 10_000,
    seconds: int = 600,
    shards: int = 16,
    batch_size: int | None = None,
    respond_seconds: int | None = 8,
    comment_share: float = 0.25,
    keep_retiring_indexes: bool = False,
) -> ViralResult:
    """Replay ``rate`` × ``seconds`` first answers of one survey through the respond and commit code, on
    the tables of the default deployment (``keep_retiring_indexes``: of the upgrade deploy, which also has
    the previous release's indexes)."""
    from nps.kernel import aws
    from nps.kernel.tables import AGGREGATES, INVITES, RESPONSES
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
    specs = {
        TABLE_NAMES[spec.logical_name]: spec.deployed(keep_retiring_indexes)
        for spec in (INVITES, RESPONSES, AGGREGATES)
    }
    meter = DynamoMeter(specs)
    start = datetime(2026, 3, 10, 9, 0, 0, tzinfo=UTC)
    rng = random.Random(11)
    scores = [rng.choices(range(11), weights=(2, 1, 1, 2, 2, 4, 5, 10, 14, 22, 20))[0] for _ in range(1000)]

    respond = replay_taps(meter, rate, min(seconds, respond_seconds or seconds), start, scores, comment_share)

    store = DynamoAggregateStore(TABLE_NAMES["aggregates"])
    batch_writes: dict[str, int] = defaultdict(int)

    def count_batch_write(table: str, key: tuple[str, str], item: Any) -> None:
        if table == TABLE_NAMES["aggregates"] and not key[0].startswith(("ledger#", "commit#")):
            batch_writes[key[0] + "#" + key[1]] += 1

    meter.on_write = count_batch_write
    count = 0
    batch_count = 0
    biggest_batch = 0
    per_key_writes_max = 0
    writes_before = meter.writes
    transactions_before = meter.transactions
    started = time.process_time()
    old_design: dict[tuple[int, str], int] = defaultdict(int)
    old_items: dict[str, int] = defaultdict(int)
    old_largest = 0
    with mock.patch.object(aws, "client", meter.client):
        for batch in batches(rate, seconds, shards, size, STREAM_BATCHING_WINDOW_SECONDS):
            per_key_writes_max = max(per_key_writes_max, max(batch_writes.values(), default=0))
            batch_writes.clear()
            meter.clock = batch.closes_at
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
    per_key_writes_max = max(per_key_writes_max, max(batch_writes.values(), default=0))
    cpu = time.process_time() - started

    partitions: list[tuple[str, str, int, int]] = []
    worst_case: dict[str, int] = {}
    default: list[tuple[int, str, str]] = []  # (units, where, partition) of the default deployment
    upgrade: list[tuple[int, str, str]] = []  # the same, with the retiring indexes the upgrade deploy keeps
    for spec in specs.values():
        for where, retiring in [(spec.logical_name, False)] + [
            (f"{spec.logical_name}/{index.name}", index.retiring) for index in spec.indexes
        ]:
            _, partition, hot = meter.hottest(where + ":")
            largest = meter.largest.get(where, (0, ""))[0]
            shown = where + (UPGRADE_ONLY if retiring else "")
            partitions.append((shown, partition.split(":", 1)[-1], hot, largest))
            worst_case[where] = meter.hottest_worst_case(where + ":")
            upgrade.append((hot, where, partition))
            if not retiring:
                default.append((hot, where, partition))
    hot_units, hot_where, hot_partition = max(default)
    upgrade_units, upgrade_where, upgrade_partition = max(upgrade)
    largest_bytes, largest_where = max((size, where) for where, _, _, size in partitions if UPGRADE_ONLY not in where)
    (_, old_hot_key), old_hot_units = max(old_design.items(), key=lambda kv: kv[1])
    hottest_by_kind: dict[str, int] = defaultdict(int)
    for (_, partition), charged in meter.units.items():
        if partition.startswith("aggregates:"):
            pk = partition.split(":", 1)[1]
            kind = pk.split("#", 1)[0] if pk.startswith(("ledger#", "commit#")) else "aggregate"
            hottest_by_kind[kind] = max(hottest_by_kind[kind], charged)
    detail = {
        "rate_per_second": rate,
        "seconds": seconds,
        "responses": count,
        "respond_seconds_replayed": respond.taps / rate,
        "taps": respond.taps,
        "answers_recorded": respond.recorded,
        "comments": respond.comments,
        "respond_cpu_seconds": respond.cpu_seconds,
        "stream_shards": shards,
        "batch_size": size,
        "batching_window_seconds": STREAM_BATCHING_WINDOW_SECONDS,
        "batches": batch_count,
        "largest_batch": biggest_batch,
        "transactions": meter.transactions - transactions_before,
        "item_writes": meter.writes - writes_before,
        "writes_per_response_excluding_the_response": (meter.writes - writes_before) / count,
        "busiest_aggregate_key_writes_per_batch": per_key_writes_max,
        "hottest_key": f"{hot_where}:{hot_partition.split(':', 1)[-1]}",
        "hottest_key_write_units": hot_units,
        "deployment": "upgrade deploy (keepRetiringIndexes)" if keep_retiring_indexes else "default",
        "hottest_write_units_by_table_and_index": {where: units for where, _, units, _ in partitions},
        "hottest_write_units_if_every_update_wrote_each_index": worst_case,
        "hottest_write_units_by_kind": dict(hottest_by_kind),
        "largest_item_bytes": largest_bytes,
        "largest_item_where": largest_where,
        "previous_ledger_hottest_key": old_hot_key,
        "previous_ledger_hottest_write_units": old_hot_units,
        "previous_ledger_largest_item_bytes": old_largest,
        "refused_conditional_writes": meter.refused_write_units,
        "commit_cpu_seconds": cpu,
    }
    if keep_retiring_indexes:
        detail["upgrade_deploy_hottest_key"] = f"{upgrade_where}:{upgrade_partition.split(':', 1)[-1]}"
        detail["upgrade_deploy_hottest_key_write_units"] = upgrade_units
    figure = Figure(
        name=f"viral survey: hottest partition, tables and indexes ({rate:,.0f}/s, {seconds} s)",
        unit="WCU/s",
        measured=hot_units,
        baseline_name="previous ledger (per minute x 8)",
        baseline=old_hot_units,
        target=PARTITION_WRITE_UNITS_PER_SECOND,
        direction="max",
        detail=detail,
    )
    upgrade_figure = None
    if keep_retiring_indexes:
        upgrade_figure = Figure(
            name="viral survey: hottest partition, upgrade deploy (keepRetiringIndexes, until the next deploy)",
            unit="WCU/s",
            measured=upgrade_units,
            baseline_name="default deployment",
            baseline=hot_units,
            target=PARTITION_WRITE_UNITS_PER_SECOND,
            direction="max",
        )
    size_figure = Figure(
        name="viral survey: largest item or index entry",
        unit="bytes",
        measured=largest_bytes,
        baseline_name="previous ledger",
        baseline=old_largest,
        target=ITEM_SIZE_LIMIT_BYTES,
        direction="max",
    )
    return ViralResult(figure, size_figure, detail, partitions, upgrade_figure)


def format_partitions(partitions: list[tuple[str, str, int, int]], limit: int = 1_000) -> list[str]:
    """One line per table and index: its hottest partition key, write units in its busiest second, largest entry."""
    lines = [f"    {'table / index':<58} {'hottest partition key':<42} {'WCU/s':>7} (≤ {limit:,})  largest"]
    for where, partition, hot, largest in partitions:
        flag = "" if hot <= limit else "  OVER"
        shown = partition if len(partition) <= 40 else partition[:37] + "..."
        lines.append(f"    {where:<58} {shown or '-':<42} {hot:>7,}{flag:<10}  {largest:,} B")
    return lines


if __name__ == "__main__":
    import argparse

    from benchmarks.report import format_figure

    parser = argparse.ArgumentParser(description="Replay a viral survey through the respond and commit code.")
    parser.add_argument("seconds", type=int, nargs="?", default=60, help="seconds of the survey's stream replayed")
    parser.add_argument("--rate", type=float, default=10_000, help="answers a second on the survey (default 10,000)")
    parser.add_argument(
        "--respond-seconds", type=int, default=8, help="seconds of taps through the respond path (default 8)"
    )
    parser.add_argument(
        "--keep-retiring-indexes",
        action="store_true",
        help="also meter the previous release's indexes the upgrade deploy keeps (-c keepRetiringIndexes=true)",
    )
    arguments = parser.parse_args()
    result = run(
        rate=arguments.rate,
        seconds=arguments.seconds,
        respond_seconds=arguments.respond_seconds,
        keep_retiring_indexes=arguments.keep_retiring_indexes,
    )
    print(format_figure(result.figure))
    if result.upgrade_figure is not None:
        print(format_figure(result.upgrade_figure))
    print(format_figure(result.size_figure))
    print("\n".join(format_partitions(result.partitions)))
    for name, value in result.detail.items():
        print(f"    {name}: {value}")
