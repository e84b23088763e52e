"""The ``reasons`` block of a survey definition: drivers, CSAT/CES questions and a taxonomy that can be matched."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nps.reasons.definition import MAX_DRIVERS, MAX_PHRASE_LENGTH, MAX_PHRASES, MAX_TAXONOMY_PHRASES, MAX_THEMES
from nps.reasons.scales import RESERVED_DIMENSIONS
from nps.sending.surveys import STORED, Survey


def survey(reasons: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "survey_id": "s1",
        "name": "S",
        "brand_name": "Acme",
        "sender": "surveys@example.com",
        "channels": ["email"],
        "locales": ["en", "de"],
        **({"reasons": reasons} if reasons is not None else {}),
        **fields,
    }


def driver(driver_id: str, **label: str) -> dict[str, Any]:
    return {"id": driver_id, "label": label or {"en": driver_id.title(), "de": driver_id.title()}}


def theme(theme_id: str, en: list[str], de: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": theme_id,
        "label": {"en": theme_id.title(), "de": theme_id.title()},
        "phrases": {"en": en, "de": de if de is not None else [f"{theme_id}wort"]},
    }


FULL = {
    "drivers": [driver("price"), driver("support"), driver("product_quality")],
    "driver_question": {"en": "What matters most?", "de": "Was zählt am meisten?"},
    "csat": {"question": {"en": "How satisfied were you with your delivery?"}},
    "ces": {"enabled": False},
    "themes": [theme("price", ["price", "too expensive"], ["Preis", "zu teuer"]), theme("support", ["help desk"])],
}


def refusal(definition: dict[str, Any], **context: Any) -> str:
    with pytest.raises(ValidationError) as error:
        Survey.model_validate(definition, context=context or None)
    return str(error.value)


def test_a_survey_without_the_block_asks_nothing_more() -> None:
    reasons = Survey.model_validate(survey()).reasons
    assert (reasons.drivers, reasons.themes, reasons.csat, reasons.ces) == ([], [], None, None)
    assert (reasons.asks_driver, reasons.asks_csat, reasons.asks_ces) == (False, False, False)
    assert reasons.driver_ids == frozenset()
    assert reasons.tag("The price is high", "en") == ()


def test_a_full_block_is_read_with_its_questions_and_tagger() -> None:
    reasons = Survey.model_validate(survey(FULL)).reasons
    assert reasons.driver_ids == {"price", "support", "product_quality"}
    assert (reasons.asks_driver, reasons.asks_csat, reasons.asks_ces) == (True, True, False)
    assert reasons.tag("Way too expensive, and the Help-Desk never answered", "en") == ("price", "support")
    assert reasons.tag("Die Preise sind zu hoch", "de") == ("price",)
    # A locale without phrases tags nothing; the compiled tagger is kept on the definition
    assert reasons.tagger("es") is None
    assert reasons.tagger("en") is reasons.tagger("en")


def test_a_definition_that_has_tagged_equals_one_that_has_not() -> None:
    # Given two readings of one definition, When one of them tags a comment (and keeps its tagger)
    used, fresh = Survey.model_validate(survey(FULL)), Survey.model_validate(survey(FULL))
    assert used.reasons.tag("price", "en") == ("price",)
    # Then they still compare equal, and unlike a different definition
    assert used == fresh
    assert used.reasons == fresh.reasons
    assert used.reasons != Survey.model_validate(survey({**FULL, "themes": []})).reasons


def test_the_block_round_trips_through_the_stored_json() -> None:
    stored = Survey.model_validate(survey(FULL)).model_dump_json()
    assert Survey.model_validate_json(stored, context=STORED) == Survey.model_validate(survey(FULL))


@pytest.mark.parametrize(
    ("reasons", "message"),
    [
        ({"drivers": [driver("price"), driver("price")]}, "driver id 'price' is listed twice"),
        ({"drivers": [driver("a b")]}, "drivers.0.id"),
        ({"drivers": [driver("price", en="Price")]}, "driver 'price' has no label in de"),
        ({"drivers": [driver("price", en="Price", de="  ")]}, "must not be blank"),
        ({"drivers": [driver("price", en="Price", de="")]}, "at least 1 character"),
        ({"drivers": [driver("price", en="Price\nBcc", de="Preis")]}, "one line"),
        ({"drivers": [driver("price", en="\u202eecirP", de="Preis")]}, "bidirectional"),
        ({"drivers": [{"id": "price", "label": {}}]}, "at least 1 item"),
        ({"drivers": [driver(f"d{i}") for i in range(MAX_DRIVERS + 1)]}, "at most 20 items"),
        ({"drivers": [driver("price", en="Price", de="Preis", fr="Prix")]}, "unsupported locale(s) fr"),
        ({"driver_question": {"en": ""}}, "driver_question.en"),
        ({"csat": {"question": {"en": "x" * 301}}}, "csat.question.en"),
        ({"ces": {"statement": {"es": "Acme me lo puso fácil."}}}, None),  # es: accepted, a supported locale
        ({"themes": [theme("price", ["price"]), theme("price", ["cost"])]}, "theme id 'price' is listed twice"),
        ({"themes": [theme("price", [])]}, "at least 1 item"),
        ({"themes": [theme("price", [""])]}, "at least 1 character"),
        ({"themes": [theme("price", ["?!"])]}, "theme 'price' (en): the phrase '?!' has no word to match"),
        ({"themes": [theme("price", ["x" * (MAX_PHRASE_LENGTH + 1)])]}, "at most 80 characters"),
        ({"themes": [theme("price", [f"w{i}" for i in range(MAX_PHRASES + 1)])]}, "at most 100 items"),
        ({"themes": [theme(f"t{i}", [f"w{i}"]) for i in range(MAX_THEMES + 1)]}, "at most 50 items"),
        (
            {"themes": [theme("price", ["price", "Prices"])]},
            "theme 'price' (en): the phrase 'Prices' is the same as 'price' once stemmed (price), already in this",
        ),
        (
            {"themes": [theme("price", ["price"]), theme("cost", ["pricing"])]},
            "theme 'cost' (en): the phrase 'pricing' is the same as 'price' once stemmed (price),"
            " also in theme 'price'",
        ),
        (
            {"themes": [theme("price", ["x"], ["Größe"]), theme("size", ["y"], ["groesse"])]},
            "theme 'size' (de): the phrase 'groesse' is the same as 'Größe'",
        ),
        (
            {"themes": [{**theme("price", ["price"]), "phrases": {"en": ["price"]}}]},
            "theme 'price' has no phrases in de",
        ),
        ({"themes": [{**theme("price", ["price"]), "label": {"en": "Price"}}]}, "theme 'price' has no label in de"),
    ],
)
def test_a_bad_block_is_refused_with_a_message_naming_the_problem(reasons: dict[str, Any], message: str | None) -> None:
    if message is None:
        Survey.model_validate(survey(reasons))
        return
    assert message in refusal(survey(reasons))


def test_a_theme_in_a_locale_without_a_stemmer_is_refused_naming_theme_and_locale() -> None:
    # fr has no stemmer here (and no catalog): the taxonomy names it before the survey's locale check
    bad = {"themes": [{**theme("price", ["price"]), "phrases": {"en": ["price"], "de": ["Preis"], "fr": ["prix"]}}]}
    assert "theme 'price' (fr): no stemmer for locale 'fr'" in refusal(survey(bad))


def test_every_problem_of_a_taxonomy_is_named_at_once() -> None:
    bad = {"themes": [theme("price", ["price", "prices", "!"]), theme("cost", ["pricing"])]}
    message = refusal(survey(bad))
    assert "'prices' is the same as 'price'" in message
    assert "'!' has no word" in message
    assert "'pricing' is the same as 'price'" in message


def test_the_whole_taxonomy_is_bounded() -> None:
    per_theme = MAX_PHRASES
    themes = [theme(f"t{i}", [f"e{i}x{j}" for j in range(per_theme)]) for i in range(MAX_TAXONOMY_PHRASES // per_theme)]
    assert f"at most {MAX_TAXONOMY_PHRASES} in all locales" in refusal(survey({"themes": themes}))


@pytest.mark.parametrize("dimension", sorted(RESERVED_DIMENSIONS))
def test_driver_and_theme_are_reserved_segment_dimensions(dimension: str) -> None:
    message = refusal(survey(segment_dimensions=["plan", dimension]))
    assert f"{dimension} cannot be a segment dimension" in message


def test_a_stored_definition_reads_without_a_reserved_dimension_or_the_stem_comparison() -> None:
    # Given a definition stored before these rules (or before a stemmer upgrade made two phrases alike)
    stored = survey({"themes": [theme("price", ["price"]), theme("cost", ["pricing"])]}, segment_dimensions=["theme"])
    # When it is read back for a wave, Then it reads: the reserved dimension is left out, and the shared
    # phrase tags both themes
    definition = Survey.model_validate(stored, context=STORED)
    assert definition.segment_dimensions == []
    assert definition.reasons.tag("pricing", "en") == ("cost", "price")
