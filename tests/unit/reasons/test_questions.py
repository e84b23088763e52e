"""nps.reasons.questions: one locale's follow-up questions as plain data, from the survey or the catalog."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.reasons.answers import UnknownDriver, parse_driver
from nps.reasons.definition import Reasons
from nps.reasons.questions import FollowUpQuestions, stored_questions

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


_LABEL = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20)
_TEXTS = st.dictionaries(st.sampled_from(["en", "de", "es"]), _LABEL, max_size=3)


@st.composite
def _reasons_blocks(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), max_size=5, unique=True))
    block: dict[str, Any] = {
        "drivers": [{"id": i, "label": draw(_TEXTS.filter(bool))} for i in ids],
        "driver_question": draw(_TEXTS),
    }
    for name, key in (("csat", "question"), ("ces", "statement")):
        if draw(st.booleans()):
            block[name] = {"enabled": draw(st.booleans()), key: draw(_TEXTS)}
    return block


@given(block=_reasons_blocks(), locale=st.sampled_from(["en", "de", "es"]), brand=_LABEL)
def test_the_stored_json_asks_what_the_definition_asks(block: dict[str, Any], locale: str, brand: str) -> None:
    # The web prompt and the share link read the definition as stored JSON (no pydantic): the questions
    # must be those the validated definition resolves, or None when it asks nothing.
    reasons = Reasons.model_validate(block)
    expected = reasons.questions(locale, brand)
    stored = stored_questions(json.loads(reasons.model_dump_json()), locale, brand)
    assert stored == (expected if expected.asks_anything else None)


@pytest.mark.parametrize(
    "block",
    [
        None,
        [],
        "reasons",
        {"drivers": "price"},
        {"drivers": [{"id": "price"}]},
        {"drivers": [{"id": "p", "label": {}}]},
    ],
)
def test_a_damaged_stored_block_asks_nothing(block: Any) -> None:
    assert stored_questions(block, "en", "Acme") is None
