"""The theme-tagging benchmark's synthetic data: a valid 50-theme taxonomy in every locale, and comments it tags."""

from __future__ import annotations

import pytest

from benchmarks import theme_tagging
from nps.reasons.definition import Reasons
from nps.reasons.themes import compile_tagger


@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_the_synthetic_taxonomy_is_one_a_survey_could_save_and_it_tags_most_comments(locale: str) -> None:
    # Given the benchmark's taxonomy and comments
    phrases = theme_tagging.taxonomy(locale)
    comments = theme_tagging.comments(locale, count=200)
    # Then it has 50 themes of 10 phrases, passes the definition's checks but for single words repeated
    # across themes (the one-word phrases cycle through the word list)
    assert len(phrases) == theme_tagging.THEMES
    assert {len(own) for own in phrases.values()} == {theme_tagging.PHRASES_PER_THEME}
    pairs = {theme: own[1:] for theme, own in phrases.items()}
    Reasons.model_validate(
        {"themes": [{"id": t, "label": {locale: t}, "phrases": {locale: own}} for t, own in pairs.items()]}
    )
    # And the comments are tagged (the figure times real matching, not an empty loop)
    tagger = compile_tagger(phrases, locale)
    assert sum(1 for comment in comments if tagger.tag(comment)) > 150
