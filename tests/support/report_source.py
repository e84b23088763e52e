"""An in-memory aggregate source for report tests, filled with synthetic daily aggregates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from local.reporting_data import synthetic_aggregates
from nps.kernel.periods import Granularity
from nps.reporting.ranges import DateRange, periods
from nps.scoring.aggregation import aggregate_keys, contribution
from nps.scoring.records import Response


class FakeAggregateSource:
    """Implements :class:`nps.reporting.figures.AggregateSource` over ``{(pk, period): counters}``."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, int]] = {}
        self.items_read = 0
        self.reads: list[tuple[str, str, str]] = []

    def read(self, pk: str, first_key: str, last_key: str) -> dict[str, dict[str, int]]:
        self.reads.append((pk, first_key, last_key))
        found = {
            period: dict(counters)
            for (item_pk, period), counters in self.items.items()
            if item_pk == pk and first_key <= period <= last_key
        }
        self.items_read += len(found)
        return found

    def slices(self, survey_id: str, span: DateRange) -> set[tuple[str, str]]:
        quarters = {period.key for period in periods(Granularity.QUARTER, span)}
        found = set()
        for pk, period in self.items:
            survey, granularity, segment, channel = pk.split("#")
            if survey == survey_id and granularity == "quarter" and period in quarters:
                found.add((segment, channel))
                self.items_read += 1
        return found

    def exists(self, pk: str) -> bool:
        found = any(item_pk == pk for item_pk, _ in self.items)
        self.items_read += found
        return found


def daily_history(
    source: FakeAggregateSource, survey_id: str, first: date, last: date, seed: int = 1
) -> FakeAggregateSource:
    source.items.update(
        synthetic_aggregates(
            survey_id, first, last, seed=seed, dimensions={"plan": ("starter", "team", "enterprise"),
                                                          "region": ("emea", "amer")}
        )
    )  # fmt: skip
    return source


def aggregated(responses: Iterable[Response]) -> FakeAggregateSource:
    """The aggregates the stream would write for ``responses`` (each counted once)."""
    source = FakeAggregateSource()
    for response in responses:
        for key in aggregate_keys(response):
            counters = source.items.setdefault((key.pk, key.period), {})
            for name, value in contribution(response).items():
                counters[name] = counters.get(name, 0) + value
    return source
