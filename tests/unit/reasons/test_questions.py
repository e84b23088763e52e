"""nps.reasons.questions: one locale's follow-up questions as plain data, from the survey or the catalog."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.reasons.answers import UnknownDriver, parse_driver
from nps.reasons.definition import Reasons
from nps.reasons.questions import FollowUpQuestions

REASONS = Reasons.model_validate(
    {
        "drivers": [
            {"id": "price", "label": {"en": "Price", "de": "Preis"}},
            {"id": "support", "label": {"en": "Support", "de": "Kundendienst"}},
        ],
        "driver_question": {"de": "Was zählt für Sie am meisten?"},
        "csat": {"question": {"en": "How satisfied were you with your delivery?"}},
        "ces": {},
    }
)


def test_the_surveys_texts_come_first_then_the_catalogs_with_the_brand() -> None:
    english = REASONS.questions("en", brand="Acme")
    german = REASONS.questions("de", brand="Acme")
    assert english.drivers == (("price", "Price"), ("support", "Support"))
    assert english.driver_question == "What matters most in your score?"
    assert english.csat_question == "How satisfied were you with your delivery?"
    assert english.ces_statement == "Acme made it easy for me to get what I needed."
    assert german.drivers == (("price", "Preis"), ("support", "Kundendienst"))
    assert german.driver_question == "Was zählt für Sie am meisten?"
    assert german.csat_question == "Wie zufrieden sind Sie insgesamt mit Acme?"


def test_a_brand_with_braces_is_text_not_a_placeholder() -> None:
    assert (
        REASONS.questions("en", brand="{locale} Co").ces_statement
        == "{locale} Co made it easy for me to get what I needed."
    )


def test_questions_switched_off_or_absent_are_not_asked() -> None:
    nothing = Reasons().questions("en", brand="Acme")
    assert nothing == FollowUpQuestions(locale="en")
    assert not nothing.asks_anything
    off = Reasons.model_validate({"csat": {"enabled": False}, "ces": {"enabled": False}}).questions("en", "Acme")
    assert (off.csat_question, off.ces_statement, off.asks_anything) == (None, None, False)


def test_the_copy_offers_the_driver_ids_to_the_answer_parser() -> None:
    copy = FollowUpQuestions.from_item(REASONS.questions("de", brand="Acme").to_item())
    assert parse_driver(copy, "support") == "support"
    with pytest.raises(UnknownDriver):
        parse_driver(copy, "Preis")


@given(locale=st.sampled_from(["en", "de", "es"]), brand=st.text(min_size=1, max_size=80))
def test_the_questions_round_trip_through_their_item(locale: str, brand: str) -> None:
    questions = REASONS.questions(locale, brand=brand)
    assert FollowUpQuestions.from_item(questions.to_item()) == questions


@pytest.mark.parametrize(
    "item",
    [
        {},
        {"locale": 5},
        {"locale": "en", "drivers": "price"},
        {"locale": "en", "drivers": [["price"]], "driver_question": "Why?"},
        {"locale": "en", "drivers": [["pri ce", "Price"]], "driver_question": "Why?"},
        {"locale": "en", "drivers": [["price", ""]], "driver_question": "Why?"},
        {"locale": "en", "drivers": [["price", "P"], ["price", "Q"]], "driver_question": "Why?"},
        {"locale": "en", "drivers": [["price", "Price"]]},
        {"locale": "en", "driver_question": "Why?"},
        {"locale": "en", "csat_question": "x" * 301},
        {"locale": "en", "ces_statement": " "},
        {"locale": "en", "drivers": [[f"d{i}", "D"] for i in range(21)], "driver_question": "Why?"},
    ],
)
def test_a_damaged_copy_is_refused(item: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="follow-up questions"):
        FollowUpQuestions.from_item(item)


@given(locale=st.sampled_from(["en", "de", "es"]), brand=st.text(min_size=1, max_size=80))
def test_the_questions_round_trip_through_an_invites_attribute(locale: str, brand: str) -> None:
    questions = REASONS.questions(locale, brand=brand)
    assert FollowUpQuestions.from_attribute(questions.to_attribute()) == questions


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"S": "en"},
        {"M": {}},
        {"M": {"locale": {"N": "1"}}},
        {"M": {"locale": {"S": "en"}, "drivers": {"SS": ["price"]}}},
        {"M": {"locale": {"S": "en"}, "csat_question": {"S": "Why?", "N": "1"}}},
    ],
)
def test_an_invite_without_a_well_formed_copy_asks_nothing(value: dict[str, Any] | None) -> None:
    assert FollowUpQuestions.from_attribute(value) is None
