"""Responses table: one item per invite. A second tap updates the item and bumps its version."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nps import aws
from nps.dal.invites import Invite
from nps.scoring import Category

_SCORE_ATTRIBUTES = (
    "score",
    "category",
    "answered_at",
    "version",
    "first_answered_at",
    "survey_id",
    "wave_id",
    "contact_id",
    "channel",
    "locale",
    "segments",
    "source",
)


class RecordOutcome(StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class RecordedScore:
    outcome: RecordOutcome
    score: int
    version: int


class NotAnswered(LookupError):
    """A comment arrived for an invite that has no score yet."""


def _conditional_failure(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class DynamoResponseRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def record_score(
        self, invite: Invite, score: int, category: Category, now_iso: str, source: str = "link"
    ) -> RecordedScore:
        """Write the score unless the same score is already stored (so a repeated tap is a no-op)."""
        values: dict[str, Any] = {
            ":score": {"N": str(score)},
            ":category": {"S": category.value},
            ":now": {"S": now_iso},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":survey": {"S": invite.survey_id},
            ":wave": {"S": invite.wave_id},
            ":contact": {"S": invite.contact_id},
            ":channel": {"S": invite.channel},
            ":locale": {"S": invite.locale},
            ":segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
            ":source": {"S": source},
        }
        try:
            result = aws.client("dynamodb").update_item(
                TableName=self.table_name,
                Key={"invite_id": {"S": invite.invite_id}},
                UpdateExpression=(
                    "SET #score = :score, #category = :category, #answered_at = :now, "
                    "#version = if_not_exists(#version, :zero) + :one, "
                    "#first_answered_at = if_not_exists(#first_answered_at, :now), "
                    "#survey_id = :survey, #wave_id = :wave, #contact_id = :contact, #channel = :channel, "
                    "#locale = :locale, #segments = :segments, #source = :source"
                ),
                ConditionExpression="attribute_not_exists(#score) OR #score <> :score",
                ExpressionAttributeNames={f"#{name}": name for name in _SCORE_ATTRIBUTES},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if not _conditional_failure(error):
                raise
            return RecordedScore(RecordOutcome.UNCHANGED, score, self._version(invite.invite_id))
        version = int(result["Attributes"]["version"]["N"])
        outcome = RecordOutcome.RECORDED if version == 1 else RecordOutcome.CHANGED
        return RecordedScore(outcome, score, version)

    def _version(self, invite_id: str) -> int:
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"invite_id": {"S": invite_id}},
            ProjectionExpression="#version",
            ExpressionAttributeNames={"#version": "version"},
        )
        return int(item.get("Item", {}).get("version", {}).get("N", "0"))

    def get_score(self, invite_id: str) -> int | None:
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"invite_id": {"S": invite_id}},
            ProjectionExpression="#score",
            ExpressionAttributeNames={"#score": "score"},
            ConsistentRead=True,
        )
        score = item.get("Item", {}).get("score")
        return int(score["N"]) if score else None

    def save_comment(self, invite_id: str, comment: str, now_iso: str) -> None:
        """Store the comment on an answered response; raise :class:`NotAnswered` otherwise."""
        try:
            aws.client("dynamodb").update_item(
                TableName=self.table_name,
                Key={"invite_id": {"S": invite_id}},
                UpdateExpression="SET #comment = :comment, #comment_at = :now, #version = #version + :one",
                ConditionExpression="attribute_exists(#score)",
                ExpressionAttributeNames={
                    "#comment": "comment",
                    "#comment_at": "comment_at",
                    "#version": "version",
                    "#score": "score",
                },
                ExpressionAttributeValues={
                    ":comment": {"S": comment},
                    ":now": {"S": now_iso},
                    ":one": {"N": "1"},
                },
            )
        except Exception as error:
            if _conditional_failure(error):
                raise NotAnswered(invite_id) from error
            raise
