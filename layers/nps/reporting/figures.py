"""Reading NPS figures from the aggregates, never the responses: cost grows with periods, not answers.

A report is built from aggregate items only: totals over a range from an aligned cover of the range
(:func:`nps.reporting.ranges.cover`), a trend from one item per period, segment and channel comparisons from
the same covers per slice, and the slices a survey has in the range from the quarter items of the
aggregates' ``by_survey_period`` index (so a report's reads depend on its range, not the survey's age).
Every figure carries n, the adjusted-Wald interval and, on a trend, whether the change from the previous
period is significant (:mod:`nps.kernel.statistics`); a segment or channel row, whether it
differs significantly from the rest of the responses. A whole report chooses its trend's step from the
range and the responses per period unless one is given (:mod:`nps.reporting.granularity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nps.accounts.membership import ACCOUNT_DIMENSION
from nps.kernel.formatting import rounded
from nps.kernel.periods import Granularity
from nps.kernel.statistics import CategoryCounts, ChangeTest, NpsEstimate, Proportion, compare, estimate, rest
from nps.reasons.figures import CesFigures, CsatFigures
from nps.reasons.figures import ces as ces_figures
from nps.reasons.figures import csat as csat_figures
from nps.reasons.scales import CES_COUNTERS, CSAT_COUNTERS, DRIVER_DIMENSION, THEME_DIMENSION
from nps.reporting import granularity as steps_rule
from nps.reporting.ranges import DateRange, Period, cover, periods
from nps.scoring.aggregation import ALL, APART_CHANNELS, CATEGORY_COUNTERS, SCORE_COUNTERS, AggregateKey

#: Counter the sending side increments on the same aggregate keys, for the response rate.
INVITES_SENT = "invites_sent"
#: Below this many responses a slice's NPS is flagged as unreliable.
SMALL_N = 30
_COUNTER_NAMES = (*CATEGORY_COUNTERS.values(), *SCORE_COUNTERS, *CSAT_COUNTERS, *CES_COUNTERS, INVITES_SENT)

Counters = dict[str, int]


class ReportError(ValueError):
    """A report request that cannot be served; ``status`` and ``code`` are what an API answers."""

    status = 400
    code = "bad_request"


class UnknownSurvey(ReportError):
    status = 404
    code = "unknown_survey"

    def __init__(self, survey_id: str, defined: bool = False) -> None:
        if defined:  # the definition exists, nothing was sent or answered yet
            super().__init__(f"survey {survey_id!r} has no invites or responses yet: start a wave first")
        else:
            super().__init__(f"no survey {survey_id!r} has responses or invites to report on")


class UnknownSegment(ReportError):
    status = 404
    code = "unknown_segment"


class AggregateReader(Protocol):
    """The single-key reads of :class:`nps.scoring.adapters.aggregates.DynamoAggregateStore` (kept for the demo)."""

    def get(self, key: AggregateKey) -> dict[str, int]: ...

    def query(self, pk: str, first_period: str, last_period: str) -> list[dict[str, Any]]: ...


class AggregateSource(Protocol):
    """What a report reads: counters by period for one slice, and the slices a survey has."""

    items_read: int

    def read(self, pk: str, first_key: str, last_key: str) -> dict[str, Counters]:
        """Counters of every period between two keys (inclusive) of one aggregate partition."""
        ...

    def slices(self, survey_id: str, span: DateRange) -> set[tuple[str, str]]:
        """Every (segment, channel) pair with aggregates in a quarter overlapping ``span`` (may be empty)."""
        ...

    def exists(self, pk: str) -> bool:
        """Whether the aggregate partition ``pk`` has any item, in any period (reads at most one)."""
        ...


def counts_from(counters: dict[str, int]) -> CategoryCounts:
    return CategoryCounts(
        promoters=counters.get("promoters", 0),
        passives=counters.get("passives", 0),
        detractors=counters.get("detractors", 0),
    )


def add_counters(total: Counters, counters: Counters) -> None:
    for name in _COUNTER_NAMES:
        if name in counters:
            total[name] = total.get(name, 0) + counters[name]


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything reported for one slice: counts, NPS with its interval, scores and response rate."""

    counts: CategoryCounts
    estimate: NpsEstimate
    scores: tuple[int, ...]
    invites_sent: int
    #: CSAT (% satisfied, 4–5 of 5) and CES (mean of 1–7, % agree 5–7) of the slice's follow-up answers,
    #: each with its own n (:mod:`nps.reasons.figures`).
    csat: CsatFigures
    ces: CesFigures

    @classmethod
    def from_counters(cls, counters: Counters) -> Figures:
        counts = counts_from(counters)
        return cls(
            counts=counts,
            estimate=estimate(counts),
            scores=tuple(max(0, counters.get(name, 0)) for name in SCORE_COUNTERS),
            invites_sent=max(0, counters.get(INVITES_SENT, 0)),
            csat=csat_figures(counters),
            ces=ces_figures(counters),
        )

    @property
    def response_rate(self) -> float | None:
        """Responses per invite sent, as a percentage (``None`` when no invites were counted).

        Responses are counted in the period of their first answer and invites in the period they
        were sent, so over a short range the rate can differ from the rate of one wave.
        """
        if self.invites_sent <= 0:
            return None
        return 100.0 * self.counts.n / self.invites_sent

    @property
    def answers_to_earlier_invites(self) -> int:
        """How many responses in the range at least answer invites sent before it (0 when none must).

        Each invite has at most one counted response, first answered on or after the day it was sent,
        and re-surveys count on neither side; so when a range has more responses than invites sent,
        the difference answers invites sent earlier, and the response rate (which may then pass 100%)
        is not the share of the range's invites that were answered. Fewer responses than invites does
        not prove the opposite: the aggregates do not say when an answered invite was sent.
        """
        return max(0, self.counts.n - self.invites_sent)

    @property
    def earlier_invites(self) -> bool:
        """Whether some responses in the range certainly answer invites sent before it."""
        return self.answers_to_earlier_invites > 0

    @property
    def small_n(self) -> bool:
        return self.counts.n < SMALL_N

    def as_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "n": self.counts.n,
            "nps": _round(e.nps),
            "margin": _round(e.margin),
            "low": _round(e.low),
            "high": _round(e.high),
            "promoters": self.counts.promoters,
            "passives": self.counts.passives,
            "detractors": self.counts.detractors,
            "promoter_share": _round(e.promoter_share),
            "passive_share": _round(e.passive_share),
            "detractor_share": _round(e.detractor_share),
            "scores": list(self.scores),
            "invites_sent": self.invites_sent,
            "response_rate": _round(self.response_rate),
            "earlier_invites": self.earlier_invites,
            "answers_to_earlier_invites": self.answers_to_earlier_invites,
            "small_n": self.small_n,
            "csat": csat_dict(self.csat),
            "ces": ces_dict(self.ces),
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return rounded(value, digits)


def proportion_dict(proportion: Proportion) -> dict[str, Any]:
    """A share as the API returns it: count of n, percent with its 95% Wilson interval (0–100)."""
    return {
        "count": proportion.count,
        "n": proportion.n,
        "percent": _round(proportion.percent),
        "low": _round(proportion.low),
        "high": _round(proportion.high),
    }


def csat_dict(figures: CsatFigures) -> dict[str, Any]:
    """CSAT as the API returns it (``CsatOut``)."""
    return {"n": figures.n, "satisfied": proportion_dict(figures.satisfied)}


def ces_dict(figures: CesFigures) -> dict[str, Any]:
    """CES as the API returns it (``CesOut``)."""
    return {
        "n": figures.n,
        "mean": _round(figures.mean),
        "mean_low": _round(figures.mean_low),
        "mean_high": _round(figures.mean_high),
        "agree": proportion_dict(figures.agree),
    }


def change_dict(change: ChangeTest | None) -> dict[str, Any] | None:
    """A change as the API returns it: difference, its 95% interval, z, p and significance."""
    if change is None:
        return None
    return {
        "difference": _round(change.difference),
        "low": _round(change.low),
        "high": _round(change.high),
        "z": _round(change.z, 3),
        "p_value": _round(change.p_value, 4),
        "significant": change.significant,
    }


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period: Period
    figures: Figures
    #: The change from the previous point (``None`` for the first point).
    change: ChangeTest | None
    #: The period reaches outside the requested range (its figures are for the whole period).
    partial: bool

    def as_dict(self) -> dict[str, Any]:
        change = self.change
        return {
            "period": self.period.key,
            "first_day": self.period.first.isoformat(),
            "last_day": self.period.last.isoformat(),
            "partial": self.partial,
            **self.figures.as_dict(),
            "change": change_dict(change),
        }


@dataclass(frozen=True, slots=True)
class SliceRow:
    """One row of a segment or channel comparison.

    ``versus_rest`` tests this slice against the other responses of the same report (the total minus
    this slice): ``difference`` is this slice's NPS minus the rest's, ``significant`` at the 5% level.
    """

    dimension: str
    value: str
    figures: Figures
    versus_rest: ChangeTest | None = None
    #: Answers outside the report's total (anonymous share-link answers of a survey that does not count
    #: them in its NPS): ``versus_rest`` then compares them with the whole total.
    apart: bool = False

    @property
    def label(self) -> str:
        return f"{self.dimension}={self.value}"

    @property
    def differs(self) -> str:
        """``"above"`` or ``"below"`` when significantly different from the rest, else ``""``."""
        change = self.versus_rest
        if change is None or not change.significant or change.difference is None:
            return ""
        return "above" if change.difference > 0 else "below"

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "value": self.value,
            **self.figures.as_dict(),
            "versus_rest": change_dict(self.versus_rest),
            "apart": self.apart,
        }


def versus_rest(row: SliceRow, total: Figures) -> SliceRow:
    """``row`` with its two-sample test against the rest of ``total`` (the responses outside the row)."""
    return SliceRow(
        row.dimension, row.value, row.figures, compare(rest(total.counts, row.figures.counts), row.figures.counts)
    )


def trim_leading_empty(points: Sequence[TrendPoint]) -> list[TrendPoint]:
    """The trend from its first period with responses (all of it when none has any)."""
    for index, point in enumerate(points):
        if point.figures.counts.n:
            return list(points[index:])
    return list(points)


@dataclass(frozen=True, slots=True)
class Headline:
    """The story of a report in one place: NPS with its interval, the latest change, the response rate.

    ``latest`` is the last period with responses and ``change`` its change from the period before (as the
    trend shows it; ``None`` when that period had no responses or there is none).
    """

    title: str
    figures: Figures
    latest: TrendPoint | None
    previous: TrendPoint | None
    change: ChangeTest | None


def headline(report: Report) -> Headline:
    """The headline of ``report`` (pure)."""
    with_data = [index for index, point in enumerate(report.trend) if point.figures.counts.n]
    latest = report.trend[with_data[-1]] if with_data else None
    previous = report.trend[with_data[-1] - 1] if with_data and with_data[-1] > 0 else None
    change = latest.change if latest is not None and latest.change and latest.change.difference is not None else None
    return Headline(report.title, report.total, latest, previous, change)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The segment values and channels a survey has aggregates for in the quarters overlapping ``span``
    (every period when ``span`` is ``None``).

    The ``driver=<id>`` and ``theme=<id>`` slices are a response's reasons, not its segments: they are
    kept apart in ``drivers`` and ``themes`` (sorted ids) and never appear among ``dimensions``; nor do
    the ``account_id=<id>`` slices of accounts (``accounts``), kept by month and quarter only.
    """

    survey_id: str
    dimensions: dict[str, tuple[str, ...]]
    channels: tuple[str, ...]
    span: DateRange | None = None
    drivers: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    #: The accounts answering or invited (``account_id=<id>`` slices: :mod:`nps.reporting.accounts`).
    accounts: tuple[str, ...] = ()

    @classmethod
    def from_slices(cls, survey_id: str, slices: set[tuple[str, str]], span: DateRange | None = None) -> Catalog:
        values: dict[str, set[str]] = {}
        channels: set[str] = set()
        for segment, channel in slices:
            if segment != ALL and "=" in segment:
                dimension, value = segment.split("=", 1)
                values.setdefault(dimension, set()).add(value)
            if channel != ALL:
                channels.add(channel)
        drivers = tuple(sorted(values.pop(DRIVER_DIMENSION, ())))
        themes = tuple(sorted(values.pop(THEME_DIMENSION, ())))
        accounts = tuple(sorted(values.pop(ACCOUNT_DIMENSION, ())))
        dimensions = {d: tuple(sorted(v)) for d, v in sorted(values.items())}
        return cls(survey_id, dimensions, tuple(sorted(channels)), span, drivers, themes, accounts)

    def has_segment(self, segment: str) -> bool:
        """Whether ``segment`` is ``*`` or a ``dimension=value`` in this catalog."""
        if segment == ALL:
            return True
        dimension, _, value = segment.partition("=")
        return bool(value) and value in self.dimensions.get(dimension, ())

    def check_segment(self, segment: str) -> None:
        """Raises :class:`UnknownSegment` unless :meth:`has_segment`; the message names the known dimensions."""
        if self.has_segment(segment):
            return
        if not segment.partition("=")[2]:
            raise UnknownSegment(f"a segment is written dimension=value, e.g. plan=pro (got {segment!r})")
        raise UnknownSegment(f"survey {self.survey_id!r} has no segment {segment!r}{self._known()}")

    def check_dimension(self, dimension: str) -> None:
        """Raises :class:`UnknownSegment` when the catalog has no value of ``dimension``."""
        if dimension not in self.dimensions:
            raise UnknownSegment(f"survey {self.survey_id!r} has no segment dimension {dimension!r}{self._known()}")

    def _known(self) -> str:
        known = ", ".join(self.dimensions) or "none"
        where = f" in {self.span.label()}" if self.span is not None else ""
        return f" (dimensions{where}: {known})"


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report: headline, trend, comparisons by segment dimension and channel."""

    survey_id: str
    span: DateRange
    granularity: Granularity
    segment: str
    channel: str
    total: Figures
    trend: list[TrendPoint]
    segments: dict[str, list[SliceRow]]
    channels: list[SliceRow]
    items_read: int = 0
    catalog: Catalog | None = field(default=None, compare=False)
    #: The survey's name from its definition (the reports fall back on the id without it).
    survey_name: str | None = None
    #: Whether the trend's step was chosen by :mod:`nps.reporting.granularity` (not asked for).
    granularity_chosen: bool = False

    @property
    def title(self) -> str:
        return self.survey_name or self.survey_id


def _pk(survey_id: str, granularity: Granularity, segment: str, channel: str) -> str:
    return AggregateKey(survey_id, granularity, "", segment, channel).pk


def sort_by_nps(rows: list[SliceRow]) -> list[SliceRow]:
    """Highest NPS first; slices without responses last, then by label."""
    return sorted(
        rows,
        key=lambda r: (r.figures.estimate.nps is None, -(r.figures.estimate.nps or 0.0), r.label),
    )


class ReportService:
    """Reports for one survey, computed from aggregate items only."""

    def __init__(self, source: AggregateSource) -> None:
        self.source = source

    def catalog(self, survey_id: str, span: DateRange, segment: str = ALL, defined: bool = False) -> Catalog:
        """The survey's segments and channels in the quarters overlapping ``span``, with ``segment`` checked.

        Reads the range's quarter items of each slice, and at most one more item when the range has
        none (is the survey known at all?) or ``segment`` is not among them (did the survey ever have
        it? A segment known from other periods reports zeros in this range). Raises
        :class:`UnknownSurvey` for a survey without any aggregates (worded for a survey whose definition
        exists when ``defined``), :class:`UnknownSegment` for a segment it never had.
        """
        slices = self.source.slices(survey_id, span)
        if not slices and not self.source.exists(_pk(survey_id, Granularity.QUARTER, ALL, ALL)):
            raise UnknownSurvey(survey_id, defined)
        catalog = Catalog.from_slices(survey_id, slices, span)
        if not catalog.has_segment(segment) and not self._ever_had(survey_id, segment):
            catalog.check_segment(segment)
        return catalog

    def _ever_had(self, survey_id: str, segment: str) -> bool:
        """Whether the survey has aggregates of ``dimension=value`` in any period (reads at most one item)."""
        return "=" in segment and self.source.exists(_pk(survey_id, Granularity.QUARTER, segment, ALL))

    def counters(self, survey_id: str, span: DateRange, segment: str = ALL, channel: str = ALL) -> Counters:
        """The summed counters of one slice over exactly ``span`` (the aligned cover of the range)."""
        counters: Counters = {}
        for run in cover(span):
            for period_counters in self.source.read(
                _pk(survey_id, run.granularity, segment, channel), run.first_key, run.last_key
            ).values():
                add_counters(counters, period_counters)
        return counters

    def total(self, survey_id: str, span: DateRange, segment: str = ALL, channel: str = ALL) -> Figures:
        """Figures for one slice over exactly ``span`` (a few items: the aligned cover of the range)."""
        return Figures.from_counters(self.counters(survey_id, span, segment, channel))

    def trend(
        self,
        survey_id: str,
        span: DateRange,
        granularity: Granularity,
        segment: str = ALL,
        channel: str = ALL,
    ) -> list[TrendPoint]:
        """One point per period overlapping ``span`` (one query), each tested against the previous."""
        granularity = Granularity(granularity)
        steps = periods(granularity, span)
        by_period = self.source.read(_pk(survey_id, granularity, segment, channel), steps[0].key, steps[-1].key)
        return _points(steps, by_period, span)

    def chosen_trend(
        self, survey_id: str, span: DateRange, segment: str = ALL, channel: str = ALL
    ) -> tuple[Granularity, list[TrendPoint]]:
        """The trend at the step :func:`nps.reporting.granularity.choose` picks (one query per candidate)."""
        read: dict[Granularity, tuple[list[Period], dict[str, Counters]]] = {}
        for candidate in steps_rule.candidates(span):
            steps = periods(candidate, span)
            pk = _pk(survey_id, candidate, segment, channel)
            read[candidate] = (steps, self.source.read(pk, steps[0].key, steps[-1].key))
        n_per_period = {
            g: [counts_from(by_period.get(step.key, {})).n for step in steps] for g, (steps, by_period) in read.items()
        }
        chosen = steps_rule.choose(n_per_period)
        steps, by_period = read[chosen]
        return chosen, _points(steps, by_period, span)

    def by_dimension(
        self,
        survey_id: str,
        span: DateRange,
        dimension: str,
        channel: str = ALL,
        catalog: Catalog | None = None,
        total: Figures | None = None,
    ) -> list[SliceRow]:
        """Every value of a segment dimension over ``span``, highest NPS first, each tested against the rest.

        ``total`` is the figures of the whole slice (every value, ``channel``); read when not given.
        """
        catalog = catalog or self.catalog(survey_id, span)
        catalog.check_dimension(dimension)
        total = total or self.total(survey_id, span, ALL, channel)
        rows = [
            versus_rest(SliceRow(dimension, value, self.total(survey_id, span, f"{dimension}={value}", channel)), total)
            for value in catalog.dimensions[dimension]
        ]
        return sort_by_nps(rows)

    def by_channel(
        self,
        survey_id: str,
        span: DateRange,
        segment: str = ALL,
        catalog: Catalog | None = None,
        total: Figures | None = None,
    ) -> list[SliceRow]:
        """Every channel over ``span``, highest NPS first, each tested against the other channels."""
        catalog = catalog or self.catalog(survey_id, span, segment)
        total = total or self.total(survey_id, span, segment, ALL)
        slices = {channel: self.total(survey_id, span, segment, channel) for channel in catalog.channels}
        # Every response has one channel, so the channels' sum passes the total by the answers kept apart.
        outside = sum(f.counts.n for f in slices.values()) - total.counts.n
        rows = []
        for channel, figures in slices.items():
            if channel in APART_CHANNELS and outside >= figures.counts.n > 0:
                outside -= figures.counts.n
                rows.append(SliceRow("channel", channel, figures, compare(total.counts, figures.counts), apart=True))
            else:
                rows.append(versus_rest(SliceRow("channel", channel, figures), total))
        return sort_by_nps(rows)

    def report(
        self,
        survey_id: str,
        span: DateRange,
        granularity: Granularity | None = None,
        segment: str = ALL,
        channel: str = ALL,
        survey_name: str | None = None,
    ) -> Report:
        """Headline, trend, every segment dimension and every channel for one survey and range.

        Without ``granularity`` the trend's step is chosen from the range and the responses per period
        (:mod:`nps.reporting.granularity`). Leading periods without responses are left out of the trend.
        """
        start = self.source.items_read
        catalog = self.catalog(survey_id, span, segment, defined=survey_name is not None)
        chosen = granularity is None
        if granularity is None:
            granularity, trend = self.chosen_trend(survey_id, span, segment, channel)
        else:
            trend = self.trend(survey_id, span, granularity, segment, channel)
        trend = trim_leading_empty(trend)
        total = self.total(survey_id, span, segment, channel)
        # Aggregates hold one dimension at a time, so a report filtered to a segment has no cross-tab.
        segments: dict[str, list[SliceRow]] = {}
        if segment == ALL:
            for dimension in catalog.dimensions:
                segments[dimension] = self.by_dimension(survey_id, span, dimension, channel, catalog, total)
        channels = self.by_channel(survey_id, span, segment, catalog, total) if channel == ALL else []
        return Report(
            survey_id=survey_id,
            survey_name=survey_name,
            granularity_chosen=chosen,
            span=span,
            granularity=Granularity(granularity),
            segment=segment,
            channel=channel,
            total=total,
            trend=trend,
            segments=segments,
            channels=channels,
            items_read=self.source.items_read - start,
            catalog=catalog,
        )


def _points(steps: Sequence[Period], by_period: dict[str, Counters], span: DateRange) -> list[TrendPoint]:
    """Trend points from one read of a slice's periods, each tested against the previous one."""
    points: list[TrendPoint] = []
    previous: CategoryCounts | None = None
    for step in steps:
        figures = Figures.from_counters(by_period.get(step.key, {}))
        change = None if previous is None else compare(previous, figures.counts)
        points.append(TrendPoint(step, figures, change, partial=not step.within(span)))
        previous = figures.counts
    return points


# -- the original single-slice helpers (used by the demo's quick check) ----------------------------
@dataclass(frozen=True, slots=True)
class SliceReport:
    label: str
    counts: CategoryCounts
    estimate: NpsEstimate


def slice_report(
    reader: AggregateReader,
    survey_id: str,
    granularity: Granularity,
    period: str,
    segment: str = ALL,
    channel: str = ALL,
    label: str | None = None,
) -> SliceReport:
    """NPS with its interval for one survey × period × segment × channel (one item read)."""
    counts = counts_from(reader.get(AggregateKey(survey_id, granularity, period, segment, channel)))
    return SliceReport(label or segment, counts, estimate(counts))
