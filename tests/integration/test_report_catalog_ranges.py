"""On moto, for any range: the catalog reads the range's quarter items of the survey's history only, one
query per calendar year the range touches (ranges across years, partial quarters, single days, ranges
before the survey began or after today)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.reporting_data import put_aggregates
from nps.kernel import aws
from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.ranges import DateRange, periods
from tests.integration.test_report_catalog import SLICES, history

FIRST = date(2021, 1, 1)
LAST = date(2025, 12, 31)


@pytest.fixture(scope="module")
def aggregates() -> Iterator[str]:
    from moto import mock_aws

    from local.environment import create_stack

    saved = dict(os.environ)
    with mock_aws():
        aws.reset_clients()
        table = create_stack("catalog-ranges").tables["aggregates"]
        put_aggregates(table, history("old", FIRST))
        yield table
    aws.reset_clients()
    os.environ.clear()
    os.environ.update(saved)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.dates(date(2019, 6, 1), date(2027, 12, 31)), days=st.integers(0, 1200))
def test_any_range_reads_its_quarters_of_the_survey_history_and_one_query_per_year(
    aggregates: str, first: date, days: int
) -> None:
    span = DateRange(first, first + timedelta(days=days))
    quarters = periods(Granularity.QUARTER, span)
    with_data = [q for q in quarters if q.last >= FIRST and q.first <= LAST]
    reader = DynamoAggregateReader(aggregates)
    slices = reader.slices("old", span)
    assert len(slices) == (SLICES if with_data else 0)
    assert reader.items_read == len(with_data) * SLICES
    assert reader.queries == len({q.first.year for q in quarters})
