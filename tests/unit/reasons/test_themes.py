"""nps.reasons.themes: comments tagged with a taxonomy's themes by consecutive word stems, per locale."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.kernel.categories import MAX_COMMENT_LENGTH
from nps.reasons.themes import (
    CommentTooLong,
    EmptyPhrase,
    Tagger,
    UnstemmedLocale,
    compile_tagger,
    phrase_stems,
    stemmer_language,
    stems,
)

TAXONOMY = {
    "price": ["price", "too expensive", "cost"],
    "support": ["support", "help desk", "customer service"],
    "speed": ["slow", "fast"],
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return compile_tagger(TAXONOMY, "en")


# --------------------------------------------------------------------------------------------------
# Locales and stemmers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "language"),
    [("en", "english"), ("en-GB", "english"), ("EN_us", "english"), ("es-MX", "spanish"), ("de-AT", "german")],
)
def test_a_locale_takes_the_stemmer_of_its_language(locale: str, language: str) -> None:
    assert stemmer_language(locale) == language


@pytest.mark.parametrize("locale", ["fr", "ja", "", "xx-en"])
def test_a_locale_without_a_stemmer_is_refused_by_name(locale: str) -> None:
    assert stemmer_language(locale) is None
    with pytest.raises(UnstemmedLocale, match=repr(locale)):
        compile_tagger({"price": ["prix"]}, locale)
    with pytest.raises(UnstemmedLocale):
        stems("prix", locale)


# --------------------------------------------------------------------------------------------------
# What becomes a stem
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        # Inflections share a stem; a longer word keeps its own
        ("Prices pricing PRICE", "en", ("price", "price", "price")),
        ("priceless", "en", ("priceless",)),
        # Hyphens and punctuation separate words; an apostrophe joins them
        ("Follow-up, please!", "en", ("follow", "up", "pleas")),
        ("don\u2019t", "en", ("don't",)),
        # English loses its accents; ligatures and full-width letters are unfolded by NFKC
        ("Café naïve", "en", ("cafe", "naiv")),
        ("\ufb01ne \uff53\uff4c\uff4f\uff57", "en", ("fine", "slow")),
        # Spanish: the stemmer folds the acute accents but keeps ñ
        ("fácil facil", "es", ("facil", "facil")),
        ("año ano", "es", ("año", "ano")),
        # German: the stemmer folds umlauts and ß, also written out as ae/oe/ue and ss
        ("Größe grösse groesse GRÖSSE", "de", ("gross", "gross", "gross", "gross")),
        ("Straße strasse", "de", ("strass", "strass")),
        # Decomposed input (u + combining diaeresis) is the same word as precomposed
        ("Gro\u0308\u00dfe", "de", ("gross",)),
        # Invisible format characters pasted into a word (soft hyphen, zero-width space and joiners, word
        # joiner, byte order mark) do not split it: it is the word it shows
        ("sup\u00adport pri\u200bce", "en", ("support", "price")),
        ("Kunden\u00addienst Pre\u2060is", "de", ("kundendien", "preis")),
        ("\ufeffprecio ca\u200dro", "es", ("preci", "car")),
    ],
)
def test_text_becomes_stems(text: str, locale: str, expected: tuple[str, ...]) -> None:
    assert stems(text, locale) == expected


@pytest.mark.parametrize("phrase", ["", "   ", "!!!", "—", "..."])
def test_a_phrase_without_a_word_is_refused(phrase: str) -> None:
    with pytest.raises(EmptyPhrase):
        phrase_stems(phrase, "en")


# --------------------------------------------------------------------------------------------------
# Tagging
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("The prices went up", ("price",)),
        ("Pricing is fair and support was quick", ("price", "support")),
        # Not a substring match
        ("Priceless! Supportive staff", ("support",)),  # supportive stems to support; priceless does not
        ("The costume was fine", ()),
        # Multi-word phrases need their stems adjacent and in order
        ("Way too expensive", ("price",)),
        ("Too much, and expensive", ()),
        ("The Help-Desk answered", ("support",)),
        ("The desk helped", ()),
        # Negation is not handled: a theme says what a comment is about
        ("Not slow at all", ("speed",)),
        ("", ()),
        ("   \n\t", ()),
    ],
)
def test_a_comment_is_tagged_with_the_themes_of_the_phrases_it_contains(
    tagger: Tagger, comment: str, expected: tuple[str, ...]
) -> None:
    assert tagger.tag(comment) == expected


def test_spanish_and_german_comments_are_tagged_on_their_stems() -> None:
    spanish = compile_tagger({"precio": ["precio", "muy caro"], "atencion": ["atención al cliente"]}, "es")
    german = compile_tagger({"preis": ["Preis", "zu teuer"], "groesse": ["Größe"]}, "de")
    assert spanish.tag("Los precios son MUY CAROS y la atencion al cliente, lenta") == ("atencion", "precio")
    assert german.tag("Die Preise sind zu teuer, die Groesse passt") == ("groesse", "preis")


def test_a_phrase_of_two_themes_tags_both() -> None:
    tagger = compile_tagger({"b": ["price"], "a": ["pricing"]}, "en")
    assert tagger.tag("price") == ("a", "b")
    assert tagger.theme_ids == frozenset({"a", "b"})


def test_an_empty_taxonomy_tags_nothing() -> None:
    assert compile_tagger({}, "en").tag("anything at all") == ()


def test_a_comment_over_the_limit_is_refused(tagger: Tagger) -> None:
    assert tagger.tag("x " * (MAX_COMMENT_LENGTH // 2)) == ()
    with pytest.raises(CommentTooLong):
        tagger.tag("x" * (MAX_COMMENT_LENGTH + 1))


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

VOCABULARY = (
    "price prices cost support help desk customer service slow fast too expensive the was and not very "
    "good bad app login onboarding team billing invoice priceless supportive"
)
WORDS = st.sampled_from(VOCABULARY.split(" "))
PHRASES = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)
TAXONOMIES = st.dictionaries(
    st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.lists(PHRASES, min_size=1, max_size=4), min_size=1, max_size=6
)
COMMENTS = st.lists(WORDS, max_size=30).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(taxonomy=TAXONOMIES, comment=COMMENTS, seed=st.integers(0, 2**32 - 1))
def test_tags_do_not_depend_on_the_order_of_themes_or_phrases(
    taxonomy: dict[str, list[str]], comment: str, seed: int
) -> None:
    shuffled_themes = list(taxonomy.items())
    random.Random(seed).shuffle(shuffled_themes)
    shuffled = {theme: random.Random(seed).sample(phrases, len(phrases)) for theme, phrases in shuffled_themes}
    first, second = compile_tagger(taxonomy, "en"), compile_tagger(shuffled, "en")
    assert first == second
    assert first.tag(comment) == second.tag(comment) == compile_tagger(taxonomy, "en").tag(comment)


@settings(max_examples=150, deadline=None)
@given(taxonomy=TAXONOMIES, comment=COMMENTS)
def test_tags_are_sorted_unique_ids_of_the_taxonomy(taxonomy: dict[str, list[str]], comment: str) -> None:
    tags = compile_tagger(taxonomy, "en").tag(comment)
    assert list(tags) == sorted(set(tags))
    assert set(tags) <= set(taxonomy)


@settings(max_examples=150, deadline=None)
@given(
    taxonomy=TAXONOMIES,
    before=COMMENTS,
    after=COMMENTS,
    data=st.data(),
    locale=st.sampled_from(["en", "en-GB"]),
)
def test_a_phrase_tags_a_comment_that_is_it_or_contains_it(
    taxonomy: dict[str, list[str]], before: str, after: str, data: st.DataObject, locale: str
) -> None:
    theme = data.draw(st.sampled_from(sorted(taxonomy)))
    phrase = data.draw(st.sampled_from(taxonomy[theme]))
    tagger = compile_tagger(taxonomy, locale)
    assert theme in tagger.tag(phrase)
    assert theme in tagger.tag(phrase.upper())
    assert theme in tagger.tag(f"{before}, {phrase}! {after}")


@settings(max_examples=100, deadline=None)
@given(
    phrase=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40),
    locale=st.sampled_from(["en", "es", "de"]),
)
def test_any_phrase_with_a_word_tags_itself_in_every_language(phrase: str, locale: str) -> None:
    try:
        tagger = compile_tagger({"t": [phrase]}, locale)
    except EmptyPhrase:
        assert stems(phrase, locale) == ()
        return
    assert tagger.tag(phrase) == ("t",)


@settings(max_examples=100, deadline=None)
@given(comment=st.text(max_size=300))
def test_any_text_is_tagged_without_error(tagger: Tagger, comment: str) -> None:
    assert set(tagger.tag(comment)) <= set(TAXONOMY)
