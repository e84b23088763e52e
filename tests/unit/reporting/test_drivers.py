"""The driver report equals a recount of the responses it was aggregated from; reasons are not segments."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nps.kernel.categories import categorize
from nps.kernel.periods import Granularity
from nps.kernel.statistics import CategoryCounts, estimate
from nps.reporting.drivers import drivers_report
from nps.reporting.export import DRIVER_COLUMNS, write_drivers_csv
from nps.reporting.figures import Catalog, ReportService
from nps.reporting.html import reasons_chart, render_report
from nps.reporting.ranges import DateRange
from nps.reporting.text import format_drivers
from nps.scoring.records import Response
from tests.support.report_source import aggregated

FIRST = date(2026, 1, 1)
SPAN = DateRange(FIRST, date(2026, 3, 31))


def counts(responses: list[Response]) -> CategoryCounts:
    categories = [categorize(r.score) for r in responses if r.score is not None]
    return CategoryCounts(
        promoters=sum(c.value == "promoter" for c in categories),
        passives=sum(c.value == "passive" for c in categories),
        detractors=sum(c.value == "detractor" for c in categories),
    )


responses_strategy = st.lists(
    st.builds(
        lambda i, score, day, channel, driver, themes, csat, ces: Response(
            invite_id=f"i{i}",
            survey_id="pulse",
            wave_id="w",
            contact_id=f"c{i}",
            channel=channel,
            segments={"plan": "pro"},
            score=score,
            first_answered_at=datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day),
            driver=driver,
            themes=tuple(sorted(themes)),
            csat=csat,
            ces=ces,
        ),
        st.integers(0, 10**6),
        st.integers(0, 10),
        st.integers(0, 89),
        st.sampled_from(["email", "sms"]),
        st.none() | st.sampled_from(["price", "support"]),
        st.sets(st.sampled_from(["speed", "bugs", "onboarding"])),
        st.none() | st.integers(1, 5),
        st.none() | st.integers(1, 7),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(responses_strategy, st.sampled_from(["*", "email"]))
def test_the_driver_report_equals_a_recount_of_the_responses(responses: list[Response], channel: str) -> None:
    # Given the aggregates of synthetic responses with drivers, themes, CSAT and CES
    source = aggregated(responses)
    # When the driver report of the quarter is read
    report = drivers_report(ReportService(source), "pulse", SPAN, Granularity.MONTH, channel)
    # Then every figure is what a recount of the responses gives
    base = [r for r in responses if channel == "*" or r.channel == channel]
    assert report.total.counts == counts(base)
    csat_answers = [r.csat for r in base if r.csat is not None]
    assert report.csat.n == len(csat_answers)
    assert report.csat.satisfied.count == sum(a >= 4 for a in csat_answers)
    ces_answers = [r.ces for r in base if r.ces is not None]
    assert report.ces.n == len(ces_answers)
    if ces_answers:
        assert report.ces.mean is not None
        assert abs(report.ces.mean - sum(ces_answers) / len(ces_answers)) < 1e-9
    expected_drivers = {r.driver for r in base if r.driver is not None}
    expected_themes = {t for r in base for t in r.themes}
    assert {row.reason for row in report.drivers} == expected_drivers
    assert {row.reason for row in report.themes} == expected_themes
    for row in report.rows:
        mentioning = [
            r for r in base if (r.driver == row.reason if row.dimension == "driver" else row.reason in r.themes)
        ]
        others = [r for r in base if r not in mentioning]
        assert row.n == len(mentioning)
        assert row.mentions.mentioning == estimate(counts(mentioning))
        assert row.mentions.not_mentioning == estimate(counts(others))
        whole, part = counts(base), counts(mentioning)
        assert (row.mentions.detractors.count, row.mentions.detractors.n) == (part.detractors, whole.detractors)
        assert (row.mentions.passives.count, row.mentions.passives.n) == (part.passives, whole.passives)
        assert (row.mentions.promoters.count, row.mentions.promoters.n) == (part.promoters, whole.promoters)
        # And the trend is the mentioners' NPS per month
        assert [p.period.key for p in row.trend] == ["2026-01", "2026-02", "2026-03"]
        for point in row.trend:
            in_month = [
                r for r in mentioning if r.first_answered_at and r.first_answered_at.month == point.period.first.month
            ]
            assert point.figures.estimate == estimate(counts(in_month))
    # And rows are most mentioned first
    assert [row.n for row in report.drivers] == sorted((row.n for row in report.drivers), reverse=True)


def test_a_difference_is_mentioning_minus_not_with_its_interval() -> None:
    # Given 10 detractors who chose "price" and 10 promoters who did not
    day = datetime(2026, 2, 3, 9, tzinfo=UTC)
    responses = [
        Response(f"i{i}", "pulse", "w", f"c{i}", "email", score=2, first_answered_at=day, driver="price")
        for i in range(10)
    ] + [Response(f"j{i}", "pulse", "w", f"d{i}", "email", score=10, first_answered_at=day) for i in range(10)]
    report = drivers_report(ReportService(aggregated(responses)), "pulse", SPAN)
    (price,) = report.drivers
    # Then its mentioners' NPS is -100, the others' +100, and the difference is clearly negative
    assert price.mentions.mentioning.nps == -100
    assert price.mentions.not_mentioning.nps == 100
    difference = price.mentions.difference
    assert difference.difference is not None
    assert difference.difference < 0
    assert difference.high is not None
    assert difference.high < 0
    assert difference.significant
    assert price.as_dict()["detractors"]["percent"] == 100.0


def test_driver_and_theme_slices_are_not_listed_among_segment_dimensions() -> None:
    # Given a survey's slices: a segment dimension, a driver and a theme
    slices = {("*", "*"), ("plan=pro", "*"), ("driver=price", "*"), ("theme=speed", "email"), ("theme=bugs", "*")}
    # When its catalog is made
    catalog = Catalog.from_slices("pulse", slices)
    # Then only the segment is a dimension; the reasons are listed apart
    assert catalog.dimensions == {"plan": ("pro",)}
    assert catalog.drivers == ("price",)
    assert catalog.themes == ("bugs", "speed")
    assert not catalog.has_segment("driver=price")


def test_a_report_lists_no_driver_or_theme_segment() -> None:
    # Given aggregates of responses with a segment, a driver and themes
    day = datetime(2026, 2, 3, 9, tzinfo=UTC)
    responses = [
        Response("i1", "pulse", "w", "c1", "email", segments={"plan": "pro"}, score=9, first_answered_at=day,
                 driver="price", themes=("speed",)),
    ]  # fmt: skip
    # When the whole report is built
    report = ReportService(aggregated(responses)).report("pulse", SPAN, Granularity.MONTH)
    # Then its segment comparisons hold the plan only
    assert list(report.segments) == ["plan"]


def test_the_drivers_csv_defuses_formulas_and_the_text_lists_every_reason() -> None:
    # Given a report whose reason id would run as a formula in a spreadsheet (ids are checked upstream,
    # but the export must not rely on it)
    day = datetime(2026, 2, 3, 9, tzinfo=UTC)
    responses = [
        Response("i1", "pulse", "w", "c1", "email", score=3, first_answered_at=day, driver="price", csat=2),
        Response("i2", "pulse", "w", "c2", "email", score=10, first_answered_at=day, themes=("speed",), ces=6),
    ]
    report = drivers_report(ReportService(aggregated(responses)), "pulse", SPAN)
    price = report.drivers[0]
    hostile = replace(report, drivers=[replace(price, reason='=HYPERLINK("http://x")')])
    # When it is written as CSV
    buffer = io.StringIO()
    assert write_drivers_csv(buffer, hostile) == 2
    rows = list(csv.reader(io.StringIO(buffer.getvalue().removeprefix("\ufeff"))))
    # Then the header is the documented columns and no cell starts a formula
    assert tuple(rows[0]) == DRIVER_COLUMNS
    assert rows[1][:3] == ["driver", '\'=HYPERLINK("http://x")', "1"]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    # And the terminal table names each reason with its counts
    text = format_drivers(report)
    assert "  price" in text
    assert "  speed" in text
    assert "CSAT 0.0% satisfied" in text


def test_the_html_report_draws_each_reasons_difference_and_escapes_its_id() -> None:
    # Given a report where "price" goes with a much lower NPS and a theme id carrying markup
    day = datetime(2026, 2, 3, 9, tzinfo=UTC)
    responses = [
        Response(f"i{i}", "pulse", "w", f"c{i}", "email", score=2, first_answered_at=day, driver="price")
        for i in range(10)
    ] + [
        Response(f"j{i}", "pulse", "w", f"d{i}", "email", score=10, first_answered_at=day, themes=("speed",), csat=5)
        for i in range(10)
    ]
    source = aggregated(responses)
    service = ReportService(source)
    drivers = drivers_report(service, "pulse", SPAN)
    hostile = replace(drivers, themes=[replace(drivers.themes[0], reason="<script>alert(1)</script>")])
    # When the chart is laid out and the page rendered
    chart = reasons_chart(hostile)
    (price_bar, theme_bar) = chart.bars
    page = render_report(service.report("pulse", SPAN, Granularity.MONTH), [], day, None, hostile)
    # Then the driver's bar runs left of zero, the theme's right, each whisker around its end
    assert price_bar.bar_x + price_bar.bar_width == chart.zero_x
    assert theme_bar.bar_x == chart.zero_x
    assert price_bar.whisker_low is not None
    assert price_bar.whisker_high is not None
    assert price_bar.whisker_low <= price_bar.bar_x <= price_bar.whisker_high
    assert [title for _, title in chart.headings] == ["Drivers", "Themes in comments"]
    # And the page has the chart and its table, with the id escaped everywhere
    assert 'id="drivers-chart"' in page
    assert 'id="drivers"' in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "CSAT <strong>100.0%</strong>" in page


def test_the_html_report_has_no_drivers_section_without_reasons() -> None:
    day = datetime(2026, 2, 3, 9, tzinfo=UTC)
    source = aggregated([Response("i1", "pulse", "w", "c1", "email", score=9, first_answered_at=day)])
    service = ReportService(source)
    drivers = drivers_report(service, "pulse", SPAN)
    page = render_report(service.report("pulse", SPAN, Granularity.MONTH), [], day, None, drivers)
    assert 'id="drivers-chart"' not in page
    assert 'id="drivers-title"' not in page


def test_a_long_id_is_cut_on_the_chart_and_whole_in_the_table() -> None:
    day = datetime(2026, 2, 3, 9, tzinfo=UTC)
    long_id = "a-very-long-driver-identifier"
    source = aggregated([Response("i1", "pulse", "w", "c1", "email", score=9, first_answered_at=day, driver=long_id)])
    service = ReportService(source)
    drivers = drivers_report(service, "pulse", SPAN)
    (bar,) = reasons_chart(drivers).bars
    assert bar.label == "a-very-long-d…"
    assert bar.name == long_id
    page = render_report(service.report("pulse", SPAN, Granularity.MONTH), [], day, None, drivers)
    assert f"<td>{long_id}" in page
