"""The hourly run's first read of a stored definition (no pydantic) decides exactly as the survey model would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.digests.schedule import due_period
from nps.sending.digest_timing import DigestTiming, StoredSurvey
from nps.sending.surveys import Survey

BASE: dict[str, Any] = {
    "survey_id": "srv_1",
    "name": "Relationship NPS",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email"],
}
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Adelaide", "Pacific/Chatham"]
digests = st.fixed_dictionaries(
    {"recipients": st.just(["team@example.com"])},
    optional={
        "enabled": st.booleans(),
        "frequency": st.sampled_from(["daily", "weekly"]),
        "weekday": st.sampled_from(["monday", "wednesday", "sunday"]),
        "hour": st.integers(0, 23),
        "time_zone": st.sampled_from(ZONES),
    },
)


@settings(max_examples=60, deadline=None)
@given(
    digest=st.none() | digests,
    active=st.booleans(),
    now=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 1, 1)),
)
def test_the_stored_timing_is_the_models_and_decides_the_same_digests(
    digest: dict[str, Any] | None, active: bool, now: datetime
) -> None:
    # Given a definition as the surveys table stores it (the model's JSON, defaults written out)
    survey = Survey.model_validate({**BASE, "active": active, **({"digest": digest} if digest else {})})
    stored = StoredSurvey.read(survey.model_dump_json())
    # Then the light read holds the model's id, flag and timing, and validates back to the same survey
    assert (stored.survey_id, stored.active) == (survey.survey_id, survey.active)
    assert stored.survey() == survey
    if survey.digest is None:
        assert stored.digest is None
        return
    assert stored.digest is not None
    fields = ("enabled", "frequency", "weekday", "hour", "time_zone")
    assert [getattr(stored.digest, f) for f in fields] == [getattr(survey.digest, f) for f in fields]
    # And each hour of a day, the same digest is due (or not) by either
    start = now.replace(tzinfo=UTC, minute=0, second=0, microsecond=0)
    for hour in range(24):
        at = start + timedelta(hours=hour)
        assert due_period(stored.digest, at) == due_period(survey.digest, at)


def test_a_definition_written_without_the_defaults_reads_with_the_models_defaults() -> None:
    text = json.dumps({**BASE, "digest": {"recipients": ["team@example.com"]}})
    model = Survey.model_validate_json(text).digest
    assert model is not None
    assert StoredSurvey.read(text).digest == DigestTiming(
        model.enabled, model.frequency, model.weekday, model.hour, model.time_zone
    )
    assert StoredSurvey.read(json.dumps(BASE)).active is Survey.model_validate(BASE).active


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        json.dumps({"name": "no id"}),
        json.dumps({**BASE, "digest": ["daily"]}),
        json.dumps({**BASE, "digest": {"hour": "8"}}),
        json.dumps({**BASE, "digest": {"hour": True}}),
        json.dumps({**BASE, "digest": {"frequency": "monthly"}}),
        json.dumps({**BASE, "digest": {"time_zone": 1}}),
    ],
)
def test_a_definition_that_is_not_a_surveys_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        StoredSurvey.read(text)
