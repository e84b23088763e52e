"""On moto: the catalog query of the ``by_survey_period`` index reads only the range's quarter items."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date

import pytest

from local.reporting_data import put_aggregates, synthetic_aggregates
from nps.kernel import aws
from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.figures import ReportService
from nps.reporting.ranges import DateRange

DIMENSIONS: dict[str, tuple[str, ...]] = {"plan": ("starter", "team")}
SLICES = 9  # (*, plan=starter, plan=team) × (*, email, sms)
YEAR = DateRange(date(2025, 1, 1), date(2025, 12, 31))


def history(survey_id: str, first: date) -> dict[tuple[str, str], dict[str, int]]:
    """Week, month and quarter items of every day from ``first`` to the end of 2025, and the day items
    of each month's first and last day (the day keys next to the quarter keys in the index's order)."""
    items = synthetic_aggregates(survey_id, first, date(2025, 12, 31), seed=5, dimensions=DIMENSIONS)
    return {
        (pk, period): counters
        for (pk, period), counters in items.items()
        if "#day#" not in pk or period[-2:] in ("01", "28", "30", "31")
    }


@pytest.fixture(scope="module")
def aggregates() -> Iterator[str]:
    from moto import mock_aws

    from local.environment import create_stack

    saved = dict(os.environ)
    with mock_aws():
        aws.reset_clients()
        table = create_stack("catalog").tables["aggregates"]
        put_aggregates(table, history("young", date(2025, 1, 1)))
        put_aggregates(table, history("old", date(2021, 1, 1)))
        yield table
    aws.reset_clients()
    os.environ.clear()
    os.environ.update(saved)


def test_a_year_catalog_is_one_query_of_four_quarters_per_slice_at_any_survey_age(aggregates: str) -> None:
    for survey_id in ("young", "old"):
        reader = DynamoAggregateReader(aggregates)
        slices = reader.slices(survey_id, YEAR)
        assert len(slices) == SLICES
        assert (reader.queries, reader.items_read) == (1, 4 * SLICES), survey_id


def test_a_range_across_new_year_reads_one_query_per_year(aggregates: str) -> None:
    reader = DynamoAggregateReader(aggregates)
    slices = reader.slices("old", DateRange(date(2024, 11, 15), date(2025, 2, 10)))
    assert len(slices) == SLICES
    # 2024-Q4 and 2025-Q1: no day, week or month key of either year is read
    assert (reader.queries, reader.items_read) == (2, 2 * SLICES)


def test_whole_reports_read_the_same_items_for_a_one_and_a_five_year_old_survey(aggregates: str) -> None:
    young = DynamoAggregateReader(aggregates)
    old = DynamoAggregateReader(aggregates)
    young_report = ReportService(young).report("young", YEAR, Granularity.MONTH)
    old_report = ReportService(old).report("old", YEAR, Granularity.MONTH)
    assert young_report.items_read == old_report.items_read
    assert young.queries == old.queries
    assert old_report.total.counts.n > 0


def test_an_empty_range_of_a_known_survey_reads_one_item_to_know_it(aggregates: str) -> None:
    reader = DynamoAggregateReader(aggregates)
    catalog = ReportService(reader).catalog("young", DateRange(date(2023, 1, 1), date(2023, 3, 31)))
    assert catalog.dimensions == {}
    assert reader.items_read == 1
