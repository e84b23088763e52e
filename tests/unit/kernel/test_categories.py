"""nps.kernel.categories: the 0–10 scale, its three categories and the strict parsing of a score from a link."""

from __future__ import annotations

import pytest

from nps.kernel.categories import Category, ScoreOutOfRange, categorize, is_valid_score, parse_score


@pytest.mark.parametrize("score", [0, 1, 2, 3, 4, 5, 6])
def test_scores_zero_to_six_are_detractors(score: int) -> None:
    # Given a score from 0 to 6 / When it is categorized / Then it is a detractor
    assert categorize(score) is Category.DETRACTOR


@pytest.mark.parametrize("score", [7, 8])
def test_scores_seven_and_eight_are_passives(score: int) -> None:
    assert categorize(score) is Category.PASSIVE


@pytest.mark.parametrize("score", [9, 10])
def test_scores_nine_and_ten_are_promoters(score: int) -> None:
    assert categorize(score) is Category.PROMOTER


def test_every_score_on_the_scale_has_exactly_the_expected_category() -> None:
    # Given the whole 0–10 scale / When each score is categorized
    categories = [categorize(score) for score in range(11)]
    # Then the boundaries sit between 6|7 and 8|9
    assert categories == [Category.DETRACTOR] * 7 + [Category.PASSIVE] * 2 + [Category.PROMOTER] * 2


def test_category_values_are_the_lowercase_names_used_in_storage_and_events() -> None:
    assert [c.value for c in Category] == ["promoter", "passive", "detractor"]


@pytest.mark.parametrize(
    "value",
    [-1, 11, 100, -100, True, False, 7.0, 9.5, "7", None, b"7", [7]],
    ids=["-1", "11", "100", "-100", "True", "False", "7.0", "9.5", "str-7", "None", "bytes-7", "list"],
)
def test_categorize_rejects_anything_but_an_int_from_zero_to_ten(value: object) -> None:
    # Given a value that is not an int in 0–10 (bools are ints in Python but not scores)
    # When it is categorized / Then ScoreOutOfRange, which is a ValueError
    with pytest.raises(ScoreOutOfRange):
        categorize(value)  # type: ignore[arg-type]
    assert issubclass(ScoreOutOfRange, ValueError)


def test_is_valid_score_matches_categorize() -> None:
    assert all(is_valid_score(s) for s in range(11))
    assert not any(is_valid_score(v) for v in (-1, 11, True, False, 5.0, "5", None))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 0), ("6", 6), ("7", 7), ("9", 9), ("10", 10), ("07", 7), ("00", 0)],
)
def test_parse_score_accepts_one_or_two_ascii_digits_in_range(raw: str, expected: int) -> None:
    # Given the score as it arrives in ?score=… (one or two ASCII digits; the code accepts a
    # leading zero such as "07", since it only checks the length, the characters and the range)
    # When it is parsed / Then the int comes back
    assert parse_score(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        " 7",
        "7 ",
        "\t7",
        "7\n",
        "1e1",
        "+7",
        "-1",
        "7.0",
        "11",
        "99",
        "010",
        "0x7",
        "seven",
        "\u0663",  # ARABIC-INDIC DIGIT THREE: isdigit() is True, but it is not ASCII
        "\u0663\u0663",
        "\uff17",  # FULLWIDTH DIGIT SEVEN
        "\u00b2",  # SUPERSCRIPT TWO: isdigit() is True
        "1_0",
        "0" * 1000,
    ],
)
def test_parse_score_rejects_everything_else(raw: str | None) -> None:
    # Given a malformed, padded, non-ASCII or out-of-range score / When parsed / Then ScoreOutOfRange
    with pytest.raises(ScoreOutOfRange):
        parse_score(raw)
