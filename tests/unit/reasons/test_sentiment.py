"""nps.reasons.sentiment: languages, the 5,000-byte cut, key phrases, and the once-per-comment step."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.reasons.sentiment import (
    MAX_KEY_PHRASE_LENGTH,
    MAX_KEY_PHRASES,
    MAX_TEXT_BYTES,
    CommentToAnalyse,
    Detection,
    Outcome,
    SentimentAnalysis,
    analyse_comment,
    analysis_of,
    comment_digest,
    comprehend_language,
    top_key_phrases,
    truncate_utf8,
)


# -- languages ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("en", "en"),
        ("de", "de"),
        ("de-AT", "de"),
        ("es_MX", "es"),
        ("PT-br", "pt"),
        ("fr", "fr"),
        ("ja", "ja"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh-TW", "zh-TW"),
        ("zh_hk", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
    ],
)
def test_a_locale_maps_to_the_comprehend_language_of_its_primary_subtag(locale: str, language: str) -> None:
    assert comprehend_language(locale) == language


@pytest.mark.parametrize("locale", ["nl", "pl-PL", "sv", "", None, "english", "x-klingon"])
def test_a_language_comprehend_cannot_analyse_has_no_code(locale: str | None) -> None:
    assert comprehend_language(locale) is None


# -- the byte limit ------------------------------------------------------------------------------------------
@given(st.text(max_size=3000), st.integers(min_value=0, max_value=MAX_TEXT_BYTES))
def test_truncation_is_the_longest_prefix_that_fits_cut_between_characters(text: str, limit: int) -> None:
    cut = truncate_utf8(text, limit)
    assert text.startswith(cut)
    assert len(cut.encode("utf-8")) <= limit
    # maximal: the next character would not fit
    if cut != text:
        assert len(text[: len(cut) + 1].encode("utf-8")) > limit


def test_a_comment_of_four_byte_characters_is_cut_to_5000_bytes_not_characters() -> None:
    comment = "😀" * 2000  # 8,000 bytes, 2,000 characters (the longest comment the platform takes)
    cut = truncate_utf8(comment)
    assert cut == "😀" * 1250
    assert truncate_utf8("short") == "short"


# -- key phrases ---------------------------------------------------------------------------------------------
def test_key_phrases_keep_the_ten_best_once_each_and_bounded() -> None:
    found = [(f"phrase {i}", i / 100) for i in range(30)]
    found += [("PHRASE 29", 0.99), ("  ", 1.0), ("x" * 500, 0.5)]
    kept = top_key_phrases(found)
    assert len(kept) == MAX_KEY_PHRASES
    assert kept[0].text == "PHRASE 29"  # highest score; the lower-scored "phrase 29" is the same phrase
    assert "phrase 29" not in [p.text for p in kept]
    assert all(0 < len(p.text) <= 100 for p in kept)
    assert [p.score for p in kept] == sorted((p.score for p in kept), reverse=True)
    assert kept[0].score == Decimal("0.9900")


@given(
    st.lists(st.tuples(st.text(max_size=300), st.floats(min_value=0, max_value=1, allow_nan=False)), max_size=60),
    st.integers(min_value=1, max_value=12),
)
def test_kept_key_phrases_are_bounded_unique_ranked_and_taken_from_what_comprehend_found(
    found: list[tuple[str, float]], limit: int
) -> None:
    kept = top_key_phrases(found, limit=limit)
    assert len(kept) <= limit
    assert all(0 < len(p.text) <= MAX_KEY_PHRASE_LENGTH and p.text == p.text.strip() for p in kept)
    assert len({p.text.casefold() for p in kept}) == len(kept)
    assert [p.score for p in kept] == sorted((p.score for p in kept), reverse=True)
    normalised = {" ".join(text.split())[:MAX_KEY_PHRASE_LENGTH].strip() for text, _ in found}
    assert {p.text for p in kept} <= normalised
    # nothing usable is dropped while there is room
    usable = {t.casefold() for t in normalised if t}
    assert len(kept) == min(limit, len(usable))


def test_an_analysis_stores_lower_case_labels_and_decimal_scores() -> None:
    detection = Detection("NEGATIVE", {"Positive": 0.01, "Negative": 0.9712345, "Neutral": 0.01, "Mixed": 0.0}, ())
    analysis = analysis_of(detection, "en", "sha256:x", truncated=False)
    assert analysis.label == "negative"
    assert analysis.scores["negative"] == Decimal("0.9712")
    assert set(analysis.scores) == {"positive", "negative", "neutral", "mixed"}
    with pytest.raises(ValueError, match="unknown sentiment label"):
        analysis_of(replace(detection, label="ANGRY"), "en", "sha256:x", truncated=False)


# -- the step ----------------------------------------------------------------------------------------------
@dataclass
class FakeStore:
    response: CommentToAnalyse | None
    #: The comment as it is when the write arrives (a newer one replaced it meanwhile when different).
    comment_at_write: str | None = None
    analyses: list[SentimentAnalysis] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def current(self, invite_id: str) -> CommentToAnalyse | None:
        return self.response

    def _holds(self, comment: str) -> bool:
        now = self.comment_at_write if self.comment_at_write is not None else (self.response and self.response.comment)
        return now == comment

    def store_analysis(self, invite_id: str, comment: str, analysis: SentimentAnalysis) -> bool:
        if not self._holds(comment):
            return False
        self.analyses.append(analysis)
        assert self.response is not None
        self.response = replace(self.response, analysed_digest=analysis.digest)
        return True

    def store_skipped(self, invite_id: str, comment: str, digest: str, reason: str) -> bool:
        if not self._holds(comment):
            return False
        self.skipped.append(reason)
        return True


@dataclass
class FakeAnalyser:
    calls: list[tuple[str, str]] = field(default_factory=list)
    error: Exception | None = None

    def detect(self, text: str, language: str) -> Detection:
        self.calls.append((text, language))
        if self.error is not None:
            raise self.error
        return Detection("POSITIVE", {"Positive": 0.9, "Negative": 0.05}, (("fast delivery", 0.99),))


def response(comment: str | None = "Fast delivery", locale: str = "en", counted: bool = True) -> CommentToAnalyse:
    return CommentToAnalyse(comment=comment, locale=locale, counted=counted, analysed_digest=None)


def test_a_comment_is_analysed_in_its_locale_and_stored_with_its_digest() -> None:
    store, analyser = FakeStore(response(locale="de-CH")), FakeAnalyser()
    assert analyse_comment("inv-1", store, analyser) is Outcome.ANALYSED
    assert analyser.calls == [("Fast delivery", "de")]
    (analysis,) = store.analyses
    assert (analysis.label, analysis.language, analysis.truncated) == ("positive", "de", False)
    assert analysis.digest == comment_digest("Fast delivery")
    assert [p.text for p in analysis.key_phrases] == ["fast delivery"]


def test_a_redelivered_event_does_not_call_comprehend_again() -> None:
    store, analyser = FakeStore(response()), FakeAnalyser()
    analyse_comment("inv-1", store, analyser)
    assert analyse_comment("inv-1", store, analyser) is Outcome.ALREADY_ANALYSED
    assert len(analyser.calls) == 1
    assert len(store.analyses) == 1


def test_a_changed_comment_is_analysed_again() -> None:
    store, analyser = FakeStore(response("Slow")), FakeAnalyser()
    analyse_comment("inv-1", store, analyser)
    assert store.response is not None
    store.response = replace(store.response, comment="Slow, but friendly")
    assert analyse_comment("inv-1", store, analyser) is Outcome.ANALYSED
    assert [text for text, _ in analyser.calls] == ["Slow", "Slow, but friendly"]


def test_an_older_comments_result_never_overwrites_a_newer_comment() -> None:
    # Given a comment replaced by a newer one while Comprehend analysed it
    store, analyser = FakeStore(response("Slow"), comment_at_write="Slow, but friendly"), FakeAnalyser()
    # Then the result is not written (the newer comment's own event analyses it)
    assert analyse_comment("inv-1", store, analyser) is Outcome.SUPERSEDED
    assert store.analyses == []


def test_an_unsupported_language_is_recorded_as_skipped_without_calling_comprehend() -> None:
    store, analyser = FakeStore(response(locale="nl")), FakeAnalyser()
    assert analyse_comment("inv-1", store, analyser) is Outcome.UNSUPPORTED_LANGUAGE
    assert store.skipped == ["unsupported_language"]
    assert analyser.calls == []


@pytest.mark.parametrize(
    ("stored", "outcome"),
    [
        (None, Outcome.NO_COMMENT),  # the response was deleted
        (response(comment=None), Outcome.NO_COMMENT),  # its comment was erased
        (response(comment=""), Outcome.NO_COMMENT),
        (response(counted=False), Outcome.NOT_COUNTED),  # retracted as a scanner's answer
    ],
)
def test_a_gone_erased_or_retracted_response_is_a_no_op(stored: CommentToAnalyse | None, outcome: Outcome) -> None:
    store, analyser = FakeStore(stored), FakeAnalyser()
    assert analyse_comment("inv-1", store, analyser) is outcome
    assert analyser.calls == []
    assert store.analyses == []
    assert store.skipped == []


def test_a_long_comment_is_analysed_cut_and_marked_truncated() -> None:
    comment = "é" * 2000 + "ü" * 2000  # 8,000 bytes
    store, analyser = FakeStore(response(comment)), FakeAnalyser()
    analyse_comment("inv-1", store, analyser)
    ((text, _),) = analyser.calls
    assert len(text.encode("utf-8")) == MAX_TEXT_BYTES
    assert store.analyses[0].truncated
    assert store.analyses[0].digest == comment_digest(comment)  # the whole comment's, not the cut text's


def test_a_comprehend_failure_propagates_and_stores_nothing() -> None:
    store, analyser = FakeStore(response()), FakeAnalyser(error=RuntimeError("ThrottlingException"))
    with pytest.raises(RuntimeError):
        analyse_comment("inv-1", store, analyser)
    assert store.analyses == []
