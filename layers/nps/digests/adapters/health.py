"""Each account's health as last published by a survey's digest: accounts table ``pk = account#<id>``,
``sk = health#<survey>`` with ``health`` (``at_risk``/``healthy``), ``period`` and ``assessed_at``.

Read before a digest (BatchGetItem, 100 keys a call) to find the accounts whose health changed; written
after each ``NPS Account Health Changed`` is published, so a retried run publishes only what it has not
recorded yet. The item also keeps ``before``, the health published before its ``period``: a retried run
of that period (a recipient SES throttled), ``nps digest send`` and the preview list the same accounts as
newly at risk as the run that published them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nps.accounts.adapters.profiles import account_pk
from nps.digests.content import BinaryHealth, PublishedHealthState
from nps.kernel import aws

_BATCH = 100


def health_sort_key(survey_id: str) -> str:
    return f"health#{survey_id}"


class DynamoPublishedHealth:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def read(self, survey_id: str, account_ids: Sequence[str], period_key: str) -> Mapping[str, PublishedHealthState]:
        """The published health of each of ``account_ids`` that has one: the latest, and the one before the
        digest period ``period_key`` (``daily:2026-12-02``)."""
        found: dict[str, PublishedHealthState] = {}
        wanted = sorted(set(account_ids))
        for start in range(0, len(wanted), _BATCH):
            keys = [
                {"pk": {"S": account_pk(account_id)}, "sk": {"S": health_sort_key(survey_id)}}
                for account_id in wanted[start : start + _BATCH]
            ]
            items, _ = aws.batch_get_items(
                {
                    self.table_name: {
                        "Keys": keys,
                        "ProjectionExpression": "pk, health, #period, #before",
                        "ExpressionAttributeNames": {"#period": "period", "#before": "before"},
                        "ConsistentRead": True,
                    }
                }
            )
            for item in items.get(self.table_name, []):
                health = _health(item.get("health", {}).get("S"))
                if health is None:
                    continue
                recorded_in = str(item.get("period", {}).get("S", ""))
                before: BinaryHealth | None = health
                if _day(recorded_in) >= _day(period_key):  # published in this period (or a later one)
                    before = _health(item.get("before", {}).get("S"))
                found[item["pk"]["S"].removeprefix("account#")] = PublishedHealthState(health, before)
        return found

    def record(
        self,
        survey_id: str,
        account_id: str,
        health: BinaryHealth,
        period_key: str,
        now_iso: str,
        before: BinaryHealth | None = None,
    ) -> None:
        """Store the health just published for the account in ``period_key``, and ``before``, the health
        published before that period (None: never)."""
        item = {
            "pk": {"S": account_pk(account_id)},
            "sk": {"S": health_sort_key(survey_id)},
            "health": {"S": health},
            "period": {"S": period_key},
            "assessed_at": {"S": now_iso},
        }
        if before is not None:
            item["before"] = {"S": before}
        aws.client("dynamodb").put_item(TableName=self.table_name, Item=item)


def _health(value: object) -> BinaryHealth | None:
    if value == "at_risk":
        return "at_risk"
    if value == "healthy":
        return "healthy"
    return None


def _day(period_key: str) -> str:
    """The first day of a period key (``weekly:2026-11-26`` → ``2026-11-26``), comparable as text."""
    return period_key.partition(":")[2]
