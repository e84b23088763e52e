"""nps.kernel.locales: choosing a supported locale and reading Accept-Language (catalogs: templates/i18n)."""

from __future__ import annotations

import pytest

from nps.kernel.locales import (
    DEFAULT_LOCALE,
    accept_language,
    catalog,
    resolve_locale,
    supported_locales,
    text_direction,
)


def test_supported_locales_are_the_catalogs_in_the_repository() -> None:
    assert {"en", "de", "es"} <= supported_locales()
    assert DEFAULT_LOCALE == "en"


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("de",), "de"),
        (("de-AT",), "de"),  # region falls back to the language
        (("de_AT",), "de"),  # POSIX spelling
        (("DE-at",), "de"),  # case-insensitive
        ((" es-MX ",), "es"),
        (("fr",), "en"),  # unsupported → English
        (("fr-CA",), "en"),
        (("zh-Hant-TW",), "en"),
        ((), "en"),
        ((None, ""), "en"),
        (("fr", "es"), "es"),  # first *supported* candidate wins
        ((None, "fr-CH", "de-AT", "es"), "de"),
        (("en-GB", "de"), "en"),
    ],
)
def test_resolve_locale(candidates: tuple[str | None, ...], expected: str) -> None:
    assert resolve_locale(*candidates) == expected


def test_resolve_locale_never_returns_an_unsupported_locale() -> None:
    for candidate in ("xx", "de-XX-yy", "-", "--", "123", "e", "*"):
        assert resolve_locale(candidate) in supported_locales()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("de", ["de"]),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ["fr-CH", "fr", "en", "de"]),
        ("en;q=0.5, de", ["de", "en"]),  # sorted by quality, not position
        ("es;q=0.8,de;q=0.8,en;q=0.9", ["en", "es", "de"]),  # ties keep header order
        ("de;q=0, en", ["en"]),  # q=0 means "not acceptable"
        ("de;q=abc, en;q=0.1", ["en"]),  # an unreadable q counts as 0
        ("*", []),
        (" , ,de", ["de"]),
    ],
)
def test_accept_language(header: str | None, expected: list[str]) -> None:
    assert accept_language(header) == expected


def test_accept_language_reads_at_most_20_entries() -> None:
    header = ",".join(f"x{i}" for i in range(100))
    assert accept_language(header) == [f"x{i}" for i in range(20)]


def test_browser_header_resolves_to_the_best_supported_locale() -> None:
    # Given a Swiss-French browser that also accepts German and English
    header = "fr-CH, fr;q=0.9, de-CH;q=0.8, en;q=0.7"
    # When resolved / Then the first supported one, German, is chosen (via de-CH → de)
    assert resolve_locale(*accept_language(header)) == "de"


def test_whitespace_around_parameters_does_not_stop_resolution() -> None:
    assert resolve_locale(*accept_language("fr ; q=0.9 , de ; q=0.5")) == "de"


def test_invite_locale_beats_the_browser() -> None:
    assert resolve_locale("es", *accept_language("de, en;q=0.5")) == "es"


def test_catalog_falls_back_to_english_for_missing_keys() -> None:
    english, german = catalog("en"), catalog("de")
    assert set(english) <= set(german)
    assert german["thank_you_title"] != english["thank_you_title"]
    assert catalog("xx") == english


@pytest.mark.parametrize(
    ("locale", "direction"),
    [("en", "ltr"), ("de", "ltr"), ("es-MX", "ltr"), ("ar", "rtl"), ("he-IL", "rtl"), ("fa_IR", "rtl"), ("", "ltr")],
)
def test_text_direction_follows_the_language(locale: str, direction: str) -> None:
    assert text_direction(locale) == direction
