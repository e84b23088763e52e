"""Account health, its reasons, the account category, readiness and revenue-weighted NPS."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.health import (
    READY_SCORE,
    AccountPeriod,
    Health,
    Reason,
    account_category,
    assess,
    revenue_weighted,
)
from nps.kernel.categories import Category
from nps.kernel.statistics import CategoryCounts


def period(
    key: str,
    scores: dict[int, int] | None = None,
    invites: int = 0,
    dm: dict[str, int] | None = None,
    clicked: int = 0,
) -> AccountPeriod:
    counters: dict[str, int] = {"invites_sent": invites, **(dm or {})}
    for score, count in (scores or {}).items():
        counters[f"score_{score}"] = counters.get(f"score_{score}", 0) + count
        name = "promoters" if score >= 9 else "passives" if score >= 7 else "detractors"
        counters[name] = counters.get(name, 0) + count
    counters["referral_clicked"] = clicked
    return AccountPeriod.from_counters(key, counters)


def test_a_decision_maker_detractor_puts_the_account_at_risk() -> None:
    health = assess("acme", [period("2026-Q1", {10: 3, 3: 1}, invites=4, dm={"dm_detractors": 1})])
    assert health.health is Health.AT_RISK
    assert health.reasons == (Reason.DECISION_MAKER_DETRACTOR,)
    assert health.reason_texts == ("a decision maker is a detractor",)


def test_a_significant_fall_puts_the_account_at_risk_and_a_small_one_does_not() -> None:
    fell = assess("a", [period("2026-Q1", {10: 40}, 40), period("2026-Q2", {2: 40}, 40)])
    assert Reason.NPS_FELL in fell.reasons
    assert fell.health is Health.AT_RISK
    assert fell.change is not None
    assert fell.change.difference is not None
    assert fell.change.difference < 0
    small = assess("a", [period("2026-Q1", {10: 2}, 2), period("2026-Q2", {10: 1, 8: 1}, 2)])
    assert Reason.NPS_FELL not in small.reasons
    assert small.health is Health.HEALTHY


def test_two_waves_without_an_answer_put_the_account_at_risk() -> None:
    periods = [
        period("2026-Q1", {9: 2}, 2),
        period("2026-Q2", {}, 3),
        period("2026-Q3", {}, 0),
        period("2026-Q4", {}, 2),
    ]
    health = assess("a", periods)
    assert health.reasons == (Reason.NO_ANSWER,)
    assert health.health is Health.AT_RISK
    # One silent wave is not yet a reason.
    assert assess("a", periods[:2]).reasons == ()


def test_more_detractors_than_promoters_is_watched() -> None:
    health = assess("a", [period("2026-Q1", {3: 2, 10: 1}, 3)])
    assert health.reasons == (Reason.MORE_DETRACTORS,)
    assert health.health is Health.WATCH


def test_an_account_without_answers_in_the_range() -> None:
    health = assess("a", [period("2026-Q1", {}, 0)])
    assert health.health is Health.NO_ANSWERS
    assert health.latest.n == 0
    assert health.category is None
    assert health.readiness.score == 0
    assert not health.readiness.ready


@pytest.mark.parametrize(
    ("mean", "category"),
    [
        (10, Category.PROMOTER),
        (9, Category.PROMOTER),
        (8.99, Category.PASSIVE),
        (7, Category.PASSIVE),
        (6.99, Category.DETRACTOR),
    ],
)
def test_the_account_category_is_the_category_of_its_mean_score(mean: float, category: Category) -> None:
    assert account_category(mean) is category


def test_a_loyal_engaged_account_is_referral_ready() -> None:
    periods = [period("2026-Q1", {10: 2}, 2), period("2026-Q2", {10: 1, 9: 1}, 2, clicked=1)]
    readiness = assess("a", periods).readiness
    # advocacy 40 × (9.5 − 6)/4 = 35, recency 20, consistency 20, engagement 10 + 10.
    assert (readiness.advocacy, readiness.recency, readiness.consistency, readiness.engagement) == (35, 20, 20, 20)
    assert readiness.score == 95
    assert readiness.ready
    assert not assess("a", periods, churned=True).readiness.ready


def test_a_decision_maker_detractor_is_never_referral_ready() -> None:
    periods = [period("2026-Q1", {10: 9, 4: 1}, 10, dm={"dm_detractors": 1}, clicked=1)]
    health = assess("a", periods)
    assert not health.readiness.ready


scores = st.dictionaries(st.integers(0, 10), st.integers(0, 5), max_size=4)


@given(st.lists(st.tuples(scores, st.integers(0, 8), st.integers(0, 2)), min_size=1, max_size=6))
def test_readiness_is_its_parts_within_0_and_100_and_ready_only_above_the_bar(
    raw: list[tuple[dict[int, int], int, int]],
) -> None:
    periods = [
        period(f"2026-{i + 1:02d}", s, invites, dm={"dm_detractors": 0}, clicked=c)
        for i, (s, invites, c) in enumerate(raw)
    ]
    health = assess("a", periods)
    r = health.readiness
    assert 0 <= r.score <= 100
    assert r.score == round(r.advocacy + r.recency + r.consistency + r.engagement)
    if r.ready:
        assert r.score >= READY_SCORE
        assert health.health is not Health.AT_RISK


def test_revenue_weighted_nps_weighs_accounts_by_revenue() -> None:
    # A big promoter account and a small detractor one: (1·900 − 1·100) / 1000 = +80.
    weighted = revenue_weighted(
        [
            (CategoryCounts(promoters=3), Decimal(900)),
            (CategoryCounts(detractors=1), Decimal(100)),
            (CategoryCounts(), Decimal(5)),
        ]
    )
    assert weighted.nps == pytest.approx(80.0)
    assert weighted.accounts == 2
    assert weighted.left_out == 0
    # A/(A−1) Σ R²(x − x̄)² / (ΣR)² = 2 · (900²·0.2² + 100²·1.8²) / 1000² = 0.1296 → half-width 1.96·0.36.
    half = 1.959963984540054 * math.sqrt(0.1296) * 100
    assert weighted.low == pytest.approx(max(-100.0, 80 - half))
    assert weighted.high == pytest.approx(min(100.0, 80 + half))


def test_revenue_weighted_nps_leaves_out_accounts_without_revenue_and_says_so() -> None:
    weighted = revenue_weighted([(CategoryCounts(promoters=1), None), (CategoryCounts(detractors=2), Decimal(10))])
    assert weighted.nps == pytest.approx(-100.0)
    assert weighted.left_out == 1
    assert weighted.low is None


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.integers(1, 10**6)),
        min_size=1,
        max_size=8,
    )
)
def test_equal_revenues_give_the_mean_of_account_nps(raw: list[tuple[int, int, int, int]]) -> None:
    accounts = [(CategoryCounts(p, q, d), Decimal(7)) for p, q, d, _ in raw]
    answered = [c for c, _ in accounts if c.n]
    weighted = revenue_weighted(accounts)
    if not answered:
        assert weighted.nps is None
        return
    expected = 100 * sum((c.promoters - c.detractors) / c.n for c in answered) / len(answered)
    assert weighted.nps == pytest.approx(expected)
    assert weighted.nps is not None
    if weighted.low is not None and weighted.high is not None:
        assert weighted.low - 1e-9 <= weighted.nps <= weighted.high + 1e-9
