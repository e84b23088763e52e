"""The reasons' figures from aggregate counters: CSAT, CES, and who mentions a theme or driver.

Inputs are the counters of one aggregate item (or a sum of items), so every figure works from the
aggregates alone: ``score_0`` … ``score_10`` (the NPS answers), ``csat_1`` … ``csat_5`` and ``ces_1`` …
``ces_7`` (:mod:`nps.reasons.scales`). A missing counter counts 0; values may be ``int`` or DynamoDB's
``Decimal``; a negative one raises ``ValueError``. Percentages are 0–100, NPS −100…+100, intervals 95%.

- **CSAT** (:func:`csat`): % satisfied = answers 4 or 5 of 1–5, over all CSAT answers (the usual "top-two
  box" CSAT score), with n and a Wilson score interval.
- **CES** (:func:`ces`): the mean of the 1–7 agreement answers with a Student-t interval (mean ± t₀.₉₇₅,ₙ₋₁ ·
  s/√n, s the sample standard deviation from the per-value counts, clipped to 1–7), and % agree (5–7)
  with a Wilson interval. CES 2.0's 7-point agreement scale: Dixon, Freeman & Toman, "Stop Trying to
  Delight Your Customers", *Harvard Business Review* 88(7/8), 2010, and CEB's 2013 revision.
- **A theme or driver** (:func:`mentions`): the share of the base's detractors, passives and promoters who
  mention it (each a Wilson interval); the NPS of those who mention it and of those who do not (the
  base's counts minus the theme's, :func:`nps.kernel.statistics.rest`), each with its adjusted-Wald
  interval; and the difference (mentioning − not) with its 95% interval and z test, from
  :func:`nps.kernel.statistics.compare`: the two groups are disjoint, so the variances of the two adjusted
  estimates add (Rocks 2016, *The American Statistician* 70(4), §4; docs/statistics.md).

Wilson interval for k of n (Wilson 1927, *JASA* 22(158):209–212; recommended over the Wald interval by
Brown, Cai & DasGupta 2001, *Statistical Science* 16(2):101–133, and Newcombe 1998, *Statistics in
Medicine* 17:857–872, method 3), with p̂ = k/n and z = 1.96:

    centre = (p̂ + z²/2n) / (1 + z²/n),   half-width = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²)

The t quantiles are the exact two-sided 95% values for 1–30 degrees of freedom (tabulated to 9 decimals)
and the Cornish–Fisher expansion of Abramowitz & Stegun 26.7.5 (five terms) above, whose error there is
below 10⁻⁷ (a unit test checks both against the t distribution's closed-form CDF, A&S 26.7.3/26.7.4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from nps.kernel.categories import SCORES, Category, categorize

# Proportion and wilson live in the kernel (accounts' churn figures use them too); re-exported here.
from nps.kernel.statistics import (
    Z_95,
    CategoryCounts,
    ChangeTest,
    NpsEstimate,
    compare,
    estimate,
    rest,
)
from nps.kernel.statistics import (
    Proportion as Proportion,
)
from nps.kernel.statistics import (
    wilson as wilson,
)
from nps.reasons.scales import CES_AGREE_FROM, CES_COUNTERS, CES_MIN, CSAT_COUNTERS, CSAT_MIN, CSAT_SATISFIED_FROM

#: Aggregate counters by name (``score_9``, ``csat_4``, ``ces_6`` …), as read from the aggregates table.
Counters = Mapping[str, int | Decimal]

#: Two-sided 95% quantiles of Student's t (t₀.₉₇₅) for 1–30 degrees of freedom.
_T_975: tuple[float, ...] = (
    12.706204736,
    4.302652730,
    3.182446305,
    2.776445105,
    2.570581836,
    2.446911851,
    2.364624252,
    2.306004135,
    2.262157163,
    2.228138852,
    2.200985160,
    2.178812830,
    2.160368656,
    2.144786688,
    2.131449546,
    2.119905299,
    2.109815578,
    2.100922040,
    2.093024054,
    2.085963447,
    2.079613845,
    2.073873068,
    2.068657610,
    2.063898562,
    2.059538553,
    2.055529439,
    2.051830516,
    2.048407142,
    2.045229642,
    2.042272456,
)


@dataclass(frozen=True, slots=True)
class CsatFigures:
    """CSAT of one slice: ``n`` answers, ``satisfied`` the share answering 4 or 5."""

    n: int
    satisfied: Proportion


@dataclass(frozen=True, slots=True)
class CesFigures:
    """CES of one slice: ``n`` answers, their ``mean`` (1–7) with a 95% t interval (None below 2
    answers: no spread to estimate; zero width when every answer is the same, s = 0: read it with n),
    and ``agree`` the share answering 5, 6 or 7."""

    n: int
    mean: float | None
    mean_low: float | None
    mean_high: float | None
    agree: Proportion


@dataclass(frozen=True, slots=True)
class MentionFigures:
    """Who mentions a theme (or chose a driver) within a base slice, and how their NPS differs.

    ``detractors``/``passives``/``promoters``: the share of the base's responses of that category that
    mention it. ``mentioning``/``not_mentioning``: the NPS of each group. ``difference``: mentioning − not,
    in NPS points, with its 95% interval and two-sided z test (``None`` fields when a group is empty).
    """

    detractors: Proportion
    passives: Proportion
    promoters: Proportion
    mentioning: NpsEstimate
    not_mentioning: NpsEstimate
    difference: ChangeTest


def _count(counters: Counters, name: str) -> int:
    value = counters.get(name, 0)
    count = int(value)
    if count != value:
        raise ValueError(f"counter {name} is not a whole number")
    if count < 0:
        raise ValueError(f"counter {name} is negative")
    return count


def category_counts(counters: Counters) -> CategoryCounts:
    """Promoters, passives and detractors from the ``score_0`` … ``score_10`` counters."""
    totals = dict.fromkeys(Category, 0)
    for score in SCORES:
        totals[categorize(score)] += _count(counters, f"score_{score}")
    return CategoryCounts(
        promoters=totals[Category.PROMOTER], passives=totals[Category.PASSIVE], detractors=totals[Category.DETRACTOR]
    )


def t_975(degrees_of_freedom: int) -> float:
    """The two-sided 95% quantile of Student's t (t₀.₉₇₅,ν). Raises ``ValueError`` for ν < 1."""
    if degrees_of_freedom < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if degrees_of_freedom <= len(_T_975):
        return _T_975[degrees_of_freedom - 1]
    # Abramowitz & Stegun 26.7.5: t ≈ z + g1/ν + g2/ν² + g3/ν³ + g4/ν⁴.
    z, nu = Z_95, float(degrees_of_freedom)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / nu + g2 / nu**2 + g3 / nu**3 + g4 / nu**4


def csat(counters: Counters) -> CsatFigures:
    """CSAT % satisfied (4–5 of 1–5) with n and its Wilson interval, from ``csat_1`` … ``csat_5``."""
    counts = [_count(counters, name) for name in CSAT_COUNTERS]
    n = sum(counts)
    satisfied = sum(counts[CSAT_SATISFIED_FROM - CSAT_MIN :])
    return CsatFigures(n=n, satisfied=wilson(satisfied, n))


def ces(counters: Counters) -> CesFigures:
    """CES mean (1–7) with its t interval and % agree (5–7) with its Wilson interval, from ``ces_1`` … ``ces_7``."""
    counts = [_count(counters, name) for name in CES_COUNTERS]
    n = sum(counts)
    agree = wilson(sum(counts[CES_AGREE_FROM - CES_MIN :]), n)
    if n == 0:
        return CesFigures(0, None, None, None, agree)
    values = range(CES_MIN, CES_MIN + len(counts))
    mean = sum(value * count for value, count in zip(values, counts, strict=True)) / n
    if n == 1:
        return CesFigures(1, mean, None, None, agree)
    variance = sum(count * (value - mean) ** 2 for value, count in zip(values, counts, strict=True)) / (n - 1)
    half = t_975(n - 1) * math.sqrt(variance / n)
    low, high = max(float(CES_MIN), mean - half), min(float(values[-1]), mean + half)
    return CesFigures(n=n, mean=mean, mean_low=low, mean_high=high, agree=agree)


def mentions(base: Counters, mentioning: Counters) -> MentionFigures:
    """How the responses of ``base`` that mention a theme (or chose a driver) differ from the others.

    ``base``: the counters of the slice the theme is compared within (``*``, or a segment, period or
    channel), ``mentioning``: the counters of its ``theme=<id>`` (``driver=<id>``) slice over the same
    period and channel. Those not mentioning are the base minus the theme, so in a ``*`` base they
    include responses without a comment (or without a driver answer); pass a base of only commented
    responses to compare within those. A theme count above the base's (counters read a moment apart) is
    capped at the base's."""
    total = category_counts(base)
    part = category_counts(mentioning)
    part = CategoryCounts(
        promoters=min(part.promoters, total.promoters),
        passives=min(part.passives, total.passives),
        detractors=min(part.detractors, total.detractors),
    )
    others = rest(total, part)
    return MentionFigures(
        detractors=wilson(part.detractors, total.detractors),
        passives=wilson(part.passives, total.passives),
        promoters=wilson(part.promoters, total.promoters),
        mentioning=estimate(part),
        not_mentioning=estimate(others),
        difference=compare(others, part),
    )
