"""The terminal report: NPS ± margin, counts and response rate per slice, then the trend."""

from __future__ import annotations

from nps.kernel.formatting import MISSING, fixed, percent, signed
from nps.reporting.figures import Figures, Report, SliceRow

_SPARK = "▁▂▃▄▅▆▇█"


def _nps(figures: Figures) -> str:
    return signed(figures.estimate.nps)


def _margin(figures: Figures) -> str:
    return MISSING if figures.estimate.margin is None else f"±{fixed(figures.estimate.margin)}"


def _rate(figures: Figures) -> str:
    return percent(figures.response_rate)


_HEADER = (
    f"{'slice':<26} {'NPS':>7} {'95%':>7} {'n':>6} {'prom.':>6} {'pass.':>6} {'detr.':>6}"
    f" {'invites':>8} {'resp.rate':>9}"
)


#: Marks a response rate that counts answers to invites sent before the range (explained under the table).
EARLIER_MARK = "†"


def _line(label: str, figures: Figures) -> str:
    c = figures.counts
    flags = []
    if figures.small_n and c.n:
        flags.append("small n")
    if figures.earlier_invites:
        flags.append(f"{EARLIER_MARK} {figures.answers_to_earlier_invites} answer earlier invites")
    flag = "".join(f"  {f}" for f in flags)
    return (
        f"{label[:26]:<26} {_nps(figures):>7} {_margin(figures):>7} {c.n:>6} {c.promoters:>6} {c.passives:>6}"
        f" {c.detractors:>6} {figures.invites_sent:>8} {_rate(figures):>9}{flag}"
    )


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
    return [_line(f"  {row.label}", row.figures) for row in rows]


def sparkline(values: list[float | None]) -> str:
    """One character per value, scaled −100…+100 (a space where there is no value)."""
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        else:
            out.append(_SPARK[min(len(_SPARK) - 1, int((value + 100) / 200 * len(_SPARK)))])
    return "".join(out)


def format_full_report(report: Report) -> str:
    """The whole report as plain text (fits 100 columns)."""
    scope = []
    if report.segment != "*":
        scope.append(f"segment {report.segment}")
    if report.channel != "*":
        scope.append(f"channel {report.channel}")
    title = f"NPS report — survey {report.survey_id!r}, {report.span.label()}"
    if scope:
        title += f" ({', '.join(scope)})"
    lines = [title, "", _HEADER, "-" * len(_HEADER), _line("all responses", report.total)]
    for dimension, rows in report.segments.items():
        lines.append(f"by {dimension}:")
        lines.extend(_rows(rows))
    if report.channels:
        lines.append("by channel:")
        lines.extend(_rows(report.channels))
    lines += _earlier_invites_note(report)
    lines += [
        "",
        f"Trend by {report.granularity.value} (▲/▼ = significant change from the previous period, p < 0.05):",
    ]
    lines.append(f"{'period':<12} {'NPS':>7} {'95%':>7} {'n':>6} {'change':>8}  ")
    for point in report.trend:
        change = point.change
        marker = ""
        delta = ""
        if change is not None and change.difference is not None:
            delta = signed(change.difference)
            if change.significant:
                marker = "▲" if change.difference > 0 else "▼"
        partial = " (partial)" if point.partial else ""
        lines.append(
            f"{point.period.key:<12} {_nps(point.figures):>7} {_margin(point.figures):>7}"
            f" {point.figures.counts.n:>6} {delta:>8} {marker}{partial}"
        )
    lines.append(f"{'':<12} {sparkline([p.figures.estimate.nps for p in report.trend])}")
    return "\n".join(lines)
