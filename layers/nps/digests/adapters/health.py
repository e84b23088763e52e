"""Each account's health as last published by a survey's digest: accounts table ``pk = account#<id>``,
``sk = health#<survey>`` with ``health`` (``at_risk``/``healthy``), ``period`` and ``assessed_at``.

Read before a digest (BatchGetItem, 100 keys a call) to find the accounts whose health changed; written
after each ``NPS Account Health Changed`` is published, so a retried run publishes only what it has not
recorded yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from nps.accounts.adapters.profiles import account_pk
from nps.digests.content import BinaryHealth
from nps.kernel import aws

_BATCH = 100


def health_sort_key(survey_id: str) -> str:
    return f"health#{survey_id}"


class DynamoPublishedHealth:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def read(self, survey_id: str, account_ids: Sequence[str]) -> Mapping[str, BinaryHealth]:
        """The published health of each of ``account_ids`` that has one."""
        found: dict[str, BinaryHealth] = {}
        wanted = sorted(set(account_ids))
        for start in range(0, len(wanted), _BATCH):
            keys = [
                {"pk": {"S": account_pk(account_id)}, "sk": {"S": health_sort_key(survey_id)}}
                for account_id in wanted[start : start + _BATCH]
            ]
            items, _ = aws.batch_get_items(
                {self.table_name: {"Keys": keys, "ProjectionExpression": "pk, health", "ConsistentRead": True}}
            )
            for item in items.get(self.table_name, []):
                health = item.get("health", {}).get("S")
                if health in ("at_risk", "healthy"):
                    found[item["pk"]["S"].removeprefix("account#")] = cast(BinaryHealth, health)
        return found

    def record(self, survey_id: str, account_id: str, health: BinaryHealth, period_key: str, now_iso: str) -> None:
        """Store the health just published for the account."""
        aws.client("dynamodb").put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": account_pk(account_id)},
                "sk": {"S": health_sort_key(survey_id)},
                "health": {"S": health},
                "period": {"S": period_key},
                "assessed_at": {"S": now_iso},
            },
        )
