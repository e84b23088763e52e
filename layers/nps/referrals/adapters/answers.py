"""What the referral redirect reads: the promoter's answer (one ``GetItem`` of the responses table) and the
survey's stored definition (one ``GetItem`` of the surveys table, kept per process for a minute), both as
plain items (no pydantic on the redirect's path)."""

from __future__ import annotations

import json
import time
from typing import Any

from nps.kernel import aws
from nps.kernel.periods import parse_timestamp
from nps.referrals.redirect import AnsweredInvite

_DEFINITION = "definition"
_CACHE_SECONDS = 60.0
_ANSWER_ATTRIBUTES = (
    "invite_id",
    "survey_id",
    "wave_id",
    "contact_id",
    "channel",
    "locale",
    "segments",
    "first_answered_at",
    "account_id",
)


class DynamoAnswers:
    """:class:`nps.referrals.redirect.Answers` over the responses table."""

    def __init__(self, responses_table: str) -> None:
        self.responses_table = responses_table

    def get(self, invite_id: str) -> AnsweredInvite | None:
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.responses_table,
                Key={"invite_id": {"S": invite_id}},
                ProjectionExpression=", ".join(f"#{n}" for n in range(len(_ANSWER_ATTRIBUTES))),
                ExpressionAttributeNames={f"#{n}": name for n, name in enumerate(_ANSWER_ATTRIBUTES)},
            )
            .get("Item")
        )
        if not item:
            return None
        try:
            return AnsweredInvite(
                invite_id=item["invite_id"]["S"],
                survey_id=item["survey_id"]["S"],
                wave_id=item["wave_id"]["S"],
                contact_id=item["contact_id"]["S"],
                channel=item["channel"]["S"],
                locale=item.get("locale", {}).get("S", "en"),
                segments={k: v["S"] for k, v in item.get("segments", {}).get("M", {}).items() if "S" in v},
                first_answered_at=parse_timestamp(item["first_answered_at"]["S"]),
                account_id=item.get("account_id", {}).get("S"),
            )
        except (KeyError, TypeError, ValueError):
            return None  # not answered (no first_answered_at) or not an item this platform wrote


class DynamoDefinitions:
    """:class:`nps.referrals.redirect.Definitions` over the surveys table (a warm function reads each
    survey once a minute)."""

    def __init__(self, surveys_table: str) -> None:
        self.surveys_table = surveys_table
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def get(self, survey_id: str) -> dict[str, Any] | None:
        cached = self._cache.get(survey_id)
        if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        item = aws.client("dynamodb").get_item(
            TableName=self.surveys_table, Key={"survey_id": {"S": survey_id}, "sk": {"S": _DEFINITION}}
        )
        definition: dict[str, Any] | None = None
        text = item.get("Item", {}).get(_DEFINITION, {}).get("S")
        if text:
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = None
            definition = loaded if isinstance(loaded, dict) else None
        self._cache[survey_id] = (time.monotonic(), definition)
        return definition
