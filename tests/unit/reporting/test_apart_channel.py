"""A report lists anonymous share-link answers kept out of the headline apart, compared with the headline."""

from __future__ import annotations

from datetime import date

from nps.kernel.periods import Granularity
from nps.reporting.figures import ReportService
from nps.reporting.ranges import DateRange
from nps.reporting.text import APART_NOTE, format_full_report
from nps.scoring.aggregation import ALL, AggregateKey
from tests.support.report_source import FakeAggregateSource

RANGE = DateRange(date(2026, 10, 1), date(2026, 12, 31))


def put(source: FakeAggregateSource, channel: str, **counters: int) -> None:
    for granularity, period in ((Granularity.QUARTER, "2026-Q4"), (Granularity.MONTH, "2026-11")):
        source.items[(AggregateKey("s1", granularity, period, ALL, channel).pk, period)] = dict(counters)


def test_an_apart_channel_is_marked_and_compared_with_the_headline_not_the_rest() -> None:
    # Given 100 email answers in the headline and 40 anonymous link answers kept out of it
    source = FakeAggregateSource()
    put(source, ALL, promoters=50, passives=30, detractors=20)
    put(source, "email", promoters=50, passives=30, detractors=20)
    put(source, "link_anonymous", promoters=5, passives=5, detractors=30)
    report = ReportService(source).report("s1", RANGE, Granularity.MONTH)
    rows = {row.value: row for row in report.channels}
    # Then the headline holds the email answers only, and the link row is apart, tested against the headline
    assert report.total.counts.n == 100
    assert rows["link_anonymous"].apart
    assert not rows["email"].apart
    assert rows["link_anonymous"].differs == "below"
    assert APART_NOTE in format_full_report(report)


def test_when_the_survey_counts_them_the_channel_is_an_ordinary_row() -> None:
    source = FakeAggregateSource()
    put(source, ALL, promoters=55, passives=35, detractors=50)
    put(source, "email", promoters=50, passives=30, detractors=20)
    put(source, "link_anonymous", promoters=5, passives=5, detractors=30)
    report = ReportService(source).report("s1", RANGE, Granularity.MONTH)
    rows = {row.value: row for row in report.channels}
    assert report.total.counts.n == 140
    assert not rows["link_anonymous"].apart
    assert APART_NOTE not in format_full_report(report)
