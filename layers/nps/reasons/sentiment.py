"""Optional sentiment and key phrases of a comment (Amazon Comprehend): the pure rules and the one step.

The ``comment_sentiment`` function (deployed only with ``-c commentSentiment=true``) runs
:func:`analyse_comment` once per ``NPS Comment Received`` event. This module decides everything that
needs no AWS: which Comprehend language a response's locale maps to (:func:`comprehend_language`), how
a comment is cut to Comprehend's 5,000-byte limit (:func:`truncate_utf8`), the digest that says which
comment an analysis belongs to (:func:`comment_digest`), which key phrases are kept
(:func:`top_key_phrases`), and the order of the step itself over two small interfaces
(:class:`CommentStore`, :class:`TextAnalyser`) that the adapters implement
(``nps.responding.adapters.sentiment``). No clients, no clocks, no pydantic. docs/comment-sentiment.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

#: Comprehend's limit for DetectSentiment, in UTF-8 bytes (DetectKeyPhrases takes 100 KB; the smaller
#: limit applies to the one text both calls analyse).
MAX_TEXT_BYTES = 5000
#: Key phrases kept per comment (highest score first) and the characters kept of each.
MAX_KEY_PHRASES = 10
MAX_KEY_PHRASE_LENGTH = 100
#: Languages Amazon Comprehend supports for both DetectSentiment and DetectKeyPhrases
#: (https://docs.aws.amazon.com/comprehend/latest/dg/supported-languages.html: "Sentiment" and "Key
#: phrases" take all the supported languages). Traditional Chinese is its own code.
COMPREHEND_LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "zh", "zh-TW"})
_TRADITIONAL_CHINESE = frozenset({"zh-tw", "zh-hk", "zh-mo", "zh-hant"})
#: Comprehend's labels, as stored on the response (lower case).
SENTIMENT_LABELS = ("positive", "negative", "neutral", "mixed")
#: Digits kept of each sentiment score (Comprehend answers 0-1 floats; DynamoDB stores Decimals).
_SCORE_PLACES = Decimal("0.0001")


def comprehend_language(locale: str | None) -> str | None:
    """The Comprehend ``LanguageCode`` for a response's locale, or None when Comprehend cannot analyse it.

    ``de``, ``de-AT`` and ``de_AT`` → ``de``; ``zh-TW``, ``zh-HK`` and ``zh-Hant`` → ``zh-TW``; other
    Chinese → ``zh``; a language Comprehend does not support for both sentiment and key phrases (``nl``,
    ``pl``...) or an empty locale → None.
    """
    if not locale:
        return None
    tag = locale.strip().replace("_", "-").lower()
    primary = tag.split("-")[0]
    if primary == "zh":
        return "zh-TW" if any(tag.startswith(t) for t in _TRADITIONAL_CHINESE) else "zh"
    return primary if primary in COMPREHEND_LANGUAGES else None


def truncate_utf8(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes, cut between characters."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    # Drop the bytes of a character cut in half (continuation bytes are 0b10xxxxxx).
    return encoded[:limit].decode("utf-8", errors="ignore")


def comment_digest(comment: str) -> str:
    """``sha256:<hex>`` of the comment's UTF-8 text: which comment a stored analysis belongs to.

    It reveals nothing the item does not already hold (the comment is stored beside it) and is erased
    with it (docs/comment-sentiment.md, "Erasing").
    """
    return "sha256:" + hashlib.sha256(comment.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyPhrase:
    """One key phrase Comprehend found: its text and its confidence (0-1)."""

    text: str
    score: Decimal


def top_key_phrases(
    phrases: Iterable[tuple[str, float]], limit: int = MAX_KEY_PHRASES, max_length: int = MAX_KEY_PHRASE_LENGTH
) -> tuple[KeyPhrase, ...]:
    """At most ``limit`` phrases, highest score first, each stripped and cut to ``max_length`` characters,
    each once (case-insensitive; the first spelling wins), empty ones dropped. Equal scores keep
    Comprehend's order (order of appearance)."""
    ranked = sorted(enumerate(phrases), key=lambda item: (-item[1][1], item[0]))
    seen: set[str] = set()
    kept: list[KeyPhrase] = []
    for _, (text, score) in ranked:
        phrase = " ".join(text.split())[:max_length].strip()
        if not phrase or phrase.casefold() in seen:
            continue
        seen.add(phrase.casefold())
        kept.append(KeyPhrase(phrase, _score(score)))
        if len(kept) == limit:
            break
    return tuple(kept)


def _score(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_SCORE_PLACES)


@dataclass(frozen=True, slots=True)
class Detection:
    """What Comprehend said of one text: the label (:data:`SENTIMENT_LABELS`), each label's score, and the
    key phrases (text and score, in Comprehend's order)."""

    label: str
    scores: Mapping[str, float]
    phrases: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class SentimentAnalysis:
    """What is stored on the response: ``sentiment`` (label), ``sentiment_scores`` (label → Decimal 0-1),
    ``key_phrases`` (:func:`top_key_phrases`), the Comprehend ``language``, the digest of the analysed
    comment and whether the text was cut to :data:`MAX_TEXT_BYTES`."""

    label: str
    scores: Mapping[str, Decimal]
    key_phrases: tuple[KeyPhrase, ...]
    language: str
    digest: str
    truncated: bool


def analysis_of(detection: Detection, language: str, digest: str, truncated: bool) -> SentimentAnalysis:
    """The stored form of a detection. Raises ``ValueError`` for a label Comprehend does not document."""
    label = detection.label.lower()
    if label not in SENTIMENT_LABELS:
        raise ValueError(f"unknown sentiment label {detection.label!r}")
    scores = {
        name.lower(): _score(value) for name, value in detection.scores.items() if name.lower() in SENTIMENT_LABELS
    }
    return SentimentAnalysis(label, scores, top_key_phrases(detection.phrases), language, digest, truncated)


@dataclass(frozen=True, slots=True)
class CommentToAnalyse:
    """The response as the step reads it: its current comment, locale, whether it counts, and the digest
    of the comment last analysed (or skipped) on it."""

    comment: str | None
    locale: str | None
    counted: bool
    analysed_digest: str | None


class Outcome(StrEnum):
    """What :func:`analyse_comment` did (logged and counted; never the text)."""

    ANALYSED = "analysed"
    #: The current comment was analysed (or skipped) already: a redelivered or repeated event.
    ALREADY_ANALYSED = "already_analysed"
    #: The locale's language is not one Comprehend analyses: ``sentiment_skipped`` was recorded.
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    #: The comment changed (or was removed) while it was analysed: the newer comment's event analyses it.
    SUPERSEDED = "superseded"
    #: The response is gone (deleted) or has no comment (erased): nothing to analyse, nothing written.
    NO_COMMENT = "no_comment"
    #: The answer no longer counts (retracted as a mail scanner's): nothing analysed, nothing written.
    NOT_COUNTED = "not_counted"


class CommentStore(Protocol):
    def current(self, invite_id: str) -> CommentToAnalyse | None:
        """The response of ``invite_id`` as it is now (a consistent read), None when there is none."""
        ...

    def store_analysis(self, invite_id: str, comment: str, analysis: SentimentAnalysis) -> bool:
        """Write the analysis if the response still counts and still has ``comment``; False otherwise."""
        ...

    def store_skipped(self, invite_id: str, comment: str, digest: str, reason: str) -> bool:
        """Record why ``comment`` was not analysed, on the same condition; False when it no longer holds."""
        ...


class TextAnalyser(Protocol):
    def detect(self, text: str, language: str) -> Detection:
        """Sentiment and key phrases of ``text`` (at most :data:`MAX_TEXT_BYTES`) in ``language``.

        Raises whatever the service raises (throttling, a 5xx): the caller's message is retried.
        """
        ...


def analyse_comment(invite_id: str, store: CommentStore, analyser: TextAnalyser) -> Outcome:
    """Analyse the current comment of ``invite_id`` once and store the result on the response.

    The comment is read from the responses table (events carry ids, not text). A comment whose digest
    is already on the response is not analysed again; a locale Comprehend does not support records
    ``sentiment_skipped`` without calling it; a result is written only while the response still has
    the comment that was analysed, so an older comment's analysis never overwrites a newer one's.
    Errors of the analyser propagate (the message is retried, then parked in the DLQ).
    """
    response = store.current(invite_id)
    if response is None or not response.comment:
        return Outcome.NO_COMMENT
    if not response.counted:
        return Outcome.NOT_COUNTED
    digest = comment_digest(response.comment)
    if response.analysed_digest == digest:
        return Outcome.ALREADY_ANALYSED
    language = comprehend_language(response.locale)
    if language is None:
        stored = store.store_skipped(invite_id, response.comment, digest, "unsupported_language")
        return Outcome.UNSUPPORTED_LANGUAGE if stored else Outcome.SUPERSEDED
    text = truncate_utf8(response.comment)
    detection = analyser.detect(text, language)
    analysis = analysis_of(detection, language, digest, truncated=text != response.comment)
    return Outcome.ANALYSED if store.store_analysis(invite_id, response.comment, analysis) else Outcome.SUPERSEDED
