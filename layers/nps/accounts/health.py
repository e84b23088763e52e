"""Account NPS, account health with its reasons, revenue-weighted NPS and the referral readiness score.

Inputs are the counters of an account's aggregate slices (``account_id=<id>``, every channel, one item
per month or quarter: :mod:`nps.accounts.membership`): ``promoters``/``passives``/``detractors``,
``score_0`` … ``score_10``, ``invites_sent``, the decision makers' ``dm_promoters``/``dm_passives``/
``dm_detractors`` and the referral counters ``referral_asked``/``referral_clicked``/``referral_joined``.
Everything here is a pure function of those counters (no clients, no clocks), documented in
docs/accounts.md; percentages are 0–100 and NPS −100…+100.

**Account NPS** of a period is the NPS of the account's answers in it, with the adjusted-Wald interval
(:func:`nps.kernel.statistics.estimate`, Rocks 2016).

**Health**, with every reason that applies (a list, not a score):

- ``decision_maker_detractor`` — a decision maker is a detractor in the account's latest answered period;
- ``nps_fell`` — NPS fell significantly from the previous answered period to the latest (two-sided z test
  at 5%, :func:`nps.kernel.statistics.compare`);
- ``no_answer`` — no answer to the last :data:`SILENT_WAVES` waves (:func:`silent_waves`). A wave is a
  period with invites sent (a survey's cadence sends one wave per period: quarterly → quarter). Invites
  count in the period they were sent, answers in the period they were given, so a wave sent near a
  period's end is often answered in the next one: an answer is the latest wave's sent at or before its
  period, and a wave is answered when an answer comes in its period or after it, before the next wave's;
- ``more_detractors`` — detractors outnumber promoters in the latest answered period (NPS < 0).

An account is ``at_risk`` with any of the first three, ``watch`` with only the last, ``healthy`` with
answers and none, and ``no_answers`` when it has no answer in the range.

**Account category** (for churn analysis): the category of the mean score of the account's answers in a
period — promoter from 9, passive from 7, detractor below — the 0–10 boundaries applied to the average.

**Referral readiness score** (0–100), the sum of four visible parts:

- advocacy, up to 40: ``40 × clamp((mean score − 6) / 4, 0, 1)`` in the latest answered period;
- recency, up to 20: 20 if the latest answer is in the range's last period, 10 if one period before, 0 else;
- consistency, up to 20: ``20 × (answered periods without a detractor) / (answered periods)``, and 0 when
  NPS fell significantly;
- engagement, up to 20: ``10 × min(1, answers / invites sent)`` over the range, plus 10 when someone of
  the account clicked a referral or review link or joined the referral program in the range.

An account is **referral-ready** when its score is at least :data:`READY_SCORE`, it is not at risk, its
latest answered period has a promoter and no decision maker detractor, and it has not churned.

**Revenue-weighted NPS** weighs each account by its revenue, shared equally by its respondents:
``NPS_w = Σ_a R_a · nps_a / Σ_a R_a`` over accounts with answers and a known revenue (``nps_a`` the
account's NPS as a proportion). Its 95% interval treats accounts as clusters and uses the Taylor
linearisation of a ratio estimator (Lohr, *Sampling: Design and Analysis*, 2nd ed. 2010, §9.1 and
§5.2; Cochran, *Sampling Techniques*, 3rd ed. 1977, §6.3)::

    Var(NPS_w) ≈ A / (A − 1) · Σ_a R_a² (nps_a − NPS_w)² / (Σ_a R_a)²

with A the number of accounts; no interval below 2 accounts. It answers "how much of our revenue
would recommend us", not "how many people": read it beside the plain NPS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from nps.accounts.membership import DECISION_MAKER_COUNTERS
from nps.kernel.categories import SCORES, Category
from nps.kernel.statistics import Z_95, CategoryCounts, ChangeTest, NpsEstimate, compare, estimate

#: Waves (periods with invites sent) without an answer that put an account at risk.
SILENT_WAVES = 2
#: The readiness score from which an account counts as referral-ready (with the other rules).
READY_SCORE = 70
REFERRAL_ASKED = "referral_asked"
REFERRAL_CLICKED = "referral_clicked"
REFERRAL_JOINED = "referral_joined"

Counters = Mapping[str, int | Decimal]


class Health(StrEnum):
    AT_RISK = "at_risk"
    WATCH = "watch"
    HEALTHY = "healthy"
    NO_ANSWERS = "no_answers"


class Reason(StrEnum):
    DECISION_MAKER_DETRACTOR = "decision_maker_detractor"
    NPS_FELL = "nps_fell"
    NO_ANSWER = "no_answer"
    MORE_DETRACTORS = "more_detractors"


#: What each reason says, for people.
REASON_TEXT: dict[Reason, str] = {
    Reason.DECISION_MAKER_DETRACTOR: "a decision maker is a detractor",
    Reason.NPS_FELL: "NPS fell significantly",
    Reason.NO_ANSWER: f"no answer in {SILENT_WAVES} waves",
    Reason.MORE_DETRACTORS: "more detractors than promoters",
}
_AT_RISK = frozenset({Reason.DECISION_MAKER_DETRACTOR, Reason.NPS_FELL, Reason.NO_ANSWER})


def _count(counters: Counters, name: str) -> int:
    value = counters.get(name, 0)
    count = int(value)
    if count != value or count < 0:
        raise ValueError(f"counter {name} is not a whole number of 0 or more")
    return count


@dataclass(frozen=True, slots=True)
class AccountPeriod:
    """One period of one account: its answers by category, the sum of their scores, the invites sent,
    the decision makers' answers by category and the referral counters."""

    period: str
    counts: CategoryCounts
    score_total: int
    invites_sent: int
    decision_makers: CategoryCounts
    referral_asked: int = 0
    referral_clicked: int = 0
    referral_joined: int = 0

    @classmethod
    def from_counters(cls, period: str, counters: Counters) -> AccountPeriod:
        """From one aggregate item's counters (missing counters count 0). Raises ``ValueError`` for a
        negative or fractional counter."""
        scores = [_count(counters, f"score_{score}") for score in SCORES]
        dm = {category: _count(counters, name) for category, name in DECISION_MAKER_COUNTERS.items()}
        return cls(
            period=period,
            counts=CategoryCounts(
                promoters=_count(counters, "promoters"),
                passives=_count(counters, "passives"),
                detractors=_count(counters, "detractors"),
            ),
            score_total=sum(score * count for score, count in zip(SCORES, scores, strict=True)),
            invites_sent=_count(counters, "invites_sent"),
            decision_makers=CategoryCounts(dm[Category.PROMOTER], dm[Category.PASSIVE], dm[Category.DETRACTOR]),
            referral_asked=_count(counters, REFERRAL_ASKED),
            referral_clicked=_count(counters, REFERRAL_CLICKED),
            referral_joined=_count(counters, REFERRAL_JOINED),
        )

    @property
    def answered(self) -> bool:
        return self.counts.n > 0

    @property
    def mean_score(self) -> float | None:
        """The mean 0–10 score of the period's answers (None without answers)."""
        return self.score_total / self.counts.n if self.counts.n else None


def account_category(mean_score: float | None) -> Category | None:
    """The account's category from its mean score: promoter from 9, passive from 7, detractor below."""
    if mean_score is None:
        return None
    if mean_score >= 9:
        return Category.PROMOTER
    if mean_score >= 7:
        return Category.PASSIVE
    return Category.DETRACTOR


@dataclass(frozen=True, slots=True)
class Readiness:
    """The referral readiness score (0–100) and its four parts (see the module docstring)."""

    score: int
    advocacy: float
    recency: float
    consistency: float
    engagement: float
    ready: bool


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One account over a range: its latest answered period's NPS, the change from the answered period
    before, its health and reasons, its category, revenue and referral readiness."""

    account_id: str
    periods: tuple[AccountPeriod, ...]
    latest_period: str | None
    latest: NpsEstimate
    change: ChangeTest | None
    health: Health
    reasons: tuple[Reason, ...]
    category: Category | None
    mean_score: float | None
    revenue: Decimal | None
    readiness: Readiness
    churned: bool = False

    @property
    def total(self) -> CategoryCounts:
        """Every answer of the range."""
        total = CategoryCounts()
        for period in self.periods:
            total = total + period.counts
        return total

    @property
    def reason_texts(self) -> tuple[str, ...]:
        return tuple(REASON_TEXT[reason] for reason in self.reasons)


def assess(
    account_id: str,
    periods: Sequence[AccountPeriod],
    revenue: Decimal | None = None,
    churned: bool = False,
) -> AccountHealth:
    """The health of an account from its periods in the range, oldest first (every period of the range,
    answered or not, so that recency and silent waves can be read). Raises ``ValueError`` for no periods."""
    if not periods:
        raise ValueError("an account is assessed over at least one period")
    answered = [period for period in periods if period.answered]
    latest = answered[-1] if answered else None
    previous = answered[-2] if len(answered) >= 2 else None
    change = compare(previous.counts, latest.counts) if latest and previous else None
    reasons: list[Reason] = []
    if latest is not None and latest.decision_makers.detractors > 0:
        reasons.append(Reason.DECISION_MAKER_DETRACTOR)
    fell = change is not None and change.significant and (change.difference or 0.0) < 0
    if fell:
        reasons.append(Reason.NPS_FELL)
    if silent_waves(periods) >= SILENT_WAVES:
        reasons.append(Reason.NO_ANSWER)
    if latest is not None and latest.counts.detractors > latest.counts.promoters:
        reasons.append(Reason.MORE_DETRACTORS)
    if _AT_RISK.intersection(reasons):
        health = Health.AT_RISK
    elif reasons and latest is not None:
        health = Health.WATCH
    elif latest is None:
        health = Health.NO_ANSWERS
    else:
        health = Health.HEALTHY
    mean = latest.mean_score if latest is not None else None
    readiness = _readiness(periods, answered, latest, fell, health, churned)
    return AccountHealth(
        account_id=account_id,
        periods=tuple(periods),
        latest_period=latest.period if latest is not None else None,
        latest=estimate(latest.counts if latest is not None else CategoryCounts()),
        change=change,
        health=health,
        reasons=tuple(reasons),
        category=account_category(mean),
        mean_score=mean,
        revenue=revenue,
        readiness=readiness,
        churned=churned,
    )


def silent_waves(periods: Sequence[AccountPeriod]) -> int:
    """How many of the account's latest waves (periods with invites sent; ``periods`` oldest first) got no
    answer: the waves sent in periods after the latest period with an answer.

    An answer is attributed to the latest wave sent at or before its period: answers count in the period
    they were given, so the answer to a wave sent on a period's last evening lands in the next period, and
    that wave is answered. An answer in a wave's own period is that wave's (the periods cannot tell it from
    a late answer to the wave before). 0 when the latest period has an answer or there are no waves."""
    silent = 0
    for period in reversed(periods):
        if period.answered:
            break
        if period.invites_sent > 0:
            silent += 1
    return silent


def _readiness(
    periods: Sequence[AccountPeriod],
    answered: Sequence[AccountPeriod],
    latest: AccountPeriod | None,
    fell: bool,
    health: Health,
    churned: bool,
) -> Readiness:
    if latest is None or latest.mean_score is None:
        return Readiness(0, 0.0, 0.0, 0.0, 0.0, False)
    advocacy = 40.0 * min(1.0, max(0.0, (latest.mean_score - 6.0) / 4.0))
    since = len(periods) - 1 - next(i for i, period in enumerate(periods) if period is latest)
    recency = 20.0 if since == 0 else 10.0 if since == 1 else 0.0
    clean = sum(1 for period in answered if period.counts.detractors == 0)
    consistency = 0.0 if fell else 20.0 * clean / len(answered)
    invites = sum(period.invites_sent for period in periods)
    answers = sum(period.counts.n for period in periods)
    rate = min(1.0, answers / invites) if invites else 0.0
    referred = any(period.referral_clicked or period.referral_joined for period in periods)
    engagement = 10.0 * rate + (10.0 if referred else 0.0)
    score = round(advocacy + recency + consistency + engagement)
    ready = (
        score >= READY_SCORE
        and health is not Health.AT_RISK
        and latest.counts.promoters > 0
        and latest.decision_makers.detractors == 0
        and not churned
    )
    return Readiness(score, advocacy, recency, consistency, engagement, ready)


@dataclass(frozen=True, slots=True)
class WeightedNps:
    """Revenue-weighted NPS over ``accounts`` accounts with a known revenue (``left_out`` had answers but
    no revenue); ``low``/``high`` its 95% interval (None below 2 accounts or with no revenue)."""

    nps: float | None
    accounts: int
    left_out: int
    revenue: Decimal
    low: float | None
    high: float | None


def revenue_weighted(accounts: Sequence[tuple[CategoryCounts, Decimal | None]]) -> WeightedNps:
    """Revenue-weighted NPS of ``(answers, revenue)`` per account (formula and interval in the module
    docstring). Accounts without answers are ignored; accounts without revenue are counted in
    ``left_out``. Raises ``ValueError`` for a negative revenue."""
    pairs: list[tuple[float, float]] = []
    left_out = 0
    total_revenue = Decimal(0)
    for counts, revenue in accounts:
        if counts.n == 0:
            continue
        if revenue is None:
            left_out += 1
            continue
        if revenue < 0:
            raise ValueError("revenue cannot be negative")
        total_revenue += revenue
        pairs.append(((counts.promoters - counts.detractors) / counts.n, float(revenue)))
    weight = sum(r for _, r in pairs)
    if not pairs or weight <= 0:
        return WeightedNps(None, len(pairs), left_out, total_revenue, None, None)
    mean = sum(r * x for x, r in pairs) / weight
    low = high = None
    if len(pairs) >= 2:
        a = len(pairs)
        variance = a / (a - 1) * sum((r * (x - mean)) ** 2 for x, r in pairs) / (weight * weight)
        half = Z_95 * math.sqrt(variance)
        low, high = 100.0 * max(-1.0, mean - half), 100.0 * min(1.0, mean + half)
    return WeightedNps(100.0 * mean, len(pairs), left_out, total_revenue, low, high)
