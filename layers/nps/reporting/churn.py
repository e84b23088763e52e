"""The churn report of one survey: churn rate by last NPS category, churn over time, in JSON, CSV and HTML.

Figures come from :mod:`nps.accounts.churn_figures` (formulas and sources there and in docs/churn.md): the
churn records of the survey (accounts table) and the survey's responses per cohort period (the
``promoters`` / ``passives`` / ``detractors`` counters of its ``*`` / ``*`` aggregate slice, one item per
month or quarter). Churns without an answer are counted from the ``churn#*`` partition by ``churned_at``.

The API (``GET /reports/{survey_id}/churn``), ``nps churn`` and the HTML report's "Churn by last NPS
category" section all go through :func:`churn_report`, so they show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from nps.accounts.churn_figures import CATEGORIES, CHURN_GRANULARITIES, CategoryRate, ChurnFigures, churn_figures
from nps.kernel.periods import Granularity
from nps.kernel.spreadsheets import BOM, safe_cell, writer
from nps.reporting.figures import AggregateSource, ReportError, ReportService, counts_from
from nps.reporting.ranges import DateRange, periods
from nps.scoring.aggregation import ALL, AggregateKey

if TYPE_CHECKING:
    from nps.accounts.churn import ChurnRecord
    from nps.kernel.statistics import CategoryCounts, Proportion


class BadGranularity(ReportError):
    status = 400
    code = "bad_granularity"


class ChurnSource(Protocol):
    """Churn records of a survey and the count of churns without an answer (``DynamoChurnReader``)."""

    def records(self, survey_id: str) -> list[ChurnRecord]: ...

    def unmatched(self, first: str, last: str) -> int: ...


@dataclass(frozen=True, slots=True)
class ChurnReport:
    """A survey's churn figures over a range of days (cohort periods overlapping it)."""

    survey_id: str
    span: DateRange
    figures: ChurnFigures


def churn_report(
    aggregates: AggregateSource, churns: ChurnSource, survey_id: str, span: DateRange, granularity: Granularity
) -> ChurnReport:
    """The churn report of ``survey_id``. Raises :class:`BadGranularity` for anything but month or quarter,
    ``UnknownSurvey`` for a survey without aggregates, and ``RangeError`` for a range too long."""
    granularity = Granularity(granularity)
    if granularity not in CHURN_GRANULARITIES:
        raise BadGranularity("churn is reported by month or by quarter")
    ReportService(aggregates).catalog(survey_id, span)
    keys = [p.key for p in periods(granularity, span)]
    pk = AggregateKey(survey_id, granularity, "", ALL, ALL).pk
    counters = aggregates.read(pk, keys[0], keys[-1]) if keys else {}
    responses: dict[str, CategoryCounts] = {key: counts_from(dict(value)) for key, value in counters.items()}
    figures = churn_figures(
        granularity,
        keys,
        responses,
        # Every record: one is dated by its last answer, which may come after the range although its cohort
        # is in it (a period counts whole, and a score changed in the edit window can be given in the next
        # period), and a churn in the range may be held against an answer long before it.
        churns.records(survey_id),
        first_day=span.first,
        last_day=span.last,
        unmatched=churns.unmatched(span.start_timestamp(), span.end_timestamp()),
    )
    return ChurnReport(survey_id, span, figures)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _proportion(p: Proportion) -> dict[str, Any]:
    return {"count": p.count, "n": p.n, "percent": _round(p.percent), "low": _round(p.low), "high": _round(p.high)}


def report_dict(report: ChurnReport) -> dict[str, Any]:
    """``ChurnOut`` as JSON (:mod:`nps.reporting.churn_models`)."""
    figures = report.figures

    def rates(rows: Sequence[Any]) -> list[dict[str, Any]]:
        return [
            {"category": r.category.value, "churned": r.churned, "responses": r.responses, "rate": _proportion(r.rate)}
            for r in rows
        ]

    difference = figures.detractors_vs_promoters
    return {
        "survey_id": report.survey_id,
        "from": report.span.first.isoformat(),
        "to": report.span.last.isoformat(),
        "granularity": figures.granularity.value,
        "by_category": rates(figures.total),
        "overall": _proportion(figures.overall),
        "detractors_vs_promoters": {
            "difference": _round(difference.difference),
            "low": _round(difference.low),
            "high": _round(difference.high),
            "significant": difference.significant,
        },
        "periods": [
            {"period": row.period, "by_category": rates(row.by_category), "overall": _proportion(row.overall)}
            for row in figures.periods
        ],
        "churn_events_by_month": [{"month": month, "churned": count} for month, count in figures.events_by_month],
        "accounts_by_category": {c.value: figures.accounts.get(c, 0) for c in CATEGORIES},
        "churned_without_answer": figures.unmatched,
        "inconsistent_cells": figures.inconsistent,
    }


CSV_COLUMNS = ("period", "category", "churned", "responses", "rate_percent", "low", "high")


def csv_rows(report: ChurnReport) -> list[list[str]]:
    """One row per cohort period and category, then the range (``period`` = ``all``), in
    :data:`CSV_COLUMNS` order; percentages 0–100 with 2 decimals (empty when n = 0)."""
    rows = [(row.period, row.by_category) for row in report.figures.periods] + [("all", report.figures.total)]
    return [
        [
            period,
            r.category.value,
            str(r.churned),
            str(r.responses),
            *(_cell(v) for v in (r.rate.percent, r.rate.low, r.rate.high)),
        ]
        for period, rates in rows
        for r in rates
    ]


def write_csv(target: TextIO, report: ChurnReport, *, bom: bool = True) -> int:
    """Write :func:`csv_rows` with a header (and a byte order mark unless ``bom`` is false), every field
    quoted and safe for spreadsheets, as the other exports; the number of rows."""
    if bom:
        target.write(BOM)
    out = writer(target)
    out.writerow([safe_cell(name) for name in CSV_COLUMNS])
    rows = csv_rows(report)
    out.writerows([[safe_cell(cell) for cell in row] for row in rows])
    return len(rows)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def text_lines(report: ChurnReport) -> list[str]:
    """The report for a terminal: one line per category over the range, then the comparison and counts."""
    figures = report.figures
    lines = [f"Churn by last NPS category, {report.survey_id}, {report.span.label()} (by {figures.granularity.value})"]
    for r in figures.total:
        lines.append(f"  {r.category.value:<10} {r.churned:>5} of {r.responses:>6}  {_percent(r.rate)}")
    lines.append(f"  {'all':<10} {figures.overall.count:>5} of {figures.overall.n:>6}  {_percent(figures.overall)}")
    d = figures.detractors_vs_promoters
    if d.difference is not None and d.low is not None and d.high is not None:
        verdict = "significantly more" if d.significant else "not significantly more"
        lines.append(
            f"  detractors − promoters: {d.difference:+.1f} pts (95% {d.low:+.1f} to {d.high:+.1f}): {verdict}"
        )
    lines.append(f"  churned without an answer: {figures.unmatched}")
    return lines


def _percent(p: Proportion) -> str:
    if p.percent is None or p.low is None or p.high is None:
        return "—"
    return f"{p.percent:5.1f}% (95% {p.low:.1f}–{p.high:.1f})"


# -- HTML ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChurnBar:
    """One category's bar (its rate over the range) and its 95% interval whisker, in SVG user units."""

    category: str
    x: float
    y: float
    height: float
    centre: float
    whisker_low: float | None
    whisker_high: float | None
    rate: CategoryRate


@dataclass(frozen=True, slots=True)
class ChurnChart:
    """Geometry of the "Churn by last NPS category" chart (``templates/reports/churn.html``)."""

    width: int
    height: int
    baseline: float
    bar_width: int
    bars: tuple[ChurnBar, ...]
    ticks: tuple[tuple[float, str], ...]


def churn_chart(report: ChurnReport, *, bar_width: int = 90, gap: int = 50, plot_height: int = 180) -> ChurnChart:
    """Bars for the range's rate of each category, scaled so the highest interval end fits, with ticks."""
    rates = report.figures.total
    top = max([r.rate.high or 0.0 for r in rates] + [1.0])
    step = next(s for s in (0.5, 1, 2, 5, 10, 20, 25, 50, 100) if top / s <= 5)
    top = step * math.ceil(top / step)
    left, baseline = 50, 20 + plot_height

    def y(percent: float) -> float:
        return round(baseline - percent / top * plot_height, 1)

    bars = []
    for i, rate in enumerate(rates):
        x = left + gap / 2 + i * (bar_width + gap)
        value = rate.rate.percent or 0.0
        bars.append(
            ChurnBar(
                category=rate.category.value,
                x=x,
                y=y(value),
                height=round(baseline - y(value), 1),
                centre=x + bar_width / 2,
                whisker_low=None if rate.rate.low is None else y(rate.rate.low),
                whisker_high=None if rate.rate.high is None else y(rate.rate.high),
                rate=rate,
            )
        )
    ticks = tuple((y(step * k), f"{step * k:g}%") for k in range(round(top / step) + 1))
    width = int(left + len(rates) * (bar_width + gap))
    return ChurnChart(width, baseline + 30, baseline, bar_width, tuple(bars), ticks)
