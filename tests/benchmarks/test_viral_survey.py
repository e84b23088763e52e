"""The viral replay guards the ledger's design: 10,000 answers a second of one survey through the real commit
code keep every aggregates-table partition under DynamoDB's 1,000 write units a second, and the replay reports
a miss when the design regresses (here: the ledger sharded over fewer buckets)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import viral_survey
from nps.scoring import aggregation
from nps.scoring.capacity import PARTITION_WRITE_UNITS_PER_SECOND

SECONDS = 3


def replay(monkeypatch: pytest.MonkeyPatch) -> viral_survey.ViralResult:
    """Three seconds of the stream at 10,000/s; the respond path (not measured here) at 500 taps for 1 s."""
    real = viral_survey.replay_taps

    def fewer_taps(meter: Any, rate: float, seconds: int, *rest: Any) -> viral_survey.RespondStats:
        return real(meter, 500, 1, *rest)

    monkeypatch.setattr(viral_survey, "replay_taps", fewer_taps)
    return viral_survey.run(rate=10_000, seconds=SECONDS, respond_seconds=1)


def test_ten_thousand_answers_a_second_keep_every_aggregate_partition_under_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = replay(monkeypatch)
    by_kind = result.detail["hottest_write_units_by_kind"]
    assert set(by_kind) == {"ledger", "commit", "aggregate"}
    assert max(by_kind.values()) <= PARTITION_WRITE_UNITS_PER_SECOND / 2, by_kind
    assert result.detail["busiest_aggregate_key_writes_per_batch"] == 1
    assert result.detail["responses"] == 10_000 * SECONDS
    assert result.size_figure.measured < 64 * 1024


def test_a_ledger_sharded_over_fewer_buckets_is_reported_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregation, "LEDGER_BUCKETS", 1)
    monkeypatch.setattr(aggregation, "_SHARD_TEXTS", ("00",))
    result = replay(monkeypatch)
    assert result.detail["hottest_write_units_by_kind"]["ledger"] > PARTITION_WRITE_UNITS_PER_SECOND
    assert result.figure.measured > PARTITION_WRITE_UNITS_PER_SECOND
    assert result.detail["hottest_key"].startswith("aggregates:ledger#")


@pytest.mark.parametrize("batch_size", [1_000, 10_000])
def test_a_batch_up_to_the_stream_maximum_writes_each_aggregate_key_once(
    monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    # One stream shard, so a batch fills to ``batch_size`` within the batching window
    real = viral_survey.replay_taps
    monkeypatch.setattr(viral_survey, "replay_taps", lambda meter, rate, seconds, *rest: real(meter, 500, 1, *rest))
    result = viral_survey.run(rate=10_000, seconds=1, shards=1, batch_size=batch_size, respond_seconds=1)
    assert result.detail["largest_batch"] == batch_size
    assert result.detail["busiest_aggregate_key_writes_per_batch"] == 1
    assert result.detail["responses"] == 10_000
