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
    silent_waves,
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


def test_waves_answered_in_the_period_after_them_are_not_silent() -> None:
    # Given quarterly waves read by month, each sent on a quarter's last day and answered the next morning:
    # the invites count in the month they were sent, the answers in the month they were given
    periods = [
        period("2026-06", {}, 2),
        period("2026-07", {9: 1}, 0),
        period("2026-08", {}, 0),
        period("2026-09", {}, 2),
        period("2026-10", {10: 1}, 0),
    ]
    # Then neither wave went unanswered, and the account is healthy
    assert silent_waves(periods) == 0
    health = assess("a", periods)
    assert health.reasons == ()
    assert health.health is Health.HEALTHY
    # But with the last answer missing, one wave is silent (not yet a reason), and with neither, two are
    assert silent_waves(periods[:4]) == 1
    assert assess("a", periods[:4]).reasons == ()
    assert assess("a", [p if p.invites_sent else period(p.period) for p in periods]).reasons == (Reason.NO_ANSWER,)


def test_an_answer_before_the_last_two_waves_does_not_answer_them() -> None:
    periods = [
        period("2026-Q1", {9: 1}, 2),
        period("2026-Q2", {10: 1}),
        period("2026-Q3", {}, 2),
        period("2026-Q4", {}, 2),
    ]
    assert assess("a", periods).reasons == (Reason.NO_ANSWER,)


@st.composite
def wave_histories(draw: st.DrawFn) -> tuple[list[AccountPeriod], list[bool]]:
    """Periods with waves (one per period at most, each answered or not, its answers given in its own
    period or the next one's), and which waves got an answer, oldest first."""
    size = draw(st.integers(1, 8))
    waves = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    answers: list[dict[int, int]] = [{} for _ in range(size)]
    invites = [0] * size
    answered: list[bool] = []
    for index, wave in enumerate(waves):
        if not wave:
            continue
        invites[index] = draw(st.integers(1, 5))
        if draw(st.booleans()):
            # Given the next morning, in the next period (the last period's answers stay in the range).
            landing = min(size - 1, index + draw(st.integers(0, 1)))
            for score in draw(st.lists(st.integers(0, 10), min_size=1, max_size=3)):
                answers[landing][score] = answers[landing].get(score, 0) + 1
            answered.append(True)
        else:
            answered.append(False)
    return [period(f"p{i}", answers[i], invites[i]) for i in range(size)], answered


@given(wave_histories())
def test_no_answer_is_raised_only_when_the_last_waves_got_no_answer(
    history: tuple[list[AccountPeriod], list[bool]],
) -> None:
    periods, answered = history
    flagged = Reason.NO_ANSWER in assess("a", periods).reasons
    # An account that answered one of its last two waves, even in the period after it, is never flagged
    # (so one whose every wave got an answer never is).
    if flagged:
        assert len(answered) >= 2
        assert not any(answered[-2:])


@given(wave_histories())
def test_answers_given_in_their_waves_period_flag_exactly_two_silent_waves(
    history: tuple[list[AccountPeriod], list[bool]],
) -> None:
    # Given the same waves, each answer moved back to its wave's own period
    periods, answered = history
    waves = [p for p in periods if p.invites_sent]
    same_period = [
        period(p.period, {10: 1} if p.invites_sent and answered[waves.index(p)] else {}, p.invites_sent)
        for p in periods
    ]
    # Then the account is flagged exactly when its last two waves went unanswered
    flagged = Reason.NO_ANSWER in assess("a", same_period).reasons
    assert flagged == (len(answered) >= 2 and not any(answered[-2:]))


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
