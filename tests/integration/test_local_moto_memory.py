"""The demo's memory on moto stays bounded: moto does not keep a DynamoDB transaction's table backups
(``local/moto_memory.py``), and the demo scores each stream record once, as Lambda's event source mapping
does, instead of re-reading the stream from its start at every scoring.

Before, the full demo held 9–13 GB: moto backs up the whole table of every item of a transaction and
registered every backup until the mock ended, and the demo replayed the whole responses stream (each
replay more transactions) at every scoring.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from local import demo
from local.environment import LocalStack
from local.moto_memory import live_tables, registered_dynamodb_models, registered_tables, transaction_backups_released
from nps.kernel import aws
from nps.kernel.periods import Granularity, period_keys
from nps.scoring.adapters.aggregates import DynamoAggregateStore
from nps.scoring.aggregation import AggregateKey
from tests.support.taps import issue_invite


def test_the_demo_scores_each_stream_record_once_and_moto_keeps_no_table_backups(platform: LocalStack) -> None:
    with transaction_backups_released():
        # Given answers scored by the demo's scoring (the score function commits them in transactions)
        for number in range(6):
            issue_invite(platform, f"inv-{number}", segments={"plan": "pro"}).tap(9 if number % 2 else 3)
        _, records = demo.score_stream(platform)
        assert records >= 6
        # When the demo scores again with nothing new, then again after one more answer
        assert demo.score_stream(platform) == (0, 0)
        issue_invite(platform, "inv-late", segments={"plan": "pro"}).tap(10)
        _, late = demo.score_stream(platform)
        # Then only the new answer's records were read, never the stream from its start
        assert 1 <= late < records
        # And moto's registry holds no backup of a table the transactions touched
        assert registered_tables() <= live_tables()
    # And every answer counts once
    today = period_keys(datetime.now(UTC))[Granularity.DAY]
    counters = DynamoAggregateStore(platform.tables["aggregates"]).get(AggregateKey("survey-1", Granularity.DAY, today))
    assert (counters["promoters"], counters["detractors"]) == (4, 3)


def _aggregate_updates(table: str, keys: range, condition: str | None = None) -> list[dict[str, Any]]:
    updates = []
    for number in keys:
        update: dict[str, Any] = {
            "TableName": table,
            "Key": {"pk": {"S": f"agg#{number}"}, "period": {"S": "2026-Q4"}},
            "UpdateExpression": "ADD promoters :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        if condition:
            update["ConditionExpression"] = condition
        updates.append({"Update": update})
    return updates


def test_a_transaction_inside_the_adjustment_still_applies_or_rolls_back_as_moto_does(platform: LocalStack) -> None:
    dynamodb, table = aws.client("dynamodb"), platform.tables["aggregates"]
    with transaction_backups_released():
        before = registered_dynamodb_models()
        # Given transactions of 20 updates each on a table of 20 items (moto backs the table up 20 times each)
        for _ in range(5):
            dynamodb.transact_write_items(TransactItems=_aggregate_updates(table, range(20)))
        # And one cancelled by its last item's condition
        cancelled = _aggregate_updates(table, range(19)) + _aggregate_updates(table, range(19, 20), "promoters < :one")
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=cancelled)
        # Then moto's registry did not grow with the backups (about 2,000 tables' items otherwise)
        assert registered_dynamodb_models() <= before
        assert registered_tables() <= live_tables()
    # And the five transactions applied, the cancelled one rolled back
    items = dynamodb.scan(TableName=table)["Items"]
    assert sorted(int(i["promoters"]["N"]) for i in items if i["pk"]["S"].startswith("agg#")) == [5] * 20
