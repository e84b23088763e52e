"""nps.reporting.figures and the text/HTML renderings, over an in-memory aggregate source."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from nps.kernel.periods import Granularity
from nps.kernel.statistics import compare
from nps.reporting.figures import Figures, ReportService, UnknownSegment, UnknownSurvey
from nps.reporting.html import render_report, trend_chart
from nps.reporting.ranges import DateRange
from nps.reporting.text import format_full_report
from nps.scoring.aggregation import AggregateKey
from tests.support.report_source import FakeAggregateSource, daily_history

YEAR = DateRange(date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture(scope="module")
def source() -> FakeAggregateSource:
    return daily_history(FakeAggregateSource(), "pulse", date(2025, 12, 1), date(2027, 1, 31), seed=11)


def put(source: FakeAggregateSource, granularity: Granularity, period: str, **counters: int) -> None:
    key = AggregateKey("s", granularity, period)
    source.items[(key.pk, period)] = counters


def test_an_unknown_survey_is_reported_as_such() -> None:
    with pytest.raises(UnknownSurvey, match="no-such"):
        ReportService(FakeAggregateSource()).catalog("no-such", YEAR)


def test_unknown_segments_and_dimensions_name_the_known_dimensions(source: FakeAggregateSource) -> None:
    catalog = ReportService(source).catalog("pulse", YEAR)
    with pytest.raises(UnknownSegment, match=r"dimensions in 2026-01-01 – 2026-12-31: plan, region"):
        ReportService(source).catalog("pulse", YEAR, "plan=gold")
    with pytest.raises(UnknownSegment, match="dimension=value"):
        catalog.check_segment("plan")
    with pytest.raises(UnknownSegment, match="industry"):
        catalog.check_dimension("industry")


def test_a_year_total_reads_four_quarter_items_and_equals_the_sum_of_its_months(
    source: FakeAggregateSource,
) -> None:
    service = ReportService(source)
    before = source.items_read
    total = service.total("pulse", YEAR)
    assert source.items_read - before == 4
    monthly = service.trend("pulse", YEAR, Granularity.MONTH)
    assert total.counts.n == sum(p.figures.counts.n for p in monthly)
    assert total.invites_sent == sum(p.figures.invites_sent for p in monthly)


def test_each_trend_step_is_tested_against_the_previous_one() -> None:
    # Given two months with very different NPS and enough answers
    source = FakeAggregateSource()
    put(source, Granularity.QUARTER, "2026-Q1", promoters=1)
    put(source, Granularity.MONTH, "2026-01", promoters=20, passives=30, detractors=50)
    put(source, Granularity.MONTH, "2026-02", promoters=60, passives=25, detractors=15)
    # When the trend is read
    points = ReportService(source).trend("s", DateRange(date(2026, 1, 1), date(2026, 3, 31)), Granularity.MONTH)
    # Then the change into February is significant, and March (no answers) has no test
    assert [p.period.key for p in points] == ["2026-01", "2026-02", "2026-03"]
    assert points[0].change is None
    assert points[1].change == compare(points[0].figures.counts, points[1].figures.counts)
    assert points[1].change is not None
    assert points[1].change.significant
    assert points[2].change is not None
    assert not points[2].change.significant
    assert points[2].figures.estimate.nps is None


def test_response_rate_is_none_without_invites_and_a_percentage_with_them() -> None:
    assert Figures.from_counters({"promoters": 3}).response_rate is None
    assert Figures.from_counters({"promoters": 3, "passives": 1, "invites_sent": 8}).response_rate == 50.0


def test_the_whole_report_reads_a_few_hundred_items_at_most(source: FakeAggregateSource) -> None:
    report = ReportService(source).report("pulse", YEAR, Granularity.WEEK)
    assert report.items_read < 300
    assert list(report.segments) == ["plan", "region"]
    nps = [row.figures.estimate.nps or 0 for row in report.segments["plan"]]
    assert nps == sorted(nps, reverse=True)
    assert {row.value for row in report.channels} == {"email", "sms"}


def test_the_text_report_shows_every_slice_and_the_trend(source: FakeAggregateSource) -> None:
    text = format_full_report(ReportService(source).report("pulse", YEAR, Granularity.QUARTER))
    for needle in ("all responses", "plan=team", "region=amer", "channel=email", "2026-Q1", "2026-Q4", " to "):
        assert needle in text
    # Intervals are printed as their bounds, never as ± a margin
    assert "±" not in text


def test_the_trend_chart_breaks_the_line_where_a_period_has_no_answers() -> None:
    source = FakeAggregateSource()
    put(source, Granularity.QUARTER, "2026-Q1", promoters=1)
    for month, counts in (("2026-01", 10), ("2026-03", 12), ("2026-04", 9), ("2026-05", 0), ("2026-06", 15)):
        put(source, Granularity.MONTH, month, promoters=counts, detractors=3)
    points = ReportService(source).trend("s", DateRange(date(2026, 1, 1), date(2026, 6, 30)), Granularity.MONTH)
    chart = trend_chart(points)
    assert len(chart.line_segments) == 2  # Jan | (Feb empty) | Mar–Jun
    assert all(p.y is None or chart.plot_top <= p.y <= chart.plot_bottom for p in chart.points)


def test_the_html_report_escapes_comments_and_loads_nothing_from_elsewhere(
    source: FakeAggregateSource, tmp_path: Path
) -> None:
    from nps.reporting.adapters.reads import StoredResponse

    comment = StoredResponse(
        "i", "pulse", "w", "c", "email", "en", 1, "detractor", "2026-03-01T00:00:00.000Z",
        "2026-03-01T00:00:00.000Z", '<img src=x onerror="alert(1)">', None, {"plan": "team"},
    )  # fmt: skip
    report = ReportService(source).report("pulse", YEAR)
    page = render_report(report, [comment], datetime(2027, 1, 1, tzinfo=UTC))
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "<img" not in page
    assert "<script" not in page
    for external in ('src="http', "href=", "@import", "url("):
        assert external not in page
    assert json.dumps(report.survey_id).strip('"') in page
