"""The segment catalog is read for the report's range only, so a report costs the same at any survey age."""

from __future__ import annotations

from datetime import date

import pytest

from nps.kernel.periods import Granularity
from nps.reporting.figures import ReportService, UnknownSegment, UnknownSurvey
from nps.reporting.ranges import DateRange
from nps.scoring.aggregation import AggregateKey
from tests.support.report_source import FakeAggregateSource, daily_history

RANGE = DateRange(date(2026, 2, 1), date(2026, 11, 30))
SLICES = 18  # (*, plan × 3, region × 2) × (*, email, sms)


def history(first: date) -> FakeAggregateSource:
    return daily_history(FakeAggregateSource(), "pulse", first, date(2026, 12, 31), seed=3)


def add_quarter(source: FakeAggregateSource, segment: str, quarter: str) -> None:
    source.items[(AggregateKey("pulse", Granularity.QUARTER, quarter, segment).pk, quarter)] = {"promoters": 2}


def test_the_catalog_reads_the_range_quarters_of_each_slice_only() -> None:
    # Given a survey answered every day for five years
    source = history(date(2022, 1, 1))
    # When the catalog of a ten-month range is read
    ReportService(source).catalog("pulse", RANGE)
    # Then it read one item per slice per quarter overlapping the range (Q1..Q4), nothing older
    assert source.items_read == 4 * SLICES
    # And a segment found in the range costs nothing more
    ReportService(source).catalog("pulse", RANGE, "plan=team")
    assert source.items_read == 2 * 4 * SLICES


def test_a_report_reads_as_many_items_for_a_five_year_old_survey_as_for_a_one_year_old_one() -> None:
    # Given two surveys with the same slices, one answered for a year and one for five
    young, old = history(date(2026, 1, 1)), history(date(2022, 1, 1))
    # When the same range is reported on both
    young_report = ReportService(young).report("pulse", RANGE, Granularity.MONTH)
    old_report = ReportService(old).report("pulse", RANGE, Granularity.MONTH)
    # Then both read the same number of aggregate items
    assert young_report.items_read == old_report.items_read
    assert {row.label for row in old_report.segments["plan"]} == {row.label for row in young_report.segments["plan"]}


def test_values_seen_only_before_the_range_are_not_listed_but_can_still_be_asked_for() -> None:
    # Given a plan value that had answers in 2022 only
    source = history(date(2026, 1, 1))
    add_quarter(source, "plan=legacy", "2022-Q3")
    service = ReportService(source)
    # When a report on 2026 is built, it does not list the value
    report = service.report("pulse", RANGE, Granularity.MONTH)
    assert "legacy" not in {row.value for row in report.segments["plan"]}
    # Then asking for it by name is still accepted, with no responses in the range (one more item read)
    before = source.items_read
    catalog = service.catalog("pulse", RANGE, "plan=legacy")
    assert source.items_read - before == 4 * SLICES + 1
    assert "legacy" not in catalog.dimensions["plan"]
    assert service.report("pulse", RANGE, Granularity.MONTH, "plan=legacy").total.counts.n == 0
    # And a value the survey never had is refused, naming the dimensions of the range
    with pytest.raises(UnknownSegment, match=r"'plan=gold' \(dimensions in 2026-02-01 – 2026-11-30: plan, region\)"):
        service.catalog("pulse", RANGE, "plan=gold")


def test_a_known_survey_without_answers_in_the_range_reports_zeros_and_an_unknown_one_is_refused() -> None:
    source = FakeAggregateSource()
    add_quarter(source, "*", "2022-Q1")
    service = ReportService(source)
    # A survey with aggregates only before the range: an empty report, not "unknown survey"
    report = service.report("pulse", RANGE, Granularity.MONTH)
    assert report.total.counts.n == 0
    assert report.segments == {}
    assert report.items_read <= 2
    # A survey with no aggregates at all
    with pytest.raises(UnknownSurvey):
        service.catalog("other", RANGE)


def test_a_range_across_a_new_year_lists_the_values_of_both_years() -> None:
    source = FakeAggregateSource()
    add_quarter(source, "*", "2025-Q4")
    add_quarter(source, "plan=old", "2025-Q4")
    add_quarter(source, "plan=new", "2026-Q1")
    add_quarter(source, "plan=later", "2026-Q2")
    catalog = ReportService(source).catalog("pulse", DateRange(date(2025, 12, 15), date(2026, 1, 15)))
    assert catalog.dimensions == {"plan": ("new", "old")}
