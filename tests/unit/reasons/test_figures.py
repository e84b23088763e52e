"""nps.reasons.figures: CSAT, CES and the driver report's statistics from aggregate counters.

Expected values come from the sources (Newcombe 1998's worked Wilson intervals), from a direct
computation over the expanded answers (Python's ``statistics``), or are worked out in the comments.
"""

from __future__ import annotations

import math
import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.statistics import CategoryCounts, compare, estimate, wilson
from nps.reasons.figures import category_counts, ces, csat, mentions, t_975
from nps.reasons.scales import CES_COUNTERS, CSAT_COUNTERS, ces_counter, csat_counter

# --------------------------------------------------------------------------------------------------
# Wilson interval
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_the_wilson_interval_matches_newcombes_worked_examples(count: int, n: int, low: float, high: float) -> None:
    proportion = wilson(count, n)
    assert proportion.percent == pytest.approx(100 * count / n)
    assert proportion.low == pytest.approx(100 * low, abs=0.006)
    assert proportion.high == pytest.approx(100 * high, abs=0.006)


def test_no_answers_have_no_proportion() -> None:
    assert (wilson(0, 0).percent, wilson(0, 0).low, wilson(0, 0).high) == (None, None, None)


@pytest.mark.parametrize(("count", "n"), [(-1, 3), (4, 3)])
def test_an_impossible_proportion_is_refused(count: int, n: int) -> None:
    with pytest.raises(ValueError, match="count"):
        wilson(count, n)


@given(n=st.integers(1, 10_000), data=st.data())
def test_the_wilson_interval_holds_its_estimate_inside_0_100(n: int, data: st.DataObject) -> None:
    count = data.draw(st.integers(0, n))
    proportion = wilson(count, n)
    assert proportion.low is not None
    assert proportion.high is not None
    assert proportion.percent is not None
    assert 0.0 <= proportion.low <= proportion.percent <= proportion.high <= 100.0
    assert proportion.high - proportion.low > 0


# --------------------------------------------------------------------------------------------------
# Student's t quantile
# --------------------------------------------------------------------------------------------------


def _t_two_sided_probability(t: float, nu: int) -> float:
    """P(|T| <= t) for Student's t with nu degrees of freedom, Abramowitz & Stegun 26.7.3 (odd) / 26.7.4 (even)."""
    theta = math.atan(t / math.sqrt(nu))
    c2 = math.cos(theta) ** 2
    if nu % 2 == 1:
        total, term = 0.0, math.cos(theta)
        for k in range(1, (nu - 1) // 2 + 1):
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        return 2 / math.pi * (theta + math.sin(theta) * total) if nu > 1 else 2 * theta / math.pi
    total, term = 0.0, 1.0
    for k in range(1, nu // 2 + 1):
        total += term
        term *= c2 * (2 * k - 1) / (2 * k)
    return math.sin(theta) * total


@pytest.mark.parametrize("nu", [*range(1, 61), 99, 100, 250, 1000])
def test_the_t_quantile_leaves_2_5_percent_in_each_tail(nu: int) -> None:
    assert _t_two_sided_probability(t_975(nu), nu) == pytest.approx(0.95, abs=1e-7)


def test_the_t_quantile_needs_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        t_975(0)


# --------------------------------------------------------------------------------------------------
# CSAT and CES
# --------------------------------------------------------------------------------------------------


def test_csat_is_the_share_answering_4_or_5() -> None:
    # 2 + 3 + 5 + 6 + 4 = 20 answers; 6 + 4 = 10 satisfied: 50 %
    figures = csat({"csat_1": 2, "csat_2": 3, "csat_3": 5, "csat_4": 6, "csat_5": 4, "score_9": 99})
    assert figures.n == 20
    assert (figures.satisfied.count, figures.satisfied.percent) == (10, 50.0)
    assert figures.satisfied.low == pytest.approx(wilson(10, 20).low)


def test_ces_mean_interval_and_agreement_match_a_direct_computation() -> None:
    counts = {"ces_1": 1, "ces_3": 2, "ces_4": 3, "ces_5": 4, "ces_6": 5, "ces_7": 5}
    answers = [int(name[4:]) for name, count in counts.items() for _ in range(count)]
    n, mean = len(answers), statistics.fmean(answers)
    half = t_975(n - 1) * statistics.stdev(answers) / math.sqrt(n)
    figures = ces(counts)
    assert figures.n == n == 20
    assert figures.mean == pytest.approx(mean)
    assert figures.mean_low == pytest.approx(mean - half)
    assert figures.mean_high == pytest.approx(mean + half)
    assert (figures.agree.count, figures.agree.percent) == (14, 70.0)


def test_ces_needs_two_answers_for_an_interval_and_one_for_a_mean() -> None:
    assert (ces({}).n, ces({}).mean, ces({}).agree.percent) == (0, None, None)
    one = ces({"ces_6": 1})
    assert (one.n, one.mean, one.mean_low, one.mean_high) == (1, 6.0, None, None)


@given(st.lists(st.integers(0, 1_000), min_size=7, max_size=7))
def test_the_ces_interval_holds_its_mean_and_stays_on_the_scale(counts: list[int]) -> None:
    figures = ces(dict(zip(CES_COUNTERS, counts, strict=True)))
    if sum(counts) < 2:
        return
    assert figures.mean is not None
    assert figures.mean_low is not None
    assert figures.mean_high is not None
    assert 1.0 <= figures.mean_low <= figures.mean <= figures.mean_high <= 7.0


@pytest.mark.parametrize("bad", [{"csat_4": -1}, {"csat_4": Decimal("1.5")}])
def test_a_negative_or_fractional_counter_is_refused(bad: dict[str, int | Decimal]) -> None:
    with pytest.raises(ValueError, match="csat_4"):
        csat(bad)


def test_counters_read_from_dynamodb_as_decimals_are_counted() -> None:
    assert csat({"csat_5": Decimal(3)}).satisfied.count == 3


# --------------------------------------------------------------------------------------------------
# Who mentions a theme, and how their NPS differs
# --------------------------------------------------------------------------------------------------


def test_category_counts_come_from_the_score_counters() -> None:
    counters = {"score_0": 1, "score_6": 2, "score_7": 3, "score_8": 4, "score_9": 5, "score_10": 6, "promoters": 99}
    assert category_counts(counters) == CategoryCounts(promoters=11, passives=7, detractors=3)


def test_a_theme_is_compared_with_the_rest_of_its_base() -> None:
    # Base: 50 promoters, 30 passives, 20 detractors. Theme: 5 promoters, 6 passives, 15 detractors.
    base = {"score_10": 50, "score_8": 30, "score_3": 20}
    theme = {"score_9": 5, "score_7": 6, "score_0": 15}
    figures = mentions(base, theme)
    # 15 of 20 detractors (75 %), 6 of 30 passives (20 %), 5 of 50 promoters (10 %) mention it
    assert (figures.detractors.count, figures.detractors.n, figures.detractors.percent) == (15, 20, 75.0)
    assert figures.passives.percent == pytest.approx(20.0)
    assert figures.promoters.percent == pytest.approx(10.0)
    # Mentioning: (5 − 15) / 26 = −38.46; not mentioning: 45 promoters, 24 passives, 5 detractors: 40 / 74 = 54.05
    assert figures.mentioning.nps == pytest.approx(-1000 / 26)
    assert figures.not_mentioning.nps == pytest.approx(4000 / 74)
    assert figures.mentioning == estimate(CategoryCounts(5, 6, 15))
    assert figures.difference == compare(CategoryCounts(45, 24, 5), CategoryCounts(5, 6, 15))
    assert figures.difference.significant
    assert figures.difference.low is not None
    assert figures.difference.high is not None
    assert figures.difference.low < figures.difference.high < 0


def test_a_theme_counted_above_its_base_is_capped_at_the_base() -> None:
    figures = mentions({"score_10": 2}, {"score_10": 3, "score_0": 1})
    assert (figures.promoters.count, figures.promoters.n, figures.detractors.n) == (2, 2, 0)
    assert figures.not_mentioning.n == 0
    assert figures.difference.difference is None


@given(
    base=st.lists(st.integers(0, 200), min_size=11, max_size=11),
    data=st.data(),
)
def test_mentioning_and_not_mentioning_partition_the_base(base: list[int], data: st.DataObject) -> None:
    part = [data.draw(st.integers(0, count)) for count in base]
    figures = mentions({f"score_{s}": c for s, c in enumerate(base)}, {f"score_{s}": c for s, c in enumerate(part)})
    assert figures.mentioning.n + figures.not_mentioning.n == sum(base)
    assert figures.detractors.count + figures.passives.count + figures.promoters.count == sum(part)


def test_the_counter_names_are_the_scales_values() -> None:
    assert tuple(csat_counter(v) for v in range(1, 6)) == CSAT_COUNTERS
    assert tuple(ces_counter(v) for v in range(1, 8)) == CES_COUNTERS
    for bad in (0, 8, True, 2.0):
        with pytest.raises(ValueError, match="CES must be"):
            ces_counter(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="CSAT must be"):
        csat_counter(6)
