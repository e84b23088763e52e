"""The driver report: which reasons go with a higher or lower NPS, from the aggregates alone.

For one survey × range × channel, every driver (the answer to "what mattered most?") and every theme
tagged in the comments is a slice of the aggregates (``driver=<id>``, ``theme=<id>``;
:mod:`nps.scoring.aggregation`). Each row compares the responses of that slice ("mentioning") with the
rest of the survey's responses over the same range and channel ("not mentioning": the ``*`` slice minus
the reason's slice), with :func:`nps.reasons.figures.mentions`: how many mention it, the share of
detractors / passives / promoters who do, the NPS of both groups and the 95% interval of their
difference; and a trend of the mentioners' NPS per period. CSAT and CES are reported over the whole
range and channel (:func:`nps.reasons.figures.csat`, :func:`nps.reasons.figures.ces`).

The baseline of a theme is **every response of the range and channel**, with or without a comment:
the aggregates count responses per slice but not how many of them carry a comment, so "not mentioning"
includes the responses that wrote nothing. A driver's baseline is likewise every response, including
those that did not answer the driver question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nps.kernel.formatting import rounded
from nps.kernel.periods import Granularity
from nps.reasons.figures import CesFigures, CsatFigures, MentionFigures, ces, csat, mentions
from nps.reasons.scales import DRIVER_DIMENSION, THEME_DIMENSION
from nps.reporting.figures import Figures, ReportService, TrendPoint, ces_dict, change_dict, csat_dict, proportion_dict
from nps.scoring.aggregation import ALL

if TYPE_CHECKING:
    from nps.kernel.statistics import NpsEstimate
    from nps.reporting.ranges import DateRange


@dataclass(frozen=True, slots=True)
class ReasonRow:
    """One driver or theme: ``dimension`` is ``"driver"`` or ``"theme"``, ``reason`` its id.

    ``mentions`` compares its responses with the rest of the report's (see the module docstring);
    ``trend`` is the NPS of those mentioning it, one point per period of the report's granularity.
    """

    dimension: str
    reason: str
    mentions: MentionFigures
    trend: list[TrendPoint]

    @property
    def n(self) -> int:
        """How many responses of the range and channel mention it (chose the driver, or wrote the theme)."""
        return self.mentions.mentioning.n

    def as_dict(self) -> dict[str, Any]:
        m = self.mentions
        return {
            "dimension": self.dimension,
            "id": self.reason,
            "n": self.n,
            "detractors": proportion_dict(m.detractors),
            "passives": proportion_dict(m.passives),
            "promoters": proportion_dict(m.promoters),
            "mentioning": _estimate_dict(m.mentioning),
            "not_mentioning": _estimate_dict(m.not_mentioning),
            "difference": change_dict(m.difference),
            "trend": [
                {**_estimate_dict(point.figures.estimate), "period": point.period.key, "partial": point.partial}
                for point in self.trend
            ],
        }


@dataclass(frozen=True, slots=True)
class DriversReport:
    """The driver report of one survey, range and channel: drivers and themes, most mentioned first."""

    survey_id: str
    span: DateRange
    granularity: Granularity
    channel: str
    total: Figures
    csat: CsatFigures
    ces: CesFigures
    drivers: list[ReasonRow]
    themes: list[ReasonRow]
    items_read: int = 0

    @property
    def rows(self) -> list[ReasonRow]:
        """Drivers first, then themes."""
        return [*self.drivers, *self.themes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "from": self.span.first.isoformat(),
            "to": self.span.last.isoformat(),
            "granularity": self.granularity.value,
            "channel": self.channel,
            "n": self.total.counts.n,
            "csat": csat_dict(self.csat),
            "ces": ces_dict(self.ces),
            "drivers": [row.as_dict() for row in self.drivers],
            "themes": [row.as_dict() for row in self.themes],
        }


def _estimate_dict(estimate: NpsEstimate) -> dict[str, Any]:
    """An NPS as the API returns it: n, NPS and its 95% interval (−100…+100)."""
    return {"n": estimate.n, "nps": _round(estimate.nps), "low": _round(estimate.low), "high": _round(estimate.high)}


def _round(value: float | None) -> float | None:
    return rounded(value, 2)


def drivers_report(
    service: ReportService,
    survey_id: str,
    span: DateRange,
    granularity: Granularity = Granularity.MONTH,
    channel: str = ALL,
) -> DriversReport:
    """Every driver and theme of ``survey_id`` with aggregates in the quarters overlapping ``span``.

    Reads the base slice (``*`` × ``channel``) once over the range and each reason's slice over the
    range and per period of ``granularity``; a reason no response of the range mentions has no row. Rows
    are sorted by mentions, most first, then by id.
    Raises :class:`nps.reporting.figures.UnknownSurvey` for a survey without aggregates and
    :class:`nps.reporting.ranges.RangeError` (via the trend) for too many periods.
    """
    start = service.source.items_read
    catalog = service.catalog(survey_id, span)
    base = service.counters(survey_id, span, ALL, channel)

    def rows(dimension: str, ids: tuple[str, ...]) -> list[ReasonRow]:
        found = []
        for reason in ids:
            segment = f"{dimension}={reason}"
            figures = mentions(base, service.counters(survey_id, span, segment, channel))
            if not figures.mentioning.n:
                # Mentioned by no response of the range: by none any more (a theme a re-tag removed, a
                # driver every answer changed away from) leaves a slice of zeros, which is no row.
                continue
            trend = service.trend(survey_id, span, granularity, segment, channel)
            found.append(ReasonRow(dimension, reason, figures, trend))
        return sorted(found, key=lambda row: (-row.n, row.reason))

    drivers = rows(DRIVER_DIMENSION, catalog.drivers)
    themes = rows(THEME_DIMENSION, catalog.themes)
    return DriversReport(
        survey_id=survey_id,
        span=span,
        granularity=Granularity(granularity),
        channel=channel,
        total=Figures.from_counters(base),
        csat=csat(base),
        ces=ces(base),
        drivers=drivers,
        themes=themes,
        items_read=service.source.items_read - start,
    )
