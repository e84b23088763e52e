"""The terminal report: the story first (headline), then every slice and the trend, intervals as bounds.

Intervals are printed as their two ends (``-0.4 to +15.6``), never as ``± margin``: the adjusted-Wald
interval is not centred on the observed NPS (:func:`nps.kernel.formatting.bounds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nps.accounts.health import Health
from nps.kernel.formatting import MISSING, bounds, likely_between, percent, signed
from nps.reporting.figures import Figures, Headline, Report, SliceRow, headline

if TYPE_CHECKING:
    from nps.kernel.statistics import ChangeTest
    from nps.reporting.accounts import AccountsReport
    from nps.reporting.drivers import DriversReport, ReasonRow

_SPARK = "▁▂▃▄▅▆▇█"
#: The narrowest NPS range a sparkline spans: a wobble of a few points stays a wobble.
SPARK_MIN_SPAN = 20.0


def _nps(figures: Figures) -> str:
    return signed(figures.estimate.nps)


def _interval(figures: Figures) -> str:
    return bounds(figures.estimate.low, figures.estimate.high)


def _rate(figures: Figures) -> str:
    return percent(figures.response_rate)


_HEADER = (
    f"{'slice':<24} {'NPS':>6} {'95% interval':>15} {'n':>6} {'prom.':>6} {'pass.':>6} {'detr.':>6}"
    f" {'invites':>8} {'resp.rate':>9}"
)


#: Marks a response rate that counts answers to invites sent before the range (explained under the table).
EARLIER_MARK = "†"


def _line(label: str, figures: Figures, differs: str = "") -> str:
    c = figures.counts
    flags = []
    if differs:
        flags.append(f"{'▲' if differs == 'above' else '▼'} {differs} the rest")
    if figures.small_n and c.n:
        flags.append("small n")
    if figures.earlier_invites:
        flags.append(f"{EARLIER_MARK} {figures.answers_to_earlier_invites} answer earlier invites")
    flag = "".join(f"  {f}" for f in flags)
    return (
        f"{label[:24]:<24} {_nps(figures):>6} {_interval(figures):>15} {c.n:>6} {c.promoters:>6} {c.passives:>6}"
        f" {c.detractors:>6} {figures.invites_sent:>8} {_rate(figures):>9}{flag}"
    )


#: What a channel row kept out of the total means (text and HTML reports).
APART_NOTE = "anonymous share-link answers, reported apart: not in the headline NPS (compared with it)"


def _earlier_invites_note(report: Report) -> list[str]:
    rows = [report.total, *(r.figures for rows in report.segments.values() for r in rows)]
    rows += [r.figures for r in report.channels]
    if not any(f.earlier_invites for f in rows):
        return []
    return [
        f"{EARLIER_MARK} More responses than invites sent in the range: at least that many answer invites sent"
        " before it,",
        "  so the response rate counts them too (it can pass 100%) and is not the share of the range's invites"
        " answered.",
    ]


def _rows(rows: list[SliceRow]) -> list[str]:
    return [_line(f"  {row.label}", row.figures, row.differs) for row in rows]


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value (a space where there is none), scaled to the series' own range.

    The scale runs from the series' lowest to its highest value, widened to at least
    :data:`SPARK_MIN_SPAN` points around its middle: a fixed −100…+100 scale puts a 29-point fall within
    one or two of the eight levels, the series' own range makes it the full height, and the minimum span
    keeps a 2-point wobble from looking like a cliff.
    """
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    if high - low < SPARK_MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - SPARK_MIN_SPAN / 2, middle + SPARK_MIN_SPAN / 2
    top = len(_SPARK) - 1
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        else:
            out.append(_SPARK[min(top, max(0, round((value - low) / (high - low) * top)))])
    return "".join(out)


def change_text(change: ChangeTest | None) -> str:
    """``-28.3 (-52.1 to -4.5)``: the change in points and its 95% interval (empty without a change)."""
    if change is None or change.difference is None:
        return ""
    return f"{signed(change.difference)} ({bounds(change.low, change.high)})"


def headline_lines(story: Headline, granularity: str) -> list[str]:
    """The headline as sentences: NPS and its bounds, the latest change and its significance, the rate."""
    figures = story.figures
    e = figures.estimate
    lines = [
        f"NPS {signed(e.nps)}, {likely_between(e.low, e.high)} (95% interval {bounds(e.low, e.high)}),"
        f" from {figures.counts.n} responses" + (" — small sample, read with care" if figures.small_n else "")
    ]
    latest, previous, change = story.latest, story.previous, story.change
    if latest is not None and previous is not None and change is not None and change.difference is not None:
        verdict = "significant" if change.significant else "not significant"
        if change.p_value is not None:
            verdict += f" (p = {change.p_value:.3f})"
        so_far = " (so far)" if latest.partial else ""
        lines.append(
            f"Latest {granularity}: {latest.period.key}{so_far} vs {previous.period.key}: {signed(change.difference)}"
            f" points, 95% interval {bounds(change.low, change.high)} — {verdict}"
        )
    elif latest is not None:
        lines.append(f"Latest {granularity}: {latest.period.key}; no responses in the {granularity} before to compare")
    rate = figures.response_rate
    if rate is not None:
        lines.append(
            f"Response rate {percent(rate)}: {figures.counts.n} responses to {figures.invites_sent} invites sent"
            + (f" ({EARLIER_MARK} includes answers to earlier invites)" if figures.earlier_invites else "")
        )
    else:
        lines.append(f"Response rate {MISSING}: no invites counted in the range")
    return lines


def _rating_lines(figures: Figures) -> list[str]:
    """CSAT and CES of the range in one line each, when any follow-up answer rated them (else none)."""
    lines = []
    c, e = figures.csat, figures.ces
    if c.n:
        interval = (
            ""
            if c.satisfied.low is None
            else f" (95% interval {percent(c.satisfied.low)} to {percent(c.satisfied.high)})"
        )
        lines.append(f"CSAT {percent(c.satisfied.percent)} satisfied (4–5 of 5){interval}, from {c.n} answers")
    if e.n:
        mean = MISSING if e.mean is None else f"{e.mean:.2f}"
        interval = "" if e.mean_low is None else f" (95% interval {e.mean_low:.2f} to {e.mean_high:.2f})"
        lines.append(f"CES mean {mean} of 7{interval}, {percent(e.agree.percent)} agree (5–7), from {e.n} answers")
    return lines


def format_full_report(report: Report) -> str:
    """The whole report as plain text (fits 100 columns): headline, slices, trend and its sparkline."""
    scope = []
    if report.segment != "*":
        scope.append(f"segment {report.segment}")
    if report.channel != "*":
        scope.append(f"channel {report.channel}")
    name = report.title if report.title == report.survey_id else f"{report.title} ({report.survey_id})"
    title = f"NPS report — {name}, {report.span.label()}"
    if scope:
        title += f" ({', '.join(scope)})"
    step = report.granularity.value
    lines = [title, "", *headline_lines(headline(report), step), *_rating_lines(report.total), ""]
    lines += [_HEADER, "-" * len(_HEADER), _line("all responses", report.total)]
    for dimension, rows in report.segments.items():
        lines.append(f"by {dimension}:")
        lines.extend(_rows(rows))
    if report.channels:
        lines.append("by channel:")
        lines.extend(_rows(report.channels))
    lines += _earlier_invites_note(report)
    lines += [f"{row.label}: {APART_NOTE}" for row in report.channels if row.apart]
    if any(row.differs for rows in (*report.segments.values(), report.channels) for row in rows):
        lines.append("▲/▼ above/below the rest: the slice's NPS differs from the other responses' (p < 0.05).")
    chosen = " (step chosen from the range and the responses per period)" if report.granularity_chosen else ""
    lines += [
        "",
        f"Trend by {step}{chosen}",
        f"▲/▼ = significant change from the previous {step} (p < 0.05)",
        f"{'period':<12} {'NPS':>6} {'95% interval':>15} {'n':>6}  change (95% interval)",
    ]
    for point in report.trend:
        change = point.change
        marker = ""
        if change is not None and change.difference is not None and change.significant:
            marker = " ▲" if change.difference > 0 else " ▼"
        partial = " (partial)" if point.partial else ""
        lines.append(
            f"{point.period.key:<12} {_nps(point.figures):>6} {_interval(point.figures):>15}"
            f" {point.figures.counts.n:>6}  {change_text(change) + marker:<30}{partial}".rstrip()
        )
    lines.append(f"{'':<12} {sparkline([p.figures.estimate.nps for p in report.trend])}")
    return "\n".join(lines)


_DRIVERS_HEADER = (
    f"{'reason':<24} {'n':>6} {'detr.%':>7} {'pass.%':>7} {'prom.%':>7} {'NPS':>6} {'others':>7}"
    f"  difference (95% interval)"
)


def _reason_line(row: ReasonRow) -> str:
    m = row.mentions
    marker = ""
    change = m.difference
    if change.difference is not None and change.significant:
        marker = " ▲" if change.difference > 0 else " ▼"
    label = f"  {row.reason}"
    return (
        f"{label[:24]:<24} {row.n:>6} {percent(m.detractors.percent):>7} {percent(m.passives.percent):>7}"
        f" {percent(m.promoters.percent):>7} {signed(m.mentioning.nps):>6} {signed(m.not_mentioning.nps):>7}"
        f"  {change_text(change) or MISSING}{marker}"
    )


#: Periods shown in the terminal's trend of each reason (the latest ones; the API and CSV have them all).
TREND_COLUMNS = 6


def _reason_trend(report: DriversReport) -> list[str]:
    """The NPS of those mentioning each reason over the latest :data:`TREND_COLUMNS` periods, with n.

    A cell is ``NPS (n)``, ``—`` where nobody mentioned it in that period; ``*`` marks a period that
    reaches outside the range (its figures are the whole period's).
    """
    rows = report.rows
    if not rows or not rows[0].trend:
        return []
    periods = [point.period.key + ("*" if point.partial else "") for point in rows[0].trend][-TREND_COLUMNS:]
    lines = [
        "",
        f"NPS of those mentioning it, by {report.granularity.value} (n):",
        f"{'reason':<24}" + "".join(f"{key:>12}" for key in periods),
    ]
    for row in rows:
        cells = []
        for point in row.trend[-TREND_COLUMNS:]:
            n = point.figures.counts.n
            cells.append(MISSING if n == 0 else f"{signed(point.figures.estimate.nps, 0)} ({n})")
        label = f"  {row.dimension[0]}:{row.reason}"
        lines.append(f"{label[:24]:<24}" + "".join(f"{cell:>12}" for cell in cells))
    if any("*" in key for key in periods):
        lines.append("* the period reaches outside the range: its figures are the whole period's.")
    return lines


def format_drivers(report: DriversReport) -> str:
    """The driver report as plain text (fits 100 columns): CSAT and CES, then one line per driver and theme.

    Each line: responses mentioning it, the share of detractors / passives / promoters who do, the NPS of
    those mentioning it and of the others, and the difference with its 95% interval (▲/▼ when p < 0.05);
    then each one's trend over the latest periods (:func:`_reason_trend`).
    """
    title = f"Drivers and themes — {report.survey_id}, {report.span.label()}"
    if report.channel != "*":
        title += f" (channel {report.channel})"
    c, e = report.csat, report.ces
    satisfied = c.satisfied
    csat_interval = (
        "" if satisfied.low is None else f", 95% interval {percent(satisfied.low)} to {percent(satisfied.high)}"
    )
    lines = [
        title,
        "",
        f"{report.total.counts.n} responses, NPS {signed(report.total.estimate.nps)}",
        f"CSAT {percent(c.satisfied.percent)} satisfied (4–5 of 5)" + csat_interval + f", from {c.n} answers",
        f"CES mean {MISSING if e.mean is None else f'{e.mean:.2f}'} of 7"
        + ("" if e.mean_low is None else f" (95% interval {e.mean_low:.2f} to {e.mean_high:.2f})")
        + f", {percent(e.agree.percent)} agree (5–7), from {e.n} answers",
        "",
        _DRIVERS_HEADER,
        "-" * len(_DRIVERS_HEADER),
    ]
    for name, rows in (("drivers", report.drivers), ("themes (in comments)", report.themes)):
        lines.append(f"{name}:")
        lines.extend(_reason_line(row) for row in rows)
        if not rows:
            lines.append("  (none in this range)")
    lines += _reason_trend(report)
    lines += [
        "",
        "detr.%/pass.%/prom.%: share of the detractors / passives / promoters mentioning it.",
        "others: every other response of the range, with or without a comment. ▲/▼: the difference is",
        "significant (p < 0.05).",
    ]
    return "\n".join(lines)


_HEALTH_WORDS = {
    Health.AT_RISK: "AT RISK",
    Health.WATCH: "watch",
    Health.HEALTHY: "healthy",
    Health.NO_ANSWERS: "no answers",
}
_ACCOUNTS_HEADER = (
    f"{'account':<24} {'health':<10} {'period':<8} {'n':>4} {'NPS':>5} {'95% interval':>14} {'ready':>6}  reasons"
)


def format_accounts(report: AccountsReport, limit: int | None = None) -> str:
    """The account report as plain text (fits 120 columns): the number per health, the referral-ready
    rate and the revenue-weighted NPS, then one line per account, most in need first (``limit`` lines at
    most; the count left out is said)."""
    ready = report.referral_ready
    weighted = report.weighted
    counts = report.by_health
    lines = [
        f"Accounts — {report.survey_id}, {report.span.label()}, by {report.granularity.value}",
        "",
        ", ".join(f"{count} {_HEALTH_WORDS[health].lower()}" for health, count in counts.items()),
        f"Referral-ready accounts {percent(ready.percent)} ({ready.count} of {ready.n} with an answer"
        + ("" if ready.low is None else f", 95% interval {percent(ready.low)} to {percent(ready.high)}")
        + ")",
        "Revenue-weighted NPS "
        + signed(weighted.nps)
        + ("" if weighted.low is None else f" (95% interval {signed(weighted.low)} to {signed(weighted.high)})")
        + f" over {weighted.accounts} accounts with a revenue"
        + (f"; {weighted.left_out} without a revenue left out" if weighted.left_out else ""),
        "",
        _ACCOUNTS_HEADER,
        "-" * len(_ACCOUNTS_HEADER),
    ]
    shown = report.accounts if limit is None else report.accounts[:limit]
    for account in shown:
        latest = account.latest
        interval = "" if latest.low is None else f"{signed(latest.low)}..{signed(latest.high)}"
        ready_mark = f"{account.readiness.score}{'*' if account.readiness.ready else ''}"
        reasons = "; ".join(account.reason_texts) + (" (churned)" if account.churned else "")
        lines.append(
            f"{account.account_id[:24]:<24} {_HEALTH_WORDS[account.health]:<10} {account.latest_period or MISSING:<8}"
            f" {latest.n:>4} {signed(latest.nps):>5} {interval:>14} {ready_mark:>6}  {reasons}"
        )
    if not report.accounts:
        lines.append("(no account answered or was invited in this range: import contacts with an account_id)")
    if limit is not None and len(report.accounts) > limit:
        lines.append(f"… and {len(report.accounts) - limit} more (--limit, or --csv for all)")
    lines += [
        "",
        "period: the latest with an answer. ready: the referral readiness score (0–100), * when referral-ready.",
        "How health, readiness and the revenue-weighted NPS are computed: docs/accounts.md.",
    ]
    return "\n".join(lines)
