"""Reading NPS figures from the aggregates, never the responses: cost grows with periods, not answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from nps.aggregation import ALL, AggregateKey
from nps.periods import Granularity
from nps.statistics import CategoryCounts, NpsEstimate, estimate


class AggregateReader(Protocol):
    def get(self, key: AggregateKey) -> dict[str, int]: ...

    def query(self, pk: str, first_period: str, last_period: str) -> list[dict[str, Any]]: ...


def counts_from(counters: dict[str, int]) -> CategoryCounts:
    return CategoryCounts(
        promoters=counters.get("promoters", 0),
        passives=counters.get("passives", 0),
        detractors=counters.get("detractors", 0),
    )


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


def format_report(rows: list[SliceReport]) -> str:
    """A plain-text table: NPS ± margin, n and the category split per row."""
    header = f"{'slice':<28} {'NPS':>7} {'± 95%':>7} {'n':>6} {'promoters':>10} {'passives':>9} {'detractors':>11}"
    lines = [header, "-" * len(header)]
    for row in rows:
        e = row.estimate
        nps_text = "—" if e.nps is None else f"{e.nps:+.1f}"
        margin_text = "—" if e.margin is None else f"{e.margin:.1f}"
        lines.append(
            f"{row.label:<28} {nps_text:>7} {margin_text:>7} {row.counts.n:>6} {row.counts.promoters:>10} "
            f"{row.counts.passives:>9} {row.counts.detractors:>11}"
        )
    return "\n".join(lines)
