"""NPS categories: 9–10 promoter, 7–8 passive, 0–6 detractor."""

from __future__ import annotations

from enum import StrEnum

MIN_SCORE = 0
MAX_SCORE = 10
SCORES = range(MIN_SCORE, MAX_SCORE + 1)
#: The longest comment an answer carries (characters): the pages, the respond function and the event
#: contract share it (kept here, beside the scale, so the respond path never needs pydantic for it).
MAX_COMMENT_LENGTH = 2000


class Category(StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


class ScoreOutOfRange(ValueError):
    """A score outside 0–10 (or not an integer) was given."""


def is_valid_score(score: object) -> bool:
    """True for an int 0–10 (bools are not scores)."""
    return isinstance(score, int) and not isinstance(score, bool) and MIN_SCORE <= score <= MAX_SCORE


def categorize(score: int) -> Category:
    """Map a 0–10 score to its category; raise :class:`ScoreOutOfRange` otherwise."""
    if not is_valid_score(score):
        raise ScoreOutOfRange(f"score must be an integer from {MIN_SCORE} to {MAX_SCORE}, got {score!r}")
    if score >= 9:
        return Category.PROMOTER
    if score >= 7:
        return Category.PASSIVE
    return Category.DETRACTOR


def parse_score(raw: str | None) -> int:
    """Parse a score from a query string or form value (strict: digits only, 0–10)."""
    if raw is None or not (1 <= len(raw) <= 2) or not raw.isascii() or not raw.isdigit():
        raise ScoreOutOfRange(f"score must be an integer from {MIN_SCORE} to {MAX_SCORE}")
    score = int(raw)
    categorize(score)
    return score
