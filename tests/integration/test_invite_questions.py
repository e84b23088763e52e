"""The planner copies the survey's follow-up questions onto each invite, in the invite's locale, so the
page after one tap asks them without reading the survey; the copy stays far below DynamoDB's item limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import http_event
from nps.reasons.definition import MAX_DRIVERS, MAX_LABEL_LENGTH, MAX_QUESTION_LENGTH
from nps.reasons.questions import FollowUpQuestions
from tests.support.dynamodb_size import ITEM_LIMIT_BYTES, attribute_size, dynamodb_item_size
from tests.support.taps import call

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CSV = "contact_id,email,phone,time_zone,locale,plan,region\nc-1,ana@example.com,,Europe/Berlin,de,pro,emea\n"
#: A character of four UTF-8 bytes: the largest text a label or question can be.
WIDE = "\U0001d538"


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


def largest_reasons() -> dict[str, Any]:
    """Every text at its longest, in four-byte characters, in each of the survey's locales."""
    locales = ("en", "es", "de")
    label = WIDE * MAX_LABEL_LENGTH
    text = dict.fromkeys(locales, WIDE * MAX_QUESTION_LENGTH)
    return {
        "drivers": [{"id": f"driver_{n:02d}", "label": dict.fromkeys(locales, label)} for n in range(MAX_DRIVERS)],
        "driver_question": text,
        "csat": {"question": text},
        "ces": {"statement": text},
    }


def test_an_invite_carries_the_questions_of_its_locale_and_stays_far_below_the_item_limit(
    platform: LocalStack, clock: ds.Clock
) -> None:
    # Given a survey whose follow-up questions are as large as a definition allows
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None, "reasons": largest_reasons()})
    ds.import_csv(platform, CSV)
    # When a wave is planned and sent
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    # Then the invite holds the German questions, every driver
    (item,) = ds.invite_items(platform)
    questions = FollowUpQuestions.from_attribute(item["questions"])
    assert questions is not None
    assert questions.locale == "de"
    assert len(questions.drivers) == MAX_DRIVERS
    assert questions.csat_question == WIDE * MAX_QUESTION_LENGTH
    # And the copy is under 12 KB, the whole invite under 5% of DynamoDB's 400 KB
    assert attribute_size(item["questions"]) < 12 * 1024
    assert dynamodb_item_size(item) < ITEM_LIMIT_BYTES // 20


def test_the_emailed_link_opens_a_page_that_asks_them(platform: LocalStack, clock: ds.Clock) -> None:
    reasons = {
        "drivers": [{"id": "price", "label": {"en": "Price", "es": "Precio", "de": "Preis"}}],
        "csat": {"enabled": True},
    }
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None, "reasons": reasons})
    ds.import_csv(platform, CSV)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    (email,) = ds.captured_emails()
    link = urlsplit(email.score_links[9])
    page = call(http_event("GET", link.path, {"score": "9"}))
    assert page["statusCode"] == 200
    assert 'name="driver" value="price"> Preis' in page["body"]
    assert "Wie zufrieden sind Sie insgesamt mit Acme Cloud?" in page["body"]
    assert 'name="ces"' not in page["body"]


def test_a_survey_that_asks_nothing_more_puts_no_questions_on_its_invites(
    platform: LocalStack, clock: ds.Clock
) -> None:
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(platform, CSV)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    (item,) = ds.invite_items(platform)
    assert "questions" not in item
