"""Reads for reports: aggregate counters by period, a survey's slices, comments and responses by time.

Aggregates are read with eventually consistent queries (half the read cost; a report a second stale is
fine). Responses are read through the ``by_survey_shard`` index (survey shard × first answer time). A response
stored with ``counted = false`` (an automated fetch kept for audit) is never returned.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from nps.kernel import aws
from nps.kernel.periods import Granularity
from nps.kernel.tables import (
    AGGREGATES_BY_PERIOD,
    RESPONSES_BY_SURVEY,
    RESPONSES_BY_SURVEY_SHARD,
    SHARDED_RESPONSES_MARKER,
    survey_shards,
)
from nps.reasons.scales import DRIVER_DIMENSION, THEME_DIMENSION
from nps.reasons.sentiment import comment_digest
from nps.reporting.ranges import DateRange, periods

#: Responses explicitly marked as not counted are excluded from comments and exports.
_COUNTED = "(attribute_not_exists(#counted) OR #counted <> :false)"


def split_segment(segment: str) -> tuple[str, str] | None:
    """``plan=pro`` → ``("plan", "pro")``; ``*`` (every response) → ``None``."""
    if segment == "*" or "=" not in segment:
        return None
    dimension, value = segment.split("=", 1)
    return dimension, value


#: A response's follow-up answers and its comment's sentiment label (with the digest of the comment it
#: belongs to), which the survey index does not project (an index's projection cannot
#: change in place: adding them would mean a new index and a two-deploy upgrade). Readers fetch them from
#: the table by key, 100 responses per ``BatchGetItem``.
ANSWER_ATTRIBUTES = ("driver", "csat", "ces", "themes", "sentiment", "sentiment_digest")
#: Segments matched on those answers rather than on the index's ``segments``.
REASON_DIMENSIONS = frozenset({DRIVER_DIMENSION, THEME_DIMENSION})
#: Responses a page filtered by driver or theme examines at most before it answers with what it found.
REASON_SCAN_LIMIT = 500
_BATCH_GET_KEYS = 100  # BatchGetItem's limit per call


def _current_sentiment(plain: dict[str, Any]) -> str | None:
    """The stored sentiment label if it was computed for the response's current comment, else ``None``."""
    label, digest, comment = plain.get("sentiment"), plain.get("sentiment_digest"), plain.get("comment")
    if not isinstance(label, str) or not isinstance(comment, str) or digest != comment_digest(comment):
        return None
    return label


def _mentions(item: dict[str, Any], reason: tuple[str, str]) -> bool:
    """Whether a response (with its answers added) chose driver ``reason[1]`` or was tagged with theme ``reason[1]``."""
    dimension, value = reason
    if dimension == DRIVER_DIMENSION:
        return bool(item.get("driver", {}).get("S") == value)
    return {"S": value} in item.get("themes", {}).get("L", [])


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
    if "L" in value:
        return [_plain(v) for v in value["L"]]
    if "SS" in value:
        return list(value["SS"])
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

    def items(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]:
        """Counters of the items at ``(pk, period)`` keys, by key (absent items are left out): one
        ``BatchGetItem`` per 100 keys, unprocessed keys retried. Raises ``RuntimeError`` if DynamoDB keeps
        keys unprocessed after retries (sustained throttling)."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _BATCH_GET_KEYS):
            request = {
                self.table_name: {
                    "Keys": [
                        {"pk": {"S": pk}, "period": {"S": period}}
                        for pk, period in unique[start : start + _BATCH_GET_KEYS]
                    ]
                }
            }
            found, rounds = aws.batch_get_items(request)
            self.queries += rounds
            for item in found.get(self.table_name, []):
                self.items_read += 1
                out[(item["pk"]["S"], item["period"]["S"])] = {name: _number(v) for name, v in item.items() if "N" in v}
        return out

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
    #: The follow-up answers (absent when the survey asks none): the chosen driver's id, CSAT 1–5,
    #: CES 1–7, and the theme ids tagged in the comment (sorted).
    driver: str | None = None
    csat: int | None = None
    ces: int | None = None
    themes: tuple[str, ...] = ()
    #: The comment's sentiment label (``positive``...) when the stack analyses comments
    #: (``-c commentSentiment=true``) and this very comment has been analysed (its stored
    #: ``sentiment_digest`` is the comment's): a label of an older comment is not shown.
    sentiment: str | None = None

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
            driver=None if plain.get("driver") is None else str(plain["driver"]),
            csat=None if plain.get("csat") is None else int(plain["csat"]),
            ces=None if plain.get("ces") is None else int(plain["ces"]),
            themes=tuple(sorted({str(theme) for theme in plain.get("themes") or ()})),
            sentiment=_current_sentiment(plain),
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
    """Counted responses of a survey by time of first answer, through the ``by_survey_shard`` index.

    A survey's answers are spread over :data:`~nps.kernel.tables.RESPONSE_SURVEY_SHARDS` index partitions
    (``<survey_id>#<nn>``); every read queries each of them and merges the results by
    ``(first_answered_at, invite_id)``, so pages come in the same order as from one partition. Until
    ``nps responses backfill-shards`` has given every older response a shard (it then writes
    :data:`~nps.kernel.tables.SHARDED_RESPONSES_MARKER` to the aggregates table), the reader also reads
    the previous ``by_survey`` index for the responses without one. A stack deployed fresh (or past the
    upgrade) has no such index: DynamoDB refuses the first query of it (``ValidationException``), which
    the reader takes as "no previous index": that source reads nothing, and the reader never queries it
    again (one refused query per reader at most, never an error). ``items_read`` counts every index item
    DynamoDB read (``ScannedCount``), including those filtered out.
    """

    def __init__(self, table_name: str, aggregates_table: str | None = None) -> None:
        """``aggregates_table``: where the backfill's marker is looked up; without it the previous index is
        always read too (correct, and slower until that index is gone)."""
        self.table_name = table_name
        self.aggregates_table = aggregates_table
        self.items_read = 0
        self.queries = 0
        #: ``BatchGetItem`` calls made for the answers the index does not hold.
        self.answer_reads = 0
        self._legacy: bool | None = None

    def reads_previous_index(self) -> bool:
        """Whether responses without a ``survey_shard`` may exist and the previous index may hold them
        (checked once per reader: one query; ``False`` from the moment a query found the index missing)."""
        if self._legacy is None:
            if self.aggregates_table is None:
                self._legacy = True
            else:
                page = aws.client("dynamodb").query(
                    TableName=self.aggregates_table,
                    KeyConditionExpression="#pk = :pk AND #period = :period",
                    ExpressionAttributeNames={"#pk": "pk", "#period": "period"},
                    ExpressionAttributeValues={
                        ":pk": {"S": SHARDED_RESPONSES_MARKER["pk"]},
                        ":period": {"S": SHARDED_RESPONSES_MARKER["period"]},
                    },
                    Limit=1,
                )
                self.queries += 1
                self._legacy = not page["Items"]
        return self._legacy

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
        """Up to ``limit`` matching responses with their follow-up answers, and a cursor when more follow.

        Reads: one query per shard (each asks for about ``2 × limit / shards`` items, at least 2, then
        twice as many each time only from the shards the page is drawn from), so a page reads about
        ``limit`` plus a few items per shard; then one ``BatchGetItem`` per 100 responses for the answers
        the index does not hold (:data:`ANSWER_ATTRIBUTES`).

        A ``driver=<id>`` or ``theme=<id>`` segment is matched on those answers, so on the table's items:
        the page examines at most :data:`REASON_SCAN_LIMIT` responses (or ``limit``, if larger) and may
        then hold fewer than ``limit`` with a cursor to go on from the last one examined.
        """
        after = decode_cursor(cursor, survey_id) if cursor else None
        position = (after["first_answered_at"]["S"], after["invite_id"]["S"]) if after else None
        reason = segment if segment is not None and segment[0] in REASON_DIMENSIONS else None
        index_segment = None if reason is not None else segment
        sources = self._sources(survey_id, span, newest_first, with_comment, category, index_segment, position)
        first_chunk = max(2, -(-2 * limit // len(sources)))
        merged = self._merged(sources, newest_first, first_chunk, max(limit, first_chunk))
        if reason is None:
            found = list(islice(merged, limit))
            more = len(found) == limit and next(merged, None) is not None
            self._add_answers(found)
            return ResponsePage(
                [StoredResponse.from_item(i) for i in found], encode_cursor(found[-1]) if more else None
            )
        matched: list[dict[str, Any]] = []
        examined = 0
        last: dict[str, Any] | None = None
        unread = False  # examined responses after the last match of a full page
        budget = max(REASON_SCAN_LIMIT, limit)
        while len(matched) < limit and examined < budget:
            chunk = list(islice(merged, min(_BATCH_GET_KEYS, budget - examined)))
            if not chunk:
                break
            examined += len(chunk)
            self._add_answers(chunk)
            for index, item in enumerate(chunk):
                last = item
                if _mentions(item, reason):
                    matched.append(item)
                    if len(matched) == limit:
                        unread = index < len(chunk) - 1
                        break
        # Go on after the last response examined (the last match, when the page filled up).
        more = last is not None and (unread or next(merged, None) is not None)
        responses = [StoredResponse.from_item(i) for i in matched]
        return ResponsePage(responses, encode_cursor(last) if more and last is not None else None)

    def count(
        self,
        survey_id: str,
        span: DateRange,
        *,
        with_comment: bool = False,
        category: str | None = None,
        segment: tuple[str, str] | None = None,
    ) -> int:
        """How many counted responses match (``Select=COUNT`` per shard: reads the range's index items; a
        ``driver=`` or ``theme=`` segment reads every candidate and its answers, see :meth:`page`)."""
        if segment is not None and segment[0] in REASON_DIMENSIONS:
            # Matched on the table's items: every candidate of the range is read, 100 per BatchGetItem.
            sources = self._sources(survey_id, span, False, with_comment, category, None, None)
            candidates = self._merged(sources, False, _BATCH_GET_KEYS, 1000)
            matches = 0
            while chunk := list(islice(candidates, _BATCH_GET_KEYS)):
                self._add_answers(chunk)
                matches += sum(_mentions(item, segment) for item in chunk)
            return matches
        client = aws.client("dynamodb")
        total = 0
        for kwargs in self._sources(survey_id, span, False, with_comment, category, segment, None):
            if kwargs.pop("_empty", False):
                continue
            kwargs["Select"] = "COUNT"
            while True:
                page = self._query(client, kwargs)
                self.items_read += page.get("ScannedCount", 0)
                total += int(page.get("Count", 0))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return total

    def all(self, survey_id: str, span: DateRange, page_size: int = 1000) -> Iterator[StoredResponse]:
        """Every counted response first answered in ``span``, oldest first (``page_size`` items per query),
        with its follow-up answers (one ``BatchGetItem`` per 100 responses)."""
        sources = self._sources(survey_id, span, False, False, None, None, None)
        items = self._merged(sources, False, max(2, page_size // len(sources)), page_size)
        while chunk := list(islice(items, _BATCH_GET_KEYS)):
            self._add_answers(chunk)
            for item in chunk:
                yield StoredResponse.from_item(item)

    def _add_answers(self, items: list[dict[str, Any]]) -> None:
        """Add each index item's :data:`ANSWER_ATTRIBUTES` from the table, in place (``BatchGetItem``, 100
        keys a call, unprocessed keys retried with backoff). A response deleted since the query keeps none.

        Raises ``RuntimeError`` if DynamoDB leaves keys unprocessed after every retry (sustained throttling).
        """
        by_id = {item["invite_id"]["S"]: item for item in items}
        ids = list(by_id)
        names = {f"#{name}": name for name in ("invite_id", *ANSWER_ATTRIBUTES)}
        for start in range(0, len(ids), _BATCH_GET_KEYS):
            request = {
                self.table_name: {
                    "Keys": [{"invite_id": {"S": i}} for i in ids[start : start + _BATCH_GET_KEYS]],
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                }
            }
            found, rounds = aws.batch_get_items(request)
            self.answer_reads += rounds
            for answers in found.get(self.table_name, []):
                target = by_id.get(answers["invite_id"]["S"])
                if target is not None:
                    target.update({k: v for k, v in answers.items() if k in ANSWER_ATTRIBUTES})

    def _merged(
        self, sources: list[dict[str, Any]], newest_first: bool, first_chunk: int, chunk: int
    ) -> Iterator[dict[str, Any]]:
        """The sources' items merged in ``(first_answered_at, invite_id)`` order (reversed newest first)."""
        return heapq.merge(
            *(self._items(kwargs, first_chunk, chunk) for kwargs in sources),
            key=_order,
            reverse=newest_first,
        )

    def _items(self, kwargs: dict[str, Any], first_chunk: int, chunk: int) -> Iterator[dict[str, Any]]:
        """One source's items in index order, queried lazily: ``first_chunk`` items, then twice as many each
        time up to ``chunk`` (a page drawn from few shards reads little from the others)."""
        if kwargs.pop("_empty", False):
            return
        after = kwargs.pop("_after", None)
        newest_first = not kwargs["ScanIndexForward"]
        client = aws.client("dynamodb")
        limit = first_chunk
        # An index keeps items of the same sort key value in no particular order: answers of the same
        # millisecond are held back and released sorted by invite id, so the merge and the cursor agree.
        instant: list[dict[str, Any]] = []
        while True:
            page = self._query(client, {**kwargs, "Limit": limit})
            self.items_read += page.get("ScannedCount", len(page["Items"]))
            for item in page["Items"]:
                if after is not None and (_order(item) >= after if newest_first else _order(item) <= after):
                    continue  # at or before the cursor (same instant as the last item of the previous page)
                if instant and instant[0]["first_answered_at"]["S"] != item["first_answered_at"]["S"]:
                    yield from sorted(instant, key=_order, reverse=newest_first)
                    instant = []
                instant.append(item)
            if "LastEvaluatedKey" not in page:
                yield from sorted(instant, key=_order, reverse=newest_first)
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            limit = min(2 * limit, chunk)

    def _query(self, client: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """One ``Query`` page. A query of the previous index on a table without it reads nothing, and the
        reader stops reading that index; any other failure is raised."""
        self.queries += 1
        try:
            page: dict[str, Any] = client.query(**kwargs)
        except Exception as error:
            if kwargs.get("IndexName") != RESPONSES_BY_SURVEY.name or not aws.missing_index(
                error, RESPONSES_BY_SURVEY.name
            ):
                raise
            self._legacy = False
            return {"Items": [], "Count": 0, "ScannedCount": 0}
        return page

    def _sources(
        self,
        survey_id: str,
        span: DateRange,
        newest_first: bool,
        with_comment: bool,
        category: str | None,
        segment: tuple[str, str] | None,
        after: tuple[str, str] | None,
    ) -> list[dict[str, Any]]:
        """The ``Query`` arguments of every shard (and of the previous index while it may be needed)."""
        lo, hi = span.start_timestamp(), span.end_timestamp()
        if after is not None:
            # Resume at the cursor's instant (inclusive: ties are skipped by invite id when read).
            lo, hi = (lo, min(hi, after[0])) if newest_first else (max(lo, after[0]), hi)
        names: dict[str, str] = {"#at": "first_answered_at", "#counted": "counted", "#score": "score"}
        values: dict[str, Any] = {":lo": {"S": lo}, ":hi": {"S": hi}, ":false": {"BOOL": False}}
        filters = [_COUNTED, "attribute_exists(#score)"]
        if with_comment:
            names["#comment"] = "comment"
            filters.append("attribute_exists(#comment) AND size(#comment) > :zero")
            values[":zero"] = {"N": "0"}
        if category:
            names["#category"] = "category"
            values[":category"] = {"S": category}
            filters.append("#category = :category")
        if segment:  # a segment dimension (driver and theme are matched on the table's items, see page())
            names["#segments"] = "segments"
            names["#dimension"] = segment[0]
            values[":value"] = {"S": segment[1]}
            filters.append("#segments.#dimension = :value")
        common: dict[str, Any] = {"TableName": self.table_name, "ScanIndexForward": not newest_first}
        if lo > hi:
            common["_empty"] = True
        if after is not None:
            common["_after"] = after
        sources = [
            {
                **common,
                "IndexName": RESPONSES_BY_SURVEY_SHARD.name,
                "KeyConditionExpression": "#shard = :shard AND #at BETWEEN :lo AND :hi",
                "FilterExpression": " AND ".join(filters),
                "ExpressionAttributeNames": {**names, "#shard": "survey_shard"},
                "ExpressionAttributeValues": {**values, ":shard": {"S": shard}},
            }
            for shard in survey_shards(survey_id)
        ]
        if self.reads_previous_index():
            sources.append(
                {
                    **common,
                    "IndexName": RESPONSES_BY_SURVEY.name,
                    "KeyConditionExpression": "#survey = :survey AND #at BETWEEN :lo AND :hi",
                    "FilterExpression": " AND ".join([*filters, "attribute_not_exists(#shard)"]),
                    "ExpressionAttributeNames": {**names, "#survey": "survey_id", "#shard": "survey_shard"},
                    "ExpressionAttributeValues": {**values, ":survey": {"S": survey_id}},
                }
            )
        return sources


def _order(item: dict[str, Any]) -> tuple[str, str]:
    """Where a response sorts in a survey's answers: first answer time, then invite id (unique)."""
    return item["first_answered_at"]["S"], item["invite_id"]["S"]
