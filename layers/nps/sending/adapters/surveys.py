"""Surveys table: survey definitions (sort key ``definition``) and due reminders (``reminder#...``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from nps.kernel import aws

if TYPE_CHECKING:
    from nps.sending.digest_timing import StoredSurvey
    from nps.sending.surveys import Survey

DEFINITION = "definition"
REMINDER_PREFIX = "reminder#"
_CACHE_SECONDS = 60.0
_PARALLEL_DELETES = 16


def reminder_sort_key(due_iso: str, invite_id: str) -> str:
    return f"{REMINDER_PREFIX}{due_iso}#{invite_id}"


class DynamoSurveyRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        # Definitions change rarely; a warm deliver function reads each one once a minute, not per send.
        self._cache: dict[str, tuple[float, Survey | None]] = {}

    def put(self, survey: Survey) -> None:
        """Create or replace a definition (idempotent)."""
        aws.client("dynamodb").put_item(
            TableName=self.table_name,
            Item={
                "survey_id": {"S": survey.survey_id},
                "sk": {"S": DEFINITION},
                "definition": {"S": survey.model_dump_json()},
                "active": {"BOOL": survey.active},
            },
        )
        self._cache.pop(survey.survey_id, None)

    def get(self, survey_id: str) -> Survey | None:
        cached = self._cache.get(survey_id)
        if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name, Key={"survey_id": {"S": survey_id}, "sk": {"S": DEFINITION}}
        )
        definition = item["Item"]["definition"]["S"] if "Item" in item else None
        survey = _stored(definition) if definition else None
        self._cache[survey_id] = (time.monotonic(), survey)
        return survey

    def all(self) -> list[Survey]:
        """Every definition (a small table: one item per survey plus pending reminders), by survey id."""
        return [stored.survey() for stored in self.stored()]

    def stored(self) -> list[StoredSurvey]:
        """Every definition by survey id, read without pydantic (:class:`StoredSurvey`: the id, whether
        active, the digest's timing; :meth:`StoredSurvey.survey` validates it in full). Raises
        ``ValueError`` for a definition that is not a survey's JSON object."""
        from nps.sending.digest_timing import StoredSurvey  # only the digest and the survey list read all

        found: list[StoredSurvey] = []
        paginator = aws.client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="sk = :definition",
            ExpressionAttributeValues={":definition": {"S": DEFINITION}},
        ):
            found.extend(StoredSurvey.read(i["definition"]["S"]) for i in page["Items"])
        return sorted(found, key=lambda s: s.survey_id)

    def due_reminders(self, survey_id: str, now_iso: str) -> Iterator[tuple[str, str]]:
        """``(sort key, invite id)`` of every reminder due at or before ``now_iso``."""
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="survey_id = :survey AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":survey": {"S": survey_id},
                ":first": {"S": REMINDER_PREFIX},
                ":last": {"S": f"{REMINDER_PREFIX}{now_iso}#~"},
            },
        ):
            for item in page["Items"]:
                yield item["sk"]["S"], item["invite_id"]["S"]

    def reminder_item(self, survey_id: str, due_iso: str, invite_id: str) -> dict[str, Any]:
        """The reminder item, as a transaction ``Put`` (written when the invite is sent)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    "survey_id": {"S": survey_id},
                    "sk": {"S": reminder_sort_key(due_iso, invite_id)},
                    "invite_id": {"S": invite_id},
                },
            }
        }

    def delete_reminders(self, survey_id: str, sort_keys: Sequence[str]) -> None:
        """Delete reminder items, ``_PARALLEL_DELETES`` at a time (a large wave's reminders fall due together)."""
        client = aws.client("dynamodb")

        def delete(sort_key: str) -> None:
            client.delete_item(TableName=self.table_name, Key={"survey_id": {"S": survey_id}, "sk": {"S": sort_key}})

        if len(sort_keys) <= 1:
            for sort_key in sort_keys:
                delete(sort_key)
            return
        with ThreadPoolExecutor(max_workers=_PARALLEL_DELETES) as pool:
            list(pool.map(delete, sort_keys))


def _stored(definition: str) -> Survey:
    """A stored definition (validated when it was put), checked again as stored surveys are."""
    # Imported on the first read: pydantic and the survey models load with the first survey a function
    # reads, not at start-up (the reminder run and the first wave or send pay it once).
    from nps.sending.surveys import STORED, Survey

    return Survey.model_validate_json(definition, context=STORED)


def survey_from_json(text: str) -> Survey:
    from nps.sending.surveys import Survey

    return Survey.model_validate(json.loads(text))
