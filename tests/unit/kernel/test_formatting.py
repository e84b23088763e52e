"""nps.kernel.formatting: figures are rounded and signed the way people read them, never ``-0.0``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.formatting import MISSING, fixed, percent, rounded, signed
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
