"""Which events each of the platform's rules matches (moto's EventBridge pattern engine, no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from nps.events.models import COMMENT_RECEIVED, CONTACT_UNSUBSCRIBED, RESPONSE_RETRACTED, RESPONSE_SCORED
from nps.events.patterns import (
    COMMENT_SENTIMENT,
    DETRACTOR_COMMENT,
    FOLLOW_UP_STARTS,
    RESURVEY_ANSWERED,
    RETRACTED,
)
from tests.support.event_samples import SAMPLES, comment, retracted, scored


def event(detail_type: str, detail: dict[str, Any], source: str = "nps") -> dict[str, Any]:
    return {"source": source, "detail-type": detail_type, "detail": detail}


def matches(pattern: dict[str, Any], evt: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(evt))  # type: ignore[arg-type]


def starts(evt: dict[str, Any]) -> list[str]:
    """The follow-up workflows an event starts."""
    return [category for category, pattern in FOLLOW_UP_STARTS.items() if matches(pattern, evt)]


@pytest.mark.parametrize(
    ("score", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter")]
)
def test_a_first_answer_starts_exactly_its_category_workflow(score: int, category: str) -> None:
    assert starts(event(RESPONSE_SCORED, scored(score, category))) == [category]


def test_a_change_into_another_category_starts_that_category_workflow() -> None:
    # Given a promoter who changed 9 → 3
    evt = event(RESPONSE_SCORED, scored(3, "detractor", previous=(9, "promoter")))
    # Then the detractor workflow starts, and nothing else
    assert starts(evt) == ["detractor"]


def test_a_change_within_a_category_starts_nothing() -> None:
    assert starts(event(RESPONSE_SCORED, scored(5, "detractor", previous=(3, "detractor")))) == []
    assert starts(event(RESPONSE_SCORED, scored(10, "promoter", previous=(9, "promoter")))) == []


def test_a_resurvey_answer_starts_nothing_and_resolves_its_follow_up() -> None:
    evt = event(RESPONSE_SCORED, scored(2, "detractor", wave_id="fu-inv-00042", invite_id="inv-00077"))
    assert starts(evt) == []
    assert matches(RESURVEY_ANSWERED, evt)
    assert not matches(RESURVEY_ANSWERED, event(RESPONSE_SCORED, scored(2, "detractor")))


def test_events_from_other_sources_or_of_other_types_start_nothing() -> None:
    assert starts(event(RESPONSE_SCORED, scored(2, "detractor"), source="billing")) == []
    assert starts(event(COMMENT_RECEIVED, comment())) == []
    assert starts(event(CONTACT_UNSUBSCRIBED, SAMPLES[CONTACT_UNSUBSCRIBED])) == []


def test_only_comments_on_detractors_are_appended_to_a_follow_up() -> None:
    assert matches(DETRACTOR_COMMENT, event(COMMENT_RECEIVED, comment("detractor")))
    assert not matches(DETRACTOR_COMMENT, event(COMMENT_RECEIVED, comment("promoter", score=10)))
    assert not matches(DETRACTOR_COMMENT, event(RESPONSE_SCORED, scored(2, "detractor")))


@pytest.mark.parametrize(("category", "score"), [("detractor", 2), ("passive", 7), ("promoter", 10)])
def test_every_comment_and_nothing_else_reaches_the_comment_sentiment_queue(category: str, score: int) -> None:
    assert matches(COMMENT_SENTIMENT, event(COMMENT_RECEIVED, comment(category, score=score)))
    assert not matches(COMMENT_SENTIMENT, event(RESPONSE_SCORED, scored(score, category)))
    assert not matches(COMMENT_SENTIMENT, event(COMMENT_RECEIVED, comment(category, score=score), source="billing"))


@pytest.mark.parametrize("category", ["detractor", "passive", "promoter"])
def test_every_retraction_reaches_the_follow_up_consumer(category: str) -> None:
    assert matches(RETRACTED, event(RESPONSE_RETRACTED, retracted(category)))
    assert starts(event(RESPONSE_RETRACTED, retracted(category))) == []


def test_the_webhook_rule_sees_alerts_only_and_subscribers_see_the_lifecycle() -> None:
    from nps.events.models import FOLLOW_UP_ALERT, FOLLOW_UP_OPENED, FOLLOW_UP_RESOLVED
    from nps.events.patterns import FOLLOW_UP_ALERTED, FOLLOW_UP_LIFECYCLE

    alert = event(FOLLOW_UP_ALERT, SAMPLES[FOLLOW_UP_ALERT])
    detractor = event(FOLLOW_UP_OPENED, SAMPLES[FOLLOW_UP_OPENED])
    promoter = event(FOLLOW_UP_OPENED, {**SAMPLES[FOLLOW_UP_OPENED], "category": "promoter", "score": 10})
    resolved = event(FOLLOW_UP_RESOLVED, SAMPLES[FOLLOW_UP_RESOLVED])
    answer = event(RESPONSE_SCORED, scored(2, "detractor"))
    forged = event(FOLLOW_UP_ALERT, SAMPLES[FOLLOW_UP_ALERT], source="someone-else")

    assert [matches(FOLLOW_UP_ALERTED, e) for e in (alert, detractor, promoter, resolved, answer, forged)] == [
        True, False, False, False, False, False,
    ]  # fmt: skip
    assert [matches(FOLLOW_UP_LIFECYCLE, e) for e in (alert, detractor, promoter, resolved, answer, forged)] == [
        False, True, True, True, False, False,
    ]  # fmt: skip
    # Follow-up events never start another follow-up.
    assert [starts(e) for e in (alert, detractor, promoter, resolved)] == [[], [], [], []]
