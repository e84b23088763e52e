"""The message catalogs (templates/i18n/*.json) read as one product in every language: the same keys and
placeholders as English, one word per concept, each language's punctuation, one register per language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nps.kernel.locales import DEFAULT_LOCALE, supported_locales, templates_dir

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def raw_catalog(locale: str) -> dict[str, str]:
    """A catalog file as written (``catalog()`` fills missing keys from English, which would hide gaps)."""
    data: dict[str, str] = json.loads((Path(templates_dir()) / "i18n" / f"{locale}.json").read_text("utf-8"))
    return data


LOCALES = sorted(supported_locales())
OTHER_LOCALES = [locale for locale in LOCALES if locale != DEFAULT_LOCALE]
ENGLISH = raw_catalog(DEFAULT_LOCALE)


def test_the_catalogs_are_english_german_and_spanish_at_least() -> None:
    assert {"en", "de", "es"} <= set(LOCALES)


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_catalog_has_the_same_keys_as_english(locale: str) -> None:
    keys = set(raw_catalog(locale))
    assert sorted(set(ENGLISH) - keys) == [], "missing"
    assert sorted(keys - set(ENGLISH)) == [], "not in English"


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_message_has_the_same_placeholders_as_english(locale: str) -> None:
    catalog = raw_catalog(locale)
    different = {
        key: (sorted(PLACEHOLDER.findall(value)), sorted(PLACEHOLDER.findall(catalog.get(key, ""))))
        for key, value in ENGLISH.items()
        if key in catalog and sorted(PLACEHOLDER.findall(value)) != sorted(PLACEHOLDER.findall(catalog[key]))
    }
    assert different == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_no_broken_placeholder_braces_or_stray_spaces(locale: str) -> None:
    for key, value in raw_catalog(locale).items():
        # Braces only as whole placeholders ({brand}, not { brand } or a lone brace)
        assert value.count("{") == value.count("}") == len(PLACEHOLDER.findall(value)), key
        assert value == value.strip(), key
        assert "  " not in value, key
        assert not re.search(r" [,.:;!?]", value.replace("¿", "").replace("¡", "")), key


def test_spanish_questions_and_exclamations_open_with_inverted_marks() -> None:
    for key, value in raw_catalog("es").items():
        assert value.count("¿") == value.count("?"), key
        assert value.count("¡") == value.count("!"), key
        # Each opening mark comes before its closing one
        assert re.fullmatch(r"[^¿?]*(¿[^¿?]*\?[^¿?]*)*", value), key


def test_german_uses_german_quotation_marks() -> None:
    for key, value in raw_catalog("de").items():
        assert '"' not in value, key
        assert value.count("„") == value.count("\u201c"), key  # „…“
        assert "\u201d" not in value, key  # the English closing mark ”


#: Marks of the formal *usted* register: the pronouns and the usted imperatives and verb forms the
#: catalog would use. Kept free of false positives on its own phrasing: "le" counts except after
#: "a quien (también)" (a third person there), "toque" except as the noun "un toque" (a tap).
USTED_MARKERS = [
    r"\busted(es)?\b",
    r"\bsus?\b",
    r"(?<!quien )(?<!también )\ble\b",
    r"(?<!un )\btoque\b",
    r"\bdarse\b",
    r"\b(responda|elija|abra|escriba|vuelva|compruebe|acorte|conoce|recibe|respondió|comparta|compártalo)\b",
]


@pytest.mark.parametrize("marker", USTED_MARKERS)
def test_spanish_addresses_the_reader_as_tu_throughout(marker: str) -> None:
    found = {key: value for key, value in raw_catalog("es").items() if re.search(marker, value, re.IGNORECASE)}
    assert found == {}


def test_the_usted_markers_catch_the_formal_register() -> None:
    formal = [
        "Gracias por su respuesta.",
        "Alguien se pondrá en contacto con usted.",
        "Responda a este correo.",
        "Le escribiremos pronto.",
        "Darse de baja de estas encuestas",
        "Recibe este correo porque respondió a una encuesta.",
        "Toque un número.",
    ]
    for text in formal:
        assert any(re.search(marker, text, re.IGNORECASE) for marker in USTED_MARKERS), text


def test_the_german_invite_says_einmal_tippen_genuegt() -> None:
    german = raw_catalog("de")
    assert german["email_intro"].startswith("Einmal tippen genügt")
    assert "Einmal tippen genügt" in german["email_reminder_intro"]
    assert not any("Ein Tipp" in value for value in german.values())


#: One word per concept in each language: the term every message about it uses, and the synonyms that
#: would make a reader wonder whether it is something else.
TERMS: dict[str, dict[str, tuple[str, str | None]]] = {
    "unsubscribe": {
        "en": (r"[Uu]nsubscrib", r"opt(ed)? out|opt-out"),
        "de": (r"[Aa]b(ge)?meld", r"austragen|Abbestell|abbestell"),
        "es": (r"de baja", r"cancelar la suscripci|desuscrib"),
    },
    "survey": {
        "en": (r"[Ss]urvey", r"questionnaire|poll\b"),
        "de": (r"Umfrage", r"Befragung|Fragebogen"),
        "es": (r"encuesta", r"sondeo|cuestionario"),
    },
    "score": {
        "en": (r"[Ss]core", r"\brating\b|\bgrade\b"),
        "de": (r"Bewertung", r"Punktzahl|\bNote\b|Wertung"),
        "es": (r"[Pp]untuaci", r"calificaci|\bnota\b"),
    },
}
#: The messages about each concept (each must use the term).
CONCEPT_KEYS = {
    "unsubscribe": [
        "email_unsubscribe",
        "unsubscribe_confirm_title",
        "unsubscribe_button",
        "unsubscribed_title",
        "sms_invite",
        "sms_reminder",
    ],
    "survey": ["link_expired_title", "email_unsubscribe", "unsubscribe_confirm_title", "unsubscribed_body"],
    "score": ["comment_question", "score_label", "bad_score_title", "comment_before_score_title", "confirm_failed"],
}


@pytest.mark.parametrize("concept", sorted(TERMS))
@pytest.mark.parametrize("locale", ["en", "de", "es"])
def test_each_concept_has_one_word_per_language(locale: str, concept: str) -> None:
    term, synonyms = TERMS[concept][locale]
    catalog = raw_catalog(locale)
    assert [key for key in CONCEPT_KEYS[concept] if not re.search(term, catalog[key])] == []
    if synonyms:
        assert {key: value for key, value in catalog.items() if re.search(synonyms, value)} == {}


def test_german_keeps_bewertung_for_the_score_and_rezension_for_a_review() -> None:
    german = raw_catalog("de")
    assert "Bewertung" not in german["follow_up_review_intro"] + german["follow_up_review_cta"]
    assert "Rezension" in german["follow_up_review_cta"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", ["sms_invite", "sms_reminder"])
def test_every_locale_has_its_own_sms_with_the_link_and_stop(locale: str, key: str) -> None:
    text = raw_catalog(locale)[key]
    assert text.count("{link}") == 1
    assert "{brand}" in text
    assert "STOP" in text
    if locale != DEFAULT_LOCALE:
        assert text != ENGLISH[key]
