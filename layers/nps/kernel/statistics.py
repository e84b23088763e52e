"""NPS, its 95% interval and the significance of a change between two periods.

The interval uses the adjusted-Wald method for NPS (Rocks 2016, *The American Statistician* 70(4)):
add 3 to n and ¾ to each of the promoter and detractor counts, then

    Var(NPS) = (p_P + p_D − (p_P − p_D)²) / n

with the adjusted proportions and n. The change between two independent periods is tested with a
two-sided z test on the difference of the adjusted estimates, whose variance is the sum of the two
variances; the same difference and variance give the change's 95% interval (a Wald interval for the
difference of two independent adjusted estimates, Rocks 2016 §4). A segment is compared with the rest
of the responses (:func:`rest`) by the same test: the two are disjoint, hence independent samples.
All figures are on the −100…+100 scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054
ADJUST_N = 3.0
ADJUST_COUNT = 0.75


@dataclass(frozen=True, slots=True)
class CategoryCounts:
    """Counts of promoters, passives and detractors for one slice of responses."""

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def __post_init__(self) -> None:
        if min(self.promoters, self.passives, self.detractors) < 0:
            raise ValueError("category counts cannot be negative")

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    def __add__(self, other: CategoryCounts) -> CategoryCounts:
        return CategoryCounts(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )


@dataclass(frozen=True, slots=True)
class NpsEstimate:
    """An NPS with its sample size and adjusted-Wald 95% interval (all on the −100…+100 scale)."""

    nps: float | None
    n: int
    margin: float | None
    low: float | None
    high: float | None
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None


@dataclass(frozen=True, slots=True)
class ChangeTest:
    """Whether NPS moved significantly between two independent samples (periods, or a segment and the rest).

    ``difference`` is after − before in NPS points (adjusted estimates); ``low`` and ``high`` bound its
    95% interval, ``difference ± 1.96·SE`` clipped to −200…+200 (``None`` when a sample is empty).
    """

    difference: float | None
    z: float | None
    p_value: float | None
    significant: bool
    low: float | None = None
    high: float | None = None


def nps(counts: CategoryCounts) -> float | None:
    """Observed NPS = %promoters − %detractors, or ``None`` with no responses."""
    if counts.n == 0:
        return None
    return 100.0 * (counts.promoters - counts.detractors) / counts.n


def _adjusted(counts: CategoryCounts) -> tuple[float, float]:
    """Adjusted-Wald NPS (as a proportion difference) and its variance."""
    n_adj = counts.n + ADJUST_N
    p_p = (counts.promoters + ADJUST_COUNT) / n_adj
    p_d = (counts.detractors + ADJUST_COUNT) / n_adj
    diff = p_p - p_d
    variance = (p_p + p_d - diff * diff) / n_adj
    return diff, variance


def estimate(counts: CategoryCounts, z: float = Z_95) -> NpsEstimate:
    """NPS with its adjusted-Wald interval; ``None`` fields when there are no responses."""
    if counts.n == 0:
        return NpsEstimate(None, 0, None, None, None, None, None, None)
    diff, variance = _adjusted(counts)
    margin = z * math.sqrt(variance)
    low = max(-1.0, diff - margin)
    high = min(1.0, diff + margin)
    n = counts.n
    return NpsEstimate(
        nps=nps(counts),
        n=n,
        margin=100.0 * margin,
        low=100.0 * low,
        high=100.0 * high,
        promoter_share=100.0 * counts.promoters / n,
        passive_share=100.0 * counts.passives / n,
        detractor_share=100.0 * counts.detractors / n,
    )


def compare(before: CategoryCounts, after: CategoryCounts, alpha: float = 0.05) -> ChangeTest:
    """Two-sided z test for the change in NPS between two independent samples, with its 95% interval.

    A test at another ``alpha`` keeps the 95% interval; only ``significant`` follows ``alpha``.
    """
    if before.n == 0 or after.n == 0:
        return ChangeTest(None, None, None, False)
    d1, v1 = _adjusted(before)
    d2, v2 = _adjusted(after)
    se = math.sqrt(v1 + v2)
    difference = 100.0 * (d2 - d1)
    z = (d2 - d1) / se
    p_value = math.erfc(abs(z) / math.sqrt(2.0))
    half = 100.0 * Z_95 * se
    return ChangeTest(
        difference=difference,
        z=z,
        p_value=p_value,
        significant=p_value < alpha,
        low=max(-200.0, difference - half),
        high=min(200.0, difference + half),
    )


def rest(total: CategoryCounts, part: CategoryCounts) -> CategoryCounts:
    """The responses of ``total`` outside ``part`` (a segment value's complement within its dimension).

    Counts never go below zero: a part read a moment later than its total cannot make them negative.
    """
    return CategoryCounts(
        promoters=max(0, total.promoters - part.promoters),
        passives=max(0, total.passives - part.passives),
        detractors=max(0, total.detractors - part.detractors),
    )


@dataclass(frozen=True, slots=True)
class Proportion:
    """``count`` of ``n`` as a percentage (0–100) with its 95% Wilson interval; None fields when n = 0."""

    count: int
    n: int
    percent: float | None
    low: float | None
    high: float | None


def wilson(count: int, n: int, z: float = Z_95) -> Proportion:
    """``count`` of ``n`` in percent with its Wilson score interval (Wilson 1927, *JASA* 22(158):209–212):
    centre = (p̂ + z²/2n) / (1 + z²/n), half-width = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).

    Raises ``ValueError`` unless 0 ≤ count ≤ n."""
    if not 0 <= count <= n:
        raise ValueError("a proportion needs 0 <= count <= n")
    if n == 0:
        return Proportion(0, 0, None, None, None)
    p = count / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    # The interval always holds p̂ (exactly 0 at k = 0, 1 at k = n); rounding must not move it past.
    return Proportion(
        count=count,
        n=n,
        percent=100.0 * p,
        low=100.0 * min(p, max(0.0, centre - half)),
        high=100.0 * max(p, min(1.0, centre + half)),
    )
