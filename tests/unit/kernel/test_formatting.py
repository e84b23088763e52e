"""nps.kernel.formatting: figures are rounded and signed the way people read them, never ``-0.0``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.formatting import MISSING, bounds, fixed, likely_between, percent, rounded, signed
from nps.kernel.statistics import CategoryCounts, estimate

FIGURES = st.floats(min_value=-1000, max_value=1000, allow_nan=False)


def test_700_promoters_600_passives_701_detractors_is_an_nps_of_zero() -> None:
    nps = estimate(CategoryCounts(promoters=700, passives=600, detractors=701)).nps
    assert nps is not None
    assert -0.05 < nps < 0
    assert signed(nps) == "0.0"
    assert fixed(nps) == "0.0"
    assert percent(nps) == "0.0%"
    assert rounded(nps, 1) == 0.0
    assert math.copysign(1, rounded(nps, 1) or 0.0) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.34, "+12.3"), (-4.0, "-4.0"), (0.0, "0.0"), (-0.0, "0.0"), (0.04, "0.0"), (-0.06, "-0.1"), (None, MISSING)],
)
def test_signed_figures(value: float | None, text: str) -> None:
    assert signed(value) == text


@given(FIGURES, st.integers(min_value=0, max_value=3))
def test_no_figure_is_ever_negative_zero(value: float, digits: int) -> None:
    for text in (signed(value, digits), fixed(value, digits), percent(value, digits).rstrip("%")):
        # the text is the rounded value, and it is negative only when that value is below zero
        assert float(text) == pytest.approx(round(value, digits), abs=10**-digits)
        assert text.startswith("-") == (float(text) < 0)
    number = rounded(value, digits)
    assert number is not None
    assert math.copysign(1.0, number) == 1.0 or number < 0


@given(FIGURES)
def test_a_sign_is_shown_exactly_when_the_rounded_figure_is_not_zero(value: float) -> None:
    text = signed(value)
    assert (text[0] in "+-") == (float(text) != 0)


# -- intervals as bounds -----------------------------------------------------------------------------
def _parse_bounds(text: str) -> tuple[float, float]:
    low, high = text.split(" to ")
    return float(low), float(high)


def test_one_promoter_prints_the_asymmetric_interval_as_its_real_bounds() -> None:
    # Given a single promoter: the observed NPS is +100, the adjusted-Wald interval is centred on +25
    e = estimate(CategoryCounts(promoters=1))
    # Then the printed interval is the interval, −48.5 to +98.5, not "+100.0 ±73.5"
    assert signed(e.nps) == "+100.0"
    assert bounds(e.low, e.high) == "-48.5 to +98.5"
    assert likely_between(e.low, e.high) == "likely between -49 and +99"
    # (one answer is the only case where the observed NPS lies outside its adjusted interval)
    assert e.high is not None
    assert e.nps is not None
    assert e.nps > e.high


def test_bounds_of_a_missing_interval_are_missing() -> None:
    assert bounds(None, 3.0) == MISSING
    assert likely_between(None, None) == "no responses yet"


@pytest.mark.parametrize(
    ("low", "high", "words"),
    [
        (12.93, 33.04, "likely between +13 and +33"),  # printed as +12.9 to +33.0
        (1.2, 15.1, "likely between +1 and +15"),
        (-48.46, 98.46, "likely between -49 and +99"),  # printed as -48.5 to +98.5: halves away from zero
        (-3.0, 4.0, "likely between -3 and +4"),
        (-0.4, 0.4, "likely close to 0"),
    ],
)
def test_plain_words_round_the_printed_ends_to_the_nearest_whole_point(low: float, high: float, words: str) -> None:
    assert likely_between(low, high) == words


COUNTS = st.builds(
    CategoryCounts,
    promoters=st.integers(0, 400),
    passives=st.integers(0, 400),
    detractors=st.integers(0, 400),
).filter(lambda c: c.n >= 2)


@given(COUNTS)
def test_printed_bounds_are_the_interval_and_hold_the_printed_nps(counts: CategoryCounts) -> None:
    # Given any sample of two or more responses
    e = estimate(counts)
    assert e.low is not None
    assert e.high is not None
    assert e.nps is not None
    # When its NPS and interval are printed
    low, high = _parse_bounds(bounds(e.low, e.high))
    point = float(signed(e.nps))
    # Then the printed ends are the interval's ends, rounded, and the printed NPS lies between them
    assert low == pytest.approx(round(e.low, 1), abs=1e-9)
    assert high == pytest.approx(round(e.high, 1), abs=1e-9)
    assert low <= point <= high
    # And the plain words agree with the printed ends: each whole number is the nearest to its end
    sentence = likely_between(e.low, e.high)
    if sentence.startswith("likely close to "):
        words = [sentence.removeprefix("likely close to ")] * 2
    else:
        words = sentence.removeprefix("likely between ").split(" and ")
    assert abs(float(words[0]) - low) <= 0.5
    assert abs(float(words[1]) - high) <= 0.5
    assert float(words[0]) <= float(words[1])


def test_only_a_single_answer_puts_the_observed_nps_outside_its_interval() -> None:
    # Every sample of up to 40 answers: the observed NPS lies within its adjusted-Wald interval from n = 2
    outside = []
    for n in range(1, 41):
        for promoters in range(n + 1):
            for detractors in range(n - promoters + 1):
                e = estimate(CategoryCounts(promoters, n - promoters - detractors, detractors))
                assert e.nps is not None
                assert e.low is not None
                assert e.high is not None
                if not e.low - 1e-9 <= e.nps <= e.high + 1e-9:
                    outside.append((promoters, n - promoters - detractors, detractors))
    assert outside == [(0, 0, 1), (1, 0, 0)]
