"""The responses stream delivered the way Lambda really delivers it: aggregates still equal a recount.

A realistic run on moto (first answers either side of a new year, changed minds, comments, an answer a
mail scanner's preview fetch retracts and the person gives again later, a change after the edit window)
is read from the stream once. Then Hypothesis plays it to the score function under different, legal
delivery schedules and, after each, the aggregates must equal the recount of the responses table.

What a schedule may do, and why (the rules of a DynamoDB stream consumed by Lambda):

* all records of one item are in one shard, in write order; different items may sit in different
  shards, which Lambda reads independently, so records of different items interleave arbitrarily;
* a batch is a contiguous range of one shard, starting at or before the shard's checkpoint;
* a batch may be delivered again (an invocation that committed but timed out is retried, and with
  ``BisectBatchOnFunctionError`` the retry is split into halves);
* a batch that reports a failed record is followed by one starting at that record (overlapping);
* a lost checkpoint makes the poller start again from an earlier position (a run of old batches).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.respond import handler as respond
from local.environment import LocalStack, StreamReader
from tests.support.reliability import aggregate_counts, clear_aggregates, recount, run_score, scan
from tests.support.taps import IssuedInvite, issue_invite

pytestmark = pytest.mark.reliability

MAX_BATCH = 12
MAX_DISRUPTIONS = 3  # per shard: enough to replay, split and overlap, few enough to keep moto quick


@dataclass(frozen=True)
class Delivery:
    """One invocation of the score function: records ``start``–``end`` (exclusive) of one shard."""

    shard: int
    start: int
    end: int
    why: str


def shard_schedule(shard: int, size: int, rng: random.Random) -> list[Delivery]:
    """The batches Lambda hands the function for one shard of ``size`` records, in order."""
    out: list[Delivery] = []
    checkpoint = 0
    disruptions = 0
    rewound = False
    why = "batch"
    while checkpoint < size:
        end = min(size, checkpoint + rng.randint(1, MAX_BATCH))
        out.append(Delivery(shard, checkpoint, end, why))
        why = "batch"
        kind = rng.choice(["ok", "ok", "timed_out", "partial", "rewound"]) if disruptions < MAX_DISRUPTIONS else "ok"
        if kind == "timed_out":
            # Committed, but Lambda saw an error: it retries the batch bisected into halves.
            disruptions += 1
            middle = (checkpoint + end + 1) // 2
            if end - checkpoint > 1:
                out += [
                    Delivery(shard, checkpoint, middle, "bisected retry"),
                    Delivery(shard, middle, end, "bisected retry"),
                ]
            else:
                out.append(Delivery(shard, checkpoint, end, "retry"))
        elif kind == "partial" and end - checkpoint > 1:
            # A record was reported failed (a transient fault): the next batch starts at it.
            disruptions += 1
            checkpoint = rng.randint(checkpoint + 1, end - 1)
            why = "resumed at a failed record"
            continue
        elif kind == "rewound" and not rewound and checkpoint > 0:
            # The checkpoint was lost: the poller reads again from an earlier position.
            disruptions += 1
            rewound = True
            checkpoint = rng.randint(0, checkpoint - 1)
            why = "after a lost checkpoint"
            continue
        checkpoint = end
    return out


def interleave(schedules: list[list[Delivery]], rng: random.Random) -> list[Delivery]:
    """Shards are read concurrently: any interleaving that keeps each shard's own order."""
    pending = [list(s) for s in schedules if s]
    out: list[Delivery] = []
    while pending:
        chosen = rng.choice(pending)
        out.append(chosen.pop(0))
        if not chosen:
            pending.remove(chosen)
    return out


def invite_of(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["invite_id"]["S"])


# --------------------------------------------------------------------------------------------------
# A realistic run through the respond function
# --------------------------------------------------------------------------------------------------


@dataclass
class Campaign:
    """Invites of two surveys, answered through the respond function on a clock the test moves."""

    stack: LocalStack
    new_year: datetime
    invites: dict[str, IssuedInvite]

    def at(self, moment: datetime) -> None:
        respond.service().clock = lambda: moment

    def tap(self, invite_id: str, score: int, moment: datetime) -> None:
        self.at(moment)
        assert self.invites[invite_id].tap(score)["statusCode"] == 200

    def comment(self, invite_id: str, text: str, moment: datetime) -> None:
        self.at(moment)
        assert self.invites[invite_id].comment(text)["statusCode"] == 200

    def preview(self, invite_id: str, moment: datetime) -> None:
        self.at(moment)
        assert self.invites[invite_id].preview()["statusCode"] == 200


def play_campaign(stack: LocalStack) -> Campaign:
    now = datetime.now(UTC)
    new_year = datetime(now.year + 1, 1, 1, tzinfo=UTC)
    lifetime = int((new_year + timedelta(days=60) - now).total_seconds())
    invites = {
        f"inv-{n}": issue_invite(
            stack,
            f"inv-{n}",
            survey_id="survey-b" if n == 9 else "survey-a",
            channel="sms" if n % 3 == 0 else "email",
            segments={"plan": ("pro", "free")[n % 2], "region": ("emea", "amer")[n % 4 // 2]},
            lifetime_seconds=lifetime,
        )
        for n in range(10)
    }
    run = Campaign(stack, new_year, invites)
    y = new_year
    h = timedelta(hours=1)
    run.tap("inv-0", 9, y - 26 * h)
    run.tap("inv-1", 3, y - 26 * h + timedelta(minutes=5))
    run.tap("inv-2", 7, y - 25 * h)
    run.tap("inv-3", 10, y - 2 * h)
    run.tap("inv-0", 6, y - 2 * h + timedelta(minutes=1))  # a changed mind: promoter → detractor
    run.tap("inv-4", 0, y - h)
    run.tap("inv-5", 8, y - timedelta(minutes=1))
    run.comment("inv-5", "Support was quick", y - timedelta(seconds=30))
    run.tap("inv-6", 9, y + timedelta(seconds=30))
    run.comment("inv-1", "Too expensive", y + timedelta(minutes=2))
    run.tap("inv-7", 5, y + timedelta(minutes=3))
    run.preview("inv-7", y + timedelta(minutes=3, seconds=20))  # a scanner: the answer is retracted
    run.tap("inv-7", 6, y + 2 * timedelta(days=1))  # the person answers days later
    run.tap("inv-8", 4, y + 2 * timedelta(days=1) + h)
    run.tap("inv-2", 10, y + 2 * timedelta(days=1) + 2 * h)  # passive → promoter, still in the edit window
    run.tap("inv-9", 9, y + 3 * timedelta(days=1))
    run.comment("inv-3", "Great onboarding", y + 3 * timedelta(days=1) + h)
    run.tap("inv-6", 9, y + 3 * timedelta(days=1) + 2 * h)  # the same score again: no write
    run.tap("inv-1", 10, y + 9 * timedelta(days=1))  # after the edit window: the first answer stands
    return run


# --------------------------------------------------------------------------------------------------
# The property
# --------------------------------------------------------------------------------------------------


def test_any_legal_delivery_schedule_leaves_aggregates_equal_to_a_recount(platform: LocalStack) -> None:
    # Given a realistic run, its stream read once, and the recount of the responses table
    campaign = play_campaign(platform)
    records = StreamReader(platform.stream_arns["responses"]).read_records()
    expected = recount(platform)
    responses = {item["invite_id"]["S"]: item for item in scan(platform.tables["responses"])}
    # (the run covers what it claims: a retraction answered again, a locked change, both sides of the year)
    assert responses["inv-7"]["counted"]["BOOL"] is True
    assert responses["inv-1"]["score"]["N"] == "3"
    year = campaign.new_year.year
    assert {period for (_, period) in expected if "-Q" in period} == {f"{year - 1}-Q4", f"{year}-Q1"}
    assert len(records) >= 20
    schedules_run: list[list[Delivery]] = []

    @settings(
        max_examples=3,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(0, 2**32 - 1), st.integers(1, 4))
    def prop(seed: int, shards: int) -> None:
        rng = random.Random(seed)
        clear_aggregates(platform)
        by_shard: list[list[dict[str, Any]]] = [[] for _ in range(shards)]
        for record in records:
            by_shard[zlib.crc32(invite_of(record).encode()) % shards].append(record)
        schedule = interleave([shard_schedule(i, len(rs), rng) for i, rs in enumerate(by_shard)], rng)
        schedules_run.append(schedule)
        # When every delivery of the schedule reaches the score function
        for delivery in schedule:
            event = {"Records": by_shard[delivery.shard][delivery.start : delivery.end]}
            assert run_score(event) == {"batchItemFailures": []}, delivery
        # Then the aggregates equal the recount: nothing lost, nothing counted twice
        assert aggregate_counts(platform) == expected, schedule

    prop()
    # The schedules really replayed, split and overlapped batches, across several shards.
    whys = {d.why for schedule in schedules_run for d in schedule}
    assert {"bisected retry", "resumed at a failed record", "after a lost checkpoint"} <= whys, whys
    assert any(overlaps(schedule) for schedule in schedules_run)
    assert max(d.shard for schedule in schedules_run for d in schedule) >= 1


def overlaps(schedule: list[Delivery]) -> bool:
    """Whether some record was delivered more than once."""
    seen: set[tuple[int, int]] = set()
    for delivery in schedule:
        span = {(delivery.shard, i) for i in range(delivery.start, delivery.end)}
        if span & seen:
            return True
        seen |= span
    return False
