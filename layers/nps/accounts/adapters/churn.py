"""Churn on DynamoDB: a contact's answers, an account's quarter slices, and the churn's records and marker.

Reads:

- a contact's invites from the invites table's ``by_contact`` index (contact id → invite ids and their
  surveys, sent in order), then its responses by invite id, 100 per ``BatchGetItem`` (projection: the score,
  whether it counts, its answer times, its account and its wave, since a re-survey's answer is not counted);
- an account's slices from the aggregates table, one ``Query`` per survey (surveys listed by one ``Scan``
  of the surveys table's ``definition`` items): partition ``<survey>#quarter#account_id=<account>#*`` (the
  aggregates' key of an account slice over every channel, see ``nps.scoring.aggregation.AggregateKey.pk``),
  newest quarter first from the churn's;
- the churn marker and the account's profile from the accounts table (``GetItem``, strongly consistent).

Writes: the records, the unmatched item and the marker, in ``TransactWriteItems`` of at most 100 items and
4 MB (:meth:`nps.accounts.churn.ChurnPlan.chunks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from nps.accounts.churn import (
    MAX_TRANSACTION_BYTES,
    MAX_TRANSACTION_ITEMS,
    UNMATCHED_SURVEY,
    ChurnPlan,
    ChurnRecord,
    ContactAnswer,
    Kind,
    UnmatchedChurn,
    marker_key,
)
from nps.accounts.membership import account_label
from nps.kernel import aws
from nps.kernel.categories import Category
from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.kernel.tables import INVITES_BY_CONTACT

_BATCH_GET_KEYS = 100
#: The survey-wide channel value of an aggregate key (every channel together).
ALL = "*"
#: Attributes of a response a churn reads.
_RESPONSE_ATTRIBUTES = (
    "invite_id", "survey_id", "score", "counted", "in_headline", "first_answered_at", "answered_at", "account_id",
    "wave_id",
)  # fmt: skip


def account_slice_pk(survey_id: str, account_id: str) -> str:
    """``<survey>#quarter#account_id=<account>#*``: the aggregate partition of an account's quarters in a
    survey (the format of ``nps.scoring.aggregation.AggregateKey.pk``, which a test holds this to)."""
    return f"{survey_id}#quarter#{account_label(account_id)}#{ALL}"


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return value if isinstance(value, str) else None


def _time(item: Mapping[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    if not text:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def answer_from_item(item: Mapping[str, Any]) -> ContactAnswer:
    """A response item (as ``BatchGetItem`` returns it) as a :class:`ContactAnswer`."""
    score_text = item.get("score", {}).get("N")
    return ContactAnswer(
        invite_id=item["invite_id"]["S"],
        survey_id=item.get("survey_id", {}).get("S", ""),
        score=int(score_text) if score_text is not None else None,
        counted=item.get("counted", {}).get("BOOL") is not False,
        first_answered_at=_time(item, "first_answered_at"),
        answered_at=_time(item, "answered_at"),
        account_id=_text(item, "account_id"),
        in_headline=item.get("in_headline", {}).get("BOOL") is not False,
        wave_id=_text(item, "wave_id") or "",
    )


def record_item(record: ChurnRecord | UnmatchedChurn) -> dict[str, Any]:
    """The accounts table item of a churn record (or of a churn without an answer)."""
    item: dict[str, Any] = {
        "pk": {"S": record.partition},
        "sk": {"S": record.sort_key},
        "kind": {"S": record.kind.value},
        f"{record.kind.value}_id": {"S": record.subject_id},
        "churned_at": {"S": iso_timestamp(record.churned_at)},
        "churn_id": {"S": record.churn_id},
    }
    if record.reason is not None:
        item["reason"] = {"S": record.reason}
    if isinstance(record, UnmatchedChurn):
        item["matched"] = {"BOOL": False}
        return item
    item |= {
        "survey_id": {"S": record.survey_id},
        "matched": {"BOOL": True},
        "last_category": {"S": record.last_category.value},
        "last_score": {"N": f"{record.last_score:g}"},
        "last_answered_at": {"S": iso_timestamp(record.last_answered_at)},
        "cohort_at": {"S": iso_timestamp(record.cohort_at)},
        "answers": {"N": str(record.answers)},
    }
    if record.account_id is not None:
        item["account_id"] = {"S": record.account_id}
    if record.quarter is not None:
        item["quarter"] = {"S": record.quarter}
    return item


class DynamoChurnStore:
    """:class:`nps.accounts.churn.ChurnStore` over the invites, responses, aggregates, surveys and
    accounts tables. ``max_items`` / ``max_bytes`` bound each transaction (DynamoDB's limits by default)."""

    def __init__(
        self,
        *,
        invites_table: str,
        responses_table: str,
        aggregates_table: str,
        surveys_table: str,
        accounts_table: str,
        max_items: int = MAX_TRANSACTION_ITEMS,
        max_bytes: int = MAX_TRANSACTION_BYTES,
    ) -> None:
        self.invites_table = invites_table
        self.responses_table = responses_table
        self.aggregates_table = aggregates_table
        self.surveys_table = surveys_table
        self.accounts_table = accounts_table
        self.max_items = max_items
        self.max_bytes = max_bytes
        #: Transactions written (tests check the chunking).
        self.transactions = 0

    # -- reads ------------------------------------------------------------------------------------------
    def churned(self, kind: Kind, subject_id: str, churn_id: str) -> bool:
        """Whether ``subject_id`` has a churn marker other than this churn's own unfinished claim."""
        pk, sk = marker_key(kind, subject_id)
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.accounts_table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return False
        return not (_text(item, "state") == "pending" and _text(item, "churn_id") == churn_id)

    def _invite_ids(self, contact_id: str) -> Iterator[str]:
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.invites_table,
            IndexName=INVITES_BY_CONTACT.name,
            KeyConditionExpression="contact_id = :contact",
            ExpressionAttributeValues={":contact": {"S": contact_id}},
        ):
            for item in page.get("Items", []):
                yield item["invite_id"]["S"]

    def contact_answers(self, contact_id: str) -> list[ContactAnswer]:
        """Every response to the contact's invites (those kept: invites expire 400 days after their link)."""
        invite_ids = sorted(set(self._invite_ids(contact_id)))
        names = {f"#a{i}": name for i, name in enumerate(_RESPONSE_ATTRIBUTES)}
        answers: list[ContactAnswer] = []
        for start in range(0, len(invite_ids), _BATCH_GET_KEYS):
            keys = [{"invite_id": {"S": i}} for i in invite_ids[start : start + _BATCH_GET_KEYS]]
            request = {
                self.responses_table: {
                    "Keys": keys,
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                }
            }
            found, _ = aws.batch_get_items(request)
            answers.extend(answer_from_item(item) for item in found.get(self.responses_table, []))
        return answers

    def survey_ids(self) -> list[str]:
        """Every survey's id (one paginated ``Scan`` of the surveys table's ``definition`` items)."""
        paginator = aws.client("dynamodb").get_paginator("scan")
        found: set[str] = set()
        for page in paginator.paginate(
            TableName=self.surveys_table,
            FilterExpression="sk = :definition",
            ProjectionExpression="survey_id",
            ExpressionAttributeValues={":definition": {"S": "definition"}},
        ):
            found.update(item["survey_id"]["S"] for item in page.get("Items", []))
        return sorted(found)

    def account_quarters(self, account_id: str, last_quarter: str) -> dict[str, tuple[str, dict[str, int]]]:
        """Survey id → (quarter, score counters) of the account's latest quarter at or before
        ``last_quarter`` with any answer; surveys where it has none are left out."""
        found: dict[str, tuple[str, dict[str, int]]] = {}
        paginator = aws.client("dynamodb").get_paginator("query")
        for survey_id in self.survey_ids():
            for page in paginator.paginate(
                TableName=self.aggregates_table,
                KeyConditionExpression="pk = :pk AND #period <= :last",
                ExpressionAttributeNames={"#period": "period"},
                ExpressionAttributeValues={
                    ":pk": {"S": account_slice_pk(survey_id, account_id)},
                    ":last": {"S": last_quarter},
                },
                ScanIndexForward=False,
            ):
                answered = next((item for item in page.get("Items", []) if any(_score_counters(item).values())), None)
                if answered is not None:
                    found[survey_id] = (answered["period"]["S"], _score_counters(answered))
                    break
        return found

    def account_known(self, account_id: str) -> bool:
        """Whether the account has a profile (written by a contacts import)."""
        item = aws.client("dynamodb").get_item(
            TableName=self.accounts_table,
            Key={"pk": {"S": f"account#{account_id}"}, "sk": {"S": "profile"}},
            ConsistentRead=True,
        )
        return "Item" in item

    # -- writes -----------------------------------------------------------------------------------------
    def write(self, plan: ChurnPlan, now: datetime) -> bool:
        """Write the plan's chunks; False (nothing written) when another churn holds the subject's marker."""
        pk, sk = marker_key(plan.kind, plan.subject_id)
        chunks = plan.chunks(self.max_items, self.max_bytes)
        marker_values = {
            ":churn_id": {"S": plan.churn_id},
            ":pending": {"S": "pending"},
        }
        for index, chunk in enumerate(chunks):
            actions: list[dict[str, Any]] = [
                {"Put": {"TableName": self.accounts_table, "Item": record_item(record)}} for record in chunk
            ]
            last = index == len(chunks) - 1
            state = "done" if last else "pending"
            if index == 0:
                marker: dict[str, Any] = {
                    "Put": {
                        "TableName": self.accounts_table,
                        "Item": {
                            "pk": {"S": pk},
                            "sk": {"S": sk},
                            "kind": {"S": plan.kind.value},
                            "state": {"S": state},
                            "matched": {"BOOL": plan.matched},
                            "churn_id": {"S": plan.churn_id},
                            "churned_at": {"S": iso_timestamp(plan.churned_at)},
                            "surveys": {"N": str(len(plan.records))},
                            "recorded_at": {"S": iso_timestamp(now)},
                        },
                        "ConditionExpression": (
                            "attribute_not_exists(pk) OR (churn_id = :churn_id AND #state = :pending)"
                        ),
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": marker_values,
                    }
                }
            else:
                marker = {
                    "Update": {
                        "TableName": self.accounts_table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                        "UpdateExpression": "SET #state = :state",
                        "ConditionExpression": "churn_id = :churn_id AND #state = :pending",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": marker_values | {":state": {"S": state}},
                    }
                }
            try:
                aws.client("dynamodb").transact_write_items(TransactItems=[marker, *actions])
            except Exception as error:
                if _marker_refused(error):
                    return False
                raise
            self.transactions += 1
        return True


def _score_counters(item: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if name.startswith("score_") and "N" in value}


def _marker_refused(error: Exception) -> bool:
    """Whether a transaction was cancelled by the marker's condition (its first item) alone."""
    reasons = (getattr(error, "response", None) or {}).get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


def record_from_item(item: Mapping[str, Any]) -> ChurnRecord | None:
    """A churn record as :func:`record_item` stored it; None for an item that is not one (or unreadable)."""
    try:
        kind = Kind(item["kind"]["S"])
        if item.get("matched", {}).get("BOOL") is not True:
            return None
        return ChurnRecord(
            survey_id=item["survey_id"]["S"],
            kind=kind,
            subject_id=item[f"{kind.value}_id"]["S"],
            last_category=Category(item["last_category"]["S"]),
            last_score=float(item["last_score"]["N"]),
            last_answered_at=parse_timestamp(item["last_answered_at"]["S"]),
            cohort_at=parse_timestamp(item["cohort_at"]["S"]),
            churned_at=parse_timestamp(item["churned_at"]["S"]),
            churn_id=item["churn_id"]["S"],
            reason=_text(item, "reason"),
            account_id=_text(item, "account_id"),
            quarter=_text(item, "quarter"),
            answers=int(item.get("answers", {}).get("N", "1")),
        )
    except (KeyError, ValueError):
        return None


class DynamoChurnReader:
    """Churn records for reports, from the accounts table (one paginated ``Query`` per partition)."""

    def __init__(self, accounts_table: str) -> None:
        self.accounts_table = accounts_table
        self.items_read = 0

    def _query(
        self, pk: str, condition: str | None = None, values: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.accounts_table,
            KeyConditionExpression="pk = :pk" if condition is None else f"pk = :pk AND {condition}",
            ExpressionAttributeValues={":pk": {"S": pk}} | (values or {}),
        ):
            self.items_read += len(page.get("Items", []))
            yield from page.get("Items", [])

    def records(self, survey_id: str) -> list[ChurnRecord]:
        """Every churn record of the survey. A range's figures need records dated (by their last answer)
        after it, whose cohort is in it (a period counts whole; a score changed in the edit window is given
        in the next period), and records dated long before it, whose churn is in it: none can be left out."""
        found = (record_from_item(item) for item in self._query(f"churn#{survey_id}"))
        return [record for record in found if record is not None]

    def unmatched(self, first: str, last: str) -> int:
        """Churns without an answer whose ``churned_at`` is between two ISO-8601 UTC instants (inclusive)."""
        return sum(
            1
            for _ in self._query(
                f"churn#{UNMATCHED_SURVEY}", "sk BETWEEN :lo AND :hi", {":lo": {"S": first}, ":hi": {"S": last + "~"}}
            )
        )
