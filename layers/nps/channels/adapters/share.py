"""The share pages' survey reads: a survey's definition from the surveys table, parsed without pydantic and
kept a minute per warm instance (a burst of answers on one survey reads it once)."""

from __future__ import annotations

import time

from nps.channels.adapters.store import DEFINITION
from nps.channels.share_links import ShareSurvey
from nps.kernel import aws

_CACHE_SECONDS = 60.0
#: Survey definitions a warm instance keeps at most (the oldest read is dropped first).
_CACHE_SURVEYS = 256


class ShareSurveys:
    """``get(survey_id)``: the survey (None when there is none), read at most once a minute."""

    def __init__(self, surveys_table: str) -> None:
        self.surveys_table = surveys_table
        self._cache: dict[str, tuple[float, ShareSurvey | None]] = {}
        #: Survey reads made (GetItem), for tests.
        self.reads = 0

    def get(self, survey_id: str) -> ShareSurvey | None:
        cached = self._cache.get(survey_id)
        if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        self.reads += 1
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.surveys_table, Key={"survey_id": {"S": survey_id}, "sk": {"S": DEFINITION}})
            .get("Item")
        )
        survey = ShareSurvey.from_definition(item["definition"]["S"]) if item else None
        self._cache.pop(survey_id, None)
        if len(self._cache) >= _CACHE_SURVEYS:
            del self._cache[next(iter(self._cache))]
        self._cache[survey_id] = (time.monotonic(), survey)
        return survey

    def forget(self) -> None:
        """Drop the cached definitions (tests, after a survey changes)."""
        self._cache.clear()
