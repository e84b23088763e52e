"""nps.kernel.statistics: observed NPS, the adjusted-Wald interval (Rocks 2016) and the two-period z test.

The expected figures below are worked out by hand in the comments (exact fractions first, decimals
after), not by calling the code under test.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.kernel.statistics import Z_95, CategoryCounts, ChangeTest, compare, estimate, nps, rest

# --------------------------------------------------------------------------------------------------
# CategoryCounts and nps()
# --------------------------------------------------------------------------------------------------


def test_counts_total_and_addition() -> None:
    # Given two slices of counts / When added / Then each category and n add up
    total = CategoryCounts(3, 2, 1) + CategoryCounts(10, 20, 30)
    assert total == CategoryCounts(promoters=13, passives=22, detractors=31)
    assert total.n == 66


@pytest.mark.parametrize("counts", [(-1, 0, 0), (0, -1, 0), (0, 0, -1)])
def test_negative_counts_are_rejected(counts: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="negative"):
        CategoryCounts(*counts)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (CategoryCounts(60, 25, 15), 45.0),  # 60 % − 15 %
        (CategoryCounts(1, 1, 1), 0.0),
        (CategoryCounts(10, 0, 0), 100.0),
        (CategoryCounts(0, 0, 10), -100.0),
        (CategoryCounts(0, 10, 0), 0.0),  # all passives
        (CategoryCounts(1, 2, 0), 100.0 / 3),  # 33.33… %
        (CategoryCounts(2, 3, 5), -30.0),  # 20 % − 50 %
    ],
)
def test_nps_is_percent_promoters_minus_percent_detractors(counts: CategoryCounts, expected: float) -> None:
    assert nps(counts) == pytest.approx(expected, abs=1e-12)


def test_nps_of_no_responses_is_none_not_zero() -> None:
    assert nps(CategoryCounts()) is None


# --------------------------------------------------------------------------------------------------
# estimate(): adjusted-Wald interval
# --------------------------------------------------------------------------------------------------


def test_estimate_matches_a_worked_example_computed_by_hand() -> None:
    # Given 60 promoters, 25 passives, 15 detractors (n = 100)
    counts = CategoryCounts(promoters=60, passives=25, detractors=15)

    # When the adjusted-Wald estimate is computed
    result = estimate(counts)

    # Then, by hand (Rocks 2016: n + 3, promoters + 0.75, detractors + 0.75):
    #   n_adj = 100 + 3                     = 103
    #   p_P   = (60 + 0.75) / 103 = 60.75/103 = 0.589805825242718…
    #   p_D   = (15 + 0.75) / 103 = 15.75/103 = 0.152912621359223…
    #   p_P − p_D = 45/103                   = 0.436893203883495…
    #   p_P + p_D = 76.5/103
    #   Var = (p_P + p_D − (p_P − p_D)²) / n_adj
    #       = (76.5/103 − 2025/103²) / 103
    #       = (76.5·103 − 2025) / 103³ = (7879.5 − 2025) / 1 092 727 = 5854.5 / 1 092 727
    #       = 0.005357696844683…
    #   SE  = √Var                            = 0.073196289828673…
    #   margin = 1.959963984540054 · SE       = 0.143462091866154…  → 14.3462091866 points
    #   low  = 45/103 − margin = 0.293431112… → 29.3431112017 points
    #   high = 45/103 + margin = 0.580355295… → 58.0355295750 points
    variance = 5854.5 / 103**3
    margin = 1.959963984540054 * math.sqrt(variance)
    assert variance == pytest.approx(0.005357696844683, abs=1e-15)
    assert result.margin == pytest.approx(100 * margin, abs=1e-9)
    assert result.margin == pytest.approx(14.3462091866, abs=1e-9)
    assert result.low == pytest.approx(100 * (45 / 103 - margin), abs=1e-9)
    assert result.low == pytest.approx(29.3431112017, abs=1e-9)
    assert result.high == pytest.approx(100 * (45 / 103 + margin), abs=1e-9)
    assert result.high == pytest.approx(58.0355295750, abs=1e-9)
    # The headline NPS and the shares are the observed (unadjusted) figures.
    assert result.nps == pytest.approx(45.0, abs=1e-12)
    assert result.n == 100
    assert result.promoter_share == pytest.approx(60.0)
    assert result.passive_share == pytest.approx(25.0)
    assert result.detractor_share == pytest.approx(15.0)


def test_interval_is_centred_on_the_adjusted_estimate_not_the_observed_nps() -> None:
    # Given the worked example, whose observed NPS is 45 but adjusted estimate is 100·45/103 ≈ 43.69
    result = estimate(CategoryCounts(60, 25, 15))
    assert result.low is not None
    assert result.high is not None
    # When the midpoint of the (unclipped) interval is taken / Then it is the adjusted centre
    assert (result.low + result.high) / 2 == pytest.approx(100 * 45 / 103, abs=1e-9)
    assert (result.high - result.low) / 2 == pytest.approx(result.margin, abs=1e-9)


def test_estimate_with_a_single_promoter_worked_by_hand() -> None:
    # Given one promoter (n = 1):
    #   n_adj = 4, p_P = 1.75/4 = 0.4375, p_D = 0.75/4 = 0.1875, p_P − p_D = 0.25
    #   Var = (0.625 − 0.0625) / 4 = 0.140625, SE = 0.375
    #   margin = 1.959963984540054 · 0.375 = 0.734986494202520 → 73.4986494203 points
    #   low = 0.25 − 0.734986… = −0.484986… ; high = 0.25 + 0.734986… = 0.984986… (no clipping)
    result = estimate(CategoryCounts(promoters=1))
    assert result.nps == 100.0
    assert result.margin == pytest.approx(73.4986494203, abs=1e-9)
    assert result.low == pytest.approx(-48.4986494203, abs=1e-9)
    assert result.high == pytest.approx(98.4986494203, abs=1e-9)


def test_estimate_of_no_responses_has_none_fields() -> None:
    # Given no responses / When estimated / Then n is 0 and every figure is None (not 0, not NaN)
    result = estimate(CategoryCounts())
    assert result.n == 0
    assert result.nps is None
    assert result.margin is None
    assert result.low is None
    assert result.high is None
    assert result.promoter_share is None
    assert result.passive_share is None
    assert result.detractor_share is None


def test_interval_is_clipped_at_plus_100_when_everyone_promotes() -> None:
    # Given 10 promoters and nothing else:
    #   n_adj = 13, p_P − p_D = 10/13 = 0.769230…,
    #   Var = ((10.75 + 0.75)/13 − (10/13)²)/13 = (11.5·13 − 100)/13³ = 49.5/2197 = 0.022530…
    #   margin = 1.96 · 0.150101… = 0.294195… → high = 1.063… > 1, so it is clipped to 1 (100 points)
    result = estimate(CategoryCounts(promoters=10))
    assert result.margin == pytest.approx(100 * Z_95 * math.sqrt(49.5 / 13**3), abs=1e-9)
    assert result.high == 100.0
    assert result.low == pytest.approx(100 * (10 / 13 - Z_95 * math.sqrt(49.5 / 13**3)), abs=1e-9)


def test_interval_is_clipped_at_minus_100_when_everyone_detracts() -> None:
    # Given 10 detractors: the mirror image of the case above
    result = estimate(CategoryCounts(detractors=10))
    assert result.low == -100.0
    assert result.high == pytest.approx(-100 * (10 / 13 - Z_95 * math.sqrt(49.5 / 13**3)), abs=1e-9)


@pytest.mark.parametrize(
    "counts",
    [CategoryCounts(1, 0, 0), CategoryCounts(0, 0, 1), CategoryCounts(5, 0, 0), CategoryCounts(3, 1, 3)],
)
def test_interval_always_stays_within_the_nps_scale_even_with_a_huge_z(counts: CategoryCounts) -> None:
    # Given a z far beyond 95 % / When estimated / Then low and high never leave −100…+100
    result = estimate(counts, z=50.0)
    assert result.low == -100.0
    assert result.high == 100.0


def test_a_wider_confidence_level_gives_a_wider_interval() -> None:
    counts = CategoryCounts(40, 30, 30)
    narrow, wide = estimate(counts, z=1.0), estimate(counts, z=Z_95)
    assert narrow.margin is not None
    assert wide.margin is not None
    assert wide.margin == pytest.approx(Z_95 * narrow.margin, rel=1e-12)


def test_margin_shrinks_with_sample_size() -> None:
    # Given the same proportions at n = 100 and n = 10 000 / Then the margin shrinks roughly by √100
    small = estimate(CategoryCounts(60, 25, 15)).margin
    large = estimate(CategoryCounts(6000, 2500, 1500)).margin
    assert small is not None
    assert large is not None
    assert 9 < small / large < 11


def test_z_95_is_the_two_sided_95_percent_normal_quantile() -> None:
    assert NormalDist().inv_cdf(0.975) == pytest.approx(Z_95, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# compare(): z test between two independent periods
# --------------------------------------------------------------------------------------------------


def test_clearly_significant_change_worked_by_hand() -> None:
    # Given a period with NPS −30 and a later one with NPS +50 (n = 100 each)
    before = CategoryCounts(promoters=20, passives=30, detractors=50)
    after = CategoryCounts(promoters=60, passives=30, detractors=10)

    # When compared
    result = compare(before, after)

    # Then, by hand:
    #   before: d1 = (20.75 − 50.75)/103 = −30/103
    #           v1 = ((20.75 + 50.75)/103 − (30/103)²)/103 = (71.5·103 − 900)/103³ = 6464.5/103³
    #   after:  d2 = (60.75 − 10.75)/103 = 50/103
    #           v2 = (71.5·103 − 2500)/103³ = 4864.5/103³
    #   difference = 100·(d2 − d1) = 100·80/103 = 77.6699029126…
    #   SE = √(v1 + v2) = √(11329/1 092 727) = 0.101822…
    #   z  = (80/103)/SE = 80/√(11329/103) = 7.628037…
    #   p  = erfc(|z|/√2) ≈ 2.4e−14 → significant
    expected_z = (80 / 103) / math.sqrt(11329 / 103**3)
    assert result.difference == pytest.approx(100 * 80 / 103, abs=1e-9)
    assert result.z == pytest.approx(expected_z, abs=1e-9)
    assert result.z == pytest.approx(7.628037, abs=1e-6)
    assert result.p_value == pytest.approx(math.erfc(expected_z / math.sqrt(2)), rel=1e-9)
    assert result.p_value is not None
    assert result.p_value < 1e-12
    assert result.significant is True


def test_clearly_insignificant_change() -> None:
    # Given two periods one respondent apart: 50/30/20 vs 51/30/19 (NPS 30 vs 32)
    before = CategoryCounts(50, 30, 20)
    after = CategoryCounts(51, 30, 19)

    # When compared
    result = compare(before, after)

    # Then, by hand:
    #   before: d1 = (50.75 − 20.75)/103 = 30/103, v1 = (71.5·103 − 30²)/103³ = 6464.5/103³
    #   after:  d2 = (51.75 − 19.75)/103 = 32/103, v2 = (71.5·103 − 32²)/103³ = 6340.5/103³
    #   difference = 100·2/103 = 1.9417…
    #   z = (2/103)/√(12805/103³) = 2/√(12805/103) = 2/11.1499… = 0.179373…
    #   p = erfc(0.179373/√2) = 0.857644… → not significant
    expected_z = 2 / math.sqrt(12805 / 103)
    assert result.difference == pytest.approx(100 * 2 / 103, abs=1e-9)
    assert result.z == pytest.approx(expected_z, abs=1e-9)
    assert result.z == pytest.approx(0.179373, abs=1e-6)
    assert result.p_value == pytest.approx(0.857644, abs=1e-6)
    assert result.significant is False


def test_p_value_is_the_two_sided_normal_tail() -> None:
    # Given any non-empty pair of periods
    result = compare(CategoryCounts(30, 40, 30), CategoryCounts(40, 35, 25))
    assert result.z is not None
    assert result.p_value is not None
    # Then p = erfc(|z|/√2), which is the same as 2·(1 − Φ(|z|)) computed independently
    assert result.p_value == pytest.approx(math.erfc(abs(result.z) / math.sqrt(2.0)), rel=1e-12)
    assert result.p_value == pytest.approx(2 * (1 - NormalDist().cdf(abs(result.z))), rel=1e-9)


def test_swapping_the_periods_flips_the_sign_but_not_the_p_value() -> None:
    a, b = CategoryCounts(30, 40, 30), CategoryCounts(45, 35, 20)
    forward, backward = compare(a, b), compare(b, a)
    assert forward.z is not None
    assert backward.z is not None
    assert forward.difference is not None
    assert backward.difference is not None
    assert forward.z > 0
    assert backward.z == pytest.approx(-forward.z)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.p_value == pytest.approx(forward.p_value)
    assert backward.significant is forward.significant


def test_identical_periods_show_no_change() -> None:
    counts = CategoryCounts(30, 40, 30)
    result = compare(counts, counts)
    assert result.difference == 0.0
    assert result.z == 0.0
    assert result.p_value == pytest.approx(1.0)
    assert result.significant is False


def test_significance_follows_alpha() -> None:
    # Given a change with p between 0.01 and 0.05
    before, after = CategoryCounts(40, 30, 30), CategoryCounts(55, 25, 20)
    p = compare(before, after).p_value
    assert p is not None
    assert 0.01 < p < 0.05
    # Then it is significant at 5 % but not at 1 %
    assert compare(before, after, alpha=0.05).significant is True
    assert compare(before, after, alpha=0.01).significant is False


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (CategoryCounts(), CategoryCounts(90, 0, 0)),
        (CategoryCounts(0, 0, 90), CategoryCounts()),
        (CategoryCounts(), CategoryCounts()),
    ],
)
def test_an_empty_period_is_never_significant(before: CategoryCounts, after: CategoryCounts) -> None:
    assert compare(before, after) == ChangeTest(difference=None, z=None, p_value=None, significant=False)


def test_a_change_carries_its_95_percent_interval() -> None:
    # Given the documented rise from period B to period A (difference +24.3, z 2.241)
    change = compare(CategoryCounts(45, 30, 25), CategoryCounts(60, 25, 15))
    assert change.difference is not None
    assert change.low is not None
    assert change.high is not None
    # Then its interval is difference ± 1.96 × SE, and excludes zero as the test says
    se = change.difference / change.z if change.z else 0.0
    assert change.low == pytest.approx(change.difference - Z_95 * se)
    assert change.high == pytest.approx(change.difference + Z_95 * se)
    assert round(change.low, 1) == 3.0
    assert round(change.high, 1) == 45.5
    assert change.low > 0


@given(
    st.builds(CategoryCounts, st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)),
    st.builds(CategoryCounts, st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)),
)
def test_a_change_is_significant_exactly_when_its_interval_excludes_zero(
    before: CategoryCounts, after: CategoryCounts
) -> None:
    change = compare(before, after)
    if change.difference is None:
        assert change.low is None
        assert change.high is None
        assert not change.significant
        return
    assert change.low is not None
    assert change.high is not None
    assert change.low <= change.difference <= change.high
    # (away from the boundary, where p = 0.05 exactly and rounding could go either way)
    if change.z is not None and abs(abs(change.z) - Z_95) > 1e-6:
        assert change.significant == (change.low > 0 or change.high < 0)


def test_the_rest_of_a_segment_is_the_total_minus_the_segment() -> None:
    total = CategoryCounts(50, 30, 20)
    assert rest(total, CategoryCounts(10, 5, 5)) == CategoryCounts(40, 25, 15)
    # A segment read a moment after its total never makes the rest negative
    assert rest(total, CategoryCounts(60, 5, 5)) == CategoryCounts(0, 25, 15)
