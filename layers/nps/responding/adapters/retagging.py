"""Responses table, the re-tag batch's side: a survey's commented responses by index, and their themes.

Reads (:class:`DynamoRetagStore.pages`): each of the survey's ``by_survey_shard`` index partitions in
turn (:func:`nps.kernel.tables.survey_shards`), then the previous ``by_survey`` index for the responses
written before shards existed (skipped where the table no longer has it), one ``Query`` page at a time,
filtered to counted responses with a comment. The index does not hold ``themes``, so each page's
responses are then read from the table with one ``BatchGetItem`` (eventually consistent, only the
attributes tagging needs). Cost per response: its index item (about 1 KB: 0.5 read unit per 4 KB of a
page) plus its table item (0.5 read unit per 4 KB, rounded up per item; the comment history makes an
item with many comments larger).

Writes (:meth:`DynamoRetagStore.write_themes`): one ``UpdateItem`` per response whose themes change,
setting ``themes`` and bumping ``version`` (so the stream's exactly-once ledger orders it after the
write before it), on the condition that the item exists and still has the comment (text and time) that
was tagged: an answer edited in the meantime keeps its own themes. One write unit per KB of the item.

A token (:func:`encode_token`) says where to resume: the survey, the index partition, and the last key
read there. It holds ids and a timestamp only, no comment or personal data.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from nps.kernel import aws
from nps.kernel.tables import RESPONSES_BY_SURVEY, RESPONSES_BY_SURVEY_SHARD, survey_shards
from nps.responding.retagging import Commented, Page

_FILTER = (
    "(attribute_not_exists(#counted) OR #counted <> :false) AND attribute_exists(#comment) AND size(#comment) > :zero"
)
#: The names of a ``LastEvaluatedKey`` of each index: the table key, the index's partition and sort keys.
_SHARD_KEY = frozenset({"invite_id", "survey_shard", "first_answered_at"})
_SURVEY_KEY = frozenset({"invite_id", "survey_id", "first_answered_at"})


class BadToken(ValueError):
    """A ``--resume`` token this command did not print, or printed for another survey."""


def encode_token(survey_id: str, source: int, key: dict[str, Any] | None) -> str:
    """The token that resumes at index source ``source`` after ``key`` (a ``LastEvaluatedKey``)."""
    plain = {name: value["S"] for name, value in (key or {}).items()}
    raw = json.dumps({"survey": survey_id, "source": source, "key": plain}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, survey_id: str, sources: int) -> tuple[int, dict[str, Any] | None]:
    """``(source, ExclusiveStartKey or None)`` of a token from :func:`encode_token`; raises :class:`BadToken`."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadToken("the resume token is not one `nps survey retag` printed") from None
    if not isinstance(raw, dict) or set(raw) != {"survey", "source", "key"}:
        raise BadToken("the resume token is not one `nps survey retag` printed")
    if raw["survey"] != survey_id:
        raise BadToken("the resume token was printed for another survey")
    source, key = raw["source"], raw["key"]
    if not isinstance(source, int) or not 0 <= source < sources or not isinstance(key, dict):
        raise BadToken("the resume token is not one `nps survey retag` printed")
    if key and not _key_of(survey_id, source, sources, key):
        # A key this survey's index partition could not have returned: the query would fail on the
        # target (or read another partition), so it is refused here as the bad option it is.
        raise BadToken("the resume token is not one `nps survey retag` printed")
    return source, ({name: {"S": value} for name, value in key.items()} or None)


def _key_of(survey_id: str, source: int, sources: int, key: dict[str, Any]) -> bool:
    """Whether ``key`` is a ``LastEvaluatedKey`` that index source ``source`` of ``survey_id`` returns: the
    table key, the index partition (this survey's shard, or the survey on the previous index) and the sort
    key, each a non-empty string."""
    if not all(isinstance(value, str) and value for value in key.values()):
        return False
    if source < sources - 1:
        shards = survey_shards(survey_id)
        return set(key) == _SHARD_KEY and source < len(shards) and key["survey_shard"] == shards[source]
    return set(key) == _SURVEY_KEY and key["survey_id"] == survey_id


def _themes(item: dict[str, Any]) -> tuple[str, ...]:
    typed = item.get("themes") or {}
    if "L" in typed:
        return tuple(sorted({value["S"] for value in typed["L"] if "S" in value}))
    return tuple(sorted(set(typed.get("SS", ()))))


class DynamoRetagStore:
    """:class:`nps.responding.retagging.RetagStore` over the responses table and its survey indexes."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        #: Round trips (queries, batch reads, writes) made, for the cost measurement and tests.
        self.queries = 0
        self.batch_reads = 0
        self.writes = 0

    def _sources(self, survey_id: str) -> list[dict[str, Any]]:
        names = {"#counted": "counted", "#comment": "comment"}
        values = {":false": {"BOOL": False}, ":zero": {"N": "0"}}
        sources = [
            {
                "IndexName": RESPONSES_BY_SURVEY_SHARD.name,
                "KeyConditionExpression": "#shard = :shard",
                "FilterExpression": _FILTER,
                "ExpressionAttributeNames": {**names, "#shard": "survey_shard"},
                "ExpressionAttributeValues": {**values, ":shard": {"S": shard}},
            }
            for shard in survey_shards(survey_id)
        ]
        sources.append(
            {
                "IndexName": RESPONSES_BY_SURVEY.name,
                "KeyConditionExpression": "#survey = :survey",
                "FilterExpression": f"{_FILTER} AND attribute_not_exists(#shard)",
                "ExpressionAttributeNames": {**names, "#survey": "survey_id", "#shard": "survey_shard"},
                "ExpressionAttributeValues": {**values, ":survey": {"S": survey_id}},
            }
        )
        for source in sources:
            source["ProjectionExpression"] = "invite_id"
        return sources

    def pages(self, survey_id: str, token: str | None, page_size: int) -> Iterator[Page]:
        """The survey's commented responses, one index query page at a time (see the module docstring).

        Raises :class:`BadToken` for a token of another survey or not from :func:`encode_token`."""
        client = aws.client("dynamodb")
        sources = self._sources(survey_id)
        position, start = decode_token(token, survey_id, len(sources)) if token else (0, None)
        for index in range(position, len(sources)):
            request: dict[str, Any] = {"TableName": self.table_name, "Limit": page_size, **sources[index]}
            if start is not None:
                request["ExclusiveStartKey"] = start
            start = None
            while True:
                self.queries += 1
                try:
                    result = client.query(**request)
                except Exception as error:
                    if index == len(sources) - 1 and aws.missing_index(error, RESPONSES_BY_SURVEY.name):
                        break  # a stack past the index upgrade: every response has its shard
                    raise
                key = result.get("LastEvaluatedKey")
                if key is not None:
                    next_token: str | None = encode_token(survey_id, index, key)
                elif index + 1 < len(sources):
                    next_token = encode_token(survey_id, index + 1, None)
                else:
                    next_token = None
                responses, missing = self._read([item["invite_id"]["S"] for item in result["Items"]])
                yield Page(responses, missing, next_token)
                if key is None:
                    break
                request["ExclusiveStartKey"] = key

    def _read(self, invite_ids: list[str]) -> tuple[tuple[Commented, ...], int]:
        """The table's items of ``invite_ids`` (at most 100) as :class:`Commented`, and how many are gone."""
        if not invite_ids:
            return (), 0
        names = ["invite_id", "locale", "comment", "comment_at", "themes"]
        request = {
            self.table_name: {
                "Keys": [{"invite_id": {"S": invite_id}} for invite_id in invite_ids],
                "ProjectionExpression": ", ".join(f"#{name}" for name in names),
                "ExpressionAttributeNames": {f"#{name}": name for name in names},
            }
        }
        found, round_trips = aws.batch_get_items(request)
        self.batch_reads += round_trips
        by_id = {item["invite_id"]["S"]: item for item in found.get(self.table_name, [])}
        responses: list[Commented] = []
        missing = 0
        for invite_id in invite_ids:  # in index order, so a run is repeatable
            item = by_id.get(invite_id)
            comment = (item or {}).get("comment", {}).get("S")
            if item is None or not comment:
                missing += 1
                continue
            responses.append(
                Commented(
                    invite_id=invite_id,
                    locale=item.get("locale", {}).get("S", ""),
                    comment=comment,
                    comment_at=item.get("comment_at", {}).get("S"),
                    themes=_themes(item),
                )
            )
        return tuple(responses), missing

    def write_themes(self, response: Commented, themes: tuple[str, ...]) -> bool:
        """Set ``themes`` (sorted, unique; an empty list for none, as the respond path stores it) and bump
        ``version``, if the item still has the comment that was tagged; False when it does not."""
        names = {"#id": "invite_id", "#themes": "themes", "#version": "version", "#comment": "comment"}
        values: dict[str, Any] = {
            ":themes": {"L": [{"S": theme} for theme in sorted(set(themes))]},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":comment": {"S": response.comment},
        }
        names["#comment_at"] = "comment_at"
        if response.comment_at is None:
            same_time = "attribute_not_exists(#comment_at)"
        else:
            same_time = "#comment_at = :comment_at"
            values[":comment_at"] = {"S": response.comment_at}
        self.writes += 1
        return aws.conditional_write(
            "update_item",
            TableName=self.table_name,
            Key={"invite_id": {"S": response.invite_id}},
            UpdateExpression="SET #themes = :themes, #version = if_not_exists(#version, :zero) + :one",
            ConditionExpression=f"attribute_exists(#id) AND #comment = :comment AND {same_time}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
