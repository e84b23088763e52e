"""The respond function's theme tagger: the survey's taxonomy read once per survey and locale, kept for at
most two minutes and 64 entries, and never in the way of a comment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nps.kernel import aws
from nps.kernel.categories import MAX_COMMENT_LENGTH
from nps.responding.adapters.taxonomy import CACHE_SECONDS, CACHE_SIZE, DynamoThemeTagger, taxonomy_phrases

THEMES = [
    {"id": "price", "label": {"en": "Price"}, "phrases": {"en": ["price", "too expensive"], "de": ["Preis"]}},
    {"id": "support", "label": {"en": "Support"}, "phrases": {"en": ["support"]}},
]


class FakeSurveys:
    """``get_item`` of the surveys table: the stored definition of any survey id, counted."""

    def __init__(self, themes: Any = THEMES, fail: Exception | None = None) -> None:
        self.text = json.dumps({"survey_id": "s", "reasons": {"themes": themes}})
        self.fail = fail
        self.reads: list[str] = []

    def get_item(self, **request: Any) -> dict[str, Any]:
        assert request["ProjectionExpression"] == "#definition"
        self.reads.append(request["Key"]["survey_id"]["S"])
        if self.fail is not None:
            raise self.fail
        return {"Item": {"definition": {"S": self.text}}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def surveys(monkeypatch: pytest.MonkeyPatch) -> FakeSurveys:
    fake = FakeSurveys()
    monkeypatch.setattr(aws, "client", lambda service: fake)
    return fake


def test_a_comment_is_tagged_with_the_themes_of_its_locale(surveys: FakeSurveys) -> None:
    tagger = DynamoThemeTagger("surveys")
    assert tagger.tag("s", "en", "Support said the pricing is too expensive") == ("price", "support")
    assert tagger.tag("s", "de", "Der Preis!") == ("price",)
    assert tagger.tag("s", "es", "El precio") == ()  # no phrases in Spanish


def test_the_taxonomy_is_read_once_per_survey_and_locale_until_it_expires(surveys: FakeSurveys) -> None:
    clock = Clock()
    tagger = DynamoThemeTagger("surveys", clock=clock)
    for _ in range(5):
        tagger.tag("s", "en", "support")
    assert surveys.reads == ["s"]
    clock.now += CACHE_SECONDS - 1
    tagger.tag("s", "en", "support")
    assert surveys.reads == ["s"]
    # After the time to live a changed taxonomy is read again
    clock.now += 2
    tagger.tag("s", "en", "support")
    assert surveys.reads == ["s", "s"]
    assert CACHE_SECONDS <= 300


def test_the_cache_is_bounded_and_drops_the_least_recently_used(surveys: FakeSurveys) -> None:
    tagger = DynamoThemeTagger("surveys")
    for number in range(CACHE_SIZE + 10):
        tagger.tag(f"s{number}", "en", "support")
    tagger.tag(f"s{CACHE_SIZE + 9}", "en", "support")  # recent: still cached
    assert len(surveys.reads) == CACHE_SIZE + 10
    tagger.tag("s0", "en", "support")  # dropped: read again
    assert len(surveys.reads) == CACHE_SIZE + 11
    assert len(tagger._cache) == CACHE_SIZE


def test_a_failed_read_gives_no_themes_and_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSurveys(fail=RuntimeError("throttled"))
    monkeypatch.setattr(aws, "client", lambda service: fake)
    tagger = DynamoThemeTagger("surveys")
    assert tagger.tag("s", "en", "support") == ()
    assert tagger.tag("s", "en", "support") == ()
    assert fake.reads == ["s", "s"]


@pytest.mark.parametrize(
    "themes",
    [
        "price",  # not a list
        [{"id": 5, "phrases": {"en": ["x"]}}],  # not an id
        [{"id": "p", "phrases": {"en": "price"}}],  # phrases not a list
        [{"id": "p", "phrases": {"en": ["..."]}}],  # a phrase without a word
    ],
)
def test_a_definition_that_cannot_be_read_gives_no_themes(monkeypatch: pytest.MonkeyPatch, themes: Any) -> None:
    monkeypatch.setattr(aws, "client", lambda service: FakeSurveys(themes))
    assert DynamoThemeTagger("surveys").tag("s", "en", "price") == ()


def test_a_locale_without_a_stemmer_gives_no_themes(monkeypatch: pytest.MonkeyPatch) -> None:
    themes = [{"id": "price", "phrases": {"fr": ["prix"]}}]
    monkeypatch.setattr(aws, "client", lambda service: FakeSurveys(themes))
    assert DynamoThemeTagger("surveys").tag("s", "fr", "le prix") == ()


def test_a_comment_over_the_taggers_limit_gives_no_themes(surveys: FakeSurveys) -> None:
    assert DynamoThemeTagger("surveys").tag("s", "en", "price " * MAX_COMMENT_LENGTH) == ()


def test_phrases_of_one_locale_come_from_the_stored_definition() -> None:
    assert taxonomy_phrases({"reasons": {"themes": THEMES}}, "en") == {
        "price": ["price", "too expensive"],
        "support": ["support"],
    }
    assert taxonomy_phrases({}, "en") == {}
    assert taxonomy_phrases({"reasons": {}}, "en") == {}
