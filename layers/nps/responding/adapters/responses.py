"""Responses table: one item per invite. A second tap updates the item and bumps its version.

An item holds the counted (human) answer — ``score``, ``category``, ``counted`` — and, separately,
what automated fetches tried (``automated_score``, ``automated_clicks``), which never counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from nps.kernel import aws
from nps.kernel.aws import conditional_check_failed
from nps.kernel.tables import SHARDED_RESPONSES_MARKER, survey_shard

if TYPE_CHECKING:
    from nps.kernel.categories import Category
    from nps.reasons.answers import FollowUpAnswers
    from nps.responding.adapters.invites import Invite

#: Comments one answer takes; beyond, the person is told politely that we have their comments (HTTP 429).
#: Every one is kept in the response's ``comments`` list, and the latest is also its ``comment`` (what the
#: stream, events, reports and export read). The cap keeps the item far below DynamoDB's 400 KB: 20
#: comments of 2,000 four-byte characters are 160 KB, plus 8 KB for ``comment``.
MAX_COMMENTS_PER_RESPONSE = 20

#: ``survey_shard`` spreads a survey's answers over the partitions of the ``by_survey_shard`` index.
_ID_ATTRIBUTES = ("survey_id", "survey_shard", "wave_id", "contact_id", "channel", "locale", "segments")
#: Copied from an invite to a contact of an account (its role only when known): what the stream counts per
#: account (:mod:`nps.accounts.membership`).
_ACCOUNT_ATTRIBUTES = ("account_id", "role")
_HUMAN_ATTRIBUTES = (
    "score",
    "category",
    "counted",
    "confidence",
    "answered_at",
    "version",
    "first_answered_at",
    "source",
    *_ID_ATTRIBUTES,
)


class RecordOutcome(StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    LOCKED = "locked"  # the edit window has closed: the answer on record stands


@dataclass(frozen=True, slots=True)
class RecordedScore:
    outcome: RecordOutcome
    score: int
    version: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    score: int | None
    counted: bool
    automated_score: int | None
    first_answered_at: str | None
    version: int
    comment: str | None = None
    #: False when the answer counts in its channel only (``in_headline: false`` on the item).
    in_headline: bool = True


class NotAnswered(LookupError):
    """A comment arrived for an invite that has no counted score yet."""


class CommentLimitReached(Exception):
    """The response already took :data:`~nps.responding.adapters.responses.MAX_COMMENTS_PER_RESPONSE` comments."""


def _id_values(invite: Invite) -> dict[str, Any]:
    return {
        ":survey_id": {"S": invite.survey_id},
        ":survey_shard": {"S": survey_shard(invite.survey_id, invite.invite_id)},
        ":wave_id": {"S": invite.wave_id},
        ":contact_id": {"S": invite.contact_id},
        ":channel": {"S": invite.channel},
        ":locale": {"S": invite.locale},
        ":segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
        **_account_values(invite),
    }


def _account_values(invite: Invite) -> dict[str, Any]:
    account = invite.account
    if account is None:
        return {}
    values = {":account_id": {"S": account.account_id}}
    if account.role is not None:
        values[":role"] = {"S": account.role}
    return values


def _id_names(invite: Invite) -> tuple[str, ...]:
    """The id attributes a write copies from ``invite``: :data:`_ID_ATTRIBUTES`, and its account's."""
    if invite.account is None:
        return _ID_ATTRIBUTES
    return (*_ID_ATTRIBUTES, *(name for name in _ACCOUNT_ATTRIBUTES if f":{name}" in _account_values(invite)))


def _stored(item: dict[str, Any]) -> StoredResponse:
    score = item.get("score", {}).get("N")
    automated = item.get("automated_score", {}).get("N")
    return StoredResponse(
        score=int(score) if score is not None else None,
        counted=item.get("counted", {}).get("BOOL", score is not None),
        automated_score=int(automated) if automated is not None else None,
        first_answered_at=item.get("first_answered_at", {}).get("S"),
        version=int(item.get("version", {}).get("N", "0")),
        comment=item.get("comment", {}).get("S"),
        in_headline=item.get("in_headline", {}).get("BOOL") is not False,
    )


class DynamoResponseRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def record_score(
        self,
        invite: Invite,
        score: int,
        category: Category,
        now_iso: str,
        source: str = "link",
        confidence: str = "high",
        edit_window_start_iso: str = "",
        in_headline: bool | None = None,
    ) -> RecordedScore:
        """Record a person's answer: the latest one wins while the edit window is open.

        A repeated tap of the same score writes nothing; an answer after the edit window (which
        starts with the first counted answer) leaves the one on record. ``in_headline`` False stores
        ``in_headline: false``: the answer counts in its channel only, not in the survey-wide figures
        (an anonymous share-link answer, or one whose contact answered the survey elsewhere first:
        :mod:`nps.channels.share_links`). None (the email, SMS and web paths) takes the invite's
        :attr:`~nps.responding.adapters.invites.Invite.in_headline`. Once false it stays false: an edit
        never moves an answer back into the headline.
        """
        if in_headline is None:
            in_headline = invite.in_headline
        values: dict[str, Any] = {
            ":score": {"N": str(score)},
            ":category": {"S": category.value},
            ":now": {"S": now_iso},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":true": {"BOOL": True},
            ":false": {"BOOL": False},
            ":source": {"S": source},
            ":confidence": {"S": confidence},
            ":window_start": {"S": edit_window_start_iso},
            **_id_values(invite),
        }
        id_names = _id_names(invite)
        names = {f"#{name}": name for name in (*_HUMAN_ATTRIBUTES, *id_names)}
        apart = ""
        if not in_headline:
            apart, names["#in_headline"] = ", #in_headline = :false", "in_headline"
        try:
            result = aws.client("dynamodb").update_item(
                TableName=self.table_name,
                Key={"invite_id": {"S": invite.invite_id}},
                UpdateExpression=(
                    "SET #score = :score, #category = :category, #counted = :true, "
                    "#confidence = :confidence, #answered_at = :now, #source = :source, "
                    "#version = if_not_exists(#version, :zero) + :one, "
                    "#first_answered_at = if_not_exists(#first_answered_at, :now), "
                    + ", ".join(f"#{name} = :{name}" for name in id_names)
                    + apart
                ),
                ConditionExpression=(
                    "(attribute_not_exists(#score) OR #score <> :score OR #counted = :false) AND "
                    "(attribute_not_exists(#first_answered_at) OR #first_answered_at >= :window_start)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as error:
            if not conditional_check_failed(error):
                raise
            # Decide from the item as it was when the condition failed (not a later read, which a
            # concurrent tap could already have changed).
            failed_on = (getattr(error, "response", None) or {}).get("Item")
            stored = _stored(failed_on) if failed_on else self.get(invite.invite_id)
            version = stored.version if stored else 0
            if stored is not None and stored.score == score and stored.counted:
                return RecordedScore(RecordOutcome.UNCHANGED, score, version)
            on_record = stored.score if stored is not None and stored.score is not None else score
            return RecordedScore(RecordOutcome.LOCKED, on_record, version)
        version = int(result["Attributes"]["version"]["N"])
        outcome = RecordOutcome.RECORDED if version == 1 else RecordOutcome.CHANGED
        return RecordedScore(outcome, score, version)

    def record_automated(self, invite: Invite, score: int, now_iso: str, reasons: tuple[str, ...]) -> None:
        """Keep what an automated fetch tried to answer, without counting it or touching the answer."""
        id_names = _id_names(invite)
        aws.client("dynamodb").update_item(
            TableName=self.table_name,
            Key={"invite_id": {"S": invite.invite_id}},
            UpdateExpression=(
                "SET #automated_score = :score, #automated_at = :now, #automated_reasons = :reasons, "
                "#counted = if_not_exists(#counted, :false), "
                + ", ".join(f"#{name} = if_not_exists(#{name}, :{name})" for name in id_names)
                + " ADD #automated_clicks :one"
            ),
            ExpressionAttributeNames={
                f"#{name}": name
                for name in (
                    "automated_score",
                    "automated_at",
                    "automated_reasons",
                    "automated_clicks",
                    "counted",
                    *id_names,
                )
            },
            ExpressionAttributeValues={
                ":score": {"N": str(score)},
                ":now": {"S": now_iso},
                ":reasons": {"SS": list(reasons) or ["unspecified"]},
                ":false": {"BOOL": False},
                ":one": {"N": "1"},
                **_id_values(invite),
            },
        )

    def retract_recent(self, invite_id: str, since_iso: str, now_iso: str, reasons: tuple[str, ...]) -> bool:
        """Stop counting an answer first recorded at or after ``since_iso`` (it came with a scanner).

        The stream then subtracts it from the aggregates. Returns whether an answer was retracted.
        """
        return aws.conditional_write(
            "update_item",
            TableName=self.table_name,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression=(
                "SET #counted = :false, #automated_score = #score, #retracted_at = :now, "
                "#automated_reasons = :reasons, #version = #version + :one REMOVE #first_answered_at"
            ),
            ConditionExpression=(
                "attribute_exists(#score) AND (attribute_not_exists(#counted) OR #counted = :true) "
                "AND #first_answered_at >= :since"
            ),
            ExpressionAttributeNames={
                f"#{name}": name
                for name in (
                    "counted",
                    "automated_score",
                    "score",
                    "retracted_at",
                    "automated_reasons",
                    "version",
                    "first_answered_at",
                )
            },
            ExpressionAttributeValues={
                ":false": {"BOOL": False},
                ":true": {"BOOL": True},
                ":now": {"S": now_iso},
                ":since": {"S": since_iso},
                ":reasons": {"SS": list(reasons) or ["unspecified"]},
                ":one": {"N": "1"},
            },
        )

    def get(self, invite_id: str) -> StoredResponse | None:
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.table_name,
                Key={"invite_id": {"S": invite_id}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return _stored(item) if item else None

    def get_score(self, invite_id: str) -> int | None:
        stored = self.get(invite_id)
        return stored.score if stored is not None and stored.counted else None

    def save_comment(
        self,
        invite_id: str,
        comment: str | None,
        now_iso: str,
        *,
        themes: tuple[str, ...] | None = None,
        answers: FollowUpAnswers | None = None,
        edit_window_start_iso: str = "",
    ) -> bool:
        """Store the comment and the follow-up answers on a counted response, in one write.

        The comment becomes the response's ``comment`` and is appended to ``comments`` (a list of
        ``{text, at}`` maps, oldest first), so earlier ones are kept; it is counted (``comments_saved``)
        and ``themes`` (the theme ids it was tagged with, sorted and unique; ``()`` for none) replace the
        previous comment's. ``comment`` None saves only the answers. Each answer given (``driver``,
        ``csat``, ``ces``) replaces the one on record while the edit window is open (it starts with the
        first counted answer, at or after ``edit_window_start_iso``); after it, the answers on record
        stand and a comment is still saved. Returns False in that case (answers given, none saved: the
        page says so), True otherwise. Raise :class:`NotAnswered` without a counted score,
        :class:`CommentLimitReached` when the response already took :data:`MAX_COMMENTS_PER_RESPONSE`
        comments."""
        given = answers if answers is not None and answers.any else None
        if comment is None and given is None:
            return True
        if self._save(invite_id, comment, now_iso, themes, given, edit_window_start_iso):
            return True
        # Refused: say why (a rare path, so one more read is fine).
        item: dict[str, Any] = (
            aws.client("dynamodb")
            .get_item(TableName=self.table_name, Key={"invite_id": {"S": invite_id}}, ConsistentRead=True)
            .get("Item")
            or {}
        )
        if not item or not _stored(item).counted:
            raise NotAnswered(invite_id)
        saved = int(item.get("comments_saved", {}).get("N", "0"))
        if comment is not None and saved >= MAX_COMMENTS_PER_RESPONSE:
            raise CommentLimitReached(invite_id)
        if given is not None and item.get("first_answered_at", {}).get("S", "") < edit_window_start_iso:
            # The edit window has closed: the answers on record stand, the comment is still kept.
            if comment is not None and not self._save(invite_id, comment, now_iso, themes, None, ""):
                raise NotAnswered(invite_id)
            return False
        raise NotAnswered(invite_id)

    def _save(
        self,
        invite_id: str,
        comment: str | None,
        now_iso: str,
        themes: tuple[str, ...] | None,
        answers: FollowUpAnswers | None,
        edit_window_start_iso: str,
    ) -> bool:
        """One conditional update of the comment and/or the answers; False when its condition failed."""
        sets = ["#version = #version + :one"]
        conditions = ["attribute_exists(#score) AND (attribute_not_exists(#counted) OR #counted = :true)"]
        names = {"#version": "version", "#score": "score", "#counted": "counted"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":true": {"BOOL": True}}
        if comment is not None:
            sets += [
                "#comment = :comment",
                "#comment_at = :now",
                "#saved = if_not_exists(#saved, :zero) + :one",
                "#comments = list_append(if_not_exists(#comments, :none), :entry)",
            ]
            conditions.append("(attribute_not_exists(#saved) OR #saved < :max)")
            names |= {"#comment": "comment", "#comment_at": "comment_at", "#saved": "comments_saved"}
            names["#comments"] = "comments"
            values |= {
                ":comment": {"S": comment},
                ":zero": {"N": "0"},
                ":max": {"N": str(MAX_COMMENTS_PER_RESPONSE)},
                ":none": {"L": []},
                ":entry": {"L": [{"M": {"text": {"S": comment}, "at": {"S": now_iso}}}]},
            }
            if themes is not None:
                sets.append("#themes = :themes")
                names["#themes"] = "themes"
                values[":themes"] = {"L": [{"S": theme} for theme in sorted(set(themes))]}
        if answers is not None:
            sets.append("#answers_at = :now")
            names["#answers_at"] = "answers_at"
            for name, value in (("driver", answers.driver), ("csat", answers.csat), ("ces", answers.ces)):
                if value is not None:
                    sets.append(f"#{name} = :{name}")
                    names[f"#{name}"] = name
                    values[f":{name}"] = {"S": value} if isinstance(value, str) else {"N": str(value)}
            if edit_window_start_iso:
                conditions.append("#first_answered_at >= :window_start")
                names["#first_answered_at"] = "first_answered_at"
                values[":window_start"] = {"S": edit_window_start_iso}
        values[":now"] = {"S": now_iso}
        return aws.conditional_write(
            "update_item",
            TableName=self.table_name,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


@dataclass(frozen=True, slots=True)
class ShardBackfill:
    """What :func:`backfill_survey_shards` did: items scanned, shards given, items already sharded."""

    scanned: int
    sharded: int
    already_sharded: int
    #: Whether the marker that lets readers skip the previous index was written (the scan completed).
    marked: bool

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "scanned": self.scanned,
            "sharded": self.sharded,
            "already_sharded": self.already_sharded,
            "marked": self.marked,
        }


def backfill_survey_shards(responses_table: str, aggregates_table: str, page_size: int = 500) -> ShardBackfill:
    """Give every response written before ``survey_shard`` existed its shard, then mark the table done.

    Scans the responses table (``page_size`` items a page, four attributes each) and sets
    ``survey_shard`` on each item that has a ``survey_id`` and no shard, on the condition that it still
    has none (so a concurrent answer, which writes the same value, is never overwritten). When the scan
    has finished, writes :data:`~nps.kernel.tables.SHARDED_RESPONSES_MARKER` to the aggregates table:
    report readers then stop querying the previous ``by_survey`` index. Idempotent; stop it and run it
    again at any time. Each update changes no score, so the stream it causes changes no aggregate.
    """
    client = aws.client("dynamodb")
    scanned = sharded = already = 0
    request: dict[str, Any] = {
        "TableName": responses_table,
        "ProjectionExpression": "#id, #survey, #shard",
        "ExpressionAttributeNames": {"#id": "invite_id", "#survey": "survey_id", "#shard": "survey_shard"},
        "Limit": page_size,
    }
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            scanned += 1
            if "survey_shard" in item:
                already += 1
                continue
            if "survey_id" not in item:
                continue
            invite_id, survey_id = item["invite_id"]["S"], item["survey_id"]["S"]
            if aws.conditional_write(
                "update_item",
                TableName=responses_table,
                Key={"invite_id": {"S": invite_id}},
                UpdateExpression="SET #shard = :shard",
                ConditionExpression="attribute_exists(#id) AND attribute_not_exists(#shard)",
                ExpressionAttributeNames={"#id": "invite_id", "#shard": "survey_shard"},
                ExpressionAttributeValues={":shard": {"S": survey_shard(survey_id, invite_id)}},
            ):
                sharded += 1
            else:
                already += 1
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    client.put_item(
        TableName=aggregates_table,
        Item={
            "pk": {"S": SHARDED_RESPONSES_MARKER["pk"]},
            "period": {"S": SHARDED_RESPONSES_MARKER["period"]},
            "scanned": {"N": str(scanned)},
            "sharded": {"N": str(sharded)},
        },
    )
    return ShardBackfill(scanned, sharded, already, marked=True)
