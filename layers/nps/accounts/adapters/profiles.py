"""Account profiles in the accounts table: ``pk = account#<account id>``, ``sk = profile``.

A profile holds what a contacts import says of the account as a whole: its ``revenue`` (a number in the
team's currency; absent when no row gave one) and ``updated_at``. The churn recorder writes the account's
``churn`` item beside it (``sk = churn``), which reports read to leave churned accounts out of the
referral-ready ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nps.kernel import aws

if TYPE_CHECKING:
    from nps.accounts.membership import Membership

PROFILE = "profile"
CHURN = "churn"
_BATCH_GET_KEYS = 100
#: Profile writes in flight at once (the contacts import writes its contacts 16 at a time too).
PARALLEL_WRITES = 16


def account_pk(account_id: str) -> str:
    """The partition of an account's items: ``account#<account id>``."""
    return f"account#{account_id}"


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """What the accounts table knows of one account: its revenue (None: not imported) and when it churned
    (ISO-8601, None: not churned)."""

    account_id: str
    revenue: Decimal | None = None
    churned_at: str | None = None


class DynamoAccountProfiles:
    """Reads and writes account profiles (one ``UpdateItem`` per account, ``BatchGetItem`` to read)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.reads = 0

    def record(self, memberships: Iterable[Membership], now_iso: str) -> int:
        """Write each distinct account's profile: its revenue where a membership gives one (a later import
        replaces it), ``updated_at`` always. Returns the number of accounts written. Writes run
        :data:`PARALLEL_WRITES` at a time, as the contacts' do: an import may name 100,000 accounts, which one
        after the other would outlast the import function's 15 minutes. Raises the first write's error."""
        revenues: dict[str, Decimal | None] = {}
        for membership in memberships:
            if membership.revenue is not None or membership.account_id not in revenues:
                revenues[membership.account_id] = membership.revenue
        client = aws.client("dynamodb")

        def write(entry: tuple[str, Decimal | None]) -> None:
            account_id, revenue = entry
            values: dict[str, Any] = {":at": {"S": now_iso}}
            expression = "SET updated_at = :at"
            if revenue is not None:
                expression += ", revenue = :revenue"
                values[":revenue"] = {"N": str(revenue)}
            client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": account_pk(account_id)}, "sk": {"S": PROFILE}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
            )

        with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
            list(pool.map(write, revenues.items()))
        return len(revenues)

    def read(self, account_ids: Sequence[str]) -> dict[str, AccountRecord]:
        """The profile and churn of each account (an account with neither gets an empty record). Raises
        ``RuntimeError`` if DynamoDB keeps keys unprocessed after retries."""
        found: dict[str, dict[str, Any]] = {account_id: {} for account_id in account_ids}
        keys = [
            {"pk": {"S": account_pk(account_id)}, "sk": {"S": sk}} for account_id in found for sk in (PROFILE, CHURN)
        ]
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            batch, rounds = aws.batch_get_items({self.table_name: {"Keys": keys[start : start + _BATCH_GET_KEYS]}})
            self.reads += rounds
            for item in batch.get(self.table_name, []):
                account_id = item["pk"]["S"].removeprefix("account#")
                if account_id in found:
                    found[account_id][item["sk"]["S"]] = item
        records = {}
        for account_id, items in found.items():
            revenue = items.get(PROFILE, {}).get("revenue", {}).get("N")
            churned = items.get(CHURN, {}).get("churned_at", {}).get("S")
            records[account_id] = AccountRecord(account_id, Decimal(revenue) if revenue is not None else None, churned)
        return records
