"""The self-contained HTML report: the view model (chart geometry computed here) and its rendering.

Everything the page needs is inline: styles and SVG charts, no scripts, fonts or images from elsewhere,
so the file can be mailed, archived or printed. Comments are escaped by Jinja2's autoescape.

The page reads on a phone (375 CSS px) and on paper: chart text is sized per screen width so it renders
at 12 px or more, each point's NPS is written on the chart (up to :data:`MAX_VALUE_LABELS` points) and in
the trend table under it, and the segment table stacks into one card per row on narrow screens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from nps.accounts.health import Health
from nps.kernel import formatting
from nps.kernel.rendering import render
from nps.reasons.scales import DRIVER_DIMENSION
from nps.reporting.churn import ChurnReport, churn_chart
from nps.reporting.figures import Figures, Report, SliceRow, TrendPoint, headline

if TYPE_CHECKING:
    from nps.reporting.accounts import AccountsReport
    from nps.reporting.adapters.reads import StoredResponse
    from nps.reporting.drivers import DriversReport, ReasonRow
    from nps.reporting.referrals import ReferralsReport

TEMPLATE = "reports/report.html"
CHART_WIDTH = 720
CHART_HEIGHT = 320
# Room for tick and period labels at the phone size (25 user units, see the template's styles).
MARGIN_LEFT = 64
MARGIN_RIGHT = 36
MARGIN_TOP = 36
MARGIN_BOTTOM = 44
MAX_X_LABELS = 12
#: Period labels kept on a phone-sized chart (the others are hidden below 600 CSS px).
MAX_X_LABELS_NARROW = 4
#: Up to this many points, each point's NPS is written above it; beyond, the trend table carries them.
MAX_VALUE_LABELS = 12
#: Categories in the order the report shows their comments.
CATEGORIES = ("detractor", "passive", "promoter")


@dataclass(frozen=True, slots=True)
class ChartPoint:
    x: float
    y: float | None
    low: float | None
    high: float | None
    label: str
    nps: float | None
    n: int
    significant: str  # "", "up" or "down"
    show_label: bool
    #: The period label stays on a phone-sized chart.
    narrow_label: bool
    #: The NPS is written above the point.
    show_value: bool
    #: ``text-anchor`` of the period label: the outermost labels stay inside the chart.
    label_anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class TrendChart:
    width: int
    height: int
    points: list[ChartPoint]
    line_segments: list[str]
    band: list[str]
    y_ticks: list[tuple[float, str]]
    zero_y: float | None
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int


def _scale(low: float, high: float, top: float, bottom: float) -> tuple[float, float]:
    """Linear map value → y: returns (slope, intercept)."""
    slope = (bottom - top) / (low - high)
    return slope, top - slope * high


def trend_chart(points: Sequence[TrendPoint]) -> TrendChart:
    """Geometry of the trend chart: NPS line, 95% band, significant changes, axes."""
    values = [p.figures.estimate for p in points]
    known = [(e.low, e.high) for e in values if e.low is not None and e.high is not None]
    low = min((lo for lo, _ in known), default=-20.0)
    high = max((hi for _, hi in known), default=20.0)
    step = 20.0 if high - low > 60 else 10.0
    low = max(-100.0, step * ((low // step) - (1 if low % step == 0 else 0)))
    high = min(100.0, step * (high // step + 1))
    if high <= low:
        low, high = -100.0, 100.0
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    slope, intercept = _scale(low, high, top, bottom)

    def y(value: float) -> float:
        return round(slope * value + intercept, 1)

    count = len(points)
    gap = (right - left) / max(1, count - 1) if count > 1 else 0.0
    every = max(1, -(-count // MAX_X_LABELS))
    every_narrow = max(1, -(-count // MAX_X_LABELS_NARROW))
    chart_points: list[ChartPoint] = []
    for index, point in enumerate(points):
        e = point.figures.estimate
        change = point.change
        significant = ""
        if change is not None and change.significant and change.difference is not None:
            significant = "up" if change.difference > 0 else "down"
        x = round(left + gap * index if count > 1 else (left + right) / 2, 1)
        chart_points.append(
            ChartPoint(
                x=x,
                y=None if e.nps is None else y(e.nps),
                low=None if e.low is None else y(e.low),
                high=None if e.high is None else y(e.high),
                label=point.period.key,
                nps=e.nps,
                n=e.n,
                significant=significant,
                # Counted from the latest period, which is always labelled.
                show_label=(count - 1 - index) % every == 0,
                narrow_label=(count - 1 - index) % every_narrow == 0,
                show_value=count <= MAX_VALUE_LABELS,
                label_anchor="end"
                if index == count - 1 and count > 1
                else "start"
                if index == 0 and count > 1
                else "middle",
            )
        )
    # Runs of consecutive points with data: a period without answers breaks the line and the band.
    runs: list[list[ChartPoint]] = [[]]
    for cp in chart_points:
        if cp.y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(cp)
    runs = [run for run in runs if run]
    line_segments = [" ".join(f"{p.x},{p.y}" for p in run) for run in runs]
    band = [" ".join([*(f"{p.x},{p.high}" for p in run), *(f"{p.x},{p.low}" for p in reversed(run))]) for run in runs]
    tick = low
    ticks: list[tuple[float, str]] = []
    while tick <= high + 1e-9:
        ticks.append((y(tick), formatting.signed(tick, 0)))
        tick += step
    return TrendChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        points=chart_points,
        line_segments=line_segments,
        band=band,
        y_ticks=ticks,
        zero_y=y(0.0) if low <= 0 <= high else None,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
    )


@dataclass(frozen=True, slots=True)
class HistogramBar:
    score: int
    count: int
    x: float
    y: float
    width: float
    height: float
    category: str


def histogram(figures: Figures, width: int = 440, height: int = 180) -> list[HistogramBar]:
    """Bars for scores 0–10, coloured by category."""
    top, bottom = 18, height - 24
    tallest = max(figures.scores, default=0) or 1
    slot = width / 11
    bars = []
    for score, count in enumerate(figures.scores):
        bar_height = round((bottom - top) * count / tallest, 1)
        category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        bars.append(
            HistogramBar(
                score,
                count,
                round(slot * score + 3, 1),
                round(bottom - bar_height, 1),
                round(slot - 6, 1),
                bar_height,
                category,
            )
        )
    return bars


def _segment_rows(report: Report) -> list[tuple[str, list[SliceRow]]]:
    groups = [(f"by {dimension}", rows) for dimension, rows in report.segments.items()]
    if report.channels:
        groups.append(("by channel", report.channels))
    return groups


@dataclass(frozen=True, slots=True)
class CommentSection:
    """The comments of one category: how many the range has, and the latest few shown."""

    category: str
    count: int
    shown: list[StoredResponse]


def comment_sections(
    comments: Sequence[StoredResponse], counts: Mapping[str, int] | None = None
) -> list[CommentSection]:
    """Comments grouped by category, detractors first; ``counts`` (per category) default to those given."""
    sections = []
    for category in CATEGORIES:
        shown = [c for c in comments if c.category == category]
        count = max(len(shown), (counts or {}).get(category, 0))
        sections.append(CommentSection(category, count, shown))
    return sections


#: Geometry of the drivers chart: one row per reason (and per group heading), in SVG user units.
REASON_ROW = 30
REASON_LABEL_WIDTH = 170
REASON_VALUE_WIDTH = 84
#: Longer ids are cut on the chart (with "…"); the table and the bar's tooltip carry them whole.
REASON_LABEL_CHARS = 14
REASON_TOP = 8
REASON_AXIS = 40


@dataclass(frozen=True, slots=True)
class ReasonBar:
    """One driver or theme on the chart: a bar from 0 to its NPS difference, a whisker over its interval."""

    #: The id, whole (``label`` is cut to :data:`REASON_LABEL_CHARS` for the chart).
    name: str
    label: str
    y: float
    bar_x: float
    bar_width: float
    whisker_low: float | None
    whisker_high: float | None
    difference: float | None
    low: float | None
    high: float | None
    n: int
    #: ``"up"``/``"down"`` when the difference is significant (p < 0.05), else ``""``.
    significant: str


@dataclass(frozen=True, slots=True)
class ReasonChart:
    """A horizontal bar chart of each reason's NPS difference (mentioning − not) with its 95% interval."""

    width: int
    height: int
    zero_x: float
    plot_left: int
    plot_right: int
    headings: list[tuple[float, str]]
    bars: list[ReasonBar]
    x_ticks: list[tuple[float, str]]


def reasons_chart(report: DriversReport) -> ReasonChart:
    """Geometry of the drivers chart: drivers, then themes, each under its heading; the scale is symmetric
    around 0 and wide enough for every interval (a multiple of 40 points, so the half-way ticks are round;
    at most ±200, the widest a difference of two NPS can be)."""
    ends = [
        abs(value)
        for row in report.rows
        for value in (row.mentions.difference.difference, row.mentions.difference.low, row.mentions.difference.high)
        if value is not None
    ]
    reach = min(200.0, max(40.0, 40.0 * -(-max(ends, default=40.0) // 40.0)))
    left, right = REASON_LABEL_WIDTH, CHART_WIDTH - REASON_VALUE_WIDTH
    middle = (left + right) / 2

    def x(value: float) -> float:
        return round(middle + (right - left) / 2 * value / reach, 1)

    headings: list[tuple[float, str]] = []
    bars: list[ReasonBar] = []
    y = float(REASON_TOP)
    for title, rows in (("Drivers", report.drivers), ("Themes in comments", report.themes)):
        if not rows:
            continue
        headings.append((y + REASON_ROW / 2, title))
        y += REASON_ROW
        for row in rows:
            bars.append(_reason_bar(row, y + REASON_ROW / 2, x))
            y += REASON_ROW
    ticks = [(x(value), formatting.signed(value, 0)) for value in (-reach, -reach / 2, 0.0, reach / 2, reach)]
    return ReasonChart(
        width=CHART_WIDTH,
        height=int(y + REASON_AXIS),
        zero_x=x(0.0),
        plot_left=left,
        plot_right=right,
        headings=headings,
        bars=bars,
        x_ticks=ticks,
    )


def _reason_bar(row: ReasonRow, y: float, x: Callable[[float], float]) -> ReasonBar:
    change = row.mentions.difference
    difference = change.difference
    zero = x(0.0)
    end = zero if difference is None else x(difference)
    significant = ""
    if change.significant and difference is not None:
        significant = "up" if difference > 0 else "down"
    label = row.reason if len(row.reason) <= REASON_LABEL_CHARS else row.reason[: REASON_LABEL_CHARS - 1] + "…"
    return ReasonBar(
        name=row.reason,
        label=label,
        y=y,
        bar_x=min(zero, end),
        bar_width=round(abs(end - zero), 1),
        whisker_low=None if change.low is None else x(change.low),
        whisker_high=None if change.high is None else x(change.high),
        difference=difference,
        low=change.low,
        high=change.high,
        n=row.n,
        significant=significant,
    )


#: Comments shown under each driver and theme in the HTML report, at most.
COMMENTS_PER_REASON = 3
#: Periods of each reason's trend in the HTML report's table (the latest ones).
REASON_TREND_POINTS = 4


@dataclass(frozen=True, slots=True)
class ReasonComments:
    """The latest comments behind one driver or theme, from the ``examined`` latest comments of the range."""

    dimension: str
    reason: str
    comments: list[StoredResponse]
    examined: int


def comments_by_reason(
    report: DriversReport, latest: Sequence[StoredResponse], per_reason: int = COMMENTS_PER_REASON
) -> list[ReasonComments]:
    """For each driver and theme of ``report`` (in its order), up to ``per_reason`` of the ``latest``
    comments (newest first, with their answers) whose response chose that driver or was tagged with that
    theme. A reason none of them mention gets an empty list (its comments are older)."""
    found = []
    for row in report.rows:
        if row.dimension == DRIVER_DIMENSION:
            matching = [c for c in latest if c.comment and c.driver == row.reason]
        else:
            matching = [c for c in latest if c.comment and row.reason in c.themes]
        found.append(ReasonComments(row.dimension, row.reason, matching[:per_reason], len(latest)))
    return found


#: Accounts the HTML report lists (most in need first; ``nps accounts --csv`` has them all).
ACCOUNTS_IN_HTML = 50
HEALTH_WORDS = {
    Health.AT_RISK: "At risk",
    Health.WATCH: "Watch",
    Health.HEALTHY: "Healthy",
    Health.NO_ANSWERS: "No answers",
}


def render_report(
    report: Report,
    comments: Sequence[StoredResponse],
    generated_at: datetime,
    comment_counts: Mapping[str, int] | None = None,
    drivers: DriversReport | None = None,
    reason_comments: Sequence[ReasonComments] = (),
    accounts: AccountsReport | None = None,
    churn: ChurnReport | None = None,
    referrals: ReferralsReport | None = None,
) -> str:
    """The whole report as one HTML document (figures formatted by :mod:`nps.kernel.formatting`).

    ``comments`` are the latest comments to show (any categories); ``comment_counts`` how many comments
    each category has in the range (defaults to the number given). ``drivers``, when given and holding
    any driver or theme, adds the drivers section (chart of NPS differences, its table with each reason's
    latest trend points, CSAT, CES) and, from ``reason_comments`` (:func:`comments_by_reason`), the latest
    comments behind each reason. ``accounts``, when given and holding any account, adds the account
    section (the number per health, referral-ready rate, revenue-weighted NPS and the first
    :data:`ACCOUNTS_IN_HTML` accounts, most in need first). ``churn``, when given, adds the "Churn by last
    NPS category" section (:mod:`nps.reporting.churn`); ``referrals`` the referral KPIs per cohort
    (``templates/reports/referrals.html``).
    """
    return render(
        TEMPLATE,
        "en",
        signed=formatting.signed,
        number=formatting.fixed,
        percent=formatting.percent,
        bounds=formatting.bounds,
        likely_between=formatting.likely_between,
        report=report,
        story=headline(report),
        total=report.total,
        chart=trend_chart(report.trend),
        bars=histogram(report.total),
        groups=_segment_rows(report),
        sections=comment_sections(comments, comment_counts),
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        significant_changes=sum(1 for p in report.trend if p.change is not None and p.change.significant),
        drivers=drivers if drivers is not None and drivers.rows else None,
        reasons=reasons_chart(drivers) if drivers is not None and drivers.rows else None,
        reason_comments=[r for r in reason_comments if r.comments],
        reason_trend_points=REASON_TREND_POINTS,
        accounts=accounts if accounts is not None and accounts.accounts else None,
        accounts_shown=ACCOUNTS_IN_HTML,
        health_words=HEALTH_WORDS,
        churn=churn,
        churn_chart=churn_chart(churn) if churn is not None else None,
        referrals=referrals,
    )
