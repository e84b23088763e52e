"""Reads for reports: aggregate counters by period, a survey's slices, comments and responses by time.

Aggregates are read with eventually consistent queries (half the read cost; a report a second stale is
fine). Responses are read through the ``by_survey`` index (survey × first answer time). A response
stored with ``counted = false`` (an automated fetch kept for audit) is never returned.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nps.kernel import aws
from nps.kernel.periods import Granularity
from nps.kernel.tables import AGGREGATES_BY_PERIOD, RESPONSES_BY_SURVEY
from nps.reporting.ranges import DateRange, periods

#: Responses explicitly marked as not counted are excluded from comments and exports.
_COUNTED = "(attribute_not_exists(#counted) OR #counted <> :false)"


def split_segment(segment: str) -> tuple[str, str] | None:
    """``plan=pro`` → ``("plan", "pro")``; ``*`` (every response) → ``None``."""
    if segment == "*" or "=" not in segment:
        return None
    dimension, value = segment.split("=", 1)
    return dimension, value


class BadCursor(ValueError):
    """A pagination cursor that was not issued by this API (or was altered)."""


def _number(value: dict[str, Any]) -> int:
    return int(value["N"])


def _plain(value: dict[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = value["N"]
        return int(number) if number.lstrip("-").isdigit() else float(number)
    if "BOOL" in value:
        return value["BOOL"]
    if "M" in value:
        return {k: _plain(v) for k, v in value["M"].items()}
    if "NULL" in value:
        return None
    return None


class DynamoAggregateReader:
    """Counters from the aggregates table; counts every item it reads in ``items_read``."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.items_read = 0
        self.queries = 0

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        client = aws.client("dynamodb")
        while True:
            page = client.query(TableName=self.table_name, **kwargs)
            self.queries += 1
            self.items_read += len(page["Items"])
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def read(self, pk: str, first_key: str, last_key: str) -> dict[str, dict[str, int]]:
        """Counters by period key, for the periods between two keys (inclusive) of one partition."""
        out: dict[str, dict[str, int]] = {}
        for item in self._query(
            KeyConditionExpression="#pk = :pk AND #period BETWEEN :lo AND :hi",
            ExpressionAttributeNames={"#pk": "pk", "#period": "period"},
            ExpressionAttributeValues={":pk": {"S": pk}, ":lo": {"S": first_key}, ":hi": {"S": last_key}},
        ):
            out[item["period"]["S"]] = {name: _number(v) for name, v in item.items() if "N" in v}
        return out

    def slices(self, survey_id: str, span: DateRange) -> set[tuple[str, str]]:
        """Every (segment, channel) pair with an aggregate in a quarter overlapping ``span``.

        One query of the ``by_survey_period`` index per calendar year the range touches, each between
        that year's first and last quarter key in the range: the items read are the range's quarters ×
        the survey's slices in them, however many years the survey has run.
        """
        quarters: dict[int, list[str]] = {}
        for quarter in periods(Granularity.QUARTER, span):
            quarters.setdefault(quarter.first.year, []).append(quarter.key)
        found: set[tuple[str, str]] = set()
        for keys in quarters.values():
            found.update(
                (item["segment"]["S"], item["channel"]["S"])
                for item in self._query(
                    IndexName=AGGREGATES_BY_PERIOD.name,
                    KeyConditionExpression="#survey = :survey AND #period BETWEEN :lo AND :hi",
                    ExpressionAttributeNames={"#survey": "survey_id", "#period": "period"},
                    ExpressionAttributeValues={
                        ":survey": {"S": survey_id},
                        ":lo": {"S": keys[0]},
                        ":hi": {"S": keys[-1]},
                    },
                )
                if "segment" in item and "channel" in item
            )
        return found

    def exists(self, pk: str) -> bool:
        """Whether the aggregate partition ``pk`` has any item (reads at most one)."""
        client = aws.client("dynamodb")
        page = client.query(
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": "pk"},
            ExpressionAttributeValues={":pk": {"S": pk}},
            Limit=1,
        )
        self.queries += 1
        self.items_read += len(page["Items"])
        return bool(page["Items"])


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A counted response as reports show it (ids and answers; never an address or token)."""

    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    channel: str
    locale: str
    score: int
    category: str
    first_answered_at: str
    answered_at: str
    comment: str | None
    comment_at: str | None
    segments: dict[str, str] = field(default_factory=dict)
    source: str = "link"

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredResponse:
        plain = {name: _plain(value) for name, value in item.items()}
        score = int(plain["score"])
        return cls(
            invite_id=str(plain["invite_id"]),
            survey_id=str(plain["survey_id"]),
            wave_id=str(plain.get("wave_id", "")),
            contact_id=str(plain.get("contact_id", "")),
            channel=str(plain.get("channel", "")),
            locale=str(plain.get("locale", "")),
            score=score,
            category=str(plain.get("category") or _category(score)),
            first_answered_at=str(plain["first_answered_at"]),
            answered_at=str(plain.get("answered_at") or plain["first_answered_at"]),
            comment=plain.get("comment"),
            comment_at=plain.get("comment_at"),
            segments={str(k): str(v) for k, v in (plain.get("segments") or {}).items()},
            source=str(plain.get("source") or "link"),
        )


def _category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@dataclass(frozen=True, slots=True)
class ResponsePage:
    responses: list[StoredResponse]
    #: Opaque; pass it back to get the next page (``None`` on the last page).
    next_cursor: str | None


def encode_cursor(item: dict[str, Any]) -> str:
    key = {name: item[name]["S"] for name in ("invite_id", "survey_id", "first_answered_at")}
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, survey_id: str) -> dict[str, Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadCursor("the cursor is not one this API issued") from error
    if not isinstance(raw, dict) or set(raw) != {"invite_id", "survey_id", "first_answered_at"}:
        raise BadCursor("the cursor is not one this API issued")
    if raw["survey_id"] != survey_id or not all(isinstance(v, str) for v in raw.values()):
        raise BadCursor("the cursor belongs to another query")
    return {name: {"S": value} for name, value in raw.items()}


class DynamoResponseReader:
    """Counted responses of a survey by time of first answer, through the ``by_survey`` index."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.items_read = 0

    def page(
        self,
        survey_id: str,
        span: DateRange,
        *,
        limit: int,
        cursor: str | None = None,
        newest_first: bool = False,
        with_comment: bool = False,
        category: str | None = None,
        segment: tuple[str, str] | None = None,
    ) -> ResponsePage:
        """Up to ``limit`` matching responses, and a cursor when more may follow."""
        kwargs = self._query_args(survey_id, span, newest_first, with_comment, category, segment)
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, survey_id)
        found: list[dict[str, Any]] = []
        client = aws.client("dynamodb")
        while True:
            # Ask for a little more than needed: filtered-out items still count against Limit.
            page = client.query(**kwargs, Limit=max(limit - len(found), 1) * 2)
            self.items_read += page.get("ScannedCount", len(page["Items"]))
            for item in page["Items"]:
                found.append(item)
                if len(found) == limit:
                    # Resume after this item next time (the index key plus the table key).
                    return ResponsePage([StoredResponse.from_item(i) for i in found], encode_cursor(item))
            if "LastEvaluatedKey" not in page:
                return ResponsePage([StoredResponse.from_item(i) for i in found], None)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count(
        self,
        survey_id: str,
        span: DateRange,
        *,
        with_comment: bool = False,
        category: str | None = None,
        segment: tuple[str, str] | None = None,
    ) -> int:
        """How many counted responses match (``Select=COUNT``: reads the range's index items, returns none)."""
        kwargs = self._query_args(survey_id, span, False, with_comment, category, segment)
        kwargs["Select"] = "COUNT"
        client = aws.client("dynamodb")
        total = 0
        while True:
            page = client.query(**kwargs)
            self.items_read += page.get("ScannedCount", 0)
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query_args(
        self,
        survey_id: str,
        span: DateRange,
        newest_first: bool,
        with_comment: bool,
        category: str | None,
        segment: tuple[str, str] | None,
    ) -> dict[str, Any]:
        """The ``Query`` arguments for counted responses of ``span`` matching the filters."""
        names: dict[str, str] = {"#survey": "survey_id", "#at": "first_answered_at", "#counted": "counted"}
        values: dict[str, Any] = {
            ":survey": {"S": survey_id},
            ":lo": {"S": span.start_timestamp()},
            ":hi": {"S": span.end_timestamp()},
            ":false": {"BOOL": False},
        }
        filters = [_COUNTED, "attribute_exists(#score)"]
        names["#score"] = "score"
        if with_comment:
            names["#comment"] = "comment"
            filters.append("attribute_exists(#comment) AND size(#comment) > :zero")
            values[":zero"] = {"N": "0"}
        if category:
            names["#category"] = "category"
            values[":category"] = {"S": category}
            filters.append("#category = :category")
        if segment:
            names["#segments"] = "segments"
            names["#dimension"] = segment[0]
            values[":value"] = {"S": segment[1]}
            filters.append("#segments.#dimension = :value")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": RESPONSES_BY_SURVEY.name,
            "KeyConditionExpression": "#survey = :survey AND #at BETWEEN :lo AND :hi",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
        }
        return kwargs

    def all(self, survey_id: str, span: DateRange, page_size: int = 1000) -> Iterator[StoredResponse]:
        """Every counted response first answered in ``span``, oldest first."""
        cursor: str | None = None
        while True:
            result = self.page(survey_id, span, limit=page_size, cursor=cursor)
            yield from result.responses
            if result.next_cursor is None:
                return
            cursor = result.next_cursor
